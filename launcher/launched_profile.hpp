// The steps of a launched profile (mirai/launched.hpp), also used one by one by the `mirai`
// command: where a profile's dispatcher listens, its local daemons, its controller.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "launcher/config.hpp"
#include "launcher/controller.hpp"
#include "launcher/login_link.hpp"
#include "mirai/launched.hpp"
#include "mirai/profile.hpp"

namespace mirai::launcher {

// The URLs the profile's dispatcher may listen on, in order (its url resolved: each address,
// each port of a range); empty: a private socket.
Expected<std::vector<std::string>> listen_urls(const ProfileConfig& profile);

// For a profile with `login:`: the ssh connection and relay on the login node, and where the
// dispatcher here listens for what the relay carries.
struct LoginSession {
  std::shared_ptr<LoginLink> link;
  std::string dir;  // private to this user, made for it: ssh's control socket, the dispatcher's
  // Where the dispatcher listens: ipc://DIR/d.sock for tcp, whose frames are sealed; for
  // tls+tcp, this machine's 127.0.0.1 (TLS runs end to end, over tcp), with `tls`: the
  // profile's certificate, or a single-use one naming the relay's host, which daemons dial.
  std::string listen;
  std::optional<TlsSettings> tls;
  std::string daemon_url;  // what the daemons dial: the relay's address, in the profile's scheme
};
Expected<LoginSession> open_login(const ProfileConfig& profile);
// Once the dispatcher listens at `bound` (its url with the port chosen), the relay's socket is
// forwarded there.
Status forward_login(const LoginSession& session, const std::string& bound);
// Tells the relay to cancel what is left and end, then removes the session's directory here
// (once nothing listens there any more).
void end_login(const LoginSession& session);

// Binds the profile's URL (trying each candidate) with `n` local daemons, with `seed` and,
// when set, `retries` instead of the profile's.
// With `tls`, that instead of the profile's own (a login session's certificate).
Status listen_profile(const ProfileConfig& profile, int n, Profile& target,
                      std::optional<std::uint32_t> seed = {}, std::optional<int> retries = {},
                      std::function<void(const DaemonStatus&)> on_connected = {},
                      const std::optional<TlsSettings>& tls = std::nullopt);

// Where a controller's daemons go: the dispatcher they dial, what they must trust and hold, and
// what the controller watches.
struct ControllerTarget {
  std::string url, tls_ca_pem, secret;
  Controller::Source source;
  // A profile with `login:`: the relay its commands run through, which is told how to cancel
  // each job submitted.
  std::shared_ptr<LoginLink> login;
};
// Renders `profile`'s job for `target` (a script that cannot be rendered fails here, before
// anything is submitted), opens this run's record under `root` and starts the controller,
// which launches up to profile.workers daemons and says what it does through `report`.
Expected<std::unique_ptr<Controller>> start_controller(
    ProfileConfig profile, std::unique_ptr<Backend> backend, const std::string& root,
    const ControllerTarget& target, std::function<void(const std::string&)> report);

// A launched profile from a profile already read (the `mirai` command reads and reports the
// file itself); profile.workers is the most daemons it keeps.
Expected<std::unique_ptr<LaunchedProfile>> start_launched(const ProfileConfig& profile,
                                                          const std::string& root,
                                                          const LaunchOptions& options);

// The controller of a launched profile, for `mirai status`; nullptr for local daemons.
Controller* controller_of(LaunchedProfile& launched);

}  // namespace mirai::launcher
