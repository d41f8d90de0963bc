// `mirai`: the command-line front end. Each sub-command lives in its own file.
#include <signal.h>

#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "core/protocol.hpp"
#include "launcher/diagnostics.hpp"

namespace mirai::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"run", "run one command on a daemon and print its output", run_main},
      {"map", "run a command once per argument on a profile's daemons, with GNU parallel's syntax",
       map_main},
      {"daemon", "start a daemon that dials a dispatcher and runs its tasks", daemon_main},
      {"dispatcher", "run a dispatcher that daemons dial and clients submit to", dispatcher_main},
      {"status", "show a running dispatcher's counters and daemons", status_main},
      {"launch", "start a profile's daemons (a job array) for a running dispatcher", launch_main},
      {"render", "print a profile's job script and submit command without submitting", render_main},
      {"config", "check mirai.yaml: `mirai config check` reports every problem", config_main},
      {"relay", "carry daemons' connections from a login node to a laptop (started over ssh)",
       relay_main},
  };
  return table;
}

}  // namespace mirai::cli

namespace {

void print_help() {
  std::cout << "usage: mirai <command> [options]\n\ncommands:\n";
  for (const auto& c : mirai::cli::commands())
    std::cout << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << "\n";
  std::cout << "\n'mirai help <command>' (or 'mirai <command> --help') shows a command's "
               "options; 'mirai --version' the version.\n";
}

const mirai::cli::Command* find(const std::string& name) {
  for (const auto& c : mirai::cli::commands())
    if (name == c.name) return &c;
  return nullptr;
}

int unknown(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& c : mirai::cli::commands()) names.push_back(c.name);
  std::string guess = mirai::launcher::nearest(name, names);
  std::cerr << "mirai: unknown command '" << name << "'"
            << (guess.empty() ? std::string() : " (did you mean '" + guess + "'?)") << "\n";
  print_help();
  return mirai::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a closed socket or pipe is an error value, not a death
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  const std::string first = argv[1];
  if (first == "--version" || first == "-V" || first == "version") {
    std::cout << "mirai " << MIRAI_VERSION << " (wire protocol v" << mirai::proto::kVersion
              << ")\n";
    return 0;
  }
  if (first == "help") {  // mirai help [command]
    if (argc < 3) return print_help(), 0;
    const mirai::cli::Command* c = find(argv[2]);
    if (!c) return unknown(argv[2]);
    mirai::cli::Args help = {"--help"};
    return c->main(help);
  }
  if (const mirai::cli::Command* c = find(first)) {
    mirai::cli::Args args(argv + 2, argv + argc);
    return c->main(args);
  }
  return unknown(first);
}
