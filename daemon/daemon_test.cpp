// `mirai daemon` processes: limits, exit codes, autoexit; the dispatcher against bad peers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/auth.hpp"
#include "core/process.hpp"
#include "core/protocol.hpp"
#include "core/transport.hpp"
#include "dispatcher/dispatcher.hpp"
#include "mirai/profile.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

// A profile that listens but launches nothing: the test starts daemons itself.
void listen_only(Profile& p, const std::string& url = {}) {
  REQUIRE(p.set_daemons(test::local_daemons(0, url)).ok());
}

// A daemon for `p`, with its secret in the environment as launchers give it.
pid_t start_daemon(const Profile& p, std::vector<std::string> extra = {}) {
  SpawnOptions o;
  o.argv = {test::mirai_exe(), "daemon", p.url()};
  o.env["MIRAI_SECRET"] = p.secret();
  o.argv.insert(o.argv.end(), extra.begin(), extra.end());
  auto c = spawn(o);
  REQUIRE(c);
  return c->pid;
}

// The daemon's exit code, waiting up to `timeout`; -1 if still running (then it is killed).
int exit_code(pid_t pid, std::chrono::milliseconds timeout = 10s) {
  int st = wait_for_exit(pid, timeout);
  if (st < 0) {
    kill(pid, SIGKILL);
    wait_for_exit(pid, 5s);
    return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Runs `mirai daemon URL` with MIRAI_SECRET=`secret` to its end: exit code and stderr.
std::pair<int, std::string> daemon_with_secret(const std::string& url, const std::string& secret,
                                               pid_t* pid = nullptr) {
  SpawnOptions o;
  o.argv = {test::mirai_exe(), "daemon", url};
  o.env["MIRAI_SECRET"] = secret;
  o.err = SpawnOptions::Stdio::kPipe;
  auto d = spawn(o);
  REQUIRE(d);
  if (pid) *pid = d->pid;
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(d->err_fd, buf, sizeof buf)) > 0;) err.append(buf, n);
  close(d->err_fd);
  return {exit_code(d->pid), err};
}

// A plain TCP connection to 127.0.0.1:`port` whose reads give up after 5 s.
int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  for (pid_t c; in >> c;) out.push_back(c);
  return out;
}

}  // namespace

TEST_CASE("idletime ends a daemon with code 1", "[daemon]") {
  Profile p;
  listen_only(p);
  pid_t d = start_daemon(p, {"--idletime", "300ms"});
  REQUIRE(p.submit(Task::call("echo", "x")).wait().ok());
  CHECK(exit_code(d) == 1);
}

TEST_CASE("walltime ends a daemon with code 2 after delivering its last result", "[daemon]") {
  Profile p;
  listen_only(p);
  pid_t d = start_daemon(p, {"--walltime", "300ms"});
  Future f = p.submit(Task::call("sleep", "600ms"));
  CHECK(f.wait().ok());
  CHECK(exit_code(d) == 2);
  pid_t idle = start_daemon(p, {"--walltime", "200ms"});
  CHECK(exit_code(idle) == 2);
}

TEST_CASE("a daemon near its allocation's end gets no task that declares a longer duration",
          "[daemon]") {
  Profile p;
  listen_only(p);
  auto started = std::chrono::steady_clock::now();
  // Its job ends in 4 s; it takes tasks for 3 of them.
  pid_t a = start_daemon(p, {"--allocation", "4s", "--allocation-margin", "1s"});
  REQUIRE(test::eventually([&] { return p.info().connections == 1; }));
  Future too_long = p.submit(Task::sh("echo $PPID").with_expected(10s));
  Future fits = p.submit(Task::sh("echo $PPID").with_expected(1s));
  Future undeclared = p.submit(Task::sh("echo $PPID"));
  // The tasks it has time for pass the one it has not.
  REQUIRE(fits.wait_for(5s));
  CHECK(fits.wait().value == std::to_string(a) + "\n");
  REQUIRE(undeclared.wait_for(5s));
  CHECK(undeclared.wait().value == std::to_string(a) + "\n");
  std::this_thread::sleep_for(300ms);
  CHECK(too_long.unresolved());
  CHECK(p.info().awaiting == 1);
  // A daemon without an end takes it.
  pid_t b = start_daemon(p);
  REQUIRE(too_long.wait_for(5s));
  CHECK(too_long.wait().value == std::to_string(b) + "\n");
  // The first stops taking tasks a second before its job would be killed, and exits cleanly.
  CHECK(exit_code(a) == 2);
  auto lived = std::chrono::steady_clock::now() - started;
  CHECK(lived >= 2900ms);
  CHECK(lived < 4s);
  CHECK(p.info().retried == 0);
  kill(b, SIGTERM);
  exit_code(b);
}

