// The daemon loop: dial, say hello, run tasks in the order they arrive, honour cancel and
// recall, exit on a limit or when the connection ends.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <thread>

#include "core/auth.hpp"
#include "core/buffer.hpp"
#include "core/protocol.hpp"
#include "core/seal.hpp"
#include "core/transport.hpp"
#include "daemon/evaluate.hpp"
#include "daemon/link_state.hpp"
#include "mirai/daemon.hpp"

namespace mirai {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWelcomeTimeout = std::chrono::seconds(10);
constexpr auto kAckTimeout = std::chrono::seconds(5);
constexpr auto kFlushTimeout = std::chrono::seconds(1);
// Results of prefetched tasks (the next one is already here) are held back and written
// together, up to this many and for at most this long: fewer system calls on both sides.
constexpr int kHeldResults = 32;
constexpr auto kHoldResultsFor = std::chrono::microseconds(200);
constexpr auto kNever = std::chrono::steady_clock::time_point::max();
// With autoexit, a running function that ignores cancellation gets this long to return after
// the connection is lost; then the process exits regardless.
constexpr auto kAutoexitGrace = std::chrono::seconds(1);

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

class DaemonLoop;

// The loops running in this process, for stop_daemons().
struct Registry {
  std::mutex mu;
  std::vector<DaemonLoop*> loops;  // GUARDED_BY(mu)
  bool stopped = false;            // GUARDED_BY(mu): stop_daemons() was called
};
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: a signal thread may use it at exit
  return *r;
}

class DaemonLoop {
 public:
  DaemonLoop(const DaemonOptions& o, const FunctionRegistry& f)
      : opt_(o), functions_(f), stops_(stop_time(o)) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.loops.push_back(this);
    if (r.stopped) exit_now_ = true;
  }
  ~DaemonLoop() {
    {
      Registry& r = registry();
      std::lock_guard<std::mutex> lock(r.mu);
      r.loops.erase(std::find(r.loops.begin(), r.loops.end(), this));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
      watch_cv_.notify_all();
    }
    if (watchdog_.joinable()) watchdog_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      send_pending();
    }
    if (conn_) {
      conn_->flush(kFlushTimeout);  // a leaving message, a last result
      conn_->shutdown();
    }
  }

  Expected<int> run();
  // Stops the running task and makes run() return.
  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    send_pending();  // a result comes before the leaving message, which would make it a stray
    // A signal (preemption, the end of the job, Ctrl-C): the running task is not at fault, and
    // the dispatcher gives it to another daemon instead of counting it as a crash.
    if (conn_ && link_ == LinkState::kWelcomed && !closed_ && !exit_now_)
      conn_->send(proto::encode_empty(proto::Type::kLeaving));
    exit_now_ = true;
    interrupt_running();
    cv_.notify_all();
  }

 private:
  // When the daemon stops taking tasks: allocation_margin before its allocation ends.
  static Clock::time_point stop_time(const DaemonOptions& o);
  Status connect(bool first);
  // Tells the dispatcher that this daemon leaves, so that a task sent to it meanwhile goes to
  // another daemon at no cost, and waits until that is written.
  void leave(std::unique_lock<std::mutex>& lock);
  // `tail`: the frame came split (a task's large payload or stdin, read into its own buffer).
  void on_frame(std::uint64_t generation, std::string frame, std::string tail = {});
  void on_close(std::uint64_t generation, int error);
  void interrupt_running();  // REQUIRES: mu_
  // The watchdog thread: interrupts the running task at its deadline (its timeout, counted
  // from its start here).
  void watch_timeouts();

  const DaemonOptions& opt_;
  const FunctionRegistry& functions_;
  const Clock::time_point stops_;  // max(): no allocation end known

  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Connection> conn_;  // GUARDED_BY(mu_)
  std::uint64_t generation_ = 0;      // GUARDED_BY(mu_); counts connections, ignores stale ones
  struct Queued {
    std::uint64_t id;
    std::string frame, tail;  // tail: see on_frame
  };
  std::deque<Queued> queue_;  // GUARDED_BY(mu_); not started
  // The connection ended, the exit after a final result was acknowledged, the daemon was told
  // to stop. GUARDED_BY(mu_).
  bool closed_ = false, acked_ = false, exit_now_ = false;
  std::uint64_t running_id_ = 0;  // GUARDED_BY(mu_)
  int close_error_ = 0;           // GUARDED_BY(mu_): why the connection closed (an NNG error)
  // The handshake (GUARDED_BY(mu_)): this connection's nonce and hello frame (the proofs cover
  // it), and how far it got or why it failed, moved only by next_link().
  std::string nonce_, hello_;
  LinkState link_ = LinkState::kHello;
  // The daemon's own stream (from the welcome): tasks without one take it, then it moves on
  // to its next substream.
  // GUARDED_BY(mu_).
  RngStream stream_ = RngStream::from_seed(static_cast<std::uint32_t>(getpid()));
  std::uint32_t instance_ = 0;  // the welcome's: which daemon of its dispatcher this one is
  // What everywhere() tasks left for later tasks; only the loop's thread touches it.
  Setup setup_{std::nullopt, std::string(), true};
  RunningTask* running_ = nullptr;  // GUARDED_BY(mu_)
  pid_t running_pid_ = 0;           // GUARDED_BY(mu_)
  // The running task's timeout: when it passes, the watchdog interrupts the task and sets
  // timed_out_. GUARDED_BY(mu_).
  Clock::time_point deadline_ = kNever;
  bool timed_out_ = false, quit_ = false;
  // Results held back in the corked connection (kHeldResults), and when the watchdog writes
  // them if the loop has not. GUARDED_BY(mu_).
  int held_results_ = 0;
  Clock::time_point release_at_ = kNever;
  void release_results();  // REQUIRES: mu_
  // The last result, when the next task was already here: it is written once that task's
  // process has started (at once when the next is not a command, and before anything else is
  // sent or waited for), so that the write, and the wake-ups it causes on both sides, are not
  // in the time between one command and the next. On the connection it was for.
  struct Pending {
    std::shared_ptr<Connection> conn;
    proto::SplitFrame result;
  };
  std::optional<Pending> pending_;  // GUARDED_BY(mu_)
  void send_pending();              // REQUIRES: mu_
  std::condition_variable watch_cv_;
  std::thread watchdog_;
};

