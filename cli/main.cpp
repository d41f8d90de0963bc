// `mirai`: the command-line front end. Each sub-command lives in its own file.
#include <signal.h>

#include <cstring>
#include <iostream>

#include "cli/commands.hpp"

namespace mirai::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"run", "run one command on a daemon and print its output", run_main},
      {"map", "run a command once per argument on a profile's daemons, results in order", map_main},
      {"daemon", "start a daemon that dials a dispatcher and runs its tasks", daemon_main},
      {"dispatcher", "run a dispatcher that daemons dial and clients submit to", dispatcher_main},
      {"status", "show a running dispatcher's counters and daemons", status_main},
      {"launch", "start a profile's daemons (a job array) for a running dispatcher", launch_main},
      {"render", "print a profile's job script and submit command without submitting", render_main},
      {"config", "check mirai.yaml: `mirai config check` reports every problem", config_main},
  };
  return table;
}

}  // namespace mirai::cli

namespace {

void print_help() {
  std::cout << "usage: mirai <command> [options]\n\ncommands:\n";
  for (const auto& c : mirai::cli::commands())
    std::cout << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << "\n";
  std::cout << "\n'mirai <command> --help' shows a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a closed socket or pipe is an error value, not a death
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  mirai::cli::Args args(argv + 2, argv + argc);
  for (const auto& c : mirai::cli::commands())
    if (argv[1] == std::string(c.name)) return c.main(args);
  std::cerr << "mirai: unknown command '" << argv[1] << "'\n";
  print_help();
  return 2;
}
