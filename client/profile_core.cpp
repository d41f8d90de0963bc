#include "client/profile_core.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "client/future_state.hpp"
#include "client/remote_dispatcher.hpp"
#include "core/process.hpp"
#include "core/protocol_v1.hpp"
#include "core/tls.hpp"
#include "mirai/daemon.hpp"
#include "mirai/duration.hpp"

namespace mirai {
namespace {

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

std::string find_daemon_command(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("MIRAI_EXE"); env && *env) return env;
  std::string self = self_exe();
  if (self.size() >= 6 && self.compare(self.size() - 6, 6, "/mirai") == 0) return self;
#ifdef MIRAI_BUILD_EXE
  if (executable(MIRAI_BUILD_EXE)) return MIRAI_BUILD_EXE;
#endif
  return "mirai";
}

ProfileCore::ProfileCore(const DaemonsConfig& config, bool ephemeral)
    : config_(config), ephemeral_(ephemeral) {}

Expected<std::shared_ptr<ProfileCore>> ProfileCore::start(const DaemonsConfig& config,
                                                          bool ephemeral) {
  if (config.n < 0) return Status::error("the number of daemons must be zero or more");
  std::shared_ptr<ProfileCore> core(new ProfileCore(config, ephemeral));
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
    d.urls = {config.url.empty() ? local_url() : config.url};
    if (is_tls_url(d.urls[0])) {
      TlsSettings& t = core->config_.tls;
      if (Status s = tls::prepare(d.urls[0], t); !s) return s;
      d.tls = {t.cert_pem, t.key_pem, t.key_passphrase};
      d.tls_trust = tls::trusted(t);
    }
    d.policy = config.dispatcher ? DispatcherOptions::Policy::kFifo
                                 : DispatcherOptions::Policy::kRoundRobin;
    d.max_prefetch = ephemeral ? 1 : config.max_prefetch;
    d.secret = config.secret;
    d.seed = config.seed;
    d.heartbeat = config.heartbeat;
    d.on_connected = config.on_connected;
    auto dispatcher = Dispatcher::start(d);
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
  if (config.n > 0)
    if (Status s = core->launch_local(config.n, true); !s) return s;
  return core;
}

ProfileCore::~ProfileCore() {
  control_.reset();                          // its clients see the connection close
  if (dispatcher_) dispatcher_->exit_all();  // for daemons started without autoexit
  dispatcher_.reset();                       // pending tasks resolve to 7; connections close
  std::lock_guard<std::mutex> lock(procs_mu_);
  // Daemons that dial a dispatcher of another process stay connected when we leave: stop ours.
  if (!config_.dispatcher_url.empty())
    for (pid_t pid : procs_) kill(pid, SIGTERM);
  for (pid_t pid : procs_) {
    if (wait_for_exit(pid, std::chrono::milliseconds(2000)) < 0) {
      kill(pid, SIGKILL);
      wait_for_exit(pid, std::chrono::milliseconds(2000));
    }
  }
}

Expected<pid_t> ProfileCore::spawn_daemon(std::uint32_t maxtasks) {
  const DaemonLimits& l = config_.limits;
  SpawnOptions o;
  o.argv = {find_daemon_command(config_.daemon_command), "daemon", url()};
  if (l.idletime.count() > 0)
    o.argv.insert(o.argv.end(), {"--idletime", format_duration(l.idletime)});
  if (l.walltime.count() > 0)
    o.argv.insert(o.argv.end(), {"--walltime", format_duration(l.walltime)});
  if (maxtasks > 0) o.argv.insert(o.argv.end(), {"--maxtasks", std::to_string(maxtasks)});
  if (!l.autoexit) o.argv.push_back("--no-autoexit");
  if (l.asyncdial) o.argv.push_back("--asyncdial");
  if (l.output) o.argv.push_back("--output");
  if (config_.heartbeat != DaemonOptions().heartbeat)
    o.argv.insert(o.argv.end(), {"--heartbeat", format_duration(config_.heartbeat)});
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
  std::lock_guard<std::mutex> lock(procs_mu_);
  reap_exited();
  procs_.push_back(child->pid);
  return child->pid;
}

void ProfileCore::reap_exited() {
  std::vector<pid_t> alive;
  for (pid_t pid : procs_)
    if (wait_for_exit(pid, std::chrono::milliseconds(0)) < 0) alive.push_back(pid);
  procs_.swap(alive);
}

Status ProfileCore::launch_local(int n, bool wait) {
  std::vector<pid_t> launched;
  std::size_t before = info().cumulative;
  for (int i = 0; i < n; ++i) {
    auto pid = spawn_daemon(config_.limits.maxtasks);
    if (!pid) return pid.status();
    launched.push_back(*pid);
  }
  if (!wait) return {};
  std::string died;
  auto alive = [&] {
    std::lock_guard<std::mutex> lock(procs_mu_);
    for (pid_t pid : launched) {
      int st = wait_for_exit(pid, std::chrono::milliseconds(0));
      if (st >= 0) {
        died = "daemon process " + std::to_string(pid) + " ended with " + describe_wait_status(st) +
               " before it connected";
        return false;
      }
    }
    return true;
  };
  if (dispatcher_->wait_for_connections(before + static_cast<std::size_t>(n),
                                        config_.startup_timeout, alive))
    return {};
  if (died.empty())
    died = "only " + std::to_string(info().cumulative - before) + " of " + std::to_string(n) +
           " daemons connected to " + url() + " within " + format_duration(config_.startup_timeout);
  return Status::error(died);
}

std::optional<Future> ProfileCore::submit(const Task& task, bool wait) {
  auto state = std::make_shared<detail::FutureState>();
  state->core = weak_from_this();
  std::string frame;
  if (task_stream_ && !task.stream) {
    // A seeded profile: the next stream, in submission order.
    Task seeded = task;
    {
      std::lock_guard<std::mutex> lock(stream_mu_);
      task_stream_ = task_stream_->next_stream();
      seeded.stream = task_stream_;
    }
    frame = proto::encode_task(0, seeded);
  } else {
    frame = proto::encode_task(0, task);
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
  if (ephemeral_) {
    auto pid = spawn_daemon(1);
    if (!pid) {
      Result r;
      r.kind = Result::Kind::kError;
      r.type = "launch failed";
      r.message = pid.message();
      if (state->resolve(std::move(r))) dispatcher_->cancel(state->id);
    }
  }
  return Future(state);
}

Future ProfileCore::submit(const Task& task) { return *submit(task, true); }

namespace {

// Hands the outcome of each copy of a standing setup to a callback.
class LaterTarget final : public ResultTarget {
 public:
  explicit LaterTarget(std::function<void(const Result&)> fn) : fn_(std::move(fn)) {}
  void deliver(std::string frame) override {
    if (auto r = proto::decode_result(std::move(frame))) fn_(r->result);
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

Info ProfileCore::info() const { return status().info; }

ProfileStatus ProfileCore::status() const {
  auto s = dispatcher_->status();
  if (s) return *s;
  ProfileStatus empty;  // a remote dispatcher that stopped answering
  empty.url = url();
  return empty;
}

}  // namespace mirai