void DaemonLoop::watch_timeouts() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!quit_) {
    auto now = Clock::now();
    if (release_at_ <= now) release_results();
    if (deadline_ <= now) {
      deadline_ = kNever;
      timed_out_ = true;
      interrupt_running();
    }
    auto next = std::min(deadline_, release_at_);
    if (next == kNever)
      watch_cv_.wait(lock);
    else
      watch_cv_.wait_until(lock, next);
  }
}

void DaemonLoop::send_pending() {
  if (!pending_) return;
  pending_->conn->send(std::move(pending_->result.head), std::move(pending_->result.tail));
  pending_.reset();
}

void DaemonLoop::release_results() {
  if (held_results_ == 0) return;  // nothing corked: the usual case, with no lock to take
  held_results_ = 0;
  release_at_ = kNever;
  if (conn_) conn_->uncork();
}

Clock::time_point DaemonLoop::stop_time(const DaemonOptions& o) {
  if (!o.allocation_end) return kNever;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      *o.allocation_end - std::chrono::system_clock::now());
  auto margin =
      o.allocation_margin.count() >= 0 ? o.allocation_margin : default_allocation_margin(left);
  return Clock::now() + left - margin;
}

void DaemonLoop::leave(std::unique_lock<std::mutex>& lock) {
  if (!conn_ || link_ != LinkState::kWelcomed || closed_) return;
  std::shared_ptr<Connection> conn = conn_;
  send_pending();
  release_results();
  conn->send(proto::encode_empty(proto::Type::kLeaving));
  lock.unlock();
  conn->flush(kFlushTimeout);
  lock.lock();
}