TEST_CASE("a daemon counts its allocation from the job's start, or takes Slurm's end", "[daemon]") {
  Profile p;
  listen_only(p);
  auto spawn_with = [&](const std::string& var, long long epoch, std::vector<std::string> extra) {
    SpawnOptions o;
    o.argv = {test::mirai_exe(), "daemon", p.url()};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.env["MIRAI_SECRET"] = p.secret();
    o.env[var] = std::to_string(epoch);
    auto c = spawn(o);
    REQUIRE(c);
    return c->pid;
  };
  long long now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  // The job started 58 s ago with a 1m limit: about 2 s are left, and with the default margin
  // (a twentieth) a task that declares 5 s is not given to it.
  pid_t a = spawn_with("MIRAI_JOB_START", now - 58, {"--allocation", "1m"});
  REQUIRE(test::eventually([&] { return p.info().connections == 1; }));
  Future f = p.submit(Task::sh("echo $PPID").with_expected(5s));
  CHECK(exit_code(a) == 2);
  CHECK(f.unresolved());
  // Slurm's own end time wins over the limit: this daemon has an hour.
  pid_t b = spawn_with("SLURM_JOB_END_TIME", now + 3600, {"--allocation", "1s"});
  REQUIRE(f.wait_for(5s));
  CHECK(f.wait().value == std::to_string(b) + "\n");
  // A job that is already over starts no daemon.
  pid_t c = spawn_with("MIRAI_JOB_START", now - 120, {"--allocation", "1m"});
  CHECK(exit_code(c) == 2);
  CHECK(p.info().cumulative == 2);
  kill(b, SIGTERM);
  exit_code(b);
}

TEST_CASE("maxtasks ends a daemon with code 3 and queued work waits for the next", "[daemon]") {
  Profile p;
  listen_only(p);
  std::vector<Future> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(p.submit(Task::call("echo", std::to_string(i))));
  pid_t d = start_daemon(p, {"--maxtasks", "2"});
  CHECK(fs[0].wait().value == "0");
  CHECK(fs[1].wait().value == "1");  // the last result before the exit is delivered
  CHECK(exit_code(d) == 3);
  CHECK(fs[2].unresolved());
  pid_t d2 = start_daemon(p, {"--maxtasks", "3"});
  for (int i = 2; i < 5; ++i) CHECK(fs[i].wait().value == std::to_string(i));
  CHECK(exit_code(d2) == 3);
}

TEST_CASE("a daemon exits with 0 when the connection ends and 69 when none is made", "[daemon]") {
  pid_t d;
  {
    Profile p;
    listen_only(p);
    d = start_daemon(p);
    REQUIRE(test::eventually([&] { return p.info().connections == 1; }));
  }
  CHECK(exit_code(d, 3s) == 0);
  setenv("MIRAI_SECRET", "any", 1);
  test::Ran r = test::run({test::mirai_exe(), "daemon", "ipc:///tmp/mirai-nobody-here.sock"});
  unsetenv("MIRAI_SECRET");
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Catch::Contains("mirai-nobody-here"));
  r = test::run({test::mirai_exe(), "daemon", "tcp://127.0.0.1:1", "--idletime", "5"});
  CHECK(r.exit_code == 64);
  CHECK_THAT(r.err, Catch::Contains("has no unit"));
}

