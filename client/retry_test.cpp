// Fault tolerance against real daemon processes: retries when a daemon dies, and preemption
// that costs no retry.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "mirai/mirai.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

// A task that SIGKILLs its own daemon on its first `crashes` runs (counted in `dir/count`), and
// prints "survived" on the next.
Task crasher(const test::TempDir& dir, int crashes) {
  std::string count = dir.file("count");
  return Task::sh("n=$(cat " + count + " 2>/dev/null || echo 0); echo $((n + 1)) > " + count +
                  "; if [ $n -lt " + std::to_string(crashes) +
                  " ]; then kill -9 $PPID; sleep 30; fi; echo survived");
}

// Waits for `f`, keeping `n` daemons connected (a new one for each that died).
Result wait_replacing(Profile& p, const Future& f, std::size_t n) {
  while (!f.wait_for(100ms))
    if (p.info().connections < n) REQUIRE(p.launch_local(1).ok());
  return f.wait();
}

}  // namespace

TEST_CASE("a task whose daemon dies is run again, up to its retries", "[retries]") {
  test::TempDir dir;
  Profile p;
  DaemonsConfig c = test::local_daemons(2);
  c.retries = 2;
  test::set_daemons(p, c);
  Result r = wait_replacing(p, p.submit(crasher(dir, 2)), 2);
  INFO(r.describe());
  CHECK(r.value == "survived\n");
  CHECK(p.info().retried == 2);
  CHECK(test::read_file(dir.file("count")) == "3\n");
}

TEST_CASE("out of retries a task resolves to 19 and says how many attempts it had", "[retries]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(2));
  // The task's own retries win over the profile's (0 here).
  Result r = wait_replacing(p, p.submit(crasher(dir, 5).with_retries(1)), 2);
  CHECK(r.code() == 19);
  CHECK(r.describe() ==
        "error value 19 (Connection reset): its daemon died while running it, on all 2 attempts "
        "(retries: 1)");
  test::TempDir other;
  Result once = wait_replacing(p, p.submit(crasher(other, 5)), 2);
  CHECK(once.describe() == "error value 19 (Connection reset): its daemon died while running it");
  CHECK(p.info().retried == 1);
}

TEST_CASE("a daemon stopped by SIGTERM gives its running task back without using a retry",
          "[retries]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(2));  // no retries at all
  std::string marker = dir.file("ran");
  Future f = p.submit(Task::sh("if [ -e " + marker + " ]; then echo again; else touch " + marker +
                               "; echo $PPID > " + dir.file("a.daemon") + "; sleep 30; fi"));
  pid_t daemon = test::wait_pid(dir, "a.daemon");
  kill(daemon, SIGTERM);  // what a scheduler does to a preempted job, or one at its time limit
  REQUIRE(f.wait_for(10s));
  CHECK(f.wait().value == "again\n");
  CHECK(p.info().retried == 1);
  CHECK(p.info().connections == 1);
}

TEST_CASE("5000 tasks with retries 3 while daemons are SIGKILLed: every one resolves to its value",
          "[retries][slow]") {
  Profile p;
  DaemonsConfig c = test::local_daemons(4);
  c.retries = 3;
  test::set_daemons(p, c);
  constexpr int kTasks = 5000;
  std::vector<Future> fs;
  fs.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) fs.push_back(p.submit(Task::call("sleep", "2ms")));
  std::atomic<bool> done{false};
  std::atomic<int> killed{0};
  std::thread killer([&] {
    std::mt19937 rng(42);
    while (!done) {
      std::this_thread::sleep_for(150ms);
      auto s = p.status();
      if (s.daemons.empty()) continue;
      const auto& d = s.daemons[rng() % s.daemons.size()];
      if (kill(static_cast<pid_t>(d.pid), SIGKILL) == 0) ++killed;
      (void)p.launch_local(1);
    }
  });
  int ok = 0;
  for (auto& f : fs) {
    if (!f.wait_for(60s)) {
      for (auto& d : p.status().daemons)
        WARN("daemon " << d.instance << " pid " << d.pid << " assigned " << d.assigned
                       << " completed " << d.completed << " in_flight " << d.in_flight);
      FAIL("a task never resolved");
    }
    if (f.wait().value.empty() && f.wait().ok()) ++ok;
  }
  done = true;
  killer.join();
  Info i = p.info();
  INFO("killed " << killed << " retried " << i.retried);
  CHECK(ok == kTasks);
  CHECK(killed > 5);
  CHECK(i.completed == kTasks);
  CHECK(i.awaiting == 0);
  CHECK(i.executing == 0);
}