Status DaemonLoop::connect(bool first) {
  auto backoff = std::chrono::milliseconds(100);
  // The first join may be refused or cut off (a dispatcher busy with a crowd of newcomers, or a
  // flood): tried again until the join timeout. What no retry can mend fails at once.
  const auto join_deadline = Clock::now() + opt_.join_timeout;
  // A hang-up after the proof is a wrong secret, or a crowd that pushed this daemon out: it
  // counts as lasting the second time.
  int hung_up_after_proof = 0;
  for (;;) {
    bool lasting = false;  // a failure that trying again cannot mend
    TlsClient trust{opt_.tls_ca_pem, opt_.tls_server_name};
    auto c = dial(opt_.url, opt_.dial_timeout, &trust);
    Status failure;
    if (c) {
      std::unique_lock<std::mutex> lock(mu_);
      if (conn_) conn_->close();
      conn_ = *c;
      std::uint64_t gen = ++generation_;
      closed_ = acked_ = false;
      link_ = LinkState::kHello;
      close_error_ = 0;
      held_results_ = 0;
      release_at_ = kNever;
      nonce_ = auth::make_nonce();
      queue_.clear();
      // Until the dispatcher has proved it holds the secret, only small frames: a peer that is
      // not this pool's dispatcher cannot make the daemon commit memory.
      Connection::Handlers handlers{[this, gen](std::string f) { on_frame(gen, std::move(f)); },
                                    [this, gen](int error) { on_close(gen, error); }};
      handlers.tail_at = proto::tail_at;
      handlers.on_split = [this, gen](std::string head, std::string tail) {
        on_frame(gen, std::move(head), std::move(tail));
      };
      conn_->start(std::move(handlers), proto::kMaxHelloFrame);
      proto::Hello h;
      h.pid = static_cast<std::uint32_t>(getpid());
      h.host = host_name();
      h.job_id = opt_.job_id;
      h.array_index = opt_.array_index;
      h.maxtasks = opt_.maxtasks;
      if (stops_ != kNever) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(stops_ - Clock::now());
        h.time_left_ms = static_cast<std::uint32_t>(
            std::clamp<std::int64_t>(left.count(), 1, std::numeric_limits<std::uint32_t>::max()));
      }
      h.heartbeat_ms = static_cast<std::uint32_t>(opt_.heartbeat.count());
      h.seal = conn_->exposed();
      h.nonce = nonce_;
      hello_ = proto::encode_hello(h);
      conn_->send(hello_);
      cv_.wait_for(lock, kWelcomeTimeout,
                   [this] { return link_ == LinkState::kWelcomed || closed_; });
      if (link_ == LinkState::kWelcomed) return {};
      conn_->close();
      if (link_ == LinkState::kVerified) ++hung_up_after_proof;
      lasting = is_tls_rejection(close_error_) || refused(link_) || hung_up_after_proof >= 2;
      if (is_tls_rejection(close_error_))
        failure = Status::error(
            "refused the dispatcher at " + opt_.url +
            ": its TLS certificate is not the trusted one (MIRAI_TLS_CA, --tls-ca) or not for '" +
            (opt_.tls_server_name.empty() ? url_host(opt_.url) : opt_.tls_server_name) + "'");
      else if (link_ == LinkState::kUnsealed)
        failure = Status::error("refused the dispatcher at " + opt_.url +
                                ": it would not seal the frames of this connection, which "
                                "crosses a network without TLS (an attacker on the path "
                                "stripping it, or a dispatcher of another version)");
      else if (link_ == LinkState::kImpostor)
        failure = Status::error(
            "refused the dispatcher at " + opt_.url +
            ": it does not hold this daemon's secret, so nothing it sends is run (it is not "
            "this pool's dispatcher, this daemon was given another secret: MIRAI_SECRET, "
            "--secret-file, or the handshake was changed on the way)");
      else if (link_ == LinkState::kVerified)
        failure = Status::error("the dispatcher at " + opt_.url +
                                " hung up after this daemon's proof: this daemon was given "
                                "another secret (MIRAI_SECRET, --secret-file) than the "
                                "dispatcher's, or the dispatcher stopped meanwhile");
      else
        failure = Status::error(opt_.url +
                                " did not welcome this daemon: it is not a mirai dispatcher, or "
                                "speaks another protocol version than v" +
                                std::to_string(proto::kVersion));
    } else {
      failure = c.status();
    }
    if (first && !opt_.asyncdial && (lasting || Clock::now() + backoff >= join_deadline))
      return failure;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, backoff, [this] { return exit_now_; }))
        return Status::error("stopped while dialing " + opt_.url);
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

