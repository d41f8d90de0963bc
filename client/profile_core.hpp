// What a set profile owns: its dispatcher and the local daemon processes it launched. Futures hold
// a weak reference to cancel through it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
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
  // `ephemeral`: no standing daemons; submit() launches one single-task daemon per task.
  static Expected<std::shared_ptr<ProfileCore>> start(const DaemonsConfig& config, bool ephemeral);
  ~ProfileCore();

  Future submit(const Task& task);
  // With `wait` false, returns nullopt instead of blocking when the bounded queue is full.
  std::optional<Future> submit(const Task& task, bool wait);
  // everywhere(): one copy per connected daemon, at least `min`; with `later`, also one for
  // each daemon that connects afterwards (Profile::everywhere).
  std::vector<Future> everywhere(const Task& task, std::size_t min,
                                 std::function<void(const Result&)> later = {});
  void cancel(std::uint64_t id);
  // Launches `n` local daemons; with `wait`, until they are connected (or one has died).
  Status launch_local(int n, bool wait);
  Info info() const;
  ProfileStatus status() const;
  Status serve_control(const std::string& url,
                       std::function<std::optional<LauncherStatus>()> launcher);
  const std::string& url() const { return dispatcher_->url(); }
  // The certificate daemons trust for a TLS url (also a running dispatcher's); "" without TLS.
  const std::string& tls_certificate() const { return tls_trust_; }
  // The pool's secret (also a running dispatcher's).
  const std::string& secret() const { return secret_; }

 private:
  ProfileCore(const DaemonsConfig& config, bool ephemeral);
  Expected<pid_t> spawn_daemon(std::uint32_t maxtasks);
  void reap_exited();  // REQUIRES: procs_mu_

  DaemonsConfig config_;
  bool ephemeral_;
  std::unique_ptr<DispatcherLink> dispatcher_;  // in this process, or a `mirai dispatcher`
  std::unique_ptr<ControlServer> control_;      // serve_control(); before dispatcher_ goes
  std::mutex procs_mu_;
  std::vector<pid_t> procs_;  // GUARDED_BY(procs_mu_): daemons we launched, not yet reaped
  std::mutex stream_mu_;
  std::optional<RngStream> task_stream_;    // GUARDED_BY(stream_mu_); set with a seed
  std::shared_ptr<detail::Budget> budget_;  // set with DaemonsConfig::memory
  std::string secret_, tls_trust_;          // the dispatcher's, asked once at start
};

// The program that serves as `mirai daemon`, as DaemonsConfig::daemon_command documents.
std::string find_daemon_command(const std::string& configured);

}  // namespace mirai
