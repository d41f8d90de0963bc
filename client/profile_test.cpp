// Profiles against real `mirai daemon` processes over real sockets.
#include "mirai/profile.hpp"

#include "daemon/command_line.hpp"
#include "mirai/daemon.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <climits>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

DaemonsConfig local(int n, std::string url = {}) { return test::local_daemons(n, std::move(url)); }

}  // namespace

TEST_CASE("10000 tasks over 2 daemons each resolve exactly once", "[profile][slow]") {
  Profile p;
  test::set_daemons(p, local(2));
  std::vector<Future> fs;
  for (int i = 0; i < 10000; ++i) fs.push_back(p.submit(Task::call("echo", std::to_string(i))));
  for (int i = 0; i < 10000; ++i) {
    const Result& r = fs[i].wait();
    REQUIRE(r.ok());
    REQUIRE(r.value == std::to_string(i));
  }
  Info info = p.info();
  CHECK(info.completed == 10000);
  CHECK(info.awaiting == 0);
  CHECK(info.executing == 0);
  CHECK(info.connections == 2);
  CHECK(info.cumulative == 2);
  auto st = p.status();
  REQUIRE(st.daemons.size() == 2);
  CHECK(st.daemons[0].completed + st.daemons[1].completed == 10000);
  CHECK(st.daemons[0].assigned == st.daemons[0].completed);
}

TEST_CASE("a daemon killed mid-task gives 19 and the other finishes the rest", "[profile]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, local(2));
  Future doomed = p.submit(test::sleeper(dir, "a"));
  pid_t daemon = test::wait_pid(dir, "a.daemon");
  std::vector<Future> rest;
  for (int i = 0; i < 50; ++i) rest.push_back(p.submit(Task::call("echo", std::to_string(i))));
  kill(daemon, SIGKILL);
  const Result& r = doomed.wait();
  CHECK(r.kind == Result::Kind::kErrorValue);
  CHECK(r.code() == 19);
  CHECK(r.cause == Cause::kCrashed);
  for (int i = 0; i < 50; ++i) CHECK(rest[i].wait().value == std::to_string(i));
  // Gone from the pool (its supervisor may have started a replacement meanwhile).
  for (const DaemonStatus& d : p.status().daemons)
    CHECK(d.pid != static_cast<std::uint32_t>(daemon));
  // The sleep it ran is not left behind by the dead daemon's group either.
  pid_t sleep_pid = test::wait_pid(dir, "a.pid");
  kill(sleep_pid, SIGKILL);
}

TEST_CASE("a queued task that is stopped never runs", "[profile]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, local(1));
  Future busy = p.submit(test::sleeper(dir, "busy"));
  test::wait_pid(dir, "busy.pid");
  Future queued = p.submit(Task::sh("touch " + dir.file("ran")));
  CHECK(queued.unresolved());
  CHECK(queued.stop());
  CHECK(queued.wait().code() == 20);
  CHECK(queued.wait().cause == Cause::kCancelled);
  CHECK_FALSE(queued.stop());  // already resolved
  CHECK(busy.stop());
  Future after = p.submit(Task::call("echo", "next"));
  CHECK(after.wait().value == "next");
  CHECK(test::read_file(dir.file("ran")).empty());
  CHECK_FALSE(std::ifstream(dir.file("ran")).good());
}

TEST_CASE("stopping a running shell task kills its process", "[profile]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, local(1));
  Future f = p.submit(test::sleeper(dir, "s"));
  pid_t sleep_pid = test::wait_pid(dir, "s.pid");
  REQUIRE(test::process_alive(sleep_pid));
  CHECK(f.stop());
  CHECK(f.wait().code() == 20);
  CHECK(test::eventually([&] { return !test::process_alive(sleep_pid); }, 5s));
  // The daemon is free again.
  CHECK(p.submit(Task::call("echo", "ok")).wait().value == "ok");
}

