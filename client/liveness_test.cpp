// Liveness against real processes: heartbeats that lose a frozen daemon or a frozen dispatcher,
// and timeouts that count from a task's start.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "mirai/mirai.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

// A shell task that writes its daemon's pid to `dir/name.daemon`, sleeps `seconds` and prints
// "done".
Task marked(const test::TempDir& dir, const std::string& name, const std::string& seconds) {
  return Task::sh("echo $PPID > " + dir.file(name + ".daemon") + "; sleep " + seconds +
                  "; echo done");
}

}  // namespace

TEST_CASE("a frozen daemon is lost after 3 silent heartbeats and its task runs elsewhere",
          "[liveness]") {
  test::TempDir dir;
  Profile p;
  DaemonsConfig c = test::local_daemons(2);
  c.heartbeat = 300ms;
  c.retries = 1;
  test::set_daemons(p, c);
  Future f = p.submit(marked(dir, "a", "1"));
  pid_t frozen = test::wait_pid(dir, "a.daemon");
  auto start = std::chrono::steady_clock::now();
  kill(frozen, SIGSTOP);  // a frozen node: its socket stays open, it sends nothing
  REQUIRE(f.wait_for(10s));
  CHECK(f.wait().value == "done\n");
  // Lost after 3 intervals (0.9 s), then run again for 1 s on the other daemon.
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(p.info().retried == 1);
  CHECK(p.info().connections == 1);
  // Woken up, it finds its connection closed and exits; its late result goes nowhere.
  kill(frozen, SIGCONT);
  CHECK(test::eventually([&] { return !test::process_alive(frozen); }, 5s));
  CHECK(p.info().completed == 1);

  // Without retries the task says why it failed.
  test::TempDir other;
  Future g = p.submit(marked(other, "b", "30").with_retries(0));
  pid_t second = test::wait_pid(other, "b.daemon");
  kill(second, SIGSTOP);
  REQUIRE(g.wait_for(10s));
  CHECK(g.wait().describe() ==
        "error value 19 (Connection reset): its daemon stopped answering while running it "
        "(nothing from it for 900ms: a frozen or unreachable node)");
  CHECK(g.wait().cause == Cause::kLost);
  kill(second, SIGKILL);
}

TEST_CASE("a daemon whose dispatcher freezes kills its task and exits", "[liveness]") {
  test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock");
  test::Started procs(test::mirai_exe());
  pid_t dispatcher = procs.start(
      {"dispatcher", "--control", control, "--url-file", dir.file("urls"), "--heartbeat", "400ms"});
  REQUIRE(test::eventually([&] { return !test::read_file(dir.file("urls")).empty(); }));
  DaemonsConfig c;
  c.dispatcher_url = control;
  c.n = 1;
  c.heartbeat = 400ms;
  Profile p;
  test::set_daemons(p, c);
  Future f = p.submit(test::sleeper(dir, "t"));
  pid_t daemon = test::wait_pid(dir, "t.daemon");
  pid_t task = test::wait_pid(dir, "t.pid");
  auto start = std::chrono::steady_clock::now();
  kill(dispatcher, SIGSTOP);
  // 3 intervals of silence (1.2 s), then the task's group is killed and the daemon exits.
  CHECK(test::eventually([&] { return !test::process_alive(daemon); }, 5s));
  CHECK(std::chrono::steady_clock::now() - start < 1200ms + 1s);
  CHECK_FALSE(test::process_alive(task));
  // The client was lost too, and says so rather than waiting.
  REQUIRE(f.wait_for(5s));
  CHECK(f.wait().code() == 19);
  CHECK(f.wait().cause == Cause::kDisconnected);
  CHECK_THAT(f.wait().message, Catch::Contains("stopped answering"));
  kill(dispatcher, SIGCONT);
}

TEST_CASE("a timeout counts from the task's start, not from its submission", "[liveness]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(1));
  // Three tasks of 0.4 s, each with a 1 s timeout, one after another on one daemon: the last
  // starts 0.8 s after its submission and must not time out.
  std::vector<Future> fs;
  for (int i = 0; i < 3; ++i)
    fs.push_back(p.submit(Task::sh("sleep 0.4; echo " + std::to_string(i)).with_timeout(1s)));
  for (int i = 0; i < 3; ++i) CHECK(fs[i].wait().value == std::to_string(i) + "\n");
  // A task that runs past its timeout still gives 5, with what it printed before.
  Future late = p.submit(Task::sh("echo started; sleep 5").with_timeout(300ms));
  const Result& r = late.wait();
  CHECK(r.code() == 5);
  CHECK(r.value == "started\n");
  CHECK(p.submit(Task::call("echo", "after")).wait().value == "after");
}

