// Profile groups against real daemons: tasks routed by profile name, and a backup profile that
// takes a task whose daemon died under it on every attempt of the first.
#include <catch2/catch.hpp>

#include "mirai/mirai.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

// `n` local daemons whose tasks see TIER=`tier`.
void tier(Profile& p, const std::string& tier, int n, std::uint8_t retries = 0) {
  DaemonsConfig c = test::local_daemons(n);
  c.env["TIER"] = tier;
  c.retries = retries;
  test::set_daemons(p, c);
}

// Kills its daemon on the tiers listed, else prints where it ran.
Task dies_on(const std::string& tiers) {
  return Task::sh("case \" " + tiers + " \" in *\" $TIER \"*) kill -9 $PPID; sleep 30;; esac; " +
                  "echo on $TIER");
}

// Waits for `f`, keeping `n` daemons connected on each of `profiles`.
Result wait_replacing(const Future& f, std::vector<Profile*> profiles, std::size_t n) {
  while (!f.wait_for(100ms))
    for (Profile* p : profiles)
      if (p->info().connections < n) REQUIRE(p->launch_local(1).ok());
  return f.wait();
}

}  // namespace

TEST_CASE("a group routes tasks by profile name and escalates crashed ones to the backup",
          "[group]") {
  Profile small, big;
  tier(small, "small", 2, 1);
  tier(big, "big", 1);
  ProfileGroup g;
  REQUIRE(g.add("small", small, "big").ok());
  REQUIRE(g.add("big", big).ok());

  CHECK(g.submit("small", Task::sh("echo on $TIER"))->wait().value == "on small\n");
  CHECK(g.submit("big", Task::sh("echo on $TIER"))->wait().value == "on big\n");
  CHECK(g.escalated() == 0);

  // Killed on both attempts `small` allows (retries 1), then run on `big`.
  Result r = wait_replacing(*g.submit("small", dies_on("small")), {&small}, 2);
  INFO(r.describe());
  CHECK(r.value == "on big\n");
  CHECK(g.escalated() == 1);
  CHECK(small.info().retried == 1);

  // Killed at the end of the chain too: the last profile's 19, saying where.
  r = wait_replacing(*g.submit("small", dies_on("small big")), {&small, &big}, 1);
  CHECK(r.code() == 19);
  CHECK(r.cause == Cause::kCrashed);
  CHECK(r.describe() ==
        "error value 19 (Connection reset): its daemon died while running it on profile 'big', "
        "the backup after 'small'");
  CHECK(g.escalated() == 2);
  // A task that failed in another way stays failed where it was.
  REQUIRE(small.launch_local(1).ok());
  CHECK(g.submit("small", Task::sh("exit 3"))->wait().exit_code == 3);
  CHECK(g.escalated() == 2);
}

TEST_CASE("stop() on a group's task stops it on whichever profile it is", "[group]") {
  Profile small, big;
  tier(small, "small", 1);
  tier(big, "big", 1);
  ProfileGroup g;
  REQUIRE(g.add("small", small, "big").ok());
  REQUIRE(g.add("big", big).ok());
  Future f = *g.submit("small", Task::sh("[ $TIER = small ] && kill -9 $PPID; sleep 30"));
  REQUIRE(test::eventually([&] { return big.info().executing == 1; }));
  CHECK(f.stop());
  CHECK(f.wait().code() == 20);
  CHECK(test::eventually([&] { return big.info().executing == 0; }));
}

TEST_CASE("a group refuses unknown names and broken backup chains", "[group]") {
  Profile a, b, c;
  ProfileGroup g;
  REQUIRE(g.add("a", a, "b").ok());
  CHECK(g.add("a", b).message() == "the group has a profile named 'a' already");
  CHECK(g.add("self", c, "self").message() == "profile 'self' cannot be its own backup");
  CHECK(g.submit("nobody", Task::sh("true")).message() ==
        "the group has no profile named 'nobody'");
  CHECK(g.submit("a", Task::sh("true")).message() ==
        "profile 'a': its backup chain names 'b', which is not in the group");
  REQUIRE(g.add("b", b, "c").ok());
  REQUIRE(g.add("c", c, "a").ok());
  CHECK(g.submit("a", Task::sh("true")).message() ==
        "profile 'a': its backup chain comes back to 'a'");
}
