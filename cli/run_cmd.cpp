// mirai run [-n N] [--timeout D] -- CMD ARGS...: one shell task on a daemon, given this
// command's stdin; prints its output as it comes and exits with its exit status (128+N for signal
// N, 124 on timeout, 125 for other failures).
#include <unistd.h>

#include <cerrno>

#include <iostream>
#include <iterator>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pool.hpp"
#include "cli/report.hpp"

namespace mirai::cli {

int run_main(const Args& all) {
  auto [args, command] = split_at_dashes(all);
  PoolOptions pool;
  po::options_description options("mirai run [options] -- CMD ARGS...");
  options.add_options()("help,h", "show this help")("timeout,t", po::value<std::string>(),
                                                    "stop the command after this long")(
      "expected", po::value<std::string>()->value_name("D"),
      "the command is expected to run this long: no daemon whose job ends sooner gets it");
  add_pool_options(options, pool, 1);
  // The command's words before `--` (`mirai run echo hi`): parsed, not shown in --help.
  po::options_description hidden;
  hidden.add_options()("command", po::value<Args>(), "");
  po::options_description all_options;
  all_options.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", -1);
  po::variables_map vm;
  if (!parse("run", args, all_options, &positional, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout
        << options << "\n"
        << "Examples:\n"
           "  mirai run -- make -C src test      one command on a daemon, its output and status\n"
           "  mirai run --timeout 30s -p cluster -- ./simulate.sh 7\n"
        << "Exit status: the command's own; 124 timed out; 125 mirai could not run it; 126 not "
           "executable; 127 not found; 128+N signal N; 2 bad usage.\n";
    return 0;
  }
  if (vm.count("command")) {
    auto before = vm["command"].as<Args>();
    command.insert(command.begin(), before.begin(), before.end());
  }
  if (command.empty()) return usage_error("run", "no command given (write: mirai run -- CMD ARGS)");
  auto timeout = duration_option(vm, "timeout", "run");
  auto expected = duration_option(vm, "expected", "run");
  if (!timeout || !expected) return kExitUsage;
  pool.longest_expected = *expected;

  auto daemons = Pool::start("run", pool);
  if (!daemons) return kExitCannotRun;
  Task task = Task::shell(command);
  // What comes on stdin goes to the command's stdin, as with timeout(1): read to its end first
  // (a terminal is left alone: nothing would end it).
  if (!isatty(STDIN_FILENO)) {
    std::string& input = std::get<ShellTask>(task.body).stdin_data;
    input.assign(std::istreambuf_iterator<char>(std::cin), {});
    if (std::cin.bad()) return usage_error("run", "cannot read stdin"), kExitCannotRun;
  }
  task.timeout = *timeout;
  task.expected = *expected;
  // Its output as it comes, as if it ran here.
  task.on_output = [](int stream, std::string_view bytes) {
    write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, bytes);
  };
  auto submitted = daemons->submit("", task);
  if (!submitted) return usage_error("run", submitted.message()), kExitCannotRun;
  Result r = submitted->wait();
  if (std::string why = daemons->failure(); !r.ok() && !why.empty()) {
    std::cerr << "mirai run: " << why << "\n";
    return kExitCannotRun;
  }
  // All of it was streamed; a result from before it ran (refused, lost) may still say something.
  write_all(STDOUT_FILENO, r.value);
  write_all(STDERR_FILENO, r.stderr_output);
  if (!r.ok()) std::cerr << "mirai run: " << failure_text(r, *timeout) << "\n";
  return exit_status(r);
}

}  // namespace mirai::cli
