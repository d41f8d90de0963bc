// The one place that writes a `mirai daemon` command line: what a local profile spawns, and
// what a launcher's job script or ssh host runs. Options at the daemon's defaults are left out.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mirai/daemon_limits.hpp"

namespace mirai {

struct DaemonCommand {
  std::string program;  // the mirai binary, or a custom daemon
  std::string url;      // the dispatcher's
  DaemonLimits limits;
  // How long it tries to join (a crowd starting at once may be turned away at first).
  std::chrono::milliseconds join_timeout{0};  // 0: the daemon's default
  std::chrono::milliseconds heartbeat{5000};  // written when not the daemon's default
  std::chrono::seconds allocation{0};         // its job's time limit; 0: none known
};

std::vector<std::string> daemon_argv(const DaemonCommand& c);

// The program that serves as `mirai daemon`, as DaemonsConfig::daemon_command documents.
std::string find_daemon_command(const std::string& configured);

// Whether no one but this user (or root) could have put `path` there: it and every directory
// above it belong to one of them, and none is writable by others unless it is a sticky
// directory above (as /tmp, where others cannot replace what is ours). A `mirai` beside a
// library in another user's directory, or in a world-writable one, is skipped.
bool trusted_path(const std::string& path);

}  // namespace mirai
