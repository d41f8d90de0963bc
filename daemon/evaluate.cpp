#include "daemon/evaluate.hpp"

#include <cxxabi.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "core/process.hpp"

namespace mirai {
namespace {

std::uint64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? d.get() : name;
}

Result interrupted() {
  Result r;
  r.kind = Result::Kind::kInterrupt;
  r.message = "interrupted";
  return r;
}

Result evaluate_call(const CallTask& call, const FunctionRegistry& functions,
                     RunningTask& running) {
  auto t0 = std::chrono::steady_clock::now();
  Result r;
  const Function* f = functions.find(call.function);
  if (!f) {
    r.kind = Result::Kind::kError;
    r.type = "unknown function";
    r.message = "this daemon has no function '" + call.function + "'";
    auto names = functions.names();
    if (!names.empty()) {
      r.message += " (it has:";
      for (const auto& n : names) r.message += " " + n;
      r.message += ")";
    }
    return r;
  }
  try {
    r.value = (*f)(call.payload, running.context);
    if (running.context.cancelled()) r = interrupted();
  } catch (const Interrupted&) {
    r = interrupted();
  } catch (const std::exception& e) {
    r.kind = Result::Kind::kError;
    r.type = demangle(typeid(e).name());
    r.message = e.what();
  } catch (...) {
    r.kind = Result::Kind::kError;
    r.type = "unknown exception";
    r.message = "the function threw something that is not a std::exception";
  }
  r.wall_us = micros_since(t0);
  return r;
}

Result evaluate_shell(const ShellTask& sh, RunningTask& running) {
  SpawnOptions o;
  o.argv = sh.script.empty() ? sh.argv : std::vector<std::string>{"/bin/sh", "-c", sh.script};
  o.env = sh.env;
  o.env.emplace("MIRAI_STREAM", running.context.rng().to_string());  // unless the task set it
  o.cwd = sh.cwd;
  o.die_with_parent = true;  // run from the daemon's loop thread, which lives as long as it does
  auto t0 = std::chrono::steady_clock::now();
  auto out = run_captured(
      std::move(o), sh.stdin_data, [&](pid_t pid) { running.on_process(pid); },
      [&] { running.on_process(0); });
  Result r;
  if (!out) {
    r.kind = Result::Kind::kError;
    r.type = "exec failed";
    r.message = out.message();
    r.exit_code = 127;
    r.wall_us = micros_since(t0);
    return r;
  }
  if (running.context.cancelled()) {
    r = interrupted();
  } else if (WIFEXITED(out->wait_status) && WEXITSTATUS(out->wait_status) == 0) {
    r.kind = Result::Kind::kValue;
  } else {
    r.kind = Result::Kind::kError;
    r.type = describe_wait_status(out->wait_status);
    if (WIFEXITED(out->wait_status)) {
      r.exit_code = WEXITSTATUS(out->wait_status);
    } else {
      r.exit_code = -1;
      r.signal = WTERMSIG(out->wait_status);
    }
    std::string cmd = sh.script.empty() ? sh.argv[0] : "sh -c script";
    r.message = cmd + " failed with " + r.type;
  }
  r.value = std::move(out->out);
  r.stderr_output = std::move(out->err);
  r.wall_us = out->wall_us;
  return r;
}

}  // namespace

Result evaluate(const Task& task, const FunctionRegistry& functions, RunningTask& running) {
  if (const auto* call = std::get_if<CallTask>(&task.body))
    return evaluate_call(*call, functions, running);
  return evaluate_shell(std::get<ShellTask>(task.body), running);
}

}  // namespace mirai
