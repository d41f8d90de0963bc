// The dispatcher: daemons dial in; tasks are handed to idle daemons first-in first-out, with
// adaptive prefetch for short tasks (docs/dispatcher.md). Runs inside the host process or in
// `mirai dispatcher`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/connection.hpp"
#include "core/protocol.hpp"
#include "core/transport.hpp"
#include "dispatcher/schedule.hpp"
#include "dispatcher/slot_state.hpp"
#include "mirai/info.hpp"
#include "mirai/rng.hpp"
#include "mirai/status.hpp"
#include "mirai/tls.hpp"

struct nng_aio;

namespace mirai {

struct DispatcherOptions {
  std::vector<std::string> urls;  // listen on each (at least one)
  enum class Policy {
    kFifo,        // one task (plus adaptive prefetch) per daemon, queue at the dispatcher
    kRoundRobin,  // "no dispatcher": hand every task at once to the next daemon in turn
  };
  Policy policy = Policy::kFifo;
  // Prefetch: a daemon whose recent tasks were short gets up to this many tasks in flight: the
  // one it runs and as many as fit in `prefetch_window` of its measured task time behind it.
  // 1 turns prefetch off.
  int max_prefetch = 2048;
  std::chrono::microseconds prefetch_window{10000};
  // What daemons must prove they hold before they get a task; "": a fresh one (secret()).
  std::string secret;
  // Each daemon's own L'Ecuyer-CMRG stream is the next one after this seed's (a random seed
  // when unset): streams of different daemons never overlap.
  std::optional<std::uint32_t> seed;
  // A connection that has not proved the secret this long after it was accepted is dropped (a
  // timer looks several times a timeout), and at most `max_pending` such connections are kept:
  // a newcomer evicts the one that waited longest without a hello.
  std::chrono::milliseconds auth_timeout{10000};
  std::size_t max_pending = 256;
  // Heartbeats with each daemon (and client of a control server) whose connection is quiet for
  // this long; one silent for 3 intervals is lost (its tasks go back to the queue, under their
  // retries). 0: none. A daemon's own interval, when shorter, is used for its connection.
  std::chrono::milliseconds heartbeat{5000};
  TlsServer tls;          // for the tls+tcp:// and wss:// URLs
  std::string tls_trust;  // the certificate daemons are told to trust (in status)
  // Called as each daemon is accepted (proved the secret), with its row as status shows it then,
  // with the dispatcher's lock held: keep it short and do not call the dispatcher.
  std::function<void(const DaemonStatus&)> on_connected;
};

// What a profile needs from a dispatcher, in this process (Dispatcher) or in a `mirai
// dispatcher` process reached over a socket (RemoteDispatcher).
class DispatcherLink {
 public:
  virtual ~DispatcherLink() = default;
  // The URL daemons dial, with its port resolved.
  virtual const std::string& url() const = 0;
  // Queues a task. `frame` is an encoded kTask frame; its id is replaced by the returned one,
  // which cancel() takes. The outcome goes to `target`, exactly once unless cancelled.
  virtual std::uint64_t submit(std::string frame, std::shared_ptr<ResultTarget> target) = 0;
  // everywhere(): queues one copy of the task in `frame` per target, each for a different
  // daemon, and returns their ids in order. They are one unit in the FIFO queue: no task
  // queued after them is handed out until every copy has a daemon, so it is a synchronisation
  // point (and one that waits for more daemons to connect when there are more copies than
  // daemons).
  //
  // With `later`, the task also stands for daemons that connect afterwards: each runs a copy
  // before any other task (unless a copy of the unit is still waiting for it), and the result
  // of each such copy goes to `later`. A daemon whose copy fails takes no task and is told to
  // exit. A running `mirai dispatcher` does not keep standing tasks; `later` is ignored there.
  virtual std::vector<std::uint64_t> submit_everywhere(
      const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
      std::shared_ptr<ResultTarget> later = nullptr) = 0;
  // Stops a task: a queued one never runs; a running one is interrupted on its daemon.
  virtual void cancel(std::uint64_t id) = 0;
  virtual Expected<ProfileStatus> status() const = 0;
  // The pool's secret, which daemons must prove they hold (core/auth.hpp).
  virtual Expected<std::string> secret() const = 0;
  // Waits until at least `n` daemons have connected since the start (info().cumulative), so
  // that daemons dying meanwhile do not hide new ones. Returns false on timeout, or as soon as
  // `keep_waiting` (checked every 100 ms) says to give up.
  virtual bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout,
                                    const std::function<bool()>& keep_waiting) = 0;
  // Tells every daemon to exit now, even those started without autoexit (when the profile
  // owns the dispatcher).
  virtual void exit_all() = 0;
};

class Dispatcher final : public DispatcherLink, private Schedule::Outbox {
 public:
  static Expected<std::unique_ptr<Dispatcher>> start(DispatcherOptions options);
  // The one way a dispatcher is built from a listening spec: it listens on the first of
  // `candidates` that can be bound (a URL's addresses, the ports of a range, in order), which
  // becomes options.urls. For a tls+tcp:// or wss:// candidate, `tls` is made ready for it
  // first (a single-use certificate for its host when it has none; tls::prepare) and goes into
  // options.tls and tls_trust. Fails with the last candidate's reason, or at once on TLS
  // settings that cannot serve.
  static Expected<std::unique_ptr<Dispatcher>> start_first(
      DispatcherOptions options, const std::vector<std::string>& candidates,
      const TlsSettings& tls = {});
  // Stops: closes the listeners and every daemon connection (daemons with autoexit then exit)
  // and resolves every pending task with error value 7.
  ~Dispatcher();

