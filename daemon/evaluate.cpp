#include "daemon/evaluate.hpp"
#include <signal.h>

#include <cxxabi.h>
#include <sys/wait.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
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

// Runs an everywhere() script ($1) and, when it succeeds, writes its working directory and its
// exported environment, each ended by a NUL, to the file $2.
constexpr const char* kSetupWrapper =
    "__mirai_state=$2\n"
    "eval \"$1\"\n"
    "__mirai_status=$?\n"
    "if [ \"$__mirai_status\" -eq 0 ]; then\n"
    "  { printf '%s\\000' \"$(pwd -P)\"; command -p env -0; } >\"$__mirai_state\" || exit 70\n"
    "fi\n"
    "exit \"$__mirai_status\"\n";

// Variables a shell sets for itself, and the task's own stream: not carried to later tasks.
bool carried(const std::string& key) {
  return key != "MIRAI_STREAM" && key != "PWD" && key != "OLDPWD" && key != "SHLVL" && key != "_";
}

std::string resolve(const std::string& base, const std::string& dir) {
  if (dir.empty()) return base;
  if (dir[0] == '/' || base.empty()) return dir;
  return base + "/" + dir;
}

// A file only this user can read, for what the setup wrapper leaves; removed when destroyed.
struct StateFile {
  std::string path;
  StateFile() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/mirai-setup-XXXXXX";
    int fd = mkstemp(templ.data());
    if (fd < 0) return;
    close(fd);
    path = templ;
  }
  ~StateFile() {
    if (!path.empty()) unlink(path.c_str());
  }
};

// Reads what kSetupWrapper wrote into `setup`; false when it is not there or not whole.
bool read_state(const std::string& path, Setup& setup) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t end = bytes.find('\0');
  if (end == std::string::npos || end == 0) return false;
  std::map<std::string, std::string> env;
  for (std::size_t at = end + 1; at < bytes.size();) {
    std::size_t stop = bytes.find('\0', at);
    if (stop == std::string::npos) return false;
    std::string kv = bytes.substr(at, stop - at);
    std::size_t eq = kv.find('=');
    if (eq != std::string::npos && eq > 0 && carried(kv.substr(0, eq)))
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    at = stop + 1;
  }
  setup.cwd = bytes.substr(0, end);
  setup.env = std::move(env);
  return true;
}

Result failed_setup(std::string message, Result r) {
  r.kind = Result::Kind::kError;
  r.type = "setup failed";
  r.message = std::move(message);
  return r;
}

// After an everywhere() shell task succeeded: what it leaves for the tasks after it. A script
// leaves what it exported and where it ended; a command, the task's env and cwd.
Result keep_setup(const SpawnOptions& ran, const std::optional<StateFile>& state, Setup& setup,
                  Result r) {
  Setup next = setup;
  if (state) {
    if (!read_state(state->path, next))
      return failed_setup(
          "the setup script succeeded, but its environment could not be read back "
          "(is `env -0` available?)",
          std::move(r));
  } else {
    std::map<std::string, std::string> env;
    for (const auto& kv : child_environment(ran)) {
      std::size_t eq = kv.find('=');
      if (eq != std::string::npos && carried(kv.substr(0, eq)))
        env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    next.env = std::move(env);
    if (!ran.cwd.empty()) {
      std::unique_ptr<char, void (*)(void*)> real(realpath(ran.cwd.c_str(), nullptr), std::free);
      if (!real)
        return failed_setup("cannot resolve '" + ran.cwd + "': " + std::strerror(errno),
                            std::move(r));
      next.cwd = real.get();
    }
  }
  if (setup.chdir && !next.cwd.empty() && next.cwd != setup.cwd && chdir(next.cwd.c_str()) != 0)
    return failed_setup(
        "cannot make '" + next.cwd + "' the daemon's working directory: " + std::strerror(errno),
        std::move(r));
  setup = std::move(next);
  return r;
}

Result evaluate_shell(const ShellTask& sh, RunningTask& running, Setup* setup, bool everywhere) {
  SpawnOptions o;
  o.argv = sh.script.empty() ? sh.argv : std::vector<std::string>{"/bin/sh", "-c", sh.script};
  std::optional<StateFile> state;
  if (everywhere && !sh.script.empty()) {
    state.emplace();
    if (state->path.empty())
      return failed_setup("cannot create a file for the setup's environment in $TMPDIR or /tmp: " +
                              std::string(std::strerror(errno)),
                          {});
    o.argv = {"/bin/sh", "-c", kSetupWrapper, "sh", sh.script, state->path};
  }
  if (setup && setup->env) {
    o.clear_env = true;
    o.env = *setup->env;
  }
  for (const auto& [k, v] : sh.env) o.env[k] = v;
  o.env.emplace("MIRAI_STREAM", running.context.rng().to_r_seed());  // unless the task set it
  if (running.daemon_id > 0) {
    std::string id = std::to_string(running.daemon_id);
    o.env.emplace("MIRAI_DAEMON_ID", id);
    // A daemon runs one task at a time, so its number is a job slot as GNU parallel means it.
    o.env.emplace("PARALLEL_JOBSLOT", id);
  }
  o.cwd = resolve(setup ? setup->cwd : std::string(), sh.cwd);
  o.die_with_parent = true;  // run from the daemon's loop thread, which lives as long as it does
  auto t0 = std::chrono::steady_clock::now();
  pid_t leader = 0;
  auto out = run_captured(
      everywhere ? o : std::move(o), sh.stdin_data,
      [&](pid_t pid) {
        leader = pid;
        running.on_process(pid);
      },
      [&] {
        // What the task left running in the background (`sleep 100 &`) ends with it: the group
        // is killed while its leader is not yet reaped, so its id cannot have been reused. A
        // setup's background processes (an agent, a server for later tasks) are left alone.
        if (leader > 0 && !everywhere) kill(-leader, SIGKILL);
        running.on_process(0);
      },
      running.on_output);
  Result r;
  if (!out) {
    r.kind = Result::Kind::kError;
    r.type = "exec failed";
    r.message = out.message();
    // As a shell says it: 127 when there is no such command, 126 when it cannot be run.
    const int e = out.status().error_number();
    r.exit_code = e == ENOENT || e == ENOTDIR ? 127 : 126;
    r.wall_us = micros_since(t0);
    return r;
  }
  if (running.context.cancelled()) {
    r = interrupted();
  } else if (WIFSIGNALED(out->wait_status) && WTERMSIG(out->wait_status) == SIGINT) {
    // Interrupted where it ran (Ctrl-C on its terminal, `kill -INT`): mirai's miraiInterrupt.
    r = interrupted();
    r.exit_code = -1;
    r.signal = SIGINT;
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
  if (everywhere && setup && r.ok()) return keep_setup(o, state, *setup, std::move(r));
  return r;
}

}  // namespace

Result evaluate(const Task& task, const FunctionRegistry& functions, RunningTask& running,
                Setup* setup, bool everywhere) {
  if (const auto* call = std::get_if<CallTask>(&task.body))
    return evaluate_call(*call, functions, running);
  return evaluate_shell(std::get<ShellTask>(task.body), running, setup, everywhere);
}

}  // namespace mirai