TEST_CASE("daemons and their tasks exit within 2 s when the host is killed", "[daemon][slow]") {
  SpawnOptions o;
  o.argv = {test::mirai_exe(), "run", "-n", "2", "--", "sleep", "60"};
  o.out = o.err = SpawnOptions::Stdio::kNull;
  auto host = spawn(o);
  REQUIRE(host);
  std::vector<pid_t> daemons;
  REQUIRE(test::eventually([&] {
    daemons = children_of(host->pid);
    return daemons.size() == 2 &&
           !children_of(daemons[0]).empty() + !children_of(daemons[1]).empty() == 1;
  }));
  std::vector<pid_t> tasks;
  for (pid_t d : daemons)
    for (pid_t t : children_of(d)) tasks.push_back(t);
  kill(host->pid, SIGKILL);
  wait_for_exit(host->pid, 5s);
  auto t0 = std::chrono::steady_clock::now();
  for (pid_t d : daemons) CHECK(test::eventually([&] { return !test::process_alive(d); }, 2s));
  CHECK(std::chrono::steady_clock::now() - t0 < 2500ms);
  for (pid_t t : tasks) CHECK(test::eventually([&] { return !test::process_alive(t); }, 2s));
  for (pid_t p : daemons) kill(p, SIGKILL);
  for (pid_t p : tasks) kill(p, SIGKILL);
}

TEST_CASE("a task dies with its daemon when a scheduler kills the daemon", "[daemon][slow]") {
  // qdel and bkill SIGKILL the job's process group; a task leads a group of its own (so that it
  // can be cancelled alone) and must still not outlive its daemon.
  SpawnOptions o;
  o.argv = {test::mirai_exe(), "run", "-n", "1", "--", "sleep", "60"};
  o.out = o.err = SpawnOptions::Stdio::kNull;
  auto host = spawn(o);
  REQUIRE(host);
  std::vector<pid_t> daemons, tasks;
  REQUIRE(test::eventually([&] {
    daemons = children_of(host->pid);
    if (daemons.size() == 1) tasks = children_of(daemons[0]);
    return tasks.size() == 1;
  }));
  kill(daemons[0], SIGKILL);
  CHECK(test::eventually([&] { return !test::process_alive(tasks[0]); }, 2s));
  kill(host->pid, SIGKILL);
  wait_for_exit(host->pid, 5s);
  kill(tasks[0], SIGKILL);
}

TEST_CASE("garbage sent to the dispatcher's URL drops that connection only", "[daemon]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(1, "tcp://127.0.0.1:0")).ok());
  int port = std::stoi(p.url().substr(p.url().rfind(':') + 1));

  auto raw_send = [&](const std::string& bytes) {
    int fd = connect_loopback(port);
    send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    // The dispatcher may answer (a welcome) but must then hang up: EOF or reset, not a timeout.
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
    }
    bool hung_up = n == 0 || errno != EAGAIN;
    close(fd);
    return hung_up;
  };
  auto framed = [](const std::string& body) {
    std::uint32_t n = static_cast<std::uint32_t>(body.size());
    return std::string(reinterpret_cast<const char*>(&n), 4) + body;
  };
  CHECK(raw_send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));       // not our framing
  CHECK(raw_send(std::string("\xff\xff\xff\x7f", 4) + "x"));  // a 2 GB frame before hello
  CHECK(raw_send(framed(std::string(1, '\x03') + "junk")));   // a task frame instead of hello
  proto::Hello h;
  h.version = 99;
  CHECK(raw_send(framed(proto::encode_hello(h))));  // another protocol version
  proto::Hello good;
  good.nonce = std::string(32, 'n');
  std::string hello = proto::encode_hello(good);
  CHECK(raw_send(framed(hello) + framed(std::string(1, '\x04') + "bad result")));
  // A well-formed hello and proof, but not made with the secret: refused, and counted apart.
  CHECK(raw_send(framed(hello) + framed(proto::encode_proof(std::string(32, 'p')))));

  CHECK(p.submit(Task::call("echo", "still here")).wait().value == "still here");
  // The hang-up is seen before the dispatcher has finished forgetting the last intruder.
  CHECK(test::eventually([&] { return p.info().connections == 1; }, 2s));
  CHECK(test::eventually([&] { return p.info().dropped == 5 && p.info().rejected == 1; }, 2s));
  CHECK(p.info().cumulative == 1);  // none of them counted as a daemon
}

