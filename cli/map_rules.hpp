// What `mirai map` reads from its options, beyond parallel's grammar (cli/parallel_args.hpp):
// where its options end, --halt and --timeout, the shell that runs a command line.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "cli/common.hpp"
#include "mirai/task.hpp"

namespace mirai::cli {

// --halt WHEN,WHY=N[%] (or parallel's old 0, 1, 2, -1, -2).
struct Halt {
  enum class When { kNever, kSoon, kNow } when = When::kNever;
  enum class Why { kFail, kSuccess, kDone } why = Why::kFail;
  double count = 0;
  bool percent = false;
};
Expected<Halt> parse_halt(const std::string& text);

// --timeout: seconds when it has no unit (parallel's), else a duration such as 1m30s; or N% of
// the median run time of the tasks that succeeded so far (`percent` set, the result 0).
Expected<std::chrono::milliseconds> parse_timeout(const std::string& text, double& percent);

// The options before the command: as in parallel, the command starts at the first word that is
// neither an option nor an option's value; "--" also ends the options.
std::pair<Args, Args> split_options(const Args& all, const po::options_description& options);

// The shell that runs a command line: $PARALLEL_SHELL, else $SHELL when it is a POSIX shell
// (every replacement is quoted for one), else /bin/sh.
std::string job_shell();

// The task for a command line: exec'd as its words when the shell would do no more than that,
// else run by the shell.
Task task_for(const std::string& line, const std::string& shell);

// -j 0: a daemon for each task, up to a number this machine's process table and the
// dispatcher's connections take without trouble.
inline constexpr std::size_t kMostDaemonsForJ0 = 256;
int one_a_task(std::size_t tasks);

}  // namespace mirai::cli
