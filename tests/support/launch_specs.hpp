// Launch specs for the backends' golden tests: the bare one a one-line profile gives, and a
// full one with limits, prologue, epilogue, a hostile environment value and a workdir with a
// space; each backend's test adds its resources, directives and log.
#pragma once

#include <string>

#include "launcher/backend.hpp"

namespace mirai::test {

inline launcher::LaunchSpec minimal_spec(const std::string& launcher_name) {
  launcher::LaunchSpec spec;
  spec.profile.name = "p";
  spec.profile.launcher = launcher_name;
  spec.n = 1;
  spec.url = "tcp://127.0.0.1:4000";
  spec.command = "/usr/bin/mirai";
  spec.workdir = "/w";
  return spec;
}

inline launcher::LaunchSpec full_spec(const std::string& launcher_name, const std::string& name,
                                      int n) {
  launcher::LaunchSpec spec;
  launcher::ProfileConfig& p = spec.profile;
  p.name = name;
  p.launcher = launcher_name;
  p.limits.idletime = std::chrono::minutes(5);
  p.limits.walltime = std::chrono::minutes(55);
  p.limits.maxtasks = 100;
  p.prologue = {"module load gcc/12", "source ~/env.sh"};
  p.epilogue = {"echo finished"};
  p.env = {{"OMP_NUM_THREADS", "1"}, {"NOTE", "it's $(not) run"}};
  spec.n = n;
  spec.url = "tcp://10.0.0.1:5555";
  spec.command = "/opt/mirai/bin/mirai";
  spec.workdir = "/home/me/my project";
  return spec;
}

}  // namespace mirai::test