void DaemonLoop::interrupt_running() {
  if (!running_) return;
  running_->context.cancel();
  if (running_pid_ > 0) kill(-running_pid_, SIGKILL);
}

void DaemonLoop::on_frame(std::uint64_t generation, std::string frame, std::string tail) {
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_) return;
  auto fv = proto::view_frame(frame);
  if (!fv) return conn_->close();
  if (link_ != LinkState::kWelcomed) {
    // Before the welcome only the challenge (once) and then the welcome may come: no task is
    // taken from a dispatcher that has not proved it holds the secret.
    auto move = [this](LinkEvent e) {
      auto next = next_link(link_, e);
      if (next) link_ = *next;
      return next.has_value();
    };
    if (fv->type == proto::Type::kChallenge) {
      auto c = proto::decode_challenge(fv->body);
      if (!c) return conn_->close();
      // A genuine dispatcher seals what the hello asks to; the proof covers its answer.
      if (conn_->exposed() && !c->seal) {
        move(LinkEvent::kUnsealedChallenge);
        return conn_->close();
      }
      if (!auth::same(c->proof,
                      auth::proof(opt_.secret, auth::kDispatcherRole, hello_, c->nonce, c->seal))) {
        move(LinkEvent::kForgedChallenge);
        return conn_->close();
      }
      if (!move(LinkEvent::kChallenge)) return conn_->close();  // a second challenge
      conn_->send(proto::encode_proof(
          auth::proof(opt_.secret, auth::kDaemonRole, hello_, c->nonce, c->seal)));
      // From here on every frame is sealed, both ways: the welcome is the first that opens.
      if (c->seal) {
        SessionKeys keys = derive_session_keys(opt_.secret, nonce_, c->nonce);
        conn_->seal(keys.to_dispatcher, keys.to_daemon);
      }
      return;
    }
    auto welcome = fv->type == proto::Type::kWelcome && link_ == LinkState::kVerified
                       ? proto::decode_welcome(fv->body)
                       : std::nullopt;
    if (!welcome) return conn_->close();
    if (welcome->stream) stream_ = *welcome->stream;
    instance_ = welcome->instance;
    move(LinkEvent::kWelcome);
    conn_->set_max_frame(UINT32_MAX);
    conn_->enable_heartbeat(proto::heartbeat_for(static_cast<std::uint32_t>(opt_.heartbeat.count()),
                                                 welcome->heartbeat_ms));
    return cv_.notify_all();
  }
  switch (fv->type) {
    case proto::Type::kTask: {
      auto id = proto::peek_id(frame);
      if (!id) return conn_->close();
      queue_.push_back({*id, std::move(frame), std::move(tail)});
      break;
    }
    case proto::Type::kCancel:
    case proto::Type::kRecall: {
      auto id = proto::decode_id(fv->body);
      if (!id) return conn_->close();
      bool cancel = fv->type == proto::Type::kCancel;
      if (cancel && running_ && running_id_ == *id) return interrupt_running();
      auto it =
          std::find_if(queue_.begin(), queue_.end(), [&](const auto& q) { return q.id == *id; });
      bool queued = it != queue_.end();
      if (queued) queue_.erase(it);
      if (!cancel) {
        conn_->send(proto::encode_recalled(*id, queued));
      } else if (queued) {
        conn_->send(proto::encode_error_value(*id, ErrorValue::kCanceled));
      }
      return;
    }
    case proto::Type::kExitAck:
      acked_ = true;
      break;
    case proto::Type::kExit:
      exit_now_ = true;
      interrupt_running();
      break;
    default:
      return conn_->close();
  }
  cv_.notify_all();
}

