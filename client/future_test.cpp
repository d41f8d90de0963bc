#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

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
  CHECK(t.cause == Cause::kTimedOut);
  // Each cause has its error value, as R mirai numbers them.
  CHECK(Result::failure(Cause::kCancelled).code() == 20);
  CHECK(Result::failure(Cause::kClosed).code() == 7);
  CHECK(Result::failure(Cause::kTimedOut, "late").message == "late");
  CHECK(Result::failure(Cause::kCrashed).describe() == "error value 19 (Connection reset)");
  CHECK(std::string(cause_text(Cause::kTimedOut)) == "timed out");
  CHECK(i.cause == Cause::kNone);
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
  CHECK(calls == 1);
}

TEST_CASE("a future takes several continuations, run once each in the order set", "[future]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(1)).ok());
  std::mutex mu;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    return [&, what](const Result& r) {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(what + "=" + r.value);
    };
  };
  Future f = p.submit(Task::call("sleep", "200ms"));
  Future g = p.submit(Task::call("echo", "g"));
  for (const char* name : {"a", "b", "c"}) CHECK(f.then(note(name)));
  CHECK(g.then(note("g1")));
  f.wait();
  g.wait();
  CHECK(f.then(note("d")));  // after resolution: at once, on this thread, after the others
  CHECK(g.then(note("g2")));
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::string> of_f, of_g;
  for (const auto& o : order) (o[0] == 'g' ? of_g : of_f).push_back(o);
  CHECK(of_f == std::vector<std::string>{"a=", "b=", "c=", "d="});
  CHECK(of_g == std::vector<std::string>{"g1=g", "g2=g"});
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

TEST_CASE("a value taken from a temporary Expected does not dangle", "[future]") {
  // `for (x : *f.get())`: on a temporary, * gives the value itself, which the loop keeps alive.
  static_assert(
      std::is_same_v<decltype(*std::declval<Expected<std::vector<int>>>()), std::vector<int>>);
  static_assert(
      std::is_same_v<decltype(*std::declval<Expected<std::vector<int>>&>()), std::vector<int>&>);
  static_assert(std::is_same_v<decltype(std::declval<const Expected<int>&>().value()), const int&>);
  auto make = [] {
    return Expected<std::vector<std::string>>(std::vector<std::string>(3, std::string(100, 'x')));
  };
  std::size_t total = 0;
  for (const std::string& s : *make()) total += s.size();
  CHECK(total == 300);
  Expected<std::string> kept = std::string("kept");
  CHECK(*kept == "kept");  // an lvalue still gives a reference, and keeps its value
  CHECK(kept->size() == 4);
  CHECK(*kept == "kept");
}