  // The URLs daemons dial, with ports resolved.
  const std::vector<std::string>& urls() const { return urls_; }
  const std::string& url() const override { return urls_.front(); }

  std::uint64_t submit(std::string frame, std::shared_ptr<ResultTarget> target) override;
  std::vector<std::uint64_t> submit_everywhere(
      const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
      std::shared_ptr<ResultTarget> later = nullptr) override;
  void cancel(std::uint64_t id) override;
  // For a caller that must know a task's id before it is submitted (a result may arrive on
  // another thread before submit returns): the first of `n` consecutive ids to give
  // submit_as() and submit_everywhere_as(), which behave as submit() and submit_everywhere().
  std::uint64_t reserve_ids(std::size_t n);
  void submit_as(std::uint64_t id, std::string frame, std::shared_ptr<ResultTarget> target);
  void submit_everywhere_as(std::uint64_t first, const std::string& frame,
                            std::vector<std::shared_ptr<ResultTarget>> targets);
  // Takes the daemons of job `job_id`, array element `index` (as their hellos say) as lost, for
  // `why` (the scheduler says their job ended, or its node failed): their connections close and
  // their tasks are handled as for a daemon that stopped answering.
  void lose_daemon(const std::string& job_id, std::uint32_t index, const std::string& why);
  // Resolves every task that waits in the queue with 19 and `why` (no daemon will come).
  void fail_queued(const std::string& why);
  Info info() const;
  Expected<ProfileStatus> status() const override;
  Expected<std::string> secret() const override { return options_.secret; }
  std::chrono::milliseconds heartbeat() const { return options_.heartbeat; }
  bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout,
                            const std::function<bool()>& keep_waiting = {}) override;
  void exit_all() override;

 private:
  struct Slot;
  using Deliveries = Schedule::Deliveries;

  explicit Dispatcher(DispatcherOptions options);
  // Drops the peers that have not proved the secret within auth_timeout; returns how many
  // still wait. REQUIRES: mu_.
  std::size_t sweep_pending();
  static void sweep_cb(void* arg);  // the sweep timer
  std::chrono::milliseconds sweep_every() const;
  void on_accept(std::shared_ptr<Connection> conn);
  void on_frame(Slot* slot, std::string frame, std::string tail = {});  // tail: ResultTarget
  void on_close(Slot* slot, int error);
  void on_hello(Slot* slot, std::string frame);
  void on_proof(Slot* slot, std::string_view body);
  void reject(Slot* slot);  // REQUIRES: mu_; a peer that broke the protocol
  // REQUIRES: mu_; moves its state by next_state(); false (and no move) when `event` cannot
  // happen in it.
  bool advance(Slot* slot, SlotEvent event);
  std::chrono::milliseconds heartbeat(const Slot& s) const;  // of its connection; 0: none
  static void deliver_all(Deliveries& out);
  // submit() and submit_everywhere() with the ids given (reserve_ids), or with the next free
  // ones when `id` or `first` is 0.
  std::uint64_t submit_with(std::uint64_t id, std::string frame,
                            std::shared_ptr<ResultTarget> target);
  std::vector<std::uint64_t> everywhere_with(std::uint64_t first, const std::string& frame,
                                             std::vector<std::shared_ptr<ResultTarget>> targets,
                                             std::shared_ptr<ResultTarget> later);
  // Writes what send_task() corked while a read's frames were handled, after the lock is released.
  void flush_corked();                               // EXCLUDES: mu_
  Info info_locked() const;                          // REQUIRES: mu_
  std::vector<DaemonStatus> daemons_locked() const;  // REQUIRES: mu_
  DaemonStatus row(const Slot& s, std::chrono::steady_clock::time_point now) const;
  // Schedule::Outbox: a task is corked while a read's frames are handled.
  void send_task(Schedule::Worker& w, const std::shared_ptr<const std::string>& frame) override;
  void send(Schedule::Worker& w, std::string frame) override;

  DispatcherOptions options_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  nng_aio* sweep_aio_ = nullptr;  // fires every sweep_every() to drop peers past auth_timeout
  std::vector<std::string> urls_;

  // The dispatcher's state has one owner: this mutex. Handlers of every connection take it.
  mutable std::mutex mu_;
  std::condition_variable connected_cv_;                    // signalled when a daemon becomes ready
  bool stopping_ = false;                                   // GUARDED_BY(mu_)
  Schedule schedule_;                                       // GUARDED_BY(mu_)
  std::uint32_t cumulative_ = 0;                            // GUARDED_BY(mu_)
  std::uint64_t rejected_ = 0, dropped_ = 0;                // GUARDED_BY(mu_)
  RngStream daemon_stream_ = RngStream::from_seed(0);       // GUARDED_BY(mu_)
  std::unordered_map<Slot*, std::unique_ptr<Slot>> slots_;  // GUARDED_BY(mu_)
  // While a read's frames are handled, tasks assigned wait in their corked connections, to be
  // written together once the read is done and the lock released (flush_corked).
  bool batching_ = false;                            // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<Connection>> corked_;  // GUARDED_BY(mu_)
  std::atomic<bool> any_corked_{false};              // corked_ is not empty (written under mu_)
};

}  // namespace mirai