TEST_CASE("a local daemon that dies is reaped, and replaced once tasks wait", "[liveness]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(2));
  Future f = p.submit(marked(dir, "a", "0"));
  REQUIRE(f.wait().ok());
  pid_t dead = test::wait_pid(dir, "a.daemon");
  kill(dead, SIGKILL);
  CHECK(test::eventually([&] { return p.info().connections == 1; }));
  // Reaped: not left as a zombie.
  CHECK(test::eventually([&] { return access(("/proc/" + std::to_string(dead)).c_str(), F_OK); }));
  // Tasks wait for more daemons than are connected: the dead one is replaced.
  std::vector<Future> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(p.submit(Task::sh("sleep 0.5")));
  CHECK(test::eventually([&] { return p.info().connections == 2; }));
  for (auto& g : fs) CHECK(g.wait().ok());
  CHECK(p.info().cumulative == 3);
  CHECK(p.failure().empty());
}

TEST_CASE("ephemeral mode runs at most its limit of task processes at once", "[liveness]") {
  test::TempDir dir;
  Profile p;  // no daemons set: a fresh daemon per task
  p.set_ephemeral_limit(2);
  CHECK(p.ephemeral_limit() == 2);
  // Each task marks itself running, looks how many are, and unmarks itself.
  std::string running = dir.file("running");
  std::vector<Future> fs;
  for (int i = 0; i < 6; ++i)
    fs.push_back(
        p.submit(Task::sh("mkdir -p " + running + "; touch " + running + "/$$; sleep 0.3; ls " +
                          running + " | wc -l; rm " + running + "/$$")));
  int most = 0;
  for (auto& f : fs) {
    const Result& r = f.wait();
    REQUIRE(r.ok());
    most = std::max(most, std::stoi(r.value));
  }
  CHECK(most >= 1);
  CHECK(most <= 2);
  Profile defaults;
  CHECK(defaults.ephemeral_limit() == static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST_CASE("a daemon without autoexit dials again when its dispatcher froze, and gets back in",
          "[liveness]") {
  test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock"), secret = dir.file("secret");
  test::Started procs(test::mirai_exe());
  pid_t dispatcher =
      procs.start({"dispatcher", "--control", control, "--url-file", dir.file("urls"),
                   "--secret-file", secret, "--heartbeat", "300ms"});
  REQUIRE(test::eventually([&] { return !test::read_file(dir.file("urls")).empty(); }));
  std::string urls = test::read_file(dir.file("urls"));
  std::string listen = urls.substr(7, urls.find('\n') - 7);
  pid_t daemon = procs.start(
      {"daemon", listen, "--secret-file", secret, "--no-autoexit", "--heartbeat", "300ms"});
  DaemonsConfig c;
  c.dispatcher_url = control;
  Profile p;
  test::set_daemons(p, c);
  REQUIRE(test::eventually([&] { return p.info().connections == 1; }));
  Future f = p.submit(test::sleeper(dir, "t"));
  pid_t task = test::wait_pid(dir, "t.pid");
  kill(dispatcher, SIGSTOP);
  // The daemon loses it after 3 intervals, kills its task, and dials again.
  CHECK(test::eventually([&] { return !test::process_alive(task); }, 5s));
  CHECK(test::process_alive(daemon));
  kill(dispatcher, SIGCONT);
  // This client was lost too (it heard nothing for 3 intervals): its task says so.
  REQUIRE(f.wait_for(5s));
  CHECK_THAT(f.wait().message, Catch::Contains("stopped answering"));
  // Back: the same daemon connects a second time, as a new client sees.
  CHECK(test::eventually(
      [&] {
        Profile again;
        DaemonsConfig c2;
        c2.dispatcher_url = control;
        if (!again.set_daemons(c2)) return false;
        auto s = again.status();
        return s.info.cumulative == 2 && s.daemons.size() == 1 &&
               s.daemons[0].pid == static_cast<std::uint32_t>(daemon);
      },
      15s));
}
