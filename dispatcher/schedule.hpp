// The dispatcher's policy (docs/dispatcher.md): which daemon runs which task, and when. Tasks
// wait in one FIFO queue and go to idle daemons first; a daemon whose recent tasks were short
// gets more in flight (adaptive prefetch), and gives the newest back to a daemon that falls
// idle (recall); a task whose daemon dies runs again under its retries; the copies of an
// everywhere() task go to different daemons, and standing setups to each daemon first; a task
// that declares its time goes only to a daemon whose allocation has that much left.
//
// Pure: no socket, thread or clock of its own. The Dispatcher owns one under its lock, tells it
// what happened, and carries out what it decides through an Outbox; tests drive it with fake
// daemons and a manual clock (dispatcher/schedule_test.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mirai/result.hpp"

namespace mirai {

// Receives the outcome of one task: a kResult frame from the daemon, or one the dispatcher made
// (19 when the daemon died, 7 when the dispatcher stopped). Called on an NNG thread without the
// dispatcher's lock held; it may be called after the caller already resolved the task itself
// (cancel, timeout) and must then ignore it. `tail` is empty, or the frame came split
// (Connection's on_split) and it is the result's value (proto::decode_result(frame, tail)).
class ResultTarget {
 public:
  virtual ~ResultTarget() = default;
  virtual void deliver(std::string frame, std::string tail) = 0;
};

class Schedule {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    // Round robin ("no dispatcher"): every task goes at once to the next daemon in turn, and
    // nothing is prefetched or recalled.
    bool round_robin = false;
    // A daemon whose recent tasks were short gets up to this many tasks in flight: the one it
    // runs and as many as fit in `prefetch_window` of its measured task time behind it. 1 turns
    // prefetch off.
    int max_prefetch = 2048;
    std::chrono::microseconds prefetch_window{10000};
    // Now; steady_clock::now() when empty. Tests set a manual clock.
    std::function<Clock::time_point()> clock;
  };

  // A daemon as the schedule sees it; the dispatcher's connection slot derives from it.
  struct Worker {
    std::uint32_t instance = 0;  // set by the owner before join()
    std::uint32_t maxtasks = 0;  // from its hello: it exits after this many; 0: no limit
    // When it stops taking tasks (its allocation ends soon after); max() when no end is known.
    Clock::time_point stops = Clock::time_point::max();
    bool ready = false;                   // joined and taking tasks
    std::deque<std::uint64_t> in_flight;  // sent, unanswered, in the order the daemon runs them
    // Tasks handed to it and not given back by a recall, and results it returned.
    std::uint64_t assigned = 0, completed = 0;
    std::size_t setting_up = 0;  // copies of standing setups sent and not yet answered
    double task_us = -1;         // moving average of task time; negative: not yet measured
    // When the task it runs (the first in flight) started, as far as the schedule knows: when
    // it was sent to an idle daemon, or when the one before it was answered.
    Clock::time_point running_since;
    bool recall_pending = false;
    // Prefetching, it is being filled up to its depth; once full it gets more only when half of
    // what it holds is done, several in one write (one wake-up of the daemon, not one a task).
    bool topping_up = false;
    bool listed_idle = false;     // in the schedule's list of idle daemons
    bool listed_roomy = false;    // in its list of busy daemons that may take more
    bool listed_stacked = false;  // in its list of daemons holding a task behind the running one
  };

  // Carries out the schedule's decisions; called with the owner's lock held.
  class Outbox {
   public:
    virtual ~Outbox() = default;
    // A task for `w` to run (the frame is shared with the queue entry: a retry resends it).
    virtual void send_task(Worker& w, const std::shared_ptr<const std::string>& frame) = 0;
    // Any other frame for `w`: cancel, recall, exit, exit ack.
    virtual void send(Worker& w, std::string frame) = 0;
  };

  struct Delivery {
    std::shared_ptr<ResultTarget> target;
    std::string frame, tail;  // tail: see ResultTarget
  };
  // Outcomes to hand to their targets after the owner's lock is released.
  using Deliveries = std::vector<Delivery>;

  // What became of a result a daemon sent.
  enum class Answer {
    kTaken,    // the outcome of a task it was given
    kForeign,  // not a task it holds: the daemon broke the protocol
    kExits,    // taken, and the daemon takes no more tasks (a limit, or its setup failed)
  };

  Schedule(Options options, Outbox& outbox);
  Schedule(const Schedule&) = delete;
  Schedule& operator=(const Schedule&) = delete;

