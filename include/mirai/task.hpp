// Tasks: what a daemon evaluates. A task is a shell command or a call of a function that the
// daemon binary registered by name.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mirai/rng.hpp"

namespace mirai {

// A command run by the daemon. With `script` set it runs `sh -c script`; otherwise `argv` is
// executed directly (searched on PATH, no shell involved, so arguments are never re-parsed).
struct ShellTask {
  std::vector<std::string> argv;
  std::string script;
  std::map<std::string, std::string> env;  // added to (or replacing) the daemon's environment
  std::string cwd;                         // empty: the daemon's working directory
  std::string stdin_data;                  // bytes written to the command's stdin
};

// A call of a function registered in the daemon (see mirai/daemon.hpp): bytes in, bytes out.
struct CallTask {
  std::string function;
  std::string payload;
};

struct Task {
  std::variant<ShellTask, CallTask> body;
  // Zero means no timeout. On expiry the mirai resolves to error value 5 and the task is
  // cancelled on its daemon.
  std::chrono::milliseconds timeout{0};
  // The L'Ecuyer-CMRG stream this task draws from (set by a profile with a seed); empty: the
  // daemon's own. Shell tasks see it as MIRAI_STREAM, call tasks as CallContext::rng().
  std::optional<RngStream> stream;
  // How many times the task is queued again when its daemon dies while running it (crashed,
  // killed, out of memory); after that it resolves to 19, saying how many attempts it had. A
  // daemon stopped by SIGTERM (preemption, the end of its job) costs no retry. Unset: the
  // profile's DaemonsConfig::retries. At most 255.
  std::optional<std::uint8_t> retries;
  // With it, the retries also run the task again when it fails (an error, a command's non-zero
  // exit, a timeout), each time on a daemon it has not failed on while one takes tasks; the
  // result is the last attempt's. GNU parallel's --retries (N attempts: retries = N - 1).
  bool retry_failures = false;
  // How long the task is expected to run (zero: not declared). A daemon whose job's allocation
  // ends sooner than that is not given the task, so that it is not killed half-way; the task
  // waits for a daemon with time enough. At most 49 days.
  std::chrono::milliseconds expected{0};
  // Shell tasks: when set, what the command writes comes here as it writes it, in chunks as
  // they arrive (stream 1: stdout, 2: stderr), on a thread of the profile's (keep it short),
  // all before the task resolves; the result's value and stderr_output then hold none of it.
  // A task run again after its daemon died streams again from the start.
  std::function<void(int stream, std::string_view bytes)> on_output;

  static Task shell(std::vector<std::string> argv) {
    ShellTask t;
    t.argv = std::move(argv);
    return {std::move(t), {}, {}, {}, {}, {}, {}};
  }
  static Task sh(std::string script) {
    ShellTask t;
    t.script = std::move(script);
    return {std::move(t), {}, {}, {}, {}, {}, {}};
  }
  static Task call(std::string function, std::string payload = {}) {
    return {CallTask{std::move(function), std::move(payload)}, {}, {}, {}, {}, {}, {}};
  }
  Task&& with_timeout(std::chrono::milliseconds t) && {
    timeout = t;
    return std::move(*this);
  }
  Task&& with_retries(std::uint8_t k) && {
    retries = k;
    return std::move(*this);
  }
  Task&& with_failure_retries(std::uint8_t k) && {
    retries = k;
    retry_failures = true;
    return std::move(*this);
  }
  Task&& with_expected(std::chrono::milliseconds d) && {
    expected = d;
    return std::move(*this);
  }
  Task&& with_output(std::function<void(int stream, std::string_view bytes)> f) && {
    on_output = std::move(f);
    return std::move(*this);
  }
};

}  // namespace mirai