TEST_CASE("random and truncated frames against a live dispatcher drop only their connections",
          "[daemon]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(1, "tcp://127.0.0.1:0")).ok());
  int port = std::stoi(p.url().substr(p.url().rfind(':') + 1));
  auto connect_raw = [&] { return connect_loopback(port); };
  std::mt19937 rng(20261123);
  int hung_up = 0;
  const int kRandom = 150;
  for (int i = 0; i < kRandom; ++i) {
    // A whole frame (the length matches) with a random type and body: the dispatcher must
    // answer at most a challenge and hang up.
    std::string body(1 + rng() % 200, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    if (i % 3 == 0) body[0] = static_cast<char>(1 + rng() % 16);  // a known type, bad body
    std::uint32_t n = static_cast<std::uint32_t>(body.size());
    std::string frame = std::string(reinterpret_cast<const char*>(&n), 4) + body;
    int fd = connect_raw();
    send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    char buf[256];
    ssize_t k;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0) {
    }
    hung_up += k == 0 || errno != EAGAIN;
    close(fd);
  }
  CHECK(hung_up == kRandom);
  // Valid frames cut short, then the sender goes away.
  proto::Hello h;
  h.nonce = std::string(32, 'n');
  std::string hello = proto::encode_hello(h);
  std::uint32_t n = static_cast<std::uint32_t>(hello.size());
  std::string framed = std::string(reinterpret_cast<const char*>(&n), 4) + hello;
  std::uint64_t dropped_before = p.info().dropped;
  int truncated = 0;
  for (std::size_t cut = 1; cut < framed.size(); cut += 7, ++truncated) {
    int fd = connect_raw();
    send(fd, framed.data(), cut, MSG_NOSIGNAL);
    close(fd);
  }
  CHECK(p.submit(Task::call("echo", "still here")).wait().value == "still here");
  CHECK(test::eventually([&] { return p.info().connections == 1; }, 5s));
  CHECK(p.info().cumulative == 1);
  // Every cut-short frame is counted, like the random ones.
  CHECK(test::eventually(
      [&] { return p.info().dropped == dropped_before + static_cast<std::uint64_t>(truncated); },
      5s));
  CHECK(dropped_before >= static_cast<std::uint64_t>(kRandom) * 9 / 10);
}

TEST_CASE("peers that never prove the secret are dropped and cannot pile up", "[daemon]") {
  DispatcherOptions o;
  o.urls = {"tcp://127.0.0.1:0"};
  o.auth_timeout = 200ms;
  o.max_pending = 3;
  auto d = Dispatcher::start(o);
  REQUIRE(d);
  int port = std::stoi((*d)->url().substr((*d)->url().rfind(':') + 1));
  auto eof = [](int fd) {  // the dispatcher hung up on `fd`
    char c;
    return recv(fd, &c, 1, 0) == 0;
  };
  // One that stays silent is swept by the timer, with no other arrival.
  int silent = connect_loopback(port);
  CHECK(eof(silent));
  // A fourth waiting peer evicts the one that waited longest; it is not refused itself.
  std::vector<int> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(connect_loopback(port));
  std::this_thread::sleep_for(50ms);
  int extra = connect_loopback(port);
  CHECK(eof(waiting[0]));
  pollfd p{extra, POLLIN, 0};
  CHECK(poll(&p, 1, 50) == 0);  // still open, nothing to read
  // A peer that said hello is kept over an older one that said nothing.
  proto::Hello h;
  h.nonce = std::string(32, 'n');
  std::string hello = proto::encode_hello(h);
  std::uint32_t n = static_cast<std::uint32_t>(hello.size());
  std::string framed = std::string(reinterpret_cast<const char*>(&n), 4) + hello;
  send(waiting[1], framed.data(), framed.size(), MSG_NOSIGNAL);
  char challenge[256];
  CHECK(recv(waiting[1], challenge, sizeof challenge, 0) > 0);
  int newest = connect_loopback(port);
  CHECK(eof(waiting[2]));
  pollfd q{waiting[1], POLLIN, 0};
  CHECK(poll(&q, 1, 50) == 0);
  CHECK(test::eventually([&] { return (*d)->info().dropped == 3; }, 2s));
  for (int fd : waiting) close(fd);
  for (int fd : {silent, extra, newest}) close(fd);
}

