#include <catch2/catch.hpp>

#include "mirai/profile.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

TEST_CASE("race returns the index of the first resolved future", "[future]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(3)).ok());
  std::vector<Future> fs = {p.submit(Task::call("sleep", "3s")),
                            p.submit(Task::call("sleep", "50ms")),
                            p.submit(Task::call("sleep", "2s"))};
  CHECK(fs[1].unresolved());
  CHECK(race(fs) == 1);
  CHECK_FALSE(fs[1].unresolved());
  CHECK(fs[0].unresolved());
  CHECK(race({}) == kNoIndex);
  for (auto& f : fs) f.stop();
}

TEST_CASE("wait_for times out on a pending future and unresolved never blocks", "[future]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(1)).ok());
  Future f = p.submit(Task::call("sleep", "300ms"));
  CHECK(f.unresolved());
  CHECK_FALSE(f.wait_for(10ms));
  CHECK(f.wait_for(10s));
  CHECK(f.wait().ok());
  CHECK(f.id() > 0);
}

TEST_CASE("result predicates follow mirai's", "[future]") {
  Result v;
  CHECK(v.ok());
  CHECK_FALSE(v.is_error_value());
  Result e;
  e.kind = Result::Kind::kError;
  CHECK(e.is_evaluation_error());
  CHECK(e.is_error_value());
  Result i;
  i.kind = Result::Kind::kInterrupt;
  CHECK(i.is_interrupt());
  CHECK(i.is_error_value());
  Result t = Result::error_value_result(ErrorValue::kTimedOut);
  CHECK(t.code() == 5);
  CHECK(t.is_error_value());
  CHECK_FALSE(t.is_evaluation_error());
  CHECK(t.describe() == "error value 5 (Timed out)");
}
