// The states of a daemon's connection at the dispatcher, and the one function that moves
// between them (Dispatcher::Slot). Pure: tested without a socket or a clock.
#pragma once

#include <cstdint>
#include <optional>

namespace mirai {

enum class SlotState : std::uint8_t {
  kJoining,     // accepted; its hello comes first
  kChallenged,  // said hello and was sent a challenge; its proof comes next
  kReady,       // proved it holds the secret; takes tasks
  kExiting,     // sent its final result, or is leaving: takes no more tasks, its results count
  kDropped,     // closed by us: it broke the protocol or did not prove the secret in time
};

enum class SlotEvent : std::uint8_t {
  kHello,    // a well-formed hello of this protocol version
  kProof,    // the proof of the secret, checked
  kFinal,    // its result said it exits after it (a limit reached)
  kLeaving,  // it said it is leaving (stopped by a signal)
  kBroke,    // a frame it may not send now, malformed, or no proof in time
};

// The state after `event`, or nullopt when the event cannot happen in `state` (the caller drops
// the connection: a hello after the hello, a result before the proof).
constexpr std::optional<SlotState> next_state(SlotState state, SlotEvent event) {
  using S = SlotState;
  using E = SlotEvent;
  if (state == S::kDropped) return std::nullopt;
  if (event == E::kBroke) return S::kDropped;
  switch (state) {
    case S::kJoining:
      if (event == E::kHello) return S::kChallenged;
      break;
    case S::kChallenged:
      if (event == E::kProof) return S::kReady;
      break;
    case S::kReady:
    case S::kExiting:
      if (event == E::kFinal || event == E::kLeaving) return S::kExiting;
      break;
    case S::kDropped:
      break;
  }
  return std::nullopt;
}

// Not yet proved the secret, nor dropped: it counts against the cap of pending peers.
constexpr bool authenticating(SlotState s) {
  return s == SlotState::kJoining || s == SlotState::kChallenged;
}
// Joined the pool: it is shown in status, and its results count.
constexpr bool joined(SlotState s) { return s == SlotState::kReady || s == SlotState::kExiting; }

}  // namespace mirai