TEST_CASE("a daemon without the secret gets no task and honest daemons finish the work",
          "[daemon][auth]") {
  Profile p;
  REQUIRE(p.set_daemons(test::local_daemons(1)).ok());
  std::vector<Future> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(p.submit(Task::sh("echo $PPID")));
  pid_t wrong = 0;
  auto [code, err] = daemon_with_secret(p.url(), "not the secret", &wrong);
  CHECK(code == 69);
  CHECK_THAT(err, Catch::Contains("does not hold this daemon's secret"));
  for (auto& f : fs) {
    const Result& r = f.wait();
    REQUIRE(r.ok());
    CHECK(std::stoi(r.value) != wrong);  // every task ran on the honest daemon
  }
  CHECK(p.info().rejected == 1);
  CHECK(p.info().cumulative == 1);
  // Without any secret a daemon does not even dial.
  test::Ran none = test::run({test::mirai_exe(), "daemon", p.url()});
  CHECK(none.exit_code == 69);
  CHECK_THAT(none.err, Catch::Contains("needs its pool's secret"));
}

TEST_CASE("a daemon runs nothing from a dispatcher that cannot prove it holds the secret",
          "[daemon][auth]") {
  // A fake dispatcher: it answers the hello with a challenge whose proof is made up, then
  // sends a welcome and a task anyway.
  test::TempDir dir;
  auto l = Listener::open("tcp://127.0.0.1:0");
  REQUIRE(l);
  std::mutex mu;
  std::vector<std::shared_ptr<Connection>> conns;
  std::string touched = dir.file("ran");
  (*l)->start([&](std::shared_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu);
    Connection* raw = c.get();
    conns.push_back(c);
    c->start(
        {[raw, touched](std::string) {
           raw->send(proto::encode_challenge({std::string(32, 'd'), true, std::string(32, 'x')}));
           raw->send(proto::encode_welcome({proto::kVersion, 1, 0, std::nullopt}));
           raw->send(proto::encode_task(1, Task::shell({"touch", touched})));
         },
         [](int) {}},
        UINT32_MAX);
  });
  auto [code, err] = daemon_with_secret((*l)->bound_url(), std::string(64, 'a'));
  CHECK(code == 69);
  CHECK_THAT(err, Catch::Contains("does not hold this daemon's secret"));
  CHECK(access(touched.c_str(), F_OK) != 0);
  (*l)->close();
  std::lock_guard<std::mutex> lock(mu);
  for (auto& c : conns) c->shutdown();
}

TEST_CASE("a daemon over tcp refuses a dispatcher that will not seal, or changed its hello",
          "[daemon][auth][seal]") {
  // A fake dispatcher that holds the secret, like an attacker who learnt it cannot: what it
  // may not do is drop the sealing of an exposed connection, or accept a hello that was changed
  // on the way (the proofs cover the hello as the daemon sent it).
  const std::string secret(64, 's');
  test::TempDir dir;
  std::string touched = dir.file("ran");
  for (bool change_hello : {false, true}) {
    INFO((change_hello ? "hello changed" : "sealing dropped"));
    auto l = Listener::open("tcp://127.0.0.1:0");
    REQUIRE(l);
    std::mutex mu;
    std::vector<std::shared_ptr<Connection>> conns;
    (*l)->start([&](std::shared_ptr<Connection> c) {
      std::lock_guard<std::mutex> lock(mu);
      Connection* raw = c.get();
      conns.push_back(c);
      c->start(
          {[raw, touched, &secret, change_hello](std::string hello) {
             auto h = proto::decode_hello(std::string_view(hello).substr(1));
             REQUIRE(h);
             CHECK(h->seal);  // the daemon asks for it
             std::string nonce(32, 'n');
             bool seal = change_hello;
             if (change_hello) h->heartbeat_ms = 0, hello = proto::encode_hello(*h);
             raw->send(proto::encode_challenge(
                 {nonce, seal, auth::proof(secret, auth::kDispatcherRole, hello, nonce, seal)}));
             raw->send(proto::encode_welcome({proto::kVersion, 1, 0, std::nullopt}));
             raw->send(proto::encode_task(1, Task::shell({"touch", touched})));
           },
           [](int) {}},
          UINT32_MAX);
    });
    auto [code, err] = daemon_with_secret((*l)->bound_url(), secret);
    CHECK(code == 69);
    CHECK_THAT(err, Catch::Contains(change_hello ? "does not hold" : "would not seal"));
    CHECK(access(touched.c_str(), F_OK) != 0);
    (*l)->close();
    std::lock_guard<std::mutex> lock(mu);
    for (auto& c : conns) c->shutdown();
  }
}

