// The controller of a launched profile (crew's auto-scaler, docs/controller.md): it launches
// daemons while the backlog exceeds them, up to `workers`, one job array per interval; watches
// its jobs with one status query per interval; reports a job that failed or stays pending past
// launch_timeout, and launches again with back-off; pauses the profile after repeated failed
// launches; and at the end cancels every job and waits until they are gone. Daemons leave by
// themselves (idletime, maxtasks, walltime), which is how the pool scales down.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "launcher/launch.hpp"
#include "mirai/profile.hpp"

namespace mirai::launcher {

// What `mirai status` shows for a launched profile.
using ControllerStatus = LauncherStatus;

// The daemons that connected, recorded as they do (DaemonsConfig::on_connected), so that one
// that connects and dies between two rounds of the controller still counts as connected.
class Arrivals {
 public:
  // A callback for DaemonsConfig::on_connected (or DispatcherOptions::on_connected) that keeps
  // `arrivals` alive as long as the dispatcher holds it.
  static std::function<void(const DaemonStatus&)> recorder(std::shared_ptr<Arrivals> arrivals);
  // The job id and array index of each daemon recorded since the last call.
  std::vector<std::pair<std::string, std::uint32_t>> take();

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, std::uint32_t>> list_;  // GUARDED_BY(mu_)
};

class Controller {
 public:
  struct Options {
    std::chrono::milliseconds interval{2000};
    // After this many launches in a row in which no daemon connected, the profile pauses.
    int max_failed_launches = 3;
    // A failed launch waits interval * 2^(failures - 1) before the next, at most this long.
    std::chrono::milliseconds max_backoff{std::chrono::seconds(60)};
    // Now; steady_clock::now() when empty. Tests drive tick() with a manual clock.
    std::function<std::chrono::steady_clock::time_point()> clock;
  };

  // What the controller watches: the backlog and the daemons connected, of a Profile or of a
  // Dispatcher of its own (`mirai dispatcher --profile`).
  struct Source {
    std::function<Info()> info;
    std::function<ProfileStatus()> status;
    std::shared_ptr<Arrivals> arrivals;  // optional: who connected between two rounds
    // Optional: the daemon of job `job_id`, element `index`, is lost (the scheduler says its
    // job ended, or its node failed, while it is still connected), for `why`.
    std::function<void(const std::string& job_id, std::uint32_t index, const std::string& why)>
        lose;
  };
  static Source source_of(Profile& profile);

  // `spec` is the template of each launch (its n is replaced); `report` receives one line per
  // event worth telling the user (a failed job, a pause), on the controller's thread.
  Controller(Source source, std::unique_ptr<Launch> launch, LaunchSpec spec, Options options,
             std::function<void(const std::string&)> report);
  Controller(Profile& profile, std::unique_ptr<Launch> launch, LaunchSpec spec, Options options,
             std::function<void(const std::string&)> report)
      : Controller(source_of(profile), std::move(launch), std::move(spec), options,
                   std::move(report)) {}
  ~Controller();  // stop(); does not cancel the jobs: shutdown() does

  // Starts the control loop on a thread of its own: tick() every 100 ms (every 10 ms until the
  // first launch, for the first 2 s).
  void start();
  // One look of the loop: a full round (step) once per interval, and at once when the backlog
  // calls for a launch that the interval and the back-off allow and it has not grown for 100 ms
  // (tasks submitted in a burst go into one launch) or already calls for every worker.
  void tick();
  // Runs one round now: look at the daemons and jobs, and launch if the backlog needs it and
  // `may_launch`.
  void step(bool may_launch = true);
  // Stops the loop (waits for the round in progress).
  void stop();
  // stop(), cancels every job launched, and waits up to `timeout` for the scheduler to list
  // none of them as pending or running.
  Status shutdown(std::chrono::milliseconds timeout);

  // Now, not as of the last round: the daemons connected since are counted as such.
  ControllerStatus status();
  // Why the run cannot go on: the profile paused with no daemon connected and none launching.
  // "" otherwise.
  std::string failure() const;
  const std::string& directory() const { return launch_->directory(); }

 private:
  // One daemon of a launch: its array element.
  struct Element {
    bool seen = false;     // its daemon connected
    bool settled = false;  // seen, or its job ended or timed out before it connected
    bool failed = false;
    JobState state = JobState::kUnknown;
    std::string detail;
  };
  struct Job {
    std::string id;
    int first = 1;
    std::vector<Element> elements;  // daemons first..
  };
  struct Batch {
    int number = 0;
    std::chrono::steady_clock::time_point submitted;
    std::vector<Job> jobs;
    bool judged = false;                     // counted as a success or a failure
    std::uint64_t cumulative_at_submit = 0;  // daemons ever connected when it was submitted
  };

  // A daemon whose job the scheduler says ended: its job id, array index and the words.
  struct Ended {
    std::string job_id;
    std::uint32_t index;
    std::string why;
  };
  // Takes the scheduler's word for the elements of `j` it names (a job's end is final); adds
  // the elements whose daemon connected and whose job ended, or was requeued, now to `ended`.
  void update(Job& j, const std::vector<JobStatus>& states, std::vector<Ended>& ended);
  // Settles the elements of `j` (in `b`) that ended or are past the launch timeout, and counts
  // their states.
  void settle(const Batch& b, Job& j, std::chrono::steady_clock::time_point now);  // REQUIRES: mu_
  // How many elements of all launches `which` holds for.
  int count(bool (*which)(const Element&)) const;  // REQUIRES: mu_
  // Marks the elements whose daemons are connected now, or connected since the last round.
  void look(const ProfileStatus& st);                              // REQUIRES: mu_
  void mark_seen(const std::string& job_id, std::uint32_t index);  // REQUIRES: mu_
  // Once every element of `b` is settled: a launch none of whose daemons connected failed
  // (unless its jobs ended cleanly while `cumulative` says some daemon connected).
  void judge(Batch& b, std::uint64_t cumulative);  // REQUIRES: mu_
  void failed_launch(const std::string& why);      // REQUIRES: mu_
  int launching() const;                           // REQUIRES: mu_
  // Submits a batch of `n` daemons (without mu_: the scheduler may be slow).
  void launch(int n, std::uint64_t cumulative);
  std::chrono::steady_clock::time_point now() const;

  Source source_;
  std::unique_ptr<Launch> launch_;
  LaunchSpec spec_;
  Options options_;
  std::function<void(const std::string&)> report_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                 // GUARDED_BY(mu_)
  std::vector<Batch> batches_;                            // GUARDED_BY(mu_)
  int connected_ = 0;                                     // GUARDED_BY(mu_)
  int failures_in_a_row_ = 0;                             // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point not_before_;      // GUARDED_BY(mu_); back-off
  std::chrono::steady_clock::time_point last_launch_;     // GUARDED_BY(mu_)
  bool paused_ = false;                                   // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point last_round_;      // GUARDED_BY(mu_)
  std::uint64_t last_demand_ = 0;                         // GUARDED_BY(mu_); at the last tick
  std::chrono::steady_clock::time_point demand_changed_;  // GUARDED_BY(mu_); when it last did
  std::string reason_;                                    // GUARDED_BY(mu_)
  std::map<std::string, int> job_states_;                 // GUARDED_BY(mu_)
  std::vector<std::string> to_cancel_;  // GUARDED_BY(mu_); jobs of failed launches still listed
  std::mutex step_mu_;                  // one round at a time
  std::thread thread_;
};

}  // namespace mirai::launcher
