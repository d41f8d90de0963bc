#include "mirai/compute.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "client/future_state.hpp"

namespace mirai {

namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Profile>> profiles;  // GUARDED_BY(mu)
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: profiles may be used during exit
  return *r;
}

thread_local std::string current = kDefaultCompute;

}  // namespace

Profile& profile(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto& slot = r.profiles[name];
  if (!slot) slot = std::make_unique<Profile>();
  return *slot;
}

bool remove_profile(const std::string& name) {
  std::unique_ptr<Profile> gone;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.profiles.find(name);
    if (it == r.profiles.end()) return false;
    gone = std::move(it->second);
    r.profiles.erase(it);
  }
  gone->reset();  // outside the lock: stopping daemons takes time
  return true;
}

std::vector<std::string> profile_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, p] : r.profiles) names.push_back(name);
  return names;
}

const std::string& current_compute() { return current; }

namespace {

// The profile `name` if it exists (the default one is made on first use).
Profile* find_profile(const std::string& name) {
  if (name == kDefaultCompute) return &profile(name);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.profiles.find(name);
  return it == r.profiles.end() ? nullptr : it->second.get();
}

Status missing(const std::string& name) {
  std::string known;
  for (const auto& n : profile_names()) known += (known.empty() ? "" : ", ") + n;
  return Status::error("there is no compute profile '" + name + "' (make it first with profile(\"" +
                       name + "\").set_daemons(...)" +
                       (known.empty() ? std::string(")") : "; there are: " + known + ")"));
}

}  // namespace

Future submit(const Task& task) {
  if (Profile* p = find_profile(current)) return p->submit(task);
  auto state = std::make_shared<detail::FutureState>();
  Result r;
  r.kind = Result::Kind::kError;
  r.type = "no such compute profile";
  r.cause = Cause::kRefused;
  r.message = missing(current).message();
  state->resolve(std::move(r));
  return Future(state);
}

ComputeScope::ComputeScope(std::string name)
    : previous_(current),
      profile_(find_profile(name)),
      status_(profile_ ? Status() : missing(name)) {
  current = std::move(name);
}

ComputeScope::~ComputeScope() { current = previous_; }

}  // namespace mirai