TEST_CASE("a fake dispatcher's 4 GiB length prefix costs the daemon no memory", "[daemon][auth]") {
  // A plain socket that answers the hello with a length of 0xFFFFFFF0 and then a stream of
  // bytes: before the welcome the daemon takes small frames only, so it hangs up at once.
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(server, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(server, 4) == 0);
  socklen_t len = sizeof a;
  getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);
  std::string url = "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  std::atomic<bool> done{false};
  std::thread peer([&] {
    int fd = accept(server, nullptr, nullptr);
    if (fd < 0) return;
    char hello[512];
    recv(fd, hello, sizeof hello, 0);
    const char prefix[4] = {'\xf0', '\xff', '\xff', '\xff'};
    send(fd, prefix, 4, MSG_NOSIGNAL);
    std::string chunk(64 * 1024, 'x');
    while (!done && send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) {
    }
    close(fd);
  });
  pid_t pid = -1;
  std::size_t peak_kib = 0;
  std::thread watch([&] {
    while (!done) {
      if (pid > 0) {
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        for (std::string line; std::getline(status, line);)
          if (line.rfind("VmHWM:", 0) == 0)
            peak_kib = std::max<std::size_t>(peak_kib, std::stoul(line.substr(6)));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  auto [code, err] = daemon_with_secret(url, std::string(64, 'a'), &pid);
  done = true;
  shutdown(server, SHUT_RDWR);
  close(server);
  peer.join();
  watch.join();
  CHECK(code == 69);
  CHECK_THAT(err, Catch::Contains("did not welcome this daemon"));
  CHECK(peak_kib < 64 * 1024);
}

namespace {

// The uid and gid of a user for tests that need another local user, created once
// (`useradd --system`, no home, no login); the tests run as root, as .ci/run does.
std::pair<int, int> other_user() {
  const std::string name = "mirai-test-other";
  if (test::run({"id", "-u", name}).exit_code != 0)
    REQUIRE(
        test::run({"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name})
            .exit_code == 0);
  int uid = std::stoi(test::run({"id", "-u", name}).out);
  int gid = std::stoi(test::run({"id", "-g", name}).out);
  return {uid, gid};
}

// `argv` run as the user `ids` (uid, gid), through setpriv.
std::vector<std::string> as_user(std::pair<int, int> ids, std::vector<std::string> argv) {
  std::vector<std::string> out = {"setpriv", "--reuid=" + std::to_string(ids.first),
                                  "--regid=" + std::to_string(ids.second), "--clear-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace

TEST_CASE("another local user can neither join nor clog a dispatcher's local socket",
          "[daemon][auth]") {
  auto other = other_user();
  Profile p;
  test::set_daemons(p, test::local_daemons(1));  // the default: a private abstract socket
  REQUIRE(p.url().rfind("abstract://", 0) == 0);
  // Even with the pool's secret, a daemon of the other user is hung up on before its hello.
  SpawnOptions o;
  o.argv = as_user(other, {test::mirai_exe(), "daemon", p.url()});
  o.env["MIRAI_SECRET"] = p.secret();
  o.err = SpawnOptions::Stdio::kPipe;
  auto d = spawn(o);
  REQUIRE(d);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(d->err_fd, buf, sizeof buf)) > 0;) err.append(buf, n);
  close(d->err_fd);
  CHECK(exit_code(d->pid) == 69);
  CHECK_THAT(err, Catch::Contains("did not welcome this daemon"));
  // 300 idle connections of the other user's, held open: the socket stays usable.
  SpawnOptions flood;
  flood.argv = as_user(other, {"/usr/bin/python3", "-c",
                               "import socket, sys, time\n"
                               "name = sys.argv[1].encode()\n"
                               "held = []\n"
                               "for _ in range(300):\n"
                               "    s = socket.socket(socket.AF_UNIX)\n"
                               "    try:\n"
                               "        s.connect(b'\\0' + name)\n"
                               "    except OSError:\n"
                               "        pass\n"
                               "    held.append(s)\n"
                               "print('held', flush=True)\n"
                               "time.sleep(30)\n",
                               p.url().substr(std::string("abstract://").size())});
  flood.out = SpawnOptions::Stdio::kPipe;
  auto f = spawn(flood);
  REQUIRE(f);
  char line[16] = {0};
  REQUIRE(read(f->out_fd, line, sizeof line - 1) > 0);
  REQUIRE(p.launch_local(1).ok());
  CHECK(p.info().connections == 2);
  CHECK(p.submit(Task::call("echo", "still mine")).wait().value == "still mine");
  CHECK(p.info().dropped >= 300);
  kill(f->pid, SIGKILL);
  wait_for_exit(f->pid, 5s);
  close(f->out_fd);
}

TEST_CASE("a flood of 2,000 idle connections keeps no daemon out and loses no task",
          "[daemon][auth][slow]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(1, "tcp://127.0.0.1:0"));
  int port = std::stoi(p.url().substr(p.url().rfind(':') + 1));
  std::vector<Future> fs;
  for (int i = 0; i < 300; ++i) fs.push_back(p.submit(Task::call("echo", std::to_string(i))));
  // Connections that never speak, opened as fast as they go and held.
  SpawnOptions flood;
  flood.argv = {"/usr/bin/python3", "-c",
                "import resource, socket, sys, time\n"
                "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
                "resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))\n"
                "held = []\n"
                "for i in range(2000):\n"
                "    if i == 300:\n"
                "        print('started', flush=True)\n"
                "    s = socket.socket()\n"
                "    try:\n"
                "        s.connect(('127.0.0.1', int(sys.argv[1])))\n"
                "    except OSError:\n"
                "        pass\n"
                "    held.append(s)\n"
                "print('held', flush=True)\n"
                "time.sleep(60)\n",
                std::to_string(port)};
  flood.out = SpawnOptions::Stdio::kPipe;
  auto f = spawn(flood);
  REQUIRE(f);
  // Four daemons join during the flood.
  char line[16] = {0};
  REQUIRE(read(f->out_fd, line, 8) > 0);  // "started\n": the flood is under way
  Status joined = p.launch_local(4);
  INFO(joined.message());
  CHECK(joined.ok());
  CHECK(read(f->out_fd, line, sizeof line - 1) > 0);  // "held": all 2,000 were opened
  CHECK(p.info().connections == 5);
  for (int i = 0; i < 300; ++i) CHECK(fs[i].wait().value == std::to_string(i));
  CHECK(p.info().completed == 300);
  // The flood's connections are pushed out as the dispatcher accepts them.
  CHECK(test::eventually([&] { return p.info().dropped >= 1500; }, 30s));
  kill(f->pid, SIGKILL);
  wait_for_exit(f->pid, 5s);
  close(f->out_fd);
}

TEST_CASE("a daemon's secret is gone from its /proc environ once it runs", "[daemon][auth]") {
  Profile p;
  listen_only(p);
  pid_t d = start_daemon(p);
  REQUIRE(test::eventually([&] { return p.info().connections == 1; }));
  std::string environ = test::read_file("/proc/" + std::to_string(d) + "/environ");
  CHECK_FALSE(environ.empty());
  CHECK(environ.find(p.secret()) == std::string::npos);
  CHECK(environ.find("MIRAI_SECRET=") == std::string::npos);
  // And tasks do not see it either.
  CHECK(p.submit(Task::sh("echo \"[$MIRAI_SECRET]\"")).wait().value == "[]\n");
  kill(d, SIGTERM);
  exit_code(d);
}
