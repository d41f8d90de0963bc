// `mirai relay`, as a laptop drives it over ssh, here on its stdin and stdout: it carries a
// daemon's connection to the laptop's socket and back byte for byte, runs the commands it is
// sent, and when the laptop goes (the end of its stdin, or silence) runs what it was left to run
// and removes its directory.
#include "launcher/relay.hpp"

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/process.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace mirai::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// A relay started as the laptop starts it, with pipes for its stdin and stdout.
class RelayProcess {
 public:
  RelayProcess(const TempDir& dir, const std::string& listen, const std::string& heartbeat) {
    SpawnOptions o;
    o.argv = {mirai_exe(),   "relay",   "--listen", listen,
              "--heartbeat", heartbeat, "--dir",    dir.path()};
    o.in = SpawnOptions::Stdio::kPipe;
    o.out = SpawnOptions::Stdio::kPipe;
    auto child = spawn(o);
    REQUIRE(child);
    child_ = *child;
  }
  ~RelayProcess() {
    close_input();
    if (child_.pid > 0 && wait_for_exit(child_.pid, 10s) < 0) {
      kill(child_.pid, SIGKILL);
      wait_for_exit(child_.pid, 5s);
    }
    if (child_.out_fd >= 0) close(child_.out_fd);
  }
  void send(const json& line) {
    std::string text = line.dump() + "\n";
    REQUIRE(write(child_.in_fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void send_raw(const std::string& text) {
    REQUIRE(write(child_.in_fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  // Its next line, as JSON (null when none came within 10 s).
  json line() {
    for (auto start = std::chrono::steady_clock::now();
         std::chrono::steady_clock::now() - start < 10s;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        json j = json::parse(buffer_.substr(0, nl), nullptr, false);
        buffer_.erase(0, nl + 1);
        return j;
      }
      pollfd p{child_.out_fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t k = read(child_.out_fd, buf, sizeof buf);
      if (k <= 0) break;
      buffer_.append(buf, static_cast<std::size_t>(k));
    }
    return nullptr;
  }
  void close_input() {
    if (child_.in_fd >= 0) close(child_.in_fd);
    child_.in_fd = -1;
  }
  // Its exit status, once it has ended within `timeout`; -1 while it runs.
  int wait(std::chrono::milliseconds timeout) {
    int st = wait_for_exit(child_.pid, timeout);
    if (st >= 0) child_.pid = -1;
    return st;
  }

 private:
  Child child_;
  std::string buffer_;
};

int dial_tcp(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  std::string host = rest.substr(0, rest.rfind(':')), port = rest.substr(rest.rfind(':') + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  REQUIRE(getaddrinfo(host.c_str(), port.c_str(), &hints, &found) == 0);
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(connect(fd, found->ai_addr, found->ai_addrlen) == 0);
  freeaddrinfo(found);
  return fd;
}

// Listens on the unix socket at `path`, as ssh's forward of it to the laptop would.
int listen_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(fd, 8) == 0);
  return fd;
}

// Reads exactly `n` bytes (or what came before the end) within 10 s.
std::string read_n(int fd, std::size_t n) {
  std::string out;
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) break;
    char buf[65536];
    ssize_t k = read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (k <= 0) break;
    out.append(buf, static_cast<std::size_t>(k));
  }
  return out;
}

// Whether the peer of `fd` closed it (a read sees the end) within 10 s.
bool sees_end(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 10000) <= 0) return false;
  char c;
  return read(fd, &c, 1) == 0;
}

void write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    ssize_t k = write(fd, bytes.data() + done, bytes.size() - done);
    REQUIRE(k > 0);
    done += static_cast<std::size_t>(k);
  }
}

}  // namespace

