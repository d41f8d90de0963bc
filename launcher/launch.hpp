// A run's launches: render the profile's job(s) for N daemons, submit them, keep a record under
// .mirai/jobs/<profile>/<n>/, and cancel every job submitted.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "launcher/backend.hpp"
#include "launcher/registry.hpp"

namespace mirai::launcher {

// Fills in what a profile leaves to the launch: the mirai executable, the working directory.
LaunchSpec make_spec(const ProfileConfig& profile, int n, const std::string& url);

// The jobs of one run of a profile, launched in one or more batches (the controller adds one
// each time it scales up), recorded under .mirai/jobs/<profile>/<n>/.
class Launch {
 public:
  // One batch's jobs: each covers daemons first..last of the batch.
  struct Job {
    std::string id;
    int first = 1, last = 1;
  };
  struct Batch {
    int number = 0;
    std::vector<Job> jobs;
  };

  // Makes the run's directory under `root` (where `.mirai/jobs` goes); submits nothing.
  static Expected<std::unique_ptr<Launch>> open(std::unique_ptr<Backend> backend,
                                                const std::string& root,
                                                const std::string& profile);
  // open() and submit(spec).
  static Expected<std::unique_ptr<Launch>> start(std::unique_ptr<Backend> backend,
                                                 const LaunchSpec& spec, const std::string& root);
  ~Launch();  // does not cancel: call cancel()

  // Renders and submits the next batch of spec.n daemons (spec.batch is set here). Its scripts
  // and the submit command's output are kept in the directory (script.sh, then script-b2.sh,
  // ...). On failure, cancels whatever part of this batch was already submitted.
  Expected<Batch> submit(LaunchSpec spec);

  // Called with the ids of each submission's jobs as soon as it is made (before submit()
  // returns): a login node's relay is told how to cancel them should this process die.
  void on_submitted(std::function<void(const std::vector<std::string>& ids)> f) {
    on_submitted_ = std::move(f);
  }

  // Every job submitted so far, in order.
  std::vector<std::string> job_ids() const;
  const std::string& directory() const { return dir_; }
  Backend& backend() { return *backend_; }

  // Cancels every job submitted so far, and any submitted later. Callers serialize cancel().
  Status cancel();
  // After cancel(): waits until the scheduler no longer lists any of the jobs as pending or
  // running, up to `timeout`; false when some still are then.
  bool wait_gone(std::chrono::milliseconds timeout);

 private:
  Launch() = default;
  // A submission that cannot go on (a record that cannot be written, a submit that failed):
  // cancels the jobs `batch` holds so far and returns `why` with what became of them.
  Status abandon(const Batch& batch, const Status& why);
  std::unique_ptr<Backend> backend_;
  std::string dir_;
  mutable std::mutex mutex_;      // guards ids_ and batches_
  std::vector<std::string> ids_;  // GUARDED_BY(mutex_)
  int batches_ = 0;               // GUARDED_BY(mutex_)
  std::string record_;            // what submit.out holds; only submit() touches it
  std::atomic<bool> cancelled_{false};
  std::function<void(const std::vector<std::string>&)> on_submitted_;
};

// Where the profile's daemons write their output, for failure messages.
std::string log_hint(const ProfileConfig& profile);

// Makes the next free .mirai/jobs/<profile>/<n> under `root` (0700).
Expected<std::string> make_job_dir(const std::string& root, const std::string& profile);

}  // namespace mirai::launcher
