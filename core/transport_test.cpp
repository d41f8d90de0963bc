#include "core/transport.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "tests/support/support.hpp"

using namespace mirai;

namespace {

// Collects the frames and the close of one connection.
struct Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;
  bool closed = false;
  Connection::Handlers handlers() {
    return {[this](std::string f) {
              std::lock_guard<std::mutex> l(mu);
              frames.push_back(std::move(f));
              cv.notify_all();
            },
            [this](int) {
              std::lock_guard<std::mutex> l(mu);
              closed = true;
              cv.notify_all();
            }};
  }
  bool wait_frames(std::size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return frames.size() >= n; });
  }
  bool wait_closed() {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return closed; });
  }
};

// An echo server: every frame is sent back.
struct EchoServer {
  std::unique_ptr<Listener> listener;
  std::mutex mu;
  std::vector<std::shared_ptr<Connection>> conns;
  explicit EchoServer(const std::string& url) {
    auto l = Listener::open(url);
    INFO((l.ok() ? std::string() : l.message()));
    REQUIRE(l);
    listener = std::move(*l);
    listener->start([this](std::shared_ptr<Connection> c) {
      std::lock_guard<std::mutex> lock(mu);
      Connection* raw = c.get();
      conns.push_back(c);
      c->start({[raw](std::string f) { raw->send(std::move(f)); }, [](int) {}}, UINT32_MAX);
    });
  }
  ~EchoServer() {
    listener->close();
    for (auto& c : conns) c->shutdown();
  }
};

}  // namespace

TEST_CASE("frames round-trip over every transport with port 0 resolved", "[transport]") {
  // Generated values outlive one run of the test case, so the ipc path cannot be in a TempDir.
  std::string ipc = "ipc:///tmp/mirai-test-" + std::to_string(getpid()) + ".sock";
  auto url = GENERATE_COPY(as<std::string>{}, "tcp://127.0.0.1:0", "tcp://[::1]:0",
                           "ws://127.0.0.1:0/mirai", "abstract://", ipc);
  INFO(url);
  EchoServer server(url);
  std::string bound = server.listener->bound_url();
  if (url.find(":0") != std::string::npos) CHECK(bound.find(":0") == std::string::npos);
  auto conn = dial(bound, std::chrono::seconds(5));
  REQUIRE(conn);
  Sink sink;
  (*conn)->start(sink.handlers(), UINT32_MAX);
  std::string big(3 * 1024 * 1024 + 7, 'z');
  big[12345] = 'q';
  for (int i = 0; i < 100; ++i) (*conn)->send("frame " + std::to_string(i));
  (*conn)->send(big);
  (*conn)->send("after");
  // Two-part frames arrive as one frame, small (coalesced) and large (written as they are).
  (*conn)->send("head-", "tail");
  (*conn)->send("big head ", big);
  REQUIRE(sink.wait_frames(104));
  for (int i = 0; i < 100; ++i) CHECK(sink.frames[i] == "frame " + std::to_string(i));
  CHECK(sink.frames[100] == big);
  CHECK(sink.frames[101] == "after");
  CHECK(sink.frames[102] == "head-tail");
  CHECK(sink.frames[103] == "big head " + big);
  (*conn)->shutdown();
}

TEST_CASE("a frame longer than allowed closes that connection", "[transport]") {
  auto l = Listener::open("tcp://127.0.0.1:0");
  REQUIRE(l);
  Sink server_side;
  std::shared_ptr<Connection> accepted;
  std::mutex mu;
  (*l)->start([&](std::shared_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu);
    accepted = c;
    c->start(server_side.handlers(), 16);
  });
  auto conn = dial((*l)->bound_url(), std::chrono::seconds(5));
  REQUIRE(conn);
  (*conn)->send("short");
  (*conn)->send(std::string(17, 'x'));
  CHECK(server_side.wait_closed());
  CHECK(server_side.frames == std::vector<std::string>{"short"});
  (*l)->close();
  (*conn)->shutdown();
  std::lock_guard<std::mutex> lock(mu);
  accepted->shutdown();
}

TEST_CASE("bad URLs are refused with a hint", "[transport]") {
  CHECK_THAT(check_url("localhost:5555").message(), Catch::Contains("scheme://"));
  CHECK_THAT(check_url("udp://1.2.3.4:5").message(), Catch::Contains("unsupported scheme"));
  CHECK_THAT(check_url("tcp://127.0.0.1").message(), Catch::Contains("no port"));
  CHECK(check_url("tcp://127.0.0.1:0").ok());
  auto taken = Listener::open("tcp://127.0.0.1:0");
  REQUIRE(taken);
  auto again = Listener::open((*taken)->bound_url());
  REQUIRE_FALSE(again);
  CHECK_THAT(again.message(), Catch::Contains("cannot listen"));
}

TEST_CASE("dialing nothing fails with the URL in the message", "[transport]") {
  auto c = dial("ipc:///tmp/mirai-nothing-here.sock", std::chrono::seconds(2));
  REQUIRE_FALSE(c);
  CHECK_THAT(c.message(), Catch::Contains("mirai-nothing-here"));
}
