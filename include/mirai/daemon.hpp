// The daemon side: functions callable by name, and the daemon loop. `mirai daemon` is this loop
// with the built-in functions; a custom daemon registers its own (examples/custom_daemon.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mirai/codec.hpp"
#include "mirai/rng.hpp"
#include "mirai/status.hpp"

namespace mirai {

// Handed to a registered function while it runs. Thread-safe.
class CallContext {
 public:
  // True once the task was cancelled (stop, timeout, or the daemon is exiting). A long function
  // should check it and return; its result is then discarded and the mirai is an interrupt.
  bool cancelled() const;
  // Sleeps up to `d`; returns early, with false, when the task is cancelled.
  bool sleep_for(std::chrono::milliseconds d) const;
  // The task's L'Ecuyer-CMRG stream (mirai's RNG state in the daemon): the profile's next
  // stream when it has a seed, so results do not depend on which daemon ran the task; else
  // one of this daemon's own. Draw with rng().uniform().
  RngStream& rng() { return rng_; }
  void cancel();                                  // called by the daemon
  void set_rng(const RngStream& s) { rng_ = s; }  // called by the daemon

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool cancelled_ = false;                   // GUARDED_BY(mu_)
  RngStream rng_ = RngStream::from_seed(0);  // only the task's own thread uses it
};

// Throw from a function to end the task as an interrupt rather than an error.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

// A function takes the task's payload bytes and returns the result bytes. An exception makes
// the task an evaluation error carrying the exception's type and message.
using Function = std::function<std::string(std::string_view payload, CallContext& context)>;

class FunctionRegistry {
 public:
  void add(std::string name, Function f) { functions_[std::move(name)] = std::move(f); }
  // A function of typed values (mirai/codec.hpp): the payload is decoded as an A and the
  // returned R encoded, so hosts call it with submit<R>(profile, name, a). `f` takes
  // (const A&, CallContext&) or (const A&). A payload that is not an A fails the task with
  // type mirai::DecodeError.
  template <typename R, typename A, typename F>
  void add(std::string name, F f) {
    add(std::move(name), [f = std::move(f)](std::string_view payload, CallContext& ctx) {
      A arg = Codec<A>::decode(payload);
      if constexpr (std::is_invocable_v<F&, const A&, CallContext&>)
        return Codec<R>::encode(f(arg, ctx));
      else
        return Codec<R>::encode(f(arg));
    });
  }
  const Function* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Function> functions_;
};

// Adds the functions every `mirai daemon` has:
//   echo   returns its payload          noop   returns nothing
//   sleep  waits for the payload's duration ("250ms", "2s"), cancellable, returns ""
//   fail   throws std::runtime_error with the payload as message
//   pid    returns the daemon's process id as decimal text
//   runif  returns N (the payload) uniform draws from the task's stream, space-separated
//   sum, mean  of a vector<double> (packed, mirai/codec.hpp), as a double
void add_builtin_functions(FunctionRegistry& registry);

struct DaemonOptions {
  std::string url;                        // the dispatcher (or host) to dial
  bool asyncdial = false;                 // keep retrying the first dial instead of failing
  bool autoexit = true;                   // exit when the connection ends (else dial again)
  std::chrono::milliseconds idletime{0};  // exit (code 1) after this long without a task
  std::chrono::milliseconds walltime{0};  // exit (code 2) once this long has passed
  std::uint32_t maxtasks = 0;             // exit (code 3) after this many tasks
  // When the scheduler ends the daemon's job (its allocation's end); unset: not known. The
  // daemon stops taking tasks `allocation_margin` before it and exits (code 2) once its running
  // task is done. Until then the dispatcher sends it no task that declares a longer expected
  // duration (Task::expected) than it has left.
  std::optional<std::chrono::system_clock::time_point> allocation_end;
  // Negative: default_allocation_margin() of the time left at the start.
  std::chrono::milliseconds allocation_margin{-1};
  std::chrono::milliseconds dial_timeout{10000};
  // How long the first join may take: a dial that is refused, or a connection closed before
  // the welcome (not for a wrong secret or certificate), is tried again with back-off until
  // then. 0: once (asyncdial: forever).
  std::chrono::milliseconds join_timeout{0};
  // Heartbeats with the dispatcher when the connection is quiet for this long (the
  // dispatcher's interval, when shorter, is used): a dispatcher silent for 3 intervals is lost,
  // and the daemon kills its running task and exits (or, without autoexit, dials again). 0:
  // none (then neither side sends any).
  std::chrono::milliseconds heartbeat{5000};
  // For a tls+tcp:// or wss:// url: the certificate (PEM) the dispatcher's must be or be signed
  // by; the dispatcher must also present the url's host name.
  std::string tls_ca_pem;
  // The pool's secret, which the daemon and the dispatcher prove to each other before any task
  // moves; "": $MIRAI_SECRET.
  std::string secret;
  // The name the dispatcher's certificate must carry; "": the url's host. Set when the url is
  // the near end of a tunnel (ssh -R), whose host is not the dispatcher's.
  std::string tls_server_name;
  std::string job_id;             // reported in the hello, for status
  std::uint32_t array_index = 0;  // likewise
  // Called once the first connection is established (mirai daemon silences its output here,
  // so that dial errors are still seen).
  std::function<void()> on_connected;
};

// A twentieth of `left`, at most a minute: how long before its allocation ends a daemon stops
// taking tasks, unless told otherwise.
inline std::chrono::milliseconds default_allocation_margin(std::chrono::milliseconds left) {
  return std::clamp(left / 20, std::chrono::milliseconds(0),
                    std::chrono::milliseconds(std::chrono::minutes(1)));
}

// Exit codes of a daemon, as in mirai.
enum DaemonExit : int {
  kExitConnectionEnded = 0,
  kExitIdletime = 1,
  kExitWalltime = 2,
  kExitMaxtasks = 3,
};
const char* daemon_exit_text(int code);

// Runs the daemon until it exits and returns its exit code. Fails when the first dial fails
// (without asyncdial) or the peer is not a mirai dispatcher of this protocol version.
Expected<int> run_daemon(const DaemonOptions& options, const FunctionRegistry& functions);

// Stops every run_daemon in this process, now and for good: a running task is interrupted (a
// shell task's process group is killed) and run_daemon returns kExitConnectionEnded. Safe to
// call from any thread, e.g. one that waits for SIGTERM.
void stop_daemons();

}  // namespace mirai
