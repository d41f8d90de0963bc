#include "client/profile_core.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "client/future_state.hpp"
#include "client/remote_dispatcher.hpp"
#include "core/process.hpp"
#include "core/protocol.hpp"
#include "daemon/command_line.hpp"
#include "mirai/daemon.hpp"
#include "mirai/duration.hpp"

namespace mirai {
namespace {

// How often the supervisor looks at the dispatcher's rows for daemons that lost their
// connection but stay alive, and how long such a daemon may stay before it is killed (one
// without autoexit dials again well within it).
constexpr auto kMissingCheck = std::chrono::seconds(1);
constexpr auto kMissingGrace = std::chrono::seconds(5);
// The longest wait between two failed launches.
constexpr auto kMaxBackoff = std::chrono::seconds(60);

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

ProfileCore::ProfileCore(const DaemonsConfig& config, bool ephemeral)
    : config_(config), ephemeral_(ephemeral) {}

Expected<std::shared_ptr<ProfileCore>> ProfileCore::start(const DaemonsConfig& config,
                                                          bool ephemeral, int ephemeral_limit) {
  if (config.n < 0) return Status::error("the number of daemons must be zero or more");
  std::shared_ptr<ProfileCore> core(new ProfileCore(config, ephemeral));
  core->host_ = host_name();
  if (ephemeral) core->target_ = static_cast<std::size_t>(std::max(1, ephemeral_limit));
  if (config.memory > 0) {
    core->budget_ = std::make_shared<detail::Budget>();
    core->budget_->limit = config.memory;
  }
  if (config.seed) core->task_stream_ = RngStream::from_seed(*config.seed);
  if (!config.dispatcher_url.empty()) {
    if (!config.url.empty() || !config.dispatcher)
      return Status::error(
          "a profile using a running dispatcher (dispatcher_url) cannot also set url or turn "
          "the dispatcher off: the running dispatcher decides both");
    auto remote =
        RemoteDispatcher::connect(config.dispatcher_url, config.startup_timeout, config.heartbeat);
    if (!remote) return remote.status();
    core->dispatcher_ = std::move(*remote);
  } else {
    DispatcherOptions d;
    std::vector<std::string> candidates = {config.url.empty() ? local_url() : config.url};
    candidates.insert(candidates.end(), config.fallback_urls.begin(), config.fallback_urls.end());
    d.policy = config.dispatcher ? DispatcherOptions::Policy::kFifo
                                 : DispatcherOptions::Policy::kRoundRobin;
    d.max_prefetch = ephemeral ? 1 : config.max_prefetch;
    d.secret = config.secret;
    d.seed = config.seed;
    d.heartbeat = config.heartbeat;
    // The dispatcher goes before the core: the raw pointer does not dangle.
    d.on_connected = [raw = core.get(), user = config.on_connected](const DaemonStatus& row) {
      raw->arrived(row);
      if (user) user(row);
    };
    auto dispatcher = Dispatcher::start_first(d, candidates, config.tls);
    if (!dispatcher) return dispatcher.status();
    core->dispatcher_ = std::move(*dispatcher);
  }
  // What every local daemon is given does not change while the profile lives: ask once (for a
  // running dispatcher each question is a round trip).
  auto secret = core->dispatcher_->secret();
  if (!secret) return secret.status();
  core->secret_ = std::move(*secret);
  auto status = core->dispatcher_->status();
  if (!status) return status.status();
  core->tls_trust_ = std::move(status->tls_certificate);
  core->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (core->wake_fd_ < 0) return Status::error("cannot create an eventfd for the supervisor");
  core->supervisor_ = std::thread([raw = core.get()] { raw->supervise(); });
  if (config.n > 0)
    if (Status s = core->launch_local(config.n, true); !s) return s;
  return core;
}

ProfileCore::~ProfileCore() {
  if (supervisor_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(procs_mu_);
      stopping_ = true;
    }
    wake();
    supervisor_.join();
  }
  control_.reset();                          // its clients see the connection close
  if (dispatcher_) dispatcher_->exit_all();  // for daemons started without autoexit
  dispatcher_.reset();                       // pending tasks resolve to 7; connections close
  std::lock_guard<std::mutex> lock(procs_mu_);
  // Daemons that dial a dispatcher of another process stay connected when we leave: stop ours.
  if (!config_.dispatcher_url.empty())
    for (const Local& d : procs_) kill(d.pid, SIGTERM);
  // Ours exit once their connection closed; a frozen one never does, and is killed.
  auto deadline = Clock::now() + std::chrono::milliseconds(2000);
  for (const Local& d : procs_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (wait_for_exit(d.pid, std::max(left, std::chrono::milliseconds(0))) < 0) {
      kill(d.pid, SIGKILL);
      wait_for_exit(d.pid, std::chrono::milliseconds(2000));
    }
    if (d.pidfd >= 0) close(d.pidfd);
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

Expected<pid_t> ProfileCore::spawn_daemon(std::uint32_t maxtasks) {
  DaemonCommand command;
  command.program = find_daemon_command(config_.daemon_command);
  command.url = url();
  command.limits = config_.limits;
  command.limits.maxtasks = maxtasks;
  command.join_timeout = config_.startup_timeout;
  command.heartbeat = config_.heartbeat;
  SpawnOptions o;
  o.argv = daemon_argv(command);
  o.env = config_.env;
  // The certificate to trust goes in the environment: it is public, but long for a command line.
  if (std::string ca = tls_certificate(); !ca.empty()) o.env["MIRAI_TLS_CA"] = ca;
  o.env["MIRAI_SECRET"] = secret();
  o.in = SpawnOptions::Stdio::kNull;
  auto child = spawn(o);
  if (!child)
    return Status::error(child.message() +
                         " (set MIRAI_EXE or DaemonsConfig::daemon_command to the mirai "
                         "binary)");
  Local d;
  d.pid = child->pid;
  d.pidfd = open_pidfd(child->pid);
  procs_.push_back(d);
  return child->pid;
}

Status ProfileCore::launch_local(int n, bool wait) {
  std::vector<pid_t> launched;
  std::size_t before = info().cumulative;
  {
    std::lock_guard<std::mutex> lock(procs_mu_);
    // Asked for by the caller: a profile that gave up tries again.
    paused_ = false;
    failures_ = 0;
    failure_.clear();
    failed_ = false;
    pause_reason_.clear();
    for (int i = 0; i < n; ++i) {
      auto pid = spawn_daemon(config_.limits.maxtasks);
      if (!pid) return pid.status();
      launched.push_back(*pid);
      ++target_;
    }
  }
  if (!wait) return {};
  std::string died;
  auto alive = [&] {
    std::lock_guard<std::mutex> lock(procs_mu_);
    // The supervisor reaps them and says how those that never connected ended.
    for (pid_t pid : launched) {
      auto it = ended_.find(pid);
      if (it == ended_.end()) continue;
      died = "daemon process " + std::to_string(pid) + " ended with " +
             describe_wait_status(it->second) + " before it connected";
      return false;
    }
    return true;
  };
  bool connected = dispatcher_->wait_for_connections(before + static_cast<std::size_t>(n),
                                                     config_.startup_timeout, alive);
  {
    std::lock_guard<std::mutex> lock(procs_mu_);
    for (pid_t pid : launched) ended_.erase(pid);
  }
  if (connected) return {};
  if (died.empty())
    died = "only " + std::to_string(info().cumulative - before) + " of " + std::to_string(n) +
           " daemons connected to " + url() + " within " + format_duration(config_.startup_timeout);
  return Status::error(died);
}

std::optional<Future> ProfileCore::submit(const Task& task, bool wait) {
  auto state = std::make_shared<detail::FutureState>();
  state->core = weak_from_this();
  std::uint8_t flags = 0;
  if (task.on_output && std::holds_alternative<ShellTask>(task.body)) {
    state->on_output = std::make_unique<std::function<void(int, std::string_view)>>(task.on_output);
    flags = proto::kTaskStreamOutput;
  }
  if (task.retry_failures) flags |= proto::kTaskRerunFailures;
  std::string frame;
  if (task_stream_ && !task.stream) {
    // A seeded profile: the streams in submission order, the first the seed's own (R
    // mirai's order: set.seed(S), then nextRNGStream after each task).
    Task seeded = task;
    {
      std::lock_guard<std::mutex> lock(stream_mu_);
      seeded.stream = task_stream_;
      task_stream_ = task_stream_->next_stream();
    }
    frame = proto::encode_task(0, seeded, flags);
  } else {
    frame = proto::encode_task(0, task, flags);
  }
  if (!task.retries && config_.retries > 0) proto::patch_retries(frame, config_.retries);
  if (budget_) {
    // The bounded queue: wait (or give up) while the unresolved tasks' bytes would exceed the
    // limit; a task larger than the limit alone still goes when nothing else is pending.
    std::unique_lock<std::mutex> lock(budget_->mu);
    auto fits = [&] {
      return budget_->used == 0 || budget_->used + frame.size() <= budget_->limit;
    };
    if (!wait && !fits()) return std::nullopt;
    budget_->cv.wait(lock, fits);
    budget_->used += frame.size();
    state->hold = std::make_unique<detail::BudgetHold>();
    state->hold->budget = budget_;
    state->hold->bytes = frame.size();
  }
  // Its timeout counts from its start on a daemon, which enforces it (daemon/daemon.cpp).
  state->id = dispatcher_->submit(std::move(frame), state);
  if (std::string why = failed_.load(std::memory_order_relaxed) ? failure() : ""; !why.empty()) {
    // No daemon is left and none can be launched: say so now rather than wait.
    Result r = Result::failure(Cause::kRefused, why);
    if (state->resolve(std::move(r))) dispatcher_->cancel(state->id);
  }
  if (short_.load(std::memory_order_relaxed)) wake();  // it launches a daemon for the task
  return Future(state);
}

Future ProfileCore::submit(const Task& task) { return *submit(task, true); }

namespace {

// Hands the outcome of each copy of a standing setup to a callback.
class LaterTarget final : public ResultTarget {
 public:
  explicit LaterTarget(std::function<void(const Result&)> fn) : fn_(std::move(fn)) {}
  void deliver(std::string frame, std::string tail) override {
    auto fv = proto::view_frame(frame);
    if (!fv || fv->type != proto::Type::kResult) return;
    if (auto r = proto::decode_result(std::move(frame), std::move(tail))) fn_(r->result);
  }

 private:
  std::function<void(const Result&)> fn_;
};

}  // namespace

std::vector<Future> ProfileCore::everywhere(const Task& task, std::size_t min,
                                            std::function<void(const Result&)> later) {
  // As mirai: as many copies as daemons are connected now, and at least `min`. They take no
  // stream from a seeded profile's sequence and no room in the bounded queue.
  std::size_t copies = std::max<std::size_t>({min, info().connections, 1});
  std::vector<std::shared_ptr<detail::FutureState>> states;
  std::vector<std::shared_ptr<ResultTarget>> targets;
  for (std::size_t i = 0; i < copies; ++i) {
    states.push_back(std::make_shared<detail::FutureState>());
    states.back()->core = weak_from_this();
    targets.push_back(states.back());
  }
  std::shared_ptr<ResultTarget> later_target;
  if (later) later_target = std::make_shared<LaterTarget>(std::move(later));
  auto ids = dispatcher_->submit_everywhere(proto::encode_task(0, task, proto::kTaskEverywhere),
                                            std::move(targets), std::move(later_target));
  std::vector<Future> futures;
  for (std::size_t i = 0; i < copies; ++i) {
    states[i]->id = ids[i];
    futures.emplace_back(states[i]);
  }
  return futures;
}

void ProfileCore::cancel(std::uint64_t id) { dispatcher_->cancel(id); }

void ProfileCore::lose_daemon(const std::string& job_id, std::uint32_t index,
                              const std::string& why) {
  if (auto* d = dynamic_cast<Dispatcher*>(dispatcher_.get())) d->lose_daemon(job_id, index, why);
}

std::string ProfileCore::failure() const {
  std::lock_guard<std::mutex> lock(procs_mu_);
  return failure_;
}

void ProfileCore::set_ephemeral_limit(int n) {
  {
    std::lock_guard<std::mutex> lock(procs_mu_);
    target_ = static_cast<std::size_t>(std::max(1, n));
  }
  wake();
}

void ProfileCore::wake() {
  std::uint64_t one = 1;
  if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof one) < 0) {
    // Full (it counts to 2^64): the supervisor wakes anyway.
  }
}

void ProfileCore::arrived(const DaemonStatus& row) {
  if (row.host != host_) return;
  {
    std::lock_guard<std::mutex> lock(arrivals_mu_);
    arrived_.insert(static_cast<pid_t>(row.pid));
  }
  wake();
}

void ProfileCore::supervise() {
  for (;;) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}};
    int timeout_ms;
    {
      std::lock_guard<std::mutex> lock(procs_mu_);
      if (stopping_) return;
      for (const Local& d : procs_)
        if (d.pidfd >= 0) fds.push_back({d.pidfd, POLLIN, 0});
      // Look at least every second (daemons without a pidfd, frozen ones), and when the
      // back-off ends.
      auto now = Clock::now();
      auto until = next_missing_check_;
      if (next_launch_ > now) until = std::min(until, next_launch_);
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, 1000));
    }
    poll(fds.data(), fds.size(), timeout_ms);
    std::uint64_t drained;
    while (read(wake_fd_, &drained, sizeof drained) > 0) {
    }
    std::lock_guard<std::mutex> lock(procs_mu_);
    if (stopping_) return;
    supervise_round();
  }
}

