// Evaluating one task on the daemon: a shell command or a registered function.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "mirai/daemon.hpp"
#include "mirai/result.hpp"
#include "mirai/task.hpp"

namespace mirai {

// Hooks through which the daemon loop can interrupt a running task.
struct RunningTask {
  CallContext context;  // cancelled() turns true on interrupt
  // Shell tasks: called with the command's pid (= its process group) once it runs, and with 0
  // when it has exited.
  std::function<void(pid_t)> on_process;
  // The daemon's instance number at its dispatcher (1 for the first that connected); 0 in a
  // sync profile. Shell tasks see it as MIRAI_DAEMON_ID and as PARALLEL_JOBSLOT.
  std::uint32_t daemon_id = 0;
  // Shell tasks that stream their output (proto::kTaskStreamOutput): where it goes as it comes.
  std::function<void(int, std::string_view)> on_output;
};

// What everywhere() shell tasks left behind for the later shell tasks of this daemon (or sync
// profile).
struct Setup {
  // The environment of later shell tasks (before their own `env`); unset: the process's own.
  std::optional<std::map<std::string, std::string>> env;
  // Their working directory (when they name none); "": the process's own.
  std::string cwd;
  // Also make `cwd` this process's working directory, so that call tasks work there too (the
  // daemon; not a sync profile, which runs in the user's program).
  bool chdir = false;
};

// Runs a task. With `setup` (an everywhere() task), a shell task that succeeds leaves its
// exported environment variables and working directory in `*setup` for the tasks after it;
// otherwise `*setup` (may be null) only shapes the task's environment.
Result evaluate(const Task& task, const FunctionRegistry& functions, RunningTask& running,
                Setup* setup = nullptr, bool everywhere = false);

}  // namespace mirai
