// The daemons behind `mirai run` and `mirai map`: local ones, a running dispatcher's, or a
// profile from mirai.yaml whose daemons are launched as jobs (then watched, and cancelled when
// the command ends, fails or is interrupted).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/common.hpp"
#include "launcher/config.hpp"
#include "launcher/controller.hpp"
#include "launcher/launched_profile.hpp"
#include "mirai/group.hpp"
#include "mirai/launched.hpp"
#include "mirai/profile.hpp"

namespace mirai::cli {

// The profile named `name` (or the config's default) from the config found by
// launcher::find_config(config_path). Prints every problem in the file and returns nullopt on
// any. With no `name`, no default and no profile `local`, returns a local profile with
// workers 0 (the command's default). `root` receives the directory that keeps .mirai/jobs
// (the config file's).
std::optional<launcher::ProfileConfig> load_profile(const char* command,
                                                    const std::string& config_path,
                                                    const std::string& name, std::string& root);

// The backend of the profile's launcher; prints the problem and returns nullptr when this build
// has none.
std::unique_ptr<launcher::Backend> backend_for(const char* command,
                                               const launcher::ProfileConfig& profile);

// --profile, --config and -n for the commands that act on one profile (render, launch).
struct ProfileOptions {
  std::string config, profile;
  int n = 0;
  bool n_given = false;
};
void add_profile_options(po::options_description& options, ProfileOptions& o, const char* verb);

// What those commands act on: the profile, where its jobs are recorded, how many daemons (-n,
// else the profile's workers) and its backend. Prints the problem and returns nullopt.
struct ChosenProfile {
  launcher::ProfileConfig profile;
  std::string root;
  int n = 0;
  std::unique_ptr<launcher::Backend> backend;
};
std::optional<ChosenProfile> choose_profile(const char* command, const ProfileOptions& o);

// The daemons behind one command: the profile it was given, and the profiles its tasks name and
// their backups (a ProfileGroup), each started once.
class Pool {
 public:
  // Prints the error and returns nullptr on failure; nothing is left running then.
  static std::unique_ptr<Pool> start(const char* command, const PoolOptions& options);
  ~Pool();  // cancels the launched jobs

  // The profile the command was given.
  Profile& profile() { return members_.front()->profile(); }
  // Queues `task` on the profile named `profile` ("": the command's), with backups.
  Expected<Future> submit(const std::string& profile, const Task& task);
  // Tasks answered so far, on all its profiles.
  std::uint64_t completed();
  // How many daemons this pool starts (local or as jobs); 0 for a running dispatcher's, whose
  // number is whatever is connected.
  int daemons() const { return daemons_; }
  // Why the launched daemons of a profile never came up, once that is known; "" until then.
  std::string failure() const;
  // Ends the run with `why` (failure() then says it): the pending tasks of the command's profile
  // resolve with an error. Safe from any thread, a network thread included; takes effect
  // within 100 ms for a launched profile.
  void fail(const std::string& why);

 private:
  struct Member {
    std::string name;
    Profile own;  // without a mirai.yaml: -n local daemons, or a running dispatcher's
    std::unique_ptr<LaunchedProfile> launched;  // a profile of the mirai.yaml
    std::string control_socket;                 // where `mirai status` finds it; removed at the end
    Profile& profile() { return launched ? launched->profile() : own; }
    launcher::Controller* controller() {
      return launched ? launcher::controller_of(*launched) : nullptr;
    }
  };
  Pool() = default;
  Member& add_member(const std::string& name);
  // Listens for `profile`'s daemons and starts them (local) or its controller; prints the
  // problem and returns false.
  bool start_member(Member& m, launcher::ProfileConfig profile, const std::string& root,
                    const PoolOptions& options);
  void watch();
  // For a running dispatcher's daemons: says so on stderr while tasks wait and no daemon is
  // connected (after kWaitingNotice, then every 6 times that).
  void watch_remote(const std::string& url);
  static constexpr std::chrono::seconds kWaitingNotice{10};
  // Stops the controllers, cancels every job they launched and waits until they are gone, and
  // removes the control sockets; once.
  void shut_down();

  // How long the end of a run waits for the scheduler to drop its cancelled jobs.
  static constexpr std::chrono::seconds kJobsGoneTimeout{30};

  std::string command_;
  int daemons_ = 0;
  std::unique_ptr<SignalWatcher> signals_;
  mutable std::mutex mutex_;  // guards members_ (the list), shut_down_ and failure_
  std::vector<std::unique_ptr<Member>> members_;  // [0]: the command's profile
  ProfileGroup group_;
  bool shut_down_ = false;
  std::string failure_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> give_up_{false};  // fail() was called
  std::thread watcher_;
};

}  // namespace mirai::cli
