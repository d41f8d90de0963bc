#include "mirai/compute.hpp"

#include <map>
#include <memory>
#include <mutex>

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

Future submit(const Task& task) { return profile(current).submit(task); }

ComputeScope::ComputeScope(std::string name) : previous_(current), profile_(mirai::profile(name)) {
  current = std::move(name);
}

ComputeScope::~ComputeScope() { current = previous_; }

}  // namespace mirai
