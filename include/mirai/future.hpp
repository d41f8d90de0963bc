// A mirai: the future of one task. Returned at once by Profile::submit; resolves exactly once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mirai/result.hpp"

namespace mirai {

namespace detail {
struct FutureState;
}

class Future {
 public:
  Future() = default;
  explicit Future(std::shared_ptr<detail::FutureState> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  // mirai's unresolved(): true while the result has not arrived. Never blocks.
  bool unresolved() const;
  // Blocks until resolved and returns the result (mirai's call_mirai / m[]). The reference
  // stays valid as long as a Future for this task exists; on a temporary Future
  // (`profile.submit(t).wait()`) the result is returned by value instead, moved out when no
  // other Future for the task exists.
  const Result& wait() const&;
  Result wait() &&;
  // Blocks up to `d`; true when resolved.
  bool wait_for(std::chrono::milliseconds d) const;
  // mirai's stop_mirai(): resolves to error value 20 if still pending and stops the task (a
  // queued task never runs; a running one is interrupted on its daemon). True if it was pending.
  bool stop();
  // The dispatcher's id of this task (increasing per profile).
  std::uint64_t id() const;
  // Runs `continuation` with the result once the task resolves, without polling (the role of
  // promises in R's mirai): at once on this thread if it already has, else on the thread that
  // resolves it (a network or timer thread: keep it short; it may submit more tasks). A future
  // takes several: each runs once, in the order they were set. Returns true.
  bool then(std::function<void(const Result&)> continuation);

 private:
  std::shared_ptr<detail::FutureState> state_;
};

inline constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

// mirai's race_mirai(): blocks until one of `futures` is resolved and returns the index of the
// first resolved one in list order; kNoIndex for an empty list. Event-driven, no polling.
std::size_t race(const std::vector<Future>& futures);

// Blocks until every future is resolved.
void wait_all(const std::vector<Future>& futures);

}  // namespace mirai
