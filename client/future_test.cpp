#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

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

TEST_CASE("a continuation runs exactly once, before or after resolution", "[future]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(2)).ok());
  // Set before the result arrives: it runs on the thread that resolves the future.
  std::atomic<int> calls{0};
  std::promise<std::string> got;
  Future pending = p.submit(Task::call("sleep", "100ms"));
  CHECK(pending.then([&](const Result& r) {
    ++calls;
    got.set_value(r.ok() ? "ok" : r.describe());
  }));
  CHECK(got.get_future().get() == "ok");
  // Set after: it runs at once, on this thread.
  Future done = p.submit(Task::call("echo", "x"));
  done.wait();
  std::thread::id ran_on;
  CHECK(done.then([&](const Result& r) {
    ran_on = std::this_thread::get_id();
    CHECK(r.value == "x");
  }));
  CHECK(ran_on == std::this_thread::get_id());
  // One per future.
  CHECK_FALSE(done.then([&](const Result&) { ++calls; }));
  CHECK(calls == 1);
}

TEST_CASE("continuations on many futures race their resolution and run once each", "[future]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(2)).ok());
  constexpr int kTasks = 2000;
  std::vector<std::atomic<int>> runs(kTasks);
  std::vector<Future> fs;
  for (int i = 0; i < kTasks; ++i) {
    fs.push_back(p.submit(Task::call("echo", std::to_string(i))));
    // Some are set while the task is still queued, some as it resolves.
    fs.back().then([&runs, i](const Result& r) {
      if (r.ok() && r.value == std::to_string(i)) ++runs[i];
    });
  }
  wait_all(fs);
  CHECK(test::eventually([&] {
    for (auto& r : runs)
      if (r.load() != 1) return false;
    return true;
  }));
}

TEST_CASE("a continuation can submit the next task, chaining without polling", "[future]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(1)).ok());
  std::promise<Future> second;
  p.submit(Task::call("echo", "first")).then([&](const Result& r) {
    second.set_value(p.submit(Task::call("echo", r.value + " then second")));
  });
  CHECK(second.get_future().get().wait().value == "first then second");
}
