// How far a daemon's connection got in the handshake with its dispatcher, or why it failed,
// and the one function that moves it (DaemonLoop). Pure: tested without a socket or a clock.
#pragma once

#include <cstdint>
#include <optional>

namespace mirai {

enum class LinkState : std::uint8_t {
  kHello,     // the hello is sent; the dispatcher's challenge comes next
  kVerified,  // the dispatcher proved it holds the secret; the proof is sent, the welcome next
  kWelcomed,  // in the pool: tasks are taken
  kImpostor,  // the dispatcher's proof was wrong: nothing it sends is run
  kUnsealed,  // on an exposed connection the dispatcher would not seal the frames
};

enum class LinkEvent : std::uint8_t {
  kChallenge,          // a challenge whose proof holds, sealing where it must
  kForgedChallenge,    // a challenge whose proof does not hold
  kUnsealedChallenge,  // a challenge that will not seal an exposed connection
  kWelcome,            // the welcome
};

// The state after `event`, or nullopt when the event cannot come in `state` (the daemon closes
// the connection: a second challenge, a welcome before the proof).
constexpr std::optional<LinkState> next_link(LinkState state, LinkEvent event) {
  using S = LinkState;
  using E = LinkEvent;
  if (state == S::kHello) {
    if (event == E::kChallenge) return S::kVerified;
    if (event == E::kForgedChallenge) return S::kImpostor;
    if (event == E::kUnsealedChallenge) return S::kUnsealed;
  }
  if (state == S::kVerified && event == E::kWelcome) return S::kWelcomed;
  return std::nullopt;
}

// A handshake that trying again cannot mend: the dispatcher is not one to trust.
constexpr bool refused(LinkState s) {
  return s == LinkState::kImpostor || s == LinkState::kUnsealed;
}

}  // namespace mirai
