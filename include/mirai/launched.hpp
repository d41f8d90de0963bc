// A launched profile: a profile (of a mirai.yaml, or given as C++ values) whose daemons are
// launched as jobs (Slurm, SGE, PBS, LSF, a backend of your own) or over ssh as the backlog needs
// them, up to its workers, with its controller, its backup chain left to the caller (ProfileGroup),
// and every job cancelled at the end. What `mirai map -p NAME` runs, for a C++ program (crew's
// controllers).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mirai/info.hpp"
#include "mirai/profile.hpp"
#include "mirai/status.hpp"

namespace mirai {

// A profile given in C++ instead of read from a mirai.yaml. Each field is the profile key of
// the same name (docs/config.md); empty and unset fields are left out. start() writes them as
// a profile and reads it with the reader of mirai.yaml, so every check is the same: an unknown
// key of the backend's section, a value of the wrong type, a newline in a value, a key the
// launcher does not take.
struct ProfileValues {
  std::string name;      // required: it names the jobs and .mirai/jobs/<name>
  std::string launcher;  // required: slurm, sge, pbs, lsf, ssh, local, or one registered
  int workers = 1;
  std::string url;  // "": the launcher's default
  // The launcher's own section (`slurm:`, `sge:`, ...): {"partition", "short"}, {"time", "10m"}.
  std::vector<std::pair<std::string, std::string>> resources;
  // daemon: idletime, walltime, maxtasks (0: none), command ("": mirai beside this library).
  std::chrono::milliseconds idletime{0}, walltime{0};
  std::uint32_t maxtasks = 0;
  std::string command;
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> directives, prologue, epilogue;
  std::string template_file, workdir, log, backup;
  std::optional<std::chrono::milliseconds> launch_timeout, interval, heartbeat;
  std::optional<int> retries, launch_retries;
  std::vector<std::string> hosts;  // ssh: [user@]host[:port]
  std::optional<bool> tunnel;
};

struct LaunchOptions {
  // The profile as C++ values; when set, `config` and `profile` must be empty.
  std::optional<ProfileValues> values;
  std::string config;                 // the mirai.yaml; "": $MIRAI_CONFIG, else ./mirai.yaml
  std::string profile;                // its name; "": the file's `default`
  int workers = 0;                    // the most daemons it keeps; 0: the profile's `workers`
  std::optional<std::uint32_t> seed;  // DaemonsConfig::seed
  std::optional<int> retries;         // instead of the profile's `retries`
  // Where .mirai/jobs/<profile>/<n>/ records each run; "": the file's directory (for values: the
  // working directory). Relative paths among the values are taken from here.
  std::string root;
  // What goes wrong as the controller goes (a failed launch and why, the back-off before the
  // next, a pause), one line at a time, from its thread; unset: nothing is said.
  std::function<void(const std::string&)> on_event;
};

class LaunchedProfile {
 public:
  // Reads the profile (or its values), starts its dispatcher and, unless its daemons run here
  // (launcher: local), the controller that launches them. Fails, saying why, with nothing left
  // running: a problem in the file or the values (every one, with its line), no such profile,
  // a URL that cannot be bound, a job script that cannot be rendered.
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
