// Evaluating one task on the daemon: a shell command or a registered function.
#pragma once

#include <sys/types.h>

#include <functional>

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
};

Result evaluate(const Task& task, const FunctionRegistry& functions, RunningTask& running);

}  // namespace mirai