void ProfileCore::reap(Local& d, int wait_status, Clock::time_point now) {
  if (d.pidfd >= 0) close(d.pidfd);
  d.pidfd = -1;
  {
    std::lock_guard<std::mutex> lock(arrivals_mu_);
    d.connected = arrived_.erase(d.pid) > 0 || d.connected;
  }
  if (d.connected) {
    if (!paused_) failures_ = 0;  // it worked: whatever ended it, the launch did not fail
    return;
  }
  ended_[d.pid] = wait_status;
  if (ended_.size() > 256) ended_.erase(ended_.begin());
  failed_launch("daemon process " + std::to_string(d.pid) + " ended with " +
                    describe_wait_status(wait_status) + " before it connected",
                now);
}

void ProfileCore::failed_launch(const std::string& why, Clock::time_point now) {
  ++failures_;
  auto backoff = config_.relaunch_interval * (1 << std::min(failures_ - 1, 10));
  next_launch_ = now + std::min<std::chrono::milliseconds>(backoff, kMaxBackoff);
  if (failures_ <= config_.launch_retries || paused_) return;
  paused_ = true;
  pause_reason_ =
      (ephemeral_ ? "ephemeral daemons keep failing: " : "local daemons keep failing: ") + why +
      " (" + std::to_string(failures_) + " launches in a row)";
}

