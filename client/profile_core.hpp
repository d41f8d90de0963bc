// What a set profile owns: its dispatcher and the local daemon processes it launched. Futures hold
// a weak reference to cancel through it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dispatcher/control.hpp"
#include "dispatcher/dispatcher.hpp"
#include "mirai/profile.hpp"

namespace mirai {
namespace detail {
struct Budget;
}

class ProfileCore : public std::enable_shared_from_this<ProfileCore> {
 public:
  // `ephemeral`: no standing daemons; single-task daemons are launched for waiting tasks, at
  // most `ephemeral_limit` at once.
  static Expected<std::shared_ptr<ProfileCore>> start(const DaemonsConfig& config, bool ephemeral,
                                                      int ephemeral_limit = 0);
  ~ProfileCore();

  Future submit(const Task& task);
  // With `wait` false, returns nullopt instead of blocking when the bounded queue is full.
  std::optional<Future> submit(const Task& task, bool wait);
  // everywhere(): one copy per connected daemon, at least `min`; with `later`, also one for
  // each daemon that connects afterwards (Profile::everywhere).
  std::vector<Future> everywhere(const Task& task, std::size_t min,
                                 std::function<void(const Result&)> later = {});
  void cancel(std::uint64_t id);
  // Launches `n` more local daemons, which the supervisor then keeps (replacing those that end
  // while tasks wait); with `wait`, until they are connected (or one has died).
  Status launch_local(int n, bool wait);
  void set_ephemeral_limit(int n);
  // Profile::lose_daemon (a dispatcher in this process only).
  void lose_daemon(const std::string& job_id, std::uint32_t index, const std::string& why);
  // Why this profile cannot run its tasks (its local daemons keep failing and none is left);
  // "" while it can.
  std::string failure() const;
  Info info() const;
  ProfileStatus status() const;
  Status serve_control(const std::string& url,
                       std::function<std::optional<LauncherStatus>()> launcher);
  const std::string& url() const { return dispatcher_->url(); }
  // The certificate daemons trust for a TLS url (also a running dispatcher's); "" without TLS.
  const std::string& tls_certificate() const { return tls_trust_; }
  // The pool's secret (also a running dispatcher's).
  const std::string& secret() const { return secret_; }
  const DaemonsConfig& config() const { return config_; }

 private:
  using Clock = std::chrono::steady_clock;
  // A local daemon process, from its launch until it is reaped.
  struct Local {
    pid_t pid = -1;
    int pidfd = -1;          // readable once it exits; -1 when the kernel has no pidfds
    bool connected = false;  // it reached the dispatcher at least once
    Clock::time_point missing_since = Clock::time_point::max();  // connected, then gone
  };

  ProfileCore(const DaemonsConfig& config, bool ephemeral);
  // Starts one local daemon and adds it to procs_. REQUIRES: procs_mu_.
  Expected<pid_t> spawn_daemon(std::uint32_t maxtasks);
  // The supervisor thread: reaps local daemons as they end, kills those that lost their
  // connection but stay alive (frozen), replaces them while tasks wait, and gives up with a
  // reason when they keep failing.
  void supervise();
  void supervise_round();                                       // REQUIRES: procs_mu_
  void reap(Local& d, int wait_status, Clock::time_point now);  // REQUIRES: procs_mu_
  void check_missing(Clock::time_point now);                    // REQUIRES: procs_mu_
  // A launch that failed (`why`): back-off, and no more launches after too many in a row.
  void failed_launch(const std::string& why, Clock::time_point now);  // REQUIRES: procs_mu_
  void wake();  // makes the supervisor look now (a task arrived, a daemon connected)
  // Records a daemon's arrival (the dispatcher's on_connected, with its lock held).
  void arrived(const DaemonStatus& row);

  DaemonsConfig config_;
  bool ephemeral_;
  std::unique_ptr<DispatcherLink> dispatcher_;  // in this process, or a `mirai dispatcher`
  std::unique_ptr<ControlServer> control_;      // serve_control(); before dispatcher_ goes
  mutable std::mutex procs_mu_;
  std::vector<Local> procs_;  // GUARDED_BY(procs_mu_): daemons we launched, not yet reaped
  // The supervisor's state, GUARDED_BY(procs_mu_): how many local daemons to keep while tasks
  // wait; failed launches in a row (a daemon that ended before connecting), when the next
  // launch may come; paused after too many, and why; why the profile gave up.
  std::size_t target_ = 0;
  int failures_ = 0;
  Clock::time_point next_launch_ = Clock::time_point::min();
  Clock::time_point next_missing_check_ = Clock::time_point::min();
  bool paused_ = false, stopping_ = false;
  std::string pause_reason_, failure_;
  // Wait statuses of daemons launch_local() waits for that ended before connecting.
  std::map<pid_t, int> ended_;
  std::set<pid_t> arrived_;  // GUARDED_BY(arrivals_mu_): pids that connected, not yet reaped
  std::mutex arrivals_mu_;
  std::string host_;  // this machine's name, as local daemons report it
  int wake_fd_ = -1;  // an eventfd that wakes the supervisor
  // Fewer local daemons than it keeps: a new task wakes the supervisor to launch one.
  std::atomic<bool> short_{false};
  std::atomic<bool> failed_{false};  // failure_ is set: submit() looks at it only then
  std::thread supervisor_;
  std::mutex stream_mu_;
  std::optional<RngStream> task_stream_;    // GUARDED_BY(stream_mu_); set with a seed
  std::shared_ptr<detail::Budget> budget_;  // set with DaemonsConfig::memory
  std::string secret_, tls_trust_;          // the dispatcher's, asked once at start
};

}  // namespace mirai