void DaemonLoop::on_close(std::uint64_t generation, int error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_) return;
  closed_ = true;
  close_error_ = error;
  queue_.clear();  // the dispatcher gives these to other daemons
  // Someone between here and the dispatcher changed the stream: nothing more from it is run.
  if (Connection::forged(error))
    std::fprintf(stderr,
                 "mirai daemon: a frame from the dispatcher at %s did not authenticate (injected, "
                 "replayed, reordered or altered on the way): the connection is closed\n",
                 opt_.url.c_str());
  // A dispatcher that fell silent gives the running task to another daemon: stop it here too,
  // also without autoexit (the daemon then dials again).
  if (Connection::lost(error) && running_) interrupt_running();
  if (opt_.autoexit && running_) {
    interrupt_running();
    std::thread([] {
      std::this_thread::sleep_for(kAutoexitGrace);
      std::_Exit(kExitConnectionEnded);
    }).detach();
  }
  cv_.notify_all();
}

Expected<int> DaemonLoop::run() {
  if (stops_ <= Clock::now()) return kExitWalltime;  // no time left for any task
  if (Status s = connect(true); !s) return s;
  if (opt_.on_connected) opt_.on_connected();
  watchdog_ = std::thread([this] { watch_timeouts(); });
  const auto start = Clock::now();
  auto last_task = start;
  std::uint32_t done = 0;
  // After this the daemon takes no more tasks: its walltime, or its allocation's end is near.
  const auto wall_deadline =
      std::min(opt_.walltime.count() > 0 ? start + opt_.walltime : kNever, stops_);
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    auto idle_deadline = opt_.idletime.count() > 0 ? last_task + opt_.idletime : kNever;
    auto deadline = std::min(idle_deadline, wall_deadline);
    if (queue_.empty() || closed_ || exit_now_) send_pending();
    bool woke =
        cv_.wait_until(lock, deadline, [this] { return !queue_.empty() || closed_ || exit_now_; });
    if (exit_now_) return kExitConnectionEnded;
    if (queue_.empty()) {
      if (closed_) {
        if (opt_.autoexit) return kExitConnectionEnded;
        lock.unlock();
        connect(false);  // without autoexit: wait for a dispatcher at the same URL
        continue;
      }
      if (!woke) {
        leave(lock);
        return Clock::now() >= wall_deadline ? kExitWalltime : kExitIdletime;
      }
      continue;
    }
    auto [id, frame, tail] = std::move(queue_.front());
    queue_.pop_front();
    if (!proto::peek_command(frame)) send_pending();  // no process start to wait for
    // A task sent ahead (prefetch) that would run past the allocation's end: leave, and the
    // dispatcher gives it and the rest to daemons with time.
    if (stops_ != kNever) {
      auto expected = proto::peek_expected(frame);
      if (expected.count() > 0 && stops_ - Clock::now() < expected) {
        leave(lock);
        return kExitWalltime;
      }
    }
    RunningTask running;
    running.daemon_id = instance_;
    running.on_process = [this, &running](pid_t pid) {
      std::lock_guard<std::mutex> l(mu_);
      send_pending();  // the command runs: the last result's write overlaps its start
      running_pid_ = pid;
      if (pid > 0 && running.context.cancelled()) kill(-pid, SIGKILL);
    };
    running_ = &running;
    running_id_ = id;
    // A timeout counts from the task's start here, not from its submission.
    if (auto timeout = proto::peek_timeout(frame); timeout.count() > 0) {
      deadline_ = Clock::now() + timeout;
      timed_out_ = false;
      watch_cv_.notify_all();
    }
    std::shared_ptr<Connection> conn = conn_;
    lock.unlock();

    std::uint64_t ignored;
    std::uint8_t flags = 0;
    auto task = proto::decode_task(std::move(frame), std::move(tail), &ignored, &flags);
    Result result;
    if (task) {
      // A seeded profile's task brings its stream; else each task takes the next of the
      // daemon's own.
      if (task->stream) {
        running.context.set_rng(*task->stream);
      } else {
        std::lock_guard<std::mutex> l(mu_);
        running.context.set_rng(stream_);
        stream_ = stream_.next_substream();
      }
      if (flags & proto::kTaskStreamOutput)
        running.on_output = [conn, id](int stream, std::string_view bytes) {
          conn->send(proto::encode_output(id, static_cast<std::uint8_t>(stream), bytes));
        };
      result = evaluate(*task, functions_, running, &setup_, flags & proto::kTaskEverywhere);
      // A large payload's buffer, pages and all, serves the next large frame or value.
      if (auto* call = std::get_if<CallTask>(&task->body))
        give_bulk(std::move(call->payload));
      else
        give_bulk(std::move(std::get<ShellTask>(task->body).stdin_data));
    } else {
      result.kind = Result::Kind::kError;
      result.type = "malformed task";
      result.message = "the daemon could not decode this task";
    }
    frame.clear();

    lock.lock();
    send_pending();  // a command that could not start
    running_ = nullptr;
    running_id_ = 0;
    running_pid_ = 0;
    deadline_ = kNever;
    if (timed_out_) {
      timed_out_ = false;
      // What it wrote before it was stopped stays visible.
      Result timed = Result::error_value_result(ErrorValue::kTimedOut);
      timed.value = std::move(result.value);
      timed.stderr_output = std::move(result.stderr_output);
      timed.wall_us = result.wall_us;
      result = std::move(timed);
    }
    if (exit_now_) return kExitConnectionEnded;  // its result is the interrupt we caused
    ++done;
    last_task = Clock::now();
    if (closed_) {  // the dispatcher already answered this task with 19
      if (opt_.autoexit || exit_now_) return kExitConnectionEnded;
      continue;
    }
    int limit = -1;
    if (opt_.maxtasks > 0 && done >= opt_.maxtasks)
      limit = kExitMaxtasks;
    else if (last_task >= wall_deadline)
      limit = kExitWalltime;
    // With the next task already here, this result may wait for a few more (for at most
    // kHoldResultsFor, should the next task run long); the last of a burst releases them all.
    // Not after a task that ran longer than that: the next would most likely not end in time,
    // and waking the watchdog to release one result costs more than it saves.
    const bool short_task = result.wall_us < static_cast<std::uint64_t>(kHoldResultsFor.count());
    auto out =
        proto::encode_result_parts(id, limit >= 0 ? proto::kResultFinal : 0, std::move(result));
    bool hold =
        limit < 0 && short_task && !queue_.empty() && held_results_ < kHeldResults && conn == conn_;
    if (hold && conn->cork()) {
      release_at_ = Clock::now() + kHoldResultsFor;
      watch_cv_.notify_all();
    }
    if (!hold && limit < 0 && !queue_.empty() && conn == conn_) {
      pending_ = Pending{conn, std::move(out)};
    } else {
      conn->send(std::move(out.head), std::move(out.tail));
    }
    if (hold)
      ++held_results_;
    else
      release_results();
    if (limit >= 0) {
      // Wait until the dispatcher has the result, so that it is never lost.
      cv_.wait_for(lock, kAckTimeout, [this] { return acked_ || closed_; });
      return limit;
    }
  }
}

}  // namespace

