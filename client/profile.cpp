#include "mirai/profile.hpp"

#include "client/future_state.hpp"
#include "client/profile_core.hpp"

namespace mirai {

Profile::Profile() = default;
Profile::~Profile() { reset(); }

Status Profile::set_daemons(const DaemonsConfig& config) {
  reset();
  auto core = ProfileCore::start(config, false);
  if (!core) return core.status();
  core_ = std::move(*core);
  return {};
}

void Profile::reset() {
  core_.reset();
  ephemeral_.reset();
}

bool Profile::daemons_set() const { return core_ != nullptr; }

Status Profile::launch_local(int n) {
  if (!core_) return Status::error("no daemons are set for this profile; call set_daemons first");
  return core_->launch_local(n, true);
}

Future Profile::submit(const Task& task) {
  if (core_) return core_->submit(task);
  if (!ephemeral_) {
    auto core = ProfileCore::start(DaemonsConfig{}, true);
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

Info Profile::info() const { return core_ ? core_->info() : Info{}; }
ProfileStatus Profile::status() const { return core_ ? core_->status() : ProfileStatus{}; }
std::string Profile::url() const { return core_ ? core_->url() : std::string(); }

std::string Profile::secret() const { return core_ ? core_->secret() : std::string(); }

std::string Profile::tls_certificate() const {
  return core_ ? core_->tls_certificate() : std::string();
}

}  // namespace mirai