void ProfileCore::check_missing(Clock::time_point now) {
  auto status = dispatcher_->status();
  if (!status) return;
  std::set<pid_t> rows;
  for (const DaemonStatus& row : status->daemons)
    if (row.host == host_) rows.insert(static_cast<pid_t>(row.pid));
  for (Local& d : procs_) {
    if (rows.count(d.pid)) {
      d.connected = true;
      d.missing_since = Clock::time_point::max();
    } else if (d.connected && d.missing_since == Clock::time_point::max()) {
      d.missing_since = now;
    } else if (d.connected && now - d.missing_since > kMissingGrace) {
      kill(d.pid, SIGKILL);  // lost its connection, yet alive: frozen; its pidfd reports the end
    }
  }
}

void ProfileCore::supervise_round() {
  auto now = Clock::now();
  for (auto it = procs_.begin(); it != procs_.end();) {
    int st = wait_for_exit(it->pid, std::chrono::milliseconds(0));
    if (st < 0) {
      ++it;
      continue;
    }
    reap(*it, st, now);
    it = procs_.erase(it);
  }
  if (now >= next_missing_check_) {
    next_missing_check_ = now + kMissingCheck;
    if (!procs_.empty()) check_missing(now);
  }
  short_.store(procs_.size() < target_, std::memory_order_relaxed);
  if (!short_ && !paused_) return;  // every daemon it keeps is there
  Info info;
  if (auto* d = dynamic_cast<Dispatcher*>(dispatcher_.get()))
    info = d->info();
  else if (auto s = dispatcher_->status())
    info = s->info;
  std::size_t waiting = info.awaiting + info.executing;
  // Each ephemeral daemon takes one task; standing ones are counted as connected.
  std::size_t supply = ephemeral_ ? procs_.size() : info.connections;
  if (paused_) {
    bool in_process = config_.dispatcher_url.empty();
    if (procs_.empty() && info.connections == 0 && in_process && failure_.empty()) {
      failure_ = pause_reason_ + "; no daemon is left to run the tasks";
      failed_ = true;
    }
    if (!failure_.empty() && waiting > 0)
      if (auto* d = dynamic_cast<Dispatcher*>(dispatcher_.get())) d->fail_queued(failure_);
    return;
  }
  // Here fewer daemons run than it keeps (short_).
  if (waiting <= supply || now < next_launch_) return;
  std::size_t launch = std::min(waiting - supply, target_ - procs_.size());
  for (std::size_t i = 0; i < launch; ++i) {
    auto pid = spawn_daemon(ephemeral_ ? 1 : config_.limits.maxtasks);
    if (pid) continue;
    failed_launch(pid.message(), now);
    break;
  }
  short_.store(procs_.size() < target_, std::memory_order_relaxed);
}

Status ProfileCore::serve_control(const std::string& url,
                                  std::function<std::optional<LauncherStatus>()> launcher) {
  auto* dispatcher = dynamic_cast<Dispatcher*>(dispatcher_.get());
  if (!dispatcher) return Status::error("this profile uses a running dispatcher: it serves itself");
  if (control_) return Status::error("this profile already serves its dispatcher");
  auto server = ControlServer::start(*dispatcher, url, std::move(launcher));
  if (!server) return server.status();
  control_ = std::move(*server);
  return {};
}

Info ProfileCore::info() const {
  // A dispatcher here counts without building a row per daemon.
  if (auto* d = dynamic_cast<Dispatcher*>(dispatcher_.get())) return d->info();
  return status().info;
}

ProfileStatus ProfileCore::status() const {
  auto s = dispatcher_->status();
  if (s) return *s;
  ProfileStatus empty;  // a remote dispatcher that stopped answering
  empty.url = url();
  return empty;
}

}  // namespace mirai