  Clock::time_point now() const { return options_.clock ? options_.clock() : Clock::now(); }

  // Tasks ------------------------------------------------------------------------------------
  // Queues the task in `frame` (its id replaced by the returned one) for `target`. The id is
  // `id` when that is not 0: one reserve_ids() gave.
  std::uint64_t submit(std::string frame, std::shared_ptr<ResultTarget> target,
                       std::uint64_t id = 0);
  // One copy per target, each for a different daemon, as one unit of the queue; with `later`,
  // a standing setup too (DispatcherLink::submit_everywhere). The ids follow `first` when that
  // is not 0 (reserve_ids() gave as many).
  std::vector<std::uint64_t> submit_everywhere(const std::string& frame,
                                               std::vector<std::shared_ptr<ResultTarget>> targets,
                                               std::shared_ptr<ResultTarget> later,
                                               std::uint64_t first = 0);
  // Output (a kOutput frame) of a task `w` runs, for the task's target; false when `w` holds
  // no such task.
  bool output(const Worker& w, std::string frame, Deliveries& out);
  // A queued task never runs; a running one is told to stop on its daemon.
  void cancel(std::uint64_t id);
  // Every queued task resolves with `why` (refused: no daemon will come).
  void fail_queued(const Result& why, Deliveries& out);
  // Every task, queued or running, resolves with error value 7 (the dispatcher stops).
  void close(Deliveries& out);

  // Daemons ----------------------------------------------------------------------------------
  // `w` proved the secret: it runs each standing setup, then takes tasks.
  void join(Worker& w);
  // `w` takes no more tasks (it said it is leaving, broke the protocol, or is being lost); what
  // it holds stays with it until remove().
  void stop_taking(Worker& w);
  // A result frame from `w` (with `tail`, split: see ResultTarget).
  Answer result(Worker& w, std::string frame, Deliveries& out, std::string tail = {});
  // `w` answered a recall: the task goes back to the head of the queue unless it had started.
  // False for a malformed answer.
  bool recalled(Worker& w, std::string_view body);
  // Called now and then (the dispatcher's sweep timer): a daemon held up by a long task
  // behind which tiny ones wait gives them back, also when no other event comes.
  void tick() { maybe_recall(); }
  // `w` is gone. What it was running goes back to the head of the queue when it left blameless
  // (stopped by a signal) or the task has retries left; otherwise the task fails as crashed, or
  // as lost with `lost_why` when that is set. What it had not started goes back in any case.
  void remove(Worker& w, bool blameless, const std::string& lost_why, Deliveries& out);

  // Counters and views ---------------------------------------------------------------------
  const std::vector<Worker*>& ready() const { return ready_; }
  std::uint64_t awaiting() const { return awaiting_; }
  std::uint64_t executing() const { return executing_; }
  std::uint64_t submitted() const { return submitted_; }
  std::uint64_t retried() const { return retried_; }
  // An id no task has, for an answer the owner makes itself (to a task it no longer takes).
  std::uint64_t unused_id() { return next_id_++; }
  // The first of `n` consecutive ids that no task has and none will be given but by the
  // caller, who knows a task's id before submitting it.
  std::uint64_t reserve_ids(std::size_t n) {
    std::uint64_t first = next_id_;
    next_id_ += n;
    return first;
  }

  // After the head of the queue found no daemon: a later task (before the next everywhere()
  // unit) that one of the idle daemons has time for runs first. Looks this far.
  static constexpr std::size_t kLookahead = 1024;
  // A daemon whose tasks take less than this (a message and a process's wake-up cost about as
  // much) gets more of them while it has room before an idle one is woken, and is not asked to
  // give one back.
  static constexpr double kTinyTaskUs = 100;
  // Unless its running task has gone on this long, a hundred times that: then the tiny tasks
  // behind it wait for something else, and are asked back one by one for idle daemons.
  static constexpr std::chrono::milliseconds kHeldUp{10};