TEST_CASE("hex carries any bytes and refuses what is not hex", "[relay]") {
  std::string bytes(256, '\0');
  for (int i = 0; i < 256; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>(i);
  std::string back;
  REQUIRE(launcher::from_hex(launcher::to_hex(bytes), back));
  CHECK(back == bytes);
  CHECK_FALSE(launcher::from_hex("abc", back));
  CHECK_FALSE(launcher::from_hex("zz", back));
  CHECK_FALSE(launcher::from_hex("AB", back));
}

TEST_CASE("the relay carries a daemon's bytes both ways, runs commands, and cleans up at the end",
          "[relay]") {
  TempDir dir;
  RelayProcess relay(dir, "tcp://127.0.0.1:0", "0");
  json ready = relay.line();
  REQUIRE(ready.value("op", "") == "ready");
  std::string url = ready.value("url", ""), socket_path = ready.value("socket", "");
  CHECK_THAT(url, Catch::StartsWith("tcp://127.0.0.1:"));
  CHECK(url != "tcp://127.0.0.1:0");  // the port the kernel chose
  CHECK(ready.value("pid", 0) > 0);
  // Its socket is in a directory of its own under --dir, which only this user may enter.
  std::string private_dir = socket_path.substr(0, socket_path.rfind('/'));
  CHECK_THAT(private_dir, Catch::StartsWith(dir.path() + "/mirai-relay-"));
  struct stat st {};
  REQUIRE(stat(private_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  int laptop = listen_unix(socket_path);
  int daemon = dial_tcp(url);
  int carried = accept4(laptop, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(carried >= 0);
  // Every byte value, and more than its buffers hold at once, in both directions.
  std::string up(3 << 20, '\0'), down(2 << 20, '\0');
  for (std::size_t i = 0; i < up.size(); ++i) up[i] = static_cast<char>(i * 7 + 1);
  for (std::size_t i = 0; i < down.size(); ++i) down[i] = static_cast<char>(i * 13 + 5);
  std::thread writer([&] { write_all(daemon, up); });
  CHECK(read_n(carried, up.size()) == up);
  writer.join();
  writer = std::thread([&] { write_all(carried, down); });
  CHECK(read_n(daemon, down.size()) == down);
  writer.join();
  // The daemon's end closing reaches the laptop's end, and the other way round.
  shutdown(daemon, SHUT_WR);
  CHECK(sees_end(carried));
  write_all(carried, "last words");
  CHECK(read_n(daemon, 10) == "last words");
  close(carried);
  CHECK(sees_end(daemon));
  close(daemon);

  // A command, with its input, output, error and exit code, and its argv not through a shell.
  relay.send(
      {{"op", "run"},
       {"id", 7},
       {"argv", {"sh", "-c", "cat; echo oops >&2; exit 3", "$(touch " + dir.file("x") + ")"}},
       {"input", launcher::to_hex("fed in\n")},
       {"timeout_ms", 5000}});
  json ran = relay.line();
  CHECK(ran.value("op", "") == "ran");
  CHECK(ran.value("id", 0) == 7);
  CHECK(ran.value("exit", -1) == 3);
  std::string out, err;
  REQUIRE(launcher::from_hex(ran.value("out", ""), out));
  REQUIRE(launcher::from_hex(ran.value("err", ""), err));
  CHECK(out == "fed in\n");
  CHECK(err == "oops\n");
  CHECK(read_file(dir.file("x")).empty());
  CHECK(access(dir.file("x").c_str(), F_OK) != 0);
  relay.send({{"op", "run"}, {"id", 8}, {"argv", {"/nonexistent/scancel", "1"}}, {"input", ""}});
  json missing = relay.line();
  CHECK(missing.value("id", 0) == 8);
  CHECK(missing.contains("error"));
  // Lines that are not its own are dropped, and it goes on.
  relay.send_raw("not json\n{\"op\": 5}\n{\"op\":\"run\",\"id\":9,\"argv\":[1]}\n");
  relay.send_raw("{\"op\":\"run\",\"id\":10,\"argv\":[\"true\"],\"timeout_ms\":\"soon\"}\n");
  json refused = relay.line();
  CHECK(refused.value("id", 0) == 9);
  CHECK(refused.contains("error"));

  // What it is left to run when the laptop goes, in order; then its directory is gone.
  relay.send({{"op", "on_exit"}, {"argv", {"sh", "-c", "echo first >> " + dir.file("cancelled")}}});
  relay.send(
      {{"op", "on_exit"}, {"argv", {"sh", "-c", "echo second >> " + dir.file("cancelled")}}});
  int open_daemon = dial_tcp(url);
  int open_carried = accept4(laptop, nullptr, nullptr, SOCK_CLOEXEC);
  relay.close_input();
  int status = relay.wait(10s);
  REQUIRE(status >= 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_file(dir.file("cancelled")) == "first\nsecond\n");
  CHECK(access(private_dir.c_str(), F_OK) != 0);
  // The connections it carried are closed.
  CHECK(sees_end(open_daemon));
  CHECK(sees_end(open_carried));
  close(open_daemon);
  close(open_carried);
  close(laptop);
}

TEST_CASE("the relay takes 3 missed heartbeats for a laptop that is gone", "[relay]") {
  TempDir dir;
  RelayProcess relay(dir, "tcp://127.0.0.1:0", "200ms");
  REQUIRE(relay.line().value("op", "") == "ready");
  relay.send({{"op", "on_exit"}, {"argv", {"touch", dir.file("cancelled")}}});
  // Heartbeats keep it: 1.2 s of them, 6 intervals.
  for (int i = 0; i < 12; ++i) {
    relay.send({{"op", "heartbeat"}});
    std::this_thread::sleep_for(100ms);
  }
  CHECK(relay.wait(0ms) < 0);
  auto silent = std::chrono::steady_clock::now();
  // Then silence, with its stdin still open: it ends after 3 intervals.
  int status = relay.wait(5s);
  auto took = std::chrono::steady_clock::now() - silent;
  REQUIRE(status >= 0);
  CHECK(took >= 500ms);
  CHECK(took < 2s);
  CHECK(access(dir.file("cancelled").c_str(), F_OK) == 0);
}

TEST_CASE("a relay that cannot listen says why and ends", "[relay]") {
  TempDir dir;
  {
    RelayProcess relay(dir, "ipc:///tmp/x.sock", "0");
    json failed = relay.line();
    CHECK(failed.value("op", "") == "failed");
    CHECK_THAT(failed.value("message", ""), Catch::Contains("tcp://"));
    int status = relay.wait(5s);
    REQUIRE(status >= 0);
    CHECK(WEXITSTATUS(status) == 1);
  }
  {
    RelayProcess relay(dir, "tcp://{interface:nosuch0}:0", "0");
    json failed = relay.line();
    CHECK(failed.value("op", "") == "failed");
    CHECK_THAT(failed.value("message", ""), Catch::Contains("nosuch0"));
  }
  // Neither left a directory behind.
  CHECK(run({"sh", "-c", "ls " + dir.path() + " | grep -c mirai-relay"}).out == "0\n");
}
