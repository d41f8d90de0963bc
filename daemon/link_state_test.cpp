// A daemon's handshake moves only as next_link() says: every state against every event.
#include "daemon/link_state.hpp"

#include <catch2/catch.hpp>

using namespace mirai;
using S = LinkState;
using E = LinkEvent;

TEST_CASE("a daemon takes tasks only after a proved challenge and then the welcome",
          "[daemon][state]") {
  CHECK(next_link(S::kHello, E::kChallenge) == S::kVerified);
  CHECK(next_link(S::kVerified, E::kWelcome) == S::kWelcomed);
  // A welcome before the proof, a second challenge: not moves (the daemon closes).
  CHECK_FALSE(next_link(S::kHello, E::kWelcome));
  CHECK_FALSE(next_link(S::kVerified, E::kChallenge));
  CHECK_FALSE(next_link(S::kWelcomed, E::kChallenge));
  CHECK_FALSE(next_link(S::kWelcomed, E::kWelcome));
  // A wrong proof, or no sealing where it must be: refused for good.
  CHECK(next_link(S::kHello, E::kForgedChallenge) == S::kImpostor);
  CHECK(next_link(S::kHello, E::kUnsealedChallenge) == S::kUnsealed);
  CHECK(refused(S::kImpostor));
  CHECK(refused(S::kUnsealed));
  CHECK_FALSE(refused(S::kVerified));
  for (E e : {E::kChallenge, E::kForgedChallenge, E::kUnsealedChallenge, E::kWelcome}) {
    CHECK_FALSE(next_link(S::kImpostor, e));
    CHECK_FALSE(next_link(S::kUnsealed, e));
  }
}
