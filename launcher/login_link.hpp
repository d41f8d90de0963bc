// This machine's end of a relay on a cluster's login node (launcher/relay.hpp), for a scheduler
// profile with `login:`. One ssh connection to the login node runs `mirai relay` there and is
// the ControlMaster that the forward of the relay's socket to this machine's dispatcher is
// added to. The scheduler's commands run on the login node through it (CommandRunner), and the
// commands that cancel the run's jobs are left with the relay, which runs them when this
// process ends, whatever ends it: the end of the ssh connection (a kill, a cut link) is the
// relay's end of stdin, or 3 missed heartbeats.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "launcher/command.hpp"
#include "launcher/config.hpp"

namespace mirai::launcher {

class LoginLink final : public CommandRunner {
 public:
  struct Options {
    ProfileConfig::Login login;
    std::string relay_command;  // the mirai executable on the login node
    std::string listen;         // the tcp:// url template the relay listens on, resolved there
    std::string dir;            // a directory private to this user, for ssh's control socket
    std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
  };
  // Connects and starts the relay; the error names the host and what failed (ssh's words, or
  // the relay's).
  static Expected<std::shared_ptr<LoginLink>> open(const Options& options);
  ~LoginLink() override;
  // Forwards the relay's socket over the connection to where this machine's dispatcher
  // listens: a unix socket path, or 127.0.0.1:PORT.
  Status forward(const std::string& local) const;

  Expected<CommandOutput> run(const std::vector<std::string>& argv, const std::string& input,
                              std::chrono::milliseconds timeout) const override;
  // The relay runs `argv` when this process ends (and at close()), after the ones before.
  void on_exit(const std::vector<std::string>& argv) const;

  const std::string& url() const { return url_; }    // what the daemons dial
  const std::string& home() const { return home_; }  // the home directory on the login node
  const std::string& host() const { return host_; }  // the login node's host name
  // Tells the relay to run its exit commands and end, and waits for ssh to end.
  void close();

 private:
  LoginLink() = default;
  void send(const std::string& line) const;
  void read_replies();
  void beat();

  Options o_;
  std::string url_, home_, host_, control_, socket_;
  pid_t ssh_pid_ = -1;
  int to_relay_ = -1, from_relay_ = -1;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  // Answers to run(), by request id; GUARDED_BY(mu_).
  mutable std::map<std::uint64_t, nlohmann::json> answers_;
  mutable std::uint64_t next_id_ = 1;  // GUARDED_BY(mu_)
  bool ended_ = false;                 // GUARDED_BY(mu_): the relay's output ended
  bool closing_ = false;               // GUARDED_BY(mu_)
  mutable std::mutex send_mu_;
  std::thread reader_, heart_;
};

}  // namespace mirai::launcher
