#include "daemon/command_line.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

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

// The `mirai` beside this library: `bin/mirai` from the directory libmirai.so was loaded from
// (MIRAI_LIB_TO_BIN, bindir relative to libdir), in the build tree as once installed.
std::string beside_library() {
#ifdef MIRAI_LIB_TO_BIN
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&find_daemon_command), &info) == 0 || !info.dli_fname)
    return {};
  char resolved[PATH_MAX];
  if (!realpath(info.dli_fname, resolved)) return {};
  std::string lib = resolved;
  auto slash = lib.rfind('/');
  if (slash == std::string::npos) return {};
  std::string exe = lib.substr(0, slash) + "/" + MIRAI_LIB_TO_BIN + "/mirai";
  if (!realpath(exe.c_str(), resolved)) return {};
  return resolved;
#else
  return {};
#endif
}

}  // namespace

bool trusted_path(const std::string& path) {
  std::string p = path;
  while (!p.empty()) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return false;
    if (st.st_uid != 0 && st.st_uid != geteuid()) return false;
    // A directory others may write to is safe above us only with the sticky bit (/tmp): there
    // nobody but an entry's owner can rename or remove it.
    bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && p != path;
    if ((st.st_mode & 022) != 0 && !sticky_dir) return false;
    auto slash = p.rfind('/');
    if (slash == std::string::npos || p == "/") break;
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
  return true;
}

std::string find_daemon_command(const std::string& configured) {
  if (!configured.empty()) return configured;
  // The `mirai` command's own library: itself.
  std::string self = self_exe();
  if (self.size() >= 6 && self.compare(self.size() - 6, 6, "/mirai") == 0) return self;
  // Where no other user could have put a binary of theirs (not under /tmp).
  if (std::string beside = beside_library();
      !beside.empty() && executable(beside) && trusted_path(beside))
    return beside;
  if (const char* env = std::getenv("MIRAI_EXE"); env && *env) return env;
  return "mirai";
}

std::vector<std::string> daemon_argv(const DaemonCommand& c) {
  std::vector<std::string> argv = {c.program, "daemon", c.url};
  auto add = [&](const char* option, std::string value) {
    argv.push_back(option);
    argv.push_back(std::move(value));
  };
  const DaemonLimits& l = c.limits;
  if (l.idletime.count() > 0) add("--idletime", format_duration(l.idletime));
  if (l.walltime.count() > 0) add("--walltime", format_duration(l.walltime));
  if (l.maxtasks > 0) add("--maxtasks", std::to_string(l.maxtasks));
  if (!l.autoexit) argv.push_back("--no-autoexit");
  if (l.asyncdial) argv.push_back("--asyncdial");
  if (l.output) argv.push_back("--output");
  if (c.join_timeout.count() > 0) add("--join-timeout", format_duration(c.join_timeout));
  if (c.heartbeat != DaemonOptions().heartbeat) add("--heartbeat", format_duration(c.heartbeat));
  if (c.allocation.count() > 0) add("--allocation", format_duration(c.allocation));
  return argv;
}

}  // namespace mirai
