// A daemon with functions of its own. Build it, then point a profile's daemon_command at it:
//
//   mirai::DaemonsConfig c;  c.n = 2;  c.daemon_command = "/path/to/custom_daemon";
//   profile.set_daemons(c);
//   profile.submit(mirai::Task::call("sum", "1 2 3")).wait().value  == "6"
//   *mirai::submit<std::vector<double>>(profile, "cumsum", std::vector<double>{1, 2}).get()
//       == std::vector<double>{1, 3}
//
// It accepts the same arguments as `mirai daemon` does after the word "daemon":
//   custom_daemon daemon URL [--maxtasks N] [--idletime D] ...
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "mirai/daemon.hpp"
#include "mirai/duration.hpp"

int main(int argc, char** argv) {
  // Launchers call "<command> daemon URL [options]"; this example reads the URL and limits.
  if (argc < 3 || std::string(argv[1]) != "daemon") {
    std::cerr << "usage: custom_daemon daemon URL [--maxtasks N] [--idletime D] [--walltime D]\n";
    return 64;
  }
  mirai::DaemonOptions options;
  options.url = argv[2];
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--maxtasks") {
      options.maxtasks = static_cast<std::uint32_t>(std::stoul(value));
    } else if (flag == "--idletime" || flag == "--walltime") {
      auto d = mirai::parse_duration(value);
      if (!d) return std::cerr << d.message() << "\n", 64;
      (flag == "--idletime" ? options.idletime : options.walltime) = *d;
    }
  }

  mirai::FunctionRegistry functions;
  mirai::add_builtin_functions(functions);
  // Sums whitespace-separated integers: "1 2 3" -> "6".
  functions.add("sum", [](std::string_view payload, mirai::CallContext&) {
    std::istringstream in{std::string(payload)};
    long long total = 0;
    std::string word;
    while (in >> word) total += std::stoll(word);  // a bad number throws: an evaluation error
    return std::to_string(total);
  });
  // A typed function: the payload is decoded as a vector<double> and the result encoded (see
  // mirai/codec.hpp); hosts call it with mirai::submit<std::vector<double>>(p, "cumsum", v).
  functions.add<std::vector<double>, std::vector<double>>("cumsum",
                                                          [](const std::vector<double>& v) {
                                                            std::vector<double> out;
                                                            double total = 0;
                                                            for (double x : v)
                                                              out.push_back(total += x);
                                                            return out;
                                                          });
  // Daemon state that later tasks see: everywhere(Task::call("remember", "model=/data/m1"))
  // once, then call("recall", "model") in any task. Plain process state: the daemon runs one
  // task at a time, but the lock keeps it safe for functions that start threads.
  static std::mutex state_mu;
  static std::map<std::string, std::string> state;
  functions.add("remember", [](std::string_view payload, mirai::CallContext&) {
    auto eq = payload.find('=');
    if (eq == std::string_view::npos) throw std::invalid_argument("remember takes key=value");
    std::lock_guard<std::mutex> lock(state_mu);
    state[std::string(payload.substr(0, eq))] = std::string(payload.substr(eq + 1));
    return std::string();
  });
  functions.add("recall", [](std::string_view key, mirai::CallContext&) {
    std::lock_guard<std::mutex> lock(state_mu);
    auto it = state.find(std::string(key));
    if (it == state.end())
      throw std::out_of_range("nothing remembered as '" + std::string(key) + "'");
    return it->second;
  });
  // Counts down, checking for cancellation between steps.
  functions.add("countdown", [](std::string_view payload, mirai::CallContext& ctx) {
    int n = std::stoi(std::string(payload));
    for (int i = n; i > 0; --i)
      if (!ctx.sleep_for(std::chrono::milliseconds(100))) throw mirai::Interrupted();
    return std::string("liftoff");
  });

  auto code = mirai::run_daemon(options, functions);
  if (!code) {
    std::cerr << "custom_daemon: " << code.message() << "\n";
    return 69;
  }
  return *code;
}
