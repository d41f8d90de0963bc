// Dispatcher policy: FIFO order, prefetch for short tasks, recall of prefetched work.
#include "dispatcher/dispatcher.hpp"

#include <catch2/catch.hpp>

#include "mirai/profile.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {
void start(Profile& p, int n, int max_prefetch = 32) {
  DaemonsConfig c = test::local_daemons(n);
  c.max_prefetch = max_prefetch;
  REQUIRE(p.set_daemons(c).ok());
}

// Submits `n` no-op calls and returns the most tasks one daemon held at once meanwhile.
std::uint32_t most_in_flight(Profile& p, int n) {
  std::vector<Future> fs;
  for (int i = 0; i < n; ++i) fs.push_back(p.submit(Task::call("noop")));
  std::uint32_t most = 0;
  while (fs.back().unresolved()) {
    for (const auto& d : p.status().daemons) most = std::max(most, d.in_flight);
    fs.back().wait_for(1ms);
  }
  wait_all(fs);
  return most;
}
}  // namespace

TEST_CASE("one daemon runs tasks in submission order", "[dispatcher]") {
  test::TempDir dir;
  Profile p;
  start(p, 1);
  std::vector<Future> fs;
  for (int i = 0; i < 200; ++i)
    fs.push_back(p.submit(Task::sh("echo " + std::to_string(i) + " >> " + dir.file("log"))));
  wait_all(fs);
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += std::to_string(i) + "\n";
  CHECK(test::read_file(dir.file("log")) == expected);
}

TEST_CASE("short tasks are prefetched with several in flight per daemon", "[dispatcher]") {
  Profile p;
  start(p, 1);
  CHECK(most_in_flight(p, 20000) > 1);
  CHECK(p.info().completed == 20000);
}

TEST_CASE("a command's result comes while the next one, sent ahead, runs", "[dispatcher]") {
  Profile p;
  start(p, 1);
  // Measured as short, the daemon gets the next commands before it asks.
  std::vector<Future> warm;
  for (int i = 0; i < 20; ++i) warm.push_back(p.submit(Task::shell({"true"})));
  wait_all(warm);
  Future first = p.submit(Task::shell({"sleep", "0.3"}));
  Future next = p.submit(Task::shell({"sleep", "5"}));
  REQUIRE(test::eventually([&] { return p.status().daemons.at(0).in_flight == 2; }));
  // The first's result is written once the next has started, not when it ends.
  CHECK(first.wait_for(2500ms));
  CHECK(first.wait().ok());
  CHECK(next.unresolved());
  next.stop();
}

TEST_CASE("without prefetch a daemon never holds more than one task", "[dispatcher]") {
  Profile p;
  start(p, 1, 1);
  CHECK(most_in_flight(p, 3000) == 1);
}

TEST_CASE("long tasks behind short ones spread over idle daemons", "[dispatcher][slow]") {
  // Teach both daemons that tasks are short, then queue long ones: prefetch may send two long
  // tasks to one daemon, and the idle one must take the second back (recall).
  Profile p;
  start(p, 2);
  std::vector<Future> warm;
  for (int i = 0; i < 2000; ++i) warm.push_back(p.submit(Task::call("noop")));
  std::vector<Future> longs;
  for (int i = 0; i < 4; ++i) longs.push_back(p.submit(Task::call("sleep", "700ms")));
  auto t0 = std::chrono::steady_clock::now();
  wait_all(longs);
  auto took = std::chrono::steady_clock::now() - t0;
  // Two rounds of two parallel sleeps: 1.4 s; all four on one daemon would be 2.8 s.
  CHECK(took < 2400ms);
  auto st = p.status();
  REQUIRE(st.daemons.size() == 2);
}

TEST_CASE("info counts cancelled queued tasks as completed", "[dispatcher]") {
  Profile p;
  start(p, 1);
  Future busy = p.submit(Task::call("sleep", "30s"));
  std::vector<Future> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(p.submit(Task::call("noop")));
  REQUIRE(test::eventually([&] { return p.info().executing == 1; }));
  Info before = p.info();
  CHECK(before.awaiting == 5);
  for (auto& f : queued) CHECK(f.stop());
  Info after = p.info();
  CHECK(after.awaiting == 0);
  CHECK(after.completed == 5);
  busy.stop();
}
