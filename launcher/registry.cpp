#include "launcher/registry.hpp"

#include <map>
#include <mutex>

#include "launcher/backend.hpp"
#include "launcher/config.hpp"

namespace mirai::launcher {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<const BackendKind>> kinds;  // GUARDED_BY(mu)
};

// Made on first use, so that registering from a static initializer in any order is safe.
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: in use until the process ends
  return *r;
}

}  // namespace

bool register_backend(BackendKind kind) {
  if (kind.name.empty() || !kind.make) return false;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto [it, added] = r.kinds.try_emplace(kind.name, nullptr);
  if (added) it->second = std::make_unique<const BackendKind>(std::move(kind));
  return added;
}

const BackendKind* find_backend(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.kinds.find(name);
  return it == r.kinds.end() ? nullptr : it->second.get();  // kinds are never removed
}

const BackendKind* kind_of(const ProfileConfig& profile) {
  return profile.backend ? profile.backend.get() : find_backend(profile.launcher);
}

std::vector<std::string> backend_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, kind] : r.kinds) names.push_back(name);
  return names;
}

std::unique_ptr<Backend> make_backend(const ProfileConfig& profile) {
  const BackendKind* kind = kind_of(profile);
  return kind ? kind->make(profile) : nullptr;
}

std::string listen_url_template(const ProfileConfig& profile) {
  if (!profile.url.empty()) return profile.url;
  const BackendKind* kind = kind_of(profile);
  if (kind && kind->default_url) return kind->default_url(profile);
  return "tcp://{hostname}:0";
}

std::string in_process_backend() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& [name, kind] : r.kinds)
    if (kind->in_process) return name;
  return "";
}

}  // namespace mirai::launcher
