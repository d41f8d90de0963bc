#include "mirai/profile.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "client/future_state.hpp"
#include "client/profile_core.hpp"
#include "daemon/evaluate.hpp"
#include "mirai/daemon.hpp"
#include "mirai/rng.hpp"

namespace mirai {

Profile::Profile() = default;
Profile::~Profile() { reset(); }

// Synchronous mode: tasks evaluated in the caller's thread, as a daemon would.
class SyncProfile {
 public:
  explicit SyncProfile(const DaemonsConfig& config) : functions_(config.functions) {
    add_builtin_functions(builtins_);
    if (config.seed) task_stream_ = RngStream::from_seed(*config.seed);
  }

  Future submit(const Task& task, bool everywhere = false) {
    RunningTask running;
    running.on_process = [](pid_t) {};
    running.on_output = task.on_output;  // as daemons do, before the result
    if (task.stream) {
      running.context.set_rng(*task.stream);
    } else if (task_stream_) {  // seeded: the next stream, as with daemons
      running.context.set_rng(*task_stream_);
      task_stream_ = task_stream_->next_stream();
    } else {
      running.context.set_rng(own_stream_);
      own_stream_ = own_stream_.next_substream();
    }
    auto state = std::make_shared<detail::FutureState>();
    state->id = next_id_++;
    state->resolve(
        evaluate(task, functions_ ? *functions_ : builtins_, running, &setup_, everywhere));
    return Future(state);
  }

 private:
  Setup setup_;  // what everywhere() left; the calling program's directory is not changed
  const FunctionRegistry* functions_;
  FunctionRegistry builtins_;
  std::optional<RngStream> task_stream_;
  RngStream own_stream_ = RngStream::from_seed(static_cast<std::uint32_t>(getpid()));
  std::uint64_t next_id_ = 1;
};

Status Profile::set_daemons(const DaemonsConfig& config) {
  reset();
  if (config.sync) {
    if (!config.url.empty() || !config.dispatcher_url.empty() || config.n > 0)
      return Status::error(
          "synchronous mode runs every task in the calling thread: it takes no daemons, url "
          "or dispatcher");
    sync_ = std::make_shared<SyncProfile>(config);
    return {};
  }
  auto core = ProfileCore::start(config, false);
  if (!core) return core.status();
  core_ = std::move(*core);
  return {};
}

void Profile::reset() {
  core_.reset();
  ephemeral_.reset();
  sync_.reset();
}

bool Profile::daemons_set() const { return core_ != nullptr || sync_ != nullptr; }

Status Profile::serve_control(const std::string& url,
                              std::function<std::optional<LauncherStatus>()> launcher) {
  if (!core_) return Status::error("no daemons are set for this profile; call set_daemons first");
  return core_->serve_control(url, std::move(launcher));
}

Status Profile::launch_local(int n) {
  if (!core_) return Status::error("no daemons are set for this profile; call set_daemons first");
  return core_->launch_local(n, true);
}

void Profile::lose_daemon(const std::string& job_id, std::uint32_t index, const std::string& why) {
  if (core_) core_->lose_daemon(job_id, index, why);
}

std::string Profile::failure() const { return core_ ? core_->failure() : std::string(); }

void Profile::set_ephemeral_limit(int n) {
  ephemeral_limit_ = std::max(0, n);
  if (ephemeral_) ephemeral_->set_ephemeral_limit(ephemeral_limit());
}

int Profile::ephemeral_limit() const {
  if (ephemeral_limit_ > 0) return ephemeral_limit_;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? static_cast<int>(cores) : 1;
}

std::optional<Future> Profile::try_submit(const Task& task) {
  if (core_ && !sync_) return core_->submit(task, false);
  return submit(task);
}

Future Profile::submit(const Task& task) {
  if (sync_) return sync_->submit(task);
  if (core_) return core_->submit(task);
  if (!ephemeral_) {
    auto core = ProfileCore::start(DaemonsConfig{}, true, ephemeral_limit());
    if (!core) {
      auto state = std::make_shared<detail::FutureState>();
      Result r;
      r.kind = Result::Kind::kError;
      r.type = "launch failed";
      r.message = core.message();
      state->resolve(std::move(r));
      return Future(state);
    }
    ephemeral_ = std::move(*core);
  }
  return ephemeral_->submit(task);
}

Map Profile::everywhere(const Task& task, std::size_t min,
                        std::function<void(const Result&)> later) {
  if (sync_) return Map(this, {}, {sync_->submit(task, true)});
  if (core_) return Map(this, {}, core_->everywhere(task, min, std::move(later)));
  auto state = std::make_shared<detail::FutureState>();
  Result r;
  r.kind = Result::Kind::kError;
  r.type = "no daemons";
  r.message =
      "everywhere() runs a task on every daemon of a profile, and this one has none: "
      "call set_daemons first";
  state->resolve(std::move(r));
  return Map(this, {}, {Future(state)});
}

Info Profile::info() const { return core_ ? core_->info() : Info{}; }
ProfileStatus Profile::status() const { return core_ ? core_->status() : ProfileStatus{}; }
std::string Profile::url() const { return core_ ? core_->url() : std::string(); }

std::string Profile::secret() const { return core_ ? core_->secret() : std::string(); }

std::string Profile::tls_certificate() const {
  return core_ ? core_->tls_certificate() : std::string();
}

}  // namespace mirai