void stop_daemons() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.stopped = true;
  for (DaemonLoop* loop : r.loops) loop->stop();
}

Expected<int> run_daemon(const DaemonOptions& options, const FunctionRegistry& functions) {
  if (options.url.empty()) return Status::error("the daemon needs a URL to dial");
  DaemonOptions o = options;
  if (o.secret.empty())
    if (const char* env = std::getenv("MIRAI_SECRET")) o.secret = env;
  // Tasks do not inherit it, and /proc/PID/environ, which shows the environment the process
  // started with, no longer holds it: the "MIRAI_SECRET=..." bytes there are overwritten (glibc
  // frees neither those nor a setenv() copy on unsetenv).
  if (char* value = std::getenv("MIRAI_SECRET")) {
    constexpr std::size_t kName = sizeof("MIRAI_SECRET=") - 1;
    char* entry = value - kName;
    std::size_t size = kName + std::strlen(value);
    unsetenv("MIRAI_SECRET");
    std::memset(entry, 0, size);
  }
  if (o.secret.empty())
    return Status::error(
        "the daemon needs its pool's secret: set MIRAI_SECRET or give "
        "--secret-file (launchers and local daemons get it by themselves)");
  DaemonLoop loop(o, functions);
  return loop.run();
}

}  // namespace mirai
