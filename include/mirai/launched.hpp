// A launched profile: a profile of a mirai.yaml whose daemons are launched as jobs (Slurm, SGE,
// PBS, LSF, a backend of your own) or over ssh as the backlog needs them, up to its workers,
// with its controller, its backup chain left to the caller (ProfileGroup), and every job
// cancelled at the end. What `mirai map -p NAME` runs, for a C++ program (crew's controllers).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mirai/info.hpp"
#include "mirai/profile.hpp"
#include "mirai/status.hpp"

namespace mirai {

struct LaunchOptions {
  std::string config;                 // the mirai.yaml; "": $MIRAI_CONFIG, else ./mirai.yaml
  std::string profile;                // its name; "": the file's `default`
  int workers = 0;                    // the most daemons it keeps; 0: the profile's `workers`
  std::optional<std::uint32_t> seed;  // DaemonsConfig::seed
  std::optional<int> retries;         // instead of the profile's `retries`
  std::string root;  // where .mirai/jobs/<profile>/<n>/ records each run; "": the file's directory
  // What goes wrong as the controller goes (a failed launch and why, the back-off before the
  // next, a pause), one line at a time, from its thread; unset: nothing is said.
  std::function<void(const std::string&)> on_event;
};

class LaunchedProfile {
 public:
  // Reads the profile, starts its dispatcher and, unless its daemons run here (launcher:
  // local), the controller that launches them. Fails, saying why, with nothing left running:
  // a problem in the file (every one, with its line), no such profile, a URL that cannot be
  // bound, a job script that cannot be rendered.
  static Expected<std::unique_ptr<LaunchedProfile>> start(const LaunchOptions& options);
  // shutdown(): every job it launched is cancelled and waited for.
  ~LaunchedProfile();
  LaunchedProfile(const LaunchedProfile&) = delete;
  LaunchedProfile& operator=(const LaunchedProfile&) = delete;

  const std::string& name() const;
  // Submit here; its tasks wait until daemons connect.
  Profile& profile();
  // Its launches, daemons and jobs by the scheduler's state (as `mirai status` shows them);
  // nullopt when its daemons run here (launcher: local).
  std::optional<LauncherStatus> status() const;
  // Why its daemons cannot come up (launches failed `launch_retries` + 1 times in a row, or its
  // local daemons keep failing), once that is known; "" while they can.
  std::string failure() const;
  // Cancels every job it launched and waits until the scheduler no longer lists them, up to
  // `timeout`; says which are left when some are. Later calls do nothing. Safe from any
  // thread (a signal handler's).
  Status shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  struct Impl;

 private:
  explicit LaunchedProfile(std::unique_ptr<Impl> impl);
  friend struct LaunchedAccess;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirai
