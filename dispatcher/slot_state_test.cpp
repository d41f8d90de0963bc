// A daemon's connection at the dispatcher moves only as next_state() says: every state against
// every event, without a socket or a clock.
#include "dispatcher/slot_state.hpp"

#include <catch2/catch.hpp>

using namespace mirai;
using S = SlotState;
using E = SlotEvent;

TEST_CASE("a slot joins by hello then proof, exits once, and a dropped one stays dropped",
          "[dispatcher][state]") {
  // The way in: hello, then proof.
  CHECK(next_state(S::kJoining, E::kHello) == S::kChallenged);
  CHECK(next_state(S::kChallenged, E::kProof) == S::kReady);
  // Out of order is not a move: the dispatcher drops the connection.
  CHECK_FALSE(next_state(S::kJoining, E::kProof));
  CHECK_FALSE(next_state(S::kChallenged, E::kHello));
  CHECK_FALSE(next_state(S::kReady, E::kHello));
  CHECK_FALSE(next_state(S::kReady, E::kProof));
  CHECK_FALSE(next_state(S::kJoining, E::kFinal));
  CHECK_FALSE(next_state(S::kChallenged, E::kLeaving));
  // A ready daemon exits after its last result, or leaves; an exiting one may still say so.
  CHECK(next_state(S::kReady, E::kFinal) == S::kExiting);
  CHECK(next_state(S::kReady, E::kLeaving) == S::kExiting);
  CHECK(next_state(S::kExiting, E::kLeaving) == S::kExiting);
  CHECK_FALSE(next_state(S::kExiting, E::kHello));
  // Breaking the protocol drops it from anywhere but dropped, once.
  for (S s : {S::kJoining, S::kChallenged, S::kReady, S::kExiting})
    CHECK(next_state(s, E::kBroke) == S::kDropped);
  for (E e : {E::kHello, E::kProof, E::kFinal, E::kLeaving, E::kBroke})
    CHECK_FALSE(next_state(S::kDropped, e));
  // Which count against the pending cap, and which are in the pool.
  CHECK(authenticating(S::kJoining));
  CHECK(authenticating(S::kChallenged));
  CHECK_FALSE(authenticating(S::kDropped));
  CHECK(joined(S::kReady));
  CHECK(joined(S::kExiting));
  CHECK_FALSE(joined(S::kChallenged));
  static_assert(next_state(S::kJoining, E::kHello) == S::kChallenged, "usable at compile time");
}