TEST_CASE("stopping a running call task interrupts it on the daemon", "[profile]") {
  Profile p;
  test::set_daemons(p, local(1));
  Future f = p.submit(Task::call("sleep", "30s"));
  REQUIRE(test::eventually([&] { return p.info().executing == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  CHECK(f.stop());
  CHECK(p.submit(Task::call("echo", "free")).wait().value == "free");
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

TEST_CASE("a timeout gives 5 and kills the task and frees the daemon", "[profile]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, local(1));
  Task t = test::sleeper(dir, "t");
  t.timeout = 500ms;
  Future f = p.submit(std::move(t));
  CHECK(f.wait().code() == 5);
  CHECK(f.wait().cause == Cause::kTimedOut);
  pid_t sleep_pid = test::wait_pid(dir, "t.pid");
  CHECK(test::eventually([&] { return !test::process_alive(sleep_pid); }, 5s));
  CHECK(p.submit(Task::call("echo", "after")).wait().value == "after");
}

TEST_CASE("evaluation errors carry type and message and exit code and stderr", "[profile]") {
  Profile p;
  test::set_daemons(p, local(1));
  const Result& thrown = p.submit(Task::call("fail", "boom")).wait();
  CHECK(thrown.is_evaluation_error());
  CHECK(thrown.is_error_value());
  CHECK(thrown.type == "std::runtime_error");
  CHECK(thrown.message == "boom");

  Result shell = p.submit(Task::sh("echo partial; echo 'bad thing' >&2; exit 4")).wait();
  CHECK(shell.is_evaluation_error());
  CHECK(shell.exit_code == 4);
  CHECK(shell.type == "exit status 4");
  CHECK(shell.value == "partial\n");
  CHECK(shell.stderr_tail() == "bad thing\n");

  Result sig = p.submit(Task::sh("kill -TERM $$")).wait();
  CHECK(sig.signal == SIGTERM);
  CHECK_THAT(sig.type, Catch::StartsWith("signal 15"));

  // Interrupted where it runs (SIGINT): mirai's miraiInterrupt, not an evaluation error; what
  // it printed stays.
  Result interrupted = p.submit(Task::sh("echo before; kill -INT $$; echo after")).wait();
  CHECK(interrupted.is_interrupt());
  CHECK_FALSE(interrupted.is_evaluation_error());
  CHECK(interrupted.signal == SIGINT);
  CHECK(interrupted.value == "before\n");

  Result unknown = p.submit(Task::call("nope")).wait();
  CHECK(unknown.type == "unknown function");
  CHECK_THAT(unknown.message, Catch::Contains("echo"));
}

TEST_CASE("shell tasks get argv and environment and directory and stdin", "[profile]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, local(1));
  Task t = Task::shell({"sh", "-c", "echo \"$1|$GREETING|$(pwd)\"; cat", "sh", "a; rm -rf /"});
  auto& sh = std::get<ShellTask>(t.body);
  sh.env["GREETING"] = "hi";
  sh.cwd = dir.path();
  sh.stdin_data = "from stdin";
  CHECK(p.submit(std::move(t)).wait().value == "a; rm -rf /|hi|" + dir.path() + "\nfrom stdin");
}

TEST_CASE("every transport carries tasks with port 0 resolved", "[profile][slow]") {
  // Generated values outlive one run of the test case, so the ipc path cannot be in a TempDir.
  std::string ipc = "ipc:///tmp/mirai-test-" + std::to_string(getpid()) + ".sock";
  auto url = GENERATE_COPY(as<std::string>{}, "tcp://127.0.0.1:0", "tcp://[::1]:0",
                           "ws://127.0.0.1:0/x", "abstract://", ipc);
  INFO(url);
  Profile p;
  test::set_daemons(p, local(2, url));
  CHECK(p.url().find(":0/") == std::string::npos);
  CHECK((p.url().size() < 2 || p.url().substr(p.url().size() - 2) != ":0"));
  std::vector<Future> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(p.submit(Task::call("echo", std::to_string(i))));
  for (int i = 0; i < 20; ++i) CHECK(fs[i].wait().value == std::to_string(i));
}

TEST_CASE("without a dispatcher tasks go round-robin to the daemons", "[profile]") {
  Profile p;
  DaemonsConfig c = local(2);
  c.dispatcher = false;
  test::set_daemons(p, c);
  std::vector<Future> fs;
  for (int i = 0; i < 100; ++i) fs.push_back(p.submit(Task::call("pid")));
  std::set<std::string> pids;
  for (auto& f : fs) pids.insert(f.wait().value);
  CHECK(pids.size() == 2);
  auto st = p.status();
  REQUIRE(st.daemons.size() == 2);
  CHECK(st.daemons[0].assigned == 50);
  CHECK(st.daemons[1].assigned == 50);
}

TEST_CASE("with no daemons set each task runs in a fresh daemon", "[profile]") {
  Profile p;
  std::vector<Future> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(p.submit(Task::call("pid")));
  std::set<std::string> pids;
  for (auto& f : fs) {
    REQUIRE(f.wait().ok());
    pids.insert(f.wait().value);
  }
  CHECK(pids.size() == 3);
  CHECK_FALSE(p.daemons_set());
}

TEST_CASE("status names each daemon with pid and host and instance and counts", "[profile]") {
  Profile p;
  test::set_daemons(p, local(2));
  std::set<std::string> ran_on;
  for (int i = 0; i < 20; ++i) ran_on.insert(p.submit(Task::call("pid")).wait().value);
  ProfileStatus st = p.status();
  CHECK(st.url == p.url());
  REQUIRE(st.daemons.size() == 2);
  CHECK(st.daemons[0].instance == 1);
  CHECK(st.daemons[1].instance == 2);
  for (const auto& d : st.daemons) {
    CHECK(d.host.size() > 0);
    CHECK(d.pid > 0);
  }
  for (const auto& pid : ran_on) {
    bool known = false;
    for (const auto& d : st.daemons) known |= std::to_string(d.pid) == pid;
    CHECK(known);
  }
  CHECK(st.daemons[0].completed + st.daemons[1].completed == 20);
}

TEST_CASE("reset resolves pending tasks with 7 and stops the daemons", "[profile]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, local(1));
  Future running = p.submit(test::sleeper(dir, "r"));
  pid_t daemon = test::wait_pid(dir, "r.daemon");
  pid_t sleep_pid = test::wait_pid(dir, "r.pid");
  Future queued = p.submit(Task::call("echo", "x"));
  p.reset();
  CHECK(running.wait().code() == 7);
  CHECK(queued.wait().code() == 7);
  CHECK(running.wait().cause == Cause::kClosed);
  CHECK(queued.wait().cause == Cause::kClosed);
  CHECK_FALSE(test::process_alive(daemon));
  CHECK(test::eventually([&] { return !test::process_alive(sleep_pid); }, 5s));
  CHECK(p.info().connections == 0);
}

TEST_CASE("a custom daemon serves its own registered functions", "[profile]") {
  Profile p;
  DaemonsConfig c = local(1);
  c.daemon_command = test::custom_daemon_exe();
  test::set_daemons(p, c);
  CHECK(p.submit(Task::call("sum", "1 2 3 4")).wait().value == "10");
  const Result bad = p.submit(Task::call("sum", "1 x")).wait();
  CHECK(bad.is_evaluation_error());
  CHECK(bad.type == "std::invalid_argument");
}

TEST_CASE("a daemon that cannot start is reported and nothing is left running", "[profile]") {
  Profile p;
  DaemonsConfig c = local(1);
  c.daemon_command = "/bin/false";
  Status s = p.set_daemons(c);
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("before it connected"));
  c.daemon_command = "/nonexistent/mirai";
  s = p.set_daemons(c);
  CHECK_THAT(s.message(), Catch::Contains("/nonexistent/mirai"));
}

TEST_CASE("once no daemon can be launched, the waiting tasks are refused, saying why",
          "[profile]") {
  test::TempDir dir;
  // The node breaks once a task has run: later daemons exit at once.
  std::string broken = dir.file("broken"), command = dir.file("daemon.sh");
  std::ofstream(command) << "#!/bin/sh\n[ -e " << broken << " ] && exit 3\nexec "
                         << test::mirai_exe() << " \"$@\"\n";
  chmod(command.c_str(), 0755);
  Profile p;
  DaemonsConfig c = local(1);
  c.daemon_command = command;
  c.relaunch_interval = 50ms;
  c.launch_retries = 1;
  REQUIRE(p.set_daemons(c).ok());
  Future dies = p.submit(Task::sh("touch " + broken + "; kill -9 $PPID").with_retries(0));
  Future waits = p.submit(Task::call("echo", "never"));
  CHECK(dies.wait().cause == Cause::kCrashed);
  REQUIRE(waits.wait_for(20s));
  const Result& r = waits.wait();
  CHECK(r.code() == 19);
  CHECK(r.cause == Cause::kRefused);
  CHECK_THAT(r.message, Catch::Contains("no daemon is left to run the tasks"));
  // Submitted now, a task is refused at once.
  CHECK(p.submit(Task::call("echo", "late")).wait().cause == Cause::kRefused);
}

TEST_CASE("with a seed every task gets the next stream, whatever the number of daemons",
          "[profile][rng]") {
  auto streams = [](int daemons) {
    Profile p;
    DaemonsConfig c = test::local_daemons(daemons);
    c.seed = 123;
    test::set_daemons(p, c);
    std::vector<Future> fs;
    for (int i = 0; i < 12; ++i) {
      fs.push_back(i % 2 ? p.submit(Task::call("runif", "3"))
                         : p.submit(Task::sh("echo $MIRAI_STREAM")));
    }
    std::vector<std::string> out;
    for (auto& f : fs) out.push_back(f.wait().value);
    return out;
  };
  auto one = streams(1), two = streams(2);
  CHECK(one == two);
  // As R mirai gives them, as R's .Random.seed: the first task the state set.seed(123,
  // "L'Ecuyer-CMRG") leaves, the next (task 3: tasks 2 and 4 are calls) two nextRNGStream on.
  CHECK(one[0] == "10407 1806547166 -983674937 643431772 1162448557 -959247990 -133913213\n");
  CHECK(one[2] == RngStream::from_seed(123).next_stream().next_stream().to_r_seed() + "\n");
  // Call tasks draw from their stream through CallContext::rng().
  CHECK(one[1].find(' ') != std::string::npos);
  CHECK(one[1] != one[3]);
}

TEST_CASE("without a seed each daemon draws from its own streams, never the same",
          "[profile][rng]") {
  Profile p;
  test::set_daemons(p, local(3));
  std::vector<Future> fs;
  for (int i = 0; i < 30; ++i) fs.push_back(p.submit(Task::sh("echo $MIRAI_STREAM")));
  std::set<std::string> seen;
  for (auto& f : fs) {
    const Result& r = f.wait();
    REQUIRE(r.ok());
    CHECK(RngStream::parse(r.value));
    seen.insert(r.value);
  }
  CHECK(seen.size() == 30);
}

TEST_CASE("synchronous mode evaluates each task in the calling thread", "[profile][sync]") {
  Profile p;
  DaemonsConfig c;
  c.sync = true;
  test::set_daemons(p, c);
  CHECK(p.daemons_set());
  // A call task runs in this process; a shell task is this process's child.
  Future f = p.submit(Task::call("pid"));
  CHECK_FALSE(f.unresolved());  // resolved before submit returned
  CHECK(f.wait().value == std::to_string(getpid()));
  CHECK(p.submit(Task::sh("echo $PPID")).wait().value == std::to_string(getpid()) + "\n");
  const Result& failed = p.submit(Task::sh("exit 3")).wait();
  CHECK(failed.is_evaluation_error());
  CHECK(failed.exit_code == 3);
  // The user's own functions.
  FunctionRegistry mine;
  mine.add("twice",
           [](std::string_view in, CallContext&) { return std::string(in) + std::string(in); });
  c.functions = &mine;
  test::set_daemons(p, c);
  CHECK(p.submit(Task::call("twice", "ab")).wait().value == "abab");
  c.n = 2;
  CHECK_THAT(p.set_daemons(c).message(), Catch::Contains("takes no daemons"));
}

TEST_CASE("a seed gives the same streams in synchronous mode as on daemons",
          "[profile][sync][rng]") {
  auto draws = [](DaemonsConfig c) {
    c.seed = 2026;
    Profile p;
    test::set_daemons(p, c);
    std::vector<std::string> out;
    for (int i = 0; i < 6; ++i) out.push_back(p.submit(Task::call("runif", "2")).wait().value);
    return out;
  };
  DaemonsConfig sync;
  sync.sync = true;
  CHECK(draws(sync) == draws(local(2)));
}

TEST_CASE("a bounded queue blocks submit and refuses try_submit until tasks resolve",
          "[profile][memory]") {
  Profile p;
  DaemonsConfig c = local(1);
  // Room for two of these tasks (each about 1.1 kB encoded), not three.
  auto heavy = [] {
    Task t = Task::sh("sleep 30");
    std::get<ShellTask>(t.body).stdin_data = std::string(1000, 'x');
    return t;
  };
  c.memory = 2500;
  test::set_daemons(p, c);
  Future first = p.submit(heavy()), second = p.submit(heavy());
  CHECK_FALSE(p.try_submit(heavy()));  // full: nothing, at once
  std::atomic<bool> returned{false};
  Future third;
  std::thread blocked([&] {
    third = p.submit(heavy());
    returned = true;
  });
  // Nothing resolves on its own (the tasks sleep 30 s): the submit stays blocked.
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(returned.load());
  CHECK(first.stop());  // resolving one frees its share
  blocked.join();
  CHECK(returned.load());
  CHECK(third.unresolved());
  // Small tasks still fit beside them.
  CHECK_FALSE(p.try_submit(heavy()));
  second.stop();
  auto fourth = p.try_submit(Task::call("echo", "fits"));
  REQUIRE(fourth);
  third.stop();
  CHECK(fourth->wait().value == "fits");
}

TEST_CASE("a seed also applies to tasks sent to a running dispatcher", "[profile][rng]") {
  test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock");
  test::Started procs(test::mirai_exe());
  procs.start({"dispatcher", "--control", control, "--url-file", dir.file("urls")});
  REQUIRE(test::eventually([&] { return !test::read_file(dir.file("urls")).empty(); }));
  DaemonsConfig c;
  c.dispatcher_url = control;
  c.n = 1;
  c.seed = 123;
  Profile p;
  test::set_daemons(p, c);
  CHECK(p.submit(Task::sh("echo $MIRAI_STREAM")).wait().value ==
        "10407 1806547166 -983674937 643431772 1162448557 -959247990 -133913213\n");
}

TEST_CASE("a daemon binary is taken from beside the library only where no one else could write",
          "[profile]") {
  test::TempDir dir;  // ours, under /tmp: sticky, so others cannot replace it
  std::string ours = dir.file("mirai");
  std::ofstream(ours) << "#!/bin/sh\n";
  chmod(ours.c_str(), 0755);
  CHECK(trusted_path(ours));
  // A directory anyone may write to (and not sticky): anyone could have put it there.
  std::string open_dir = dir.file("open");
  mkdir(open_dir.c_str(), 0755);
  chmod(open_dir.c_str(), 0777);
  std::string planted = open_dir + "/mirai";
  std::ofstream(planted) << "#!/bin/sh\n";
  CHECK_FALSE(trusted_path(planted));
  // A file others may write to.
  chmod(ours.c_str(), 0757);
  CHECK_FALSE(trusted_path(ours));
  // Another user's file or directory: not ours to trust.
  std::string theirs = dir.file("theirs");
  std::ofstream(theirs) << "#!/bin/sh\n";
  REQUIRE(chown(theirs.c_str(), 65534, 65534) == 0);  // nobody
  CHECK_FALSE(trusted_path(theirs));
  CHECK(trusted_path("/usr/bin/env"));  // root's, in root's directories
  CHECK_FALSE(trusted_path("/nonexistent/mirai"));
  // The library finds the `mirai` of its own tree beside it: the test's build, whose bin/ is
  // where the tests' MIRAI_EXE points.
  char built[PATH_MAX];
  REQUIRE(realpath(test::mirai_exe().c_str(), built));
  CHECK(find_daemon_command("") == built);
}

TEST_CASE("a url that cannot be bound falls to the next candidate, TLS included", "[profile]") {
  // A port held by another listener: the profile takes the next candidate.
  Profile holder;
  test::set_daemons(holder, local(0, "tcp://127.0.0.1:0"));
  const std::string taken = holder.url();
  for (const std::string fallback : {"tcp://127.0.0.1:0", "tls+tcp://127.0.0.1:0"}) {
    Profile p;
    DaemonsConfig c = local(1, fallback.rfind("tls", 0) == 0 ? "tls+tcp" + taken.substr(3) : taken);
    c.fallback_urls = {fallback};
    test::set_daemons(p, c);
    CHECK(p.url() != taken);
    CHECK(p.url().rfind(fallback.substr(0, fallback.size() - 1), 0) == 0);
    CHECK(p.submit(Task::call("echo", "here")).wait().value == "here");
  }
  // With no candidate left, the reason is the last one's.
  Profile none;
  DaemonsConfig c = local(0, taken);
  c.fallback_urls = {taken};
  Status s = none.set_daemons(c);
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains(taken.substr(6)));
}

TEST_CASE("a task's output streams as it is written, through the dispatcher in-process or not",
          "[profile][output]") {
  test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock");
  test::Started procs(test::mirai_exe());
  procs.start({"dispatcher", "--control", control, "--url-file", dir.file("urls")});
  REQUIRE(test::eventually([&] { return !test::read_file(dir.file("urls")).empty(); }));
  for (bool standalone : {false, true}) {
    INFO((standalone ? "a running dispatcher" : "in-process"));
    DaemonsConfig c = local(1);
    if (standalone) c.dispatcher_url = control;
    Profile p;
    test::set_daemons(p, c);
    std::mutex mu;
    std::string out, err;
    bool first_line_before_end = false;
    std::string gate = dir.file(standalone ? "gate2" : "gate1");
    // The task writes a line, then waits until the test saw it: only streaming lets it end.
    Task t = Task::sh("echo first; echo warn >&2; while [ ! -e " + gate +
                      " ]; do sleep 0.01; done;"
                      " echo last")
                 .with_output([&](int stream, std::string_view bytes) {
                   std::lock_guard<std::mutex> lock(mu);
                   (stream == 1 ? out : err).append(bytes);
                 })
                 .with_timeout(20s);
    Future f = p.submit(t);
    CHECK(test::eventually([&] {
      std::lock_guard<std::mutex> lock(mu);
      return out == "first\n" && err == "warn\n";
    }));
    first_line_before_end = f.unresolved();
    std::ofstream(gate) << "";
    const Result& r = f.wait();
    CHECK(r.ok());
    CHECK(first_line_before_end);
    CHECK(r.value.empty());  // all of it came as it was written
    std::lock_guard<std::mutex> lock(mu);
    CHECK(out == "first\nlast\n");
    CHECK(err == "warn\n");
  }
}
