// The shared state behind a Future: resolved once, by whoever comes first (the daemon's
// result, a timeout, stop(), or the dispatcher closing).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "dispatcher/dispatcher.hpp"
#include "mirai/future.hpp"

namespace mirai {
class ProfileCore;

namespace detail {

// The bounded queue's account (DaemonsConfig::memory): bytes of tasks not yet resolved.
struct Budget {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t used = 0;  // GUARDED_BY(mu)
  std::size_t limit = 0;
};
// A task's share of the budget, given back when it resolves.
struct BudgetHold {
  std::shared_ptr<Budget> budget;
  std::size_t bytes = 0;
  ~BudgetHold();
};

struct FutureState final : ResultTarget {
  ~FutureState() override;
  // Decodes the daemon's result frame and resolves with it (unless already resolved); an
  // output frame goes to on_output.
  void deliver(std::string frame, std::string tail) override;
  // Resolves with `r` if still pending; returns whether this call resolved it.
  bool resolve(Result r);
  bool resolved() const { return state_.load() == kResolved; }
  // REQUIRES: resolved()
  const Result& result() const { return *result_; }
  // REQUIRES: resolved(), and no one else reads the result afterwards.
  Result take_result() { return std::move(*result_); }
  // Blocks until resolved, or until `deadline` when given; returns resolved().
  bool wait_until(const std::chrono::steady_clock::time_point* deadline);

  // Runs `fn` with the result once resolved: now, on this thread, when it already is; else
  // on the thread that resolves it, after those set before it.
  void add_callback(std::function<void(const Result&)> fn);

  std::uint64_t id = 0;
  std::weak_ptr<ProfileCore> core;  // to cancel on the dispatcher
  // Set instead for a future that stands for others (groups). The two callbacks are held by
  // pointer: most futures have neither, and a queued task's state is kept small.
  std::unique_ptr<std::function<void()>> on_stop;
  std::unique_ptr<BudgetHold> hold;  // set before the task is queued; released on resolution
  // Task::on_output: a streaming task's output frames (kOutput) go here until it resolves.
  std::unique_ptr<std::function<void(int, std::string_view)>> on_output;

 private:
  static constexpr std::uint8_t kPending = 0, kResolving = 1, kResolved = 2;
  std::atomic<std::uint8_t> state_{kPending};
  std::atomic<bool> waited_{false};
  std::unique_ptr<Result> result_;  // allocated on resolution: pending tasks stay small
  // The continuations, newest first: null, a list, or taken() once the result is out and the
  // list was claimed. Whoever exchanges a list out runs it (oldest first), so each runs once;
  // one set after that runs at once.
  using Callback = std::function<void(const Result&)>;
  struct Node {
    Callback fn;
    Node* next;
  };
  static Node* taken() { return reinterpret_cast<Node*>(alignof(Node)); }
  std::atomic<Node*> callbacks_{nullptr};
  void run_callbacks();
};

}  // namespace detail
}  // namespace mirai