 private:
  // The copies of one everywhere() task: the daemons (by instance) holding one.
  struct Group {
    std::vector<std::uint32_t> took;
    std::size_t copies = 0;
  };
  // A task every daemon runs first, also those that connect later (everywhere() with `later`).
  struct Setup {
    std::string frame;  // its id is replaced for each copy
    std::shared_ptr<Group> group;
    std::shared_ptr<ResultTarget> later;
  };
  // One task, queued or on a daemon. Its members are ordered by size: a million queued tasks
  // cost what this is and its map node (bench `memory`).
  // What few tasks have: held by pointer, so that the others (nearly all) pay 8 bytes for it.
  struct Rare {
    std::shared_ptr<Group> group;          // a copy of an everywhere() task: its unit
    std::vector<std::uint32_t> failed_on;  // the daemons (by instance) it failed on
  };
  struct Entry {
    std::shared_ptr<const std::string> frame;
    std::shared_ptr<ResultTarget> target;
    std::unique_ptr<Rare> rare;
    Worker* daemon = nullptr;       // null while queued
    std::uint32_t expected_ms = 0;  // from the task frame (at most 49 days); 0: not declared
    // Times it ran again (<= retries): its daemon died under it, or it failed and the task
    // frame asks for failures to run again.
    std::uint8_t lost = 0;
    std::uint8_t retries = 0;  // from the task frame
    bool cancelled : 1;
    bool setup : 1;           // a standing setup's copy for a daemon that connected later
    bool rerun_failures : 1;  // from the task frame
    Entry() : cancelled(false), setup(false), rerun_failures(false) {}
    std::chrono::milliseconds expected() const { return std::chrono::milliseconds(expected_ms); }
    Group* grouped() const { return rare ? rare->group.get() : nullptr; }
    // Whether `w` is a daemon it failed on.
    bool failed_on(const Worker& w) const {
      return rare && std::find(rare->failed_on.begin(), rare->failed_on.end(), w.instance) !=
                         rare->failed_on.end();
    }
  };
  // 56 bytes keep an entry's map node in an 80-byte heap chunk; one more byte costs 16 a task.
  static_assert(sizeof(void*) != 8 || sizeof(Entry) <= 56, "a queued task's entry grew");

  void enqueue(std::uint64_t id, Entry e);
  // Hands out tasks from the head of the queue while daemons take them.
  void drain();
  // Lists `w` as idle (it takes tasks and holds none), or as roomy (it holds fewer than its
  // prefetch depth), when it is.
  void note(Worker& w);
  bool idle(const Worker& w) const;
  bool roomy(const Worker& w) const;
  // The first daemon of `list` for which `still` holds and that is `eligible`; the entries for
  // which `still` no longer holds go (`flag` is the daemon's mark of being listed). A template,
  // not a std::function: it runs for every task handed out.
  template <typename Eligible>
  Worker* first_of(std::deque<Worker*>& list, bool Worker::*flag,
                   bool (Schedule::*still)(const Worker&) const, const Eligible& eligible);
  void maybe_recall();
  // A daemon for task `e`: an idle one with time left for it and, for a copy of an everywhere()
  // task, one that has no copy yet; else (FIFO) the least loaded one that may prefetch. A task
  // that failed waits for a daemon it has not failed on while one is taking tasks.
  Worker* pick(const Entry& e);
  // Whether `w` takes tasks long enough for `e` to finish before its allocation ends.
  static bool fits(const Worker& w, const Entry& e, Clock::time_point now);
  static bool tiny(const Worker& w);  // its tasks take under kTinyTaskUs
  // Whether the task it runs has gone on past kHeldUp.
  static bool held_up(const Worker& w, Clock::time_point now);
  void note_stacked(Worker& w);  // lists it in stacked_ once it holds two
  bool assign_lookahead();
  std::size_t depth(const Worker& w) const;  // how many tasks it may hold
  bool has_capacity(const Worker& w) const;
  void send_setups(Worker& w);
  void assign(Worker& w, std::uint64_t id, Entry& e);
  void requeue_front(const std::deque<std::uint64_t>& ids);

  Options options_;
  Outbox& outbox_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Entry> tasks_;
  std::deque<std::uint64_t> queue_;  // may hold ids of cancelled tasks
  std::uint64_t awaiting_ = 0, executing_ = 0, submitted_ = 0, retried_ = 0;
  std::vector<Setup> setups_;
  std::vector<Worker*> ready_;  // taking tasks, in the order they joined
  std::size_t rotor_ = 0;       // round robin: where the next search for a daemon starts
  // Daemons that fell idle, in that order, and busy daemons that may prefetch more, in the
  // order they made room. An entry is stale once its daemon is neither (it took tasks, or
  // stopped taking them) and goes when it is looked at, so that finding a daemon for a task
  // costs O(1) however many are connected.
  std::deque<Worker*> idle_, roomy_;
  // Daemons that were given a second task while running one: where a recall looks (stale once
  // it holds fewer, as above), not through every daemon connected.
  std::deque<Worker*> stacked_;
};

}  // namespace mirai
