#include "daemon/command_line.hpp"

#include "mirai/daemon.hpp"
#include "mirai/duration.hpp"

namespace mirai {

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
