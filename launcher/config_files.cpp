// Which mirai.yaml a command reads, and which of its profiles: the lookup from the working
// directory upward, the per-user file, $MIRAI_PROFILE, and where a run's records go.
#include <limits.h>
#include <unistd.h>

#include <cstdlib>

#include "core/file.hpp"
#include "launcher/backend.hpp"
#include "launcher/config.hpp"

namespace mirai::launcher {

void apply_profile_env(Config& config, Diagnostics& diagnostics) {
  const char* env = std::getenv("MIRAI_PROFILE");
  if (!env || !*env) return;
  if (!config.profiles.count(env) && diagnostics.empty()) {
    std::vector<std::string> names;
    for (const auto& [n, p] : config.profiles) names.push_back(n);
    std::string near = nearest(env, names);
    diagnostics.error(
        0, 0, std::string("$MIRAI_PROFILE names no profile: '") + env + "'",
        near.empty() ? "its profiles: " + join(names, ", ") : "did you mean '" + near + "'?");
  }
  config.default_profile = env;
}

std::string find_config(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("MIRAI_CONFIG"); env && *env) return env;
  // The project's: here or in a directory above, up to the project's root (the first that
  // holds .git) or /.
  const std::string here = working_directory();
  for (std::string dir = here;;) {
    std::string file = (dir == "/" ? "" : dir) + "/mirai.yaml";
    if (access(file.c_str(), F_OK) == 0) return dir == here ? "mirai.yaml" : file;
    if (dir == "/" || access((dir + "/.git").c_str(), F_OK) == 0) break;
    auto slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  if (std::string user = user_config(); access(user.c_str(), F_OK) == 0) return user;
  return "";
}

std::string user_config() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : home && *home ? std::string(home) + "/.config" : "";
  return base.empty() ? "" : base + "/mirai/mirai.yaml";
}

Expected<ProfileConfig> profile_named(const Config& config, const std::string& name) {
  if (auto it = config.profiles.find(name); it != config.profiles.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, p] : config.profiles) names.push_back(n);
  std::string near = nearest(name, names);
  return Status::error(config.file + " has no profile '" + name + "'" +
                       (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                       "; its profiles: " + join(names, ", "));
}

std::string config_root(const std::string& file) {
  // The per-user file serves every project: their runs are recorded where they run.
  if (!file.empty() && file == user_config()) return working_directory();
  auto slash = file.rfind('/');
  std::string dir = slash == std::string::npos ? "." : file.substr(0, slash == 0 ? 1 : slash);
  char resolved[PATH_MAX];
  return realpath(dir.c_str(), resolved) ? resolved : dir;
}

}  // namespace mirai::launcher
