// One launch: render the profile's job(s) for N daemons, submit them, keep a record under
// .mirai/jobs/<profile>/<n>/, watch them, and cancel every job it submitted.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "launcher/backend.hpp"

namespace mirai::launcher {

// Fills in what a profile leaves to the launch: the mirai executable, the working directory.
LaunchSpec make_spec(const ProfileConfig& profile, int n, const std::string& url);

// The URL the dispatcher listens on for this profile: its `url:`, else a private socket for
// local daemons and tcp://{hostname}:0 for every other launcher.
std::string listen_url_template(const ProfileConfig& profile);

class Launch {
 public:
  // Renders and submits; on failure, cancels whatever part was already submitted. `root` is
  // where `.mirai/jobs` goes.
  static Expected<std::unique_ptr<Launch>> start(std::unique_ptr<Backend> backend,
                                                 const LaunchSpec& spec, const std::string& root);
  ~Launch();  // does not cancel: call cancel()

  const std::vector<std::string>& job_ids() const { return ids_; }
  const std::string& directory() const { return dir_; }

  // Why the launch has failed, or "" while it may still bring daemons up: every job ended
  // without `connected` daemons, or `connected` is 0 and a job is still pending after the
  // profile's launch_timeout. The message names the jobs, their states and the log path.
  std::string check(int connected);

  // Cancels every job this launch submitted; later calls do nothing. Callers serialize cancel().
  Status cancel();

 private:
  Launch() = default;
  std::unique_ptr<Backend> backend_;
  LaunchSpec spec_;
  std::string dir_;
  std::vector<std::string> ids_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> cancelled_{false};  // check() may read it on another thread
};

// Makes the next free .mirai/jobs/<profile>/<n> under `root` (0700).
Expected<std::string> make_job_dir(const std::string& root, const std::string& profile);

}  // namespace mirai::launcher
