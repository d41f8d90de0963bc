// Starts two local daemons from the installed library (which finds the installed `mirai`
// binary beside itself) and runs a call and a shell task on them; then the same through a
// launched profile read from a mirai.yaml it writes in the working directory.
#include <cstdio>
#include <fstream>

#include "mirai/mirai.hpp"

int main() {
  mirai::DaemonsConfig config;
  config.n = 2;
  mirai::Profile profile;
  if (mirai::Status s = profile.set_daemons(config); !s) {
    std::fprintf(stderr, "consumer: %s\n", s.message().c_str());
    return 1;
  }
  mirai::Result call = profile.submit(mirai::Task::call("echo", "from a call")).wait();
  mirai::Result shell = profile.submit(mirai::Task::sh("echo from a shell")).wait();
  if (!call.ok() || !shell.ok()) {
    std::fprintf(stderr, "consumer: %s %s\n", call.message.c_str(), shell.message.c_str());
    return 1;
  }
  std::ofstream("mirai.yaml") << "profiles:\n  here: { launcher: local, workers: 1 }\n";
  mirai::LaunchOptions o;
  o.config = "mirai.yaml";
  o.profile = "here";
  auto launched = mirai::LaunchedProfile::start(o);
  if (!launched) {
    std::fprintf(stderr, "consumer: %s\n", launched.message().c_str());
    return 1;
  }
  mirai::Result profiled =
      (*launched)->profile().submit(mirai::Task::call("echo", "launched")).wait();
  if (!profiled.ok()) {
    std::fprintf(stderr, "consumer: %s\n", profiled.describe().c_str());
    return 1;
  }
  std::printf("%s|%s|%s", call.value.c_str(), profiled.value.c_str(), shell.value.c_str());
  return 0;
}
