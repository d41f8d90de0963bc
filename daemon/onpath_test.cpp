// An attacker on the path between a daemon and its dispatcher over plain tcp (test::Relay):
// after the handshake every frame is sealed, so whatever it injects, replays, reorders, alters
// or cuts short ends that connection and runs nothing, and the pool's other daemons finish the
// work, every task resolved once.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/process.hpp"
#include "core/protocol.hpp"
#include "mirai/profile.hpp"
#include "tests/support/relay.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;
using test::Relay;

namespace {

// `mirai daemon URL` for `p`, keeping its stderr in `log`.
pid_t start_daemon(const Profile& p, const std::string& url, const std::string& log = {}) {
  SpawnOptions o;
  o.argv = {test::mirai_exe(), "daemon", url, "--heartbeat", "300ms"};
  o.env["MIRAI_SECRET"] = p.secret();
  if (!log.empty()) {
    o.argv.push_back("--output");
    o.err = SpawnOptions::Stdio::kFile;
    o.file = log;
  }
  auto c = spawn(o);
  REQUIRE(c);
  return c->pid;
}

// Stops and reaps `pid` if it still runs; returns whether it had exited by itself.
bool ended_by_itself(pid_t pid, std::chrono::milliseconds timeout) {
  if (wait_for_exit(pid, timeout) >= 0) return true;
  kill(pid, SIGKILL);
  wait_for_exit(pid, 5s);
  return false;
}

int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

std::string framed(const std::string& frame) {
  auto n = static_cast<std::uint32_t>(frame.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + frame;
}

}  // namespace

TEST_CASE("an on-path attacker can neither run, change nor read a frame over tcp",
          "[daemon][auth][seal]") {
  test::TempDir dir;
  const std::string ran = dir.file("injected-task-ran");
  struct Case {
    const char* name;
    Relay::Tamper tamper;
  };
  // Frames after the handshake: to the daemon, 2 is its first task; to the dispatcher, 2 is
  // its first result.
  const std::string injected_task = framed(proto::encode_task(1, Task::shell({"touch", ran})));
  Result forged;
  forged.value = "forged";
  const std::string injected_result = framed(proto::encode_result(1, 0, forged));
  auto c = GENERATE_COPY(
      Case{"inject a task",
           {Relay::Direction::kToDaemon, 2, Relay::Action::kInject, injected_task}},
      Case{"replay a task", {Relay::Direction::kToDaemon, 2, Relay::Action::kReplay, {}}},
      Case{"flip a bit of a task", {Relay::Direction::kToDaemon, 2, Relay::Action::kFlip, {}}},
      Case{"reorder a task", {Relay::Direction::kToDaemon, 2, Relay::Action::kReorder, {}}},
      Case{"inject a result",
           {Relay::Direction::kToDispatcher, 2, Relay::Action::kInject, injected_result}},
      Case{"replay a result", {Relay::Direction::kToDispatcher, 2, Relay::Action::kReplay, {}}},
      Case{"flip a bit of a result",
           {Relay::Direction::kToDispatcher, 2, Relay::Action::kFlip, {}}},
      Case{"reorder a result", {Relay::Direction::kToDispatcher, 2, Relay::Action::kReorder, {}}},
      Case{"cut a result short",
           {Relay::Direction::kToDispatcher, 2, Relay::Action::kCutShort, {}}});
  INFO(c.name);
  const bool at_daemon = c.tamper.direction == Relay::Direction::kToDaemon;
  Profile p;
  DaemonsConfig config = test::local_daemons(0, "tcp://127.0.0.1:0");
  config.retries = 2;  // the task the attacked daemon held goes to another
  test::set_daemons(p, config);
  Relay relay(port_of(p.url()), c.tamper);
  const std::string log = dir.file(std::string("attacked-") + std::to_string(getpid()) + ".log");
  pid_t attacked = start_daemon(p, relay.url(), log);
  REQUIRE(test::eventually([&] { return p.info().connections == 1; }));
  // The first tasks go to the attacked daemon; the honest ones join after.
  std::vector<Future> fs;
  for (int i = 0; i < 40; ++i)
    fs.push_back(p.submit(Task::call("echo", "value " + std::to_string(i))));
  REQUIRE(test::eventually([&] { return relay.tampered(); }));
  pid_t honest[2] = {start_daemon(p, p.url()), start_daemon(p, p.url())};
  for (int i = 0; i < 40; ++i) {
    REQUIRE(fs[i].wait_for(20s));
    Result r = fs[i].wait();
    INFO("task " << i << ": " << r.message);
    CHECK(r.value == "value " + std::to_string(i));
  }
  // The attacked connection ends (the daemon, with autoexit, exits), and nothing injected ran.
  CHECK(ended_by_itself(attacked, 10s));
  CHECK(access(ran.c_str(), F_OK) != 0);
  if (at_daemon) {
    CHECK_THAT(test::read_file(log), Catch::Contains("did not authenticate"));
    CHECK(p.info().dropped == 0);
  } else {
    CHECK(p.info().dropped == 1);  // the dispatcher saw the bad frame, and counts it
  }
  for (pid_t h : honest) {
    kill(h, SIGTERM);
    ended_by_itself(h, 5s);
  }
}

TEST_CASE("a relay that passes everything through reads none of it", "[daemon][auth][seal]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(0, "tcp://127.0.0.1:0"));
  Relay relay(port_of(p.url()), {});
  pid_t d = start_daemon(p, relay.url());
  const std::string marker = "payload-marker-7f3a9c";
  Future call = p.submit(Task::call("echo", marker));
  Future shell = p.submit(Task::sh("echo shell-" + marker));
  CHECK(call.wait().value == marker);
  CHECK(shell.wait().value == "shell-" + marker + "\n");
  std::string seen = relay.captured();
  CHECK(seen.size() > 200);  // the handshake, two tasks and their results went through it
  CHECK(seen.find("payload-marker") == std::string::npos);
  CHECK(seen.find("echo") == std::string::npos);
  kill(d, SIGTERM);
  ended_by_itself(d, 5s);
}
