#include "core/transport.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/tls.hpp"
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
  explicit EchoServer(const std::string& url, const TlsServer* tls = nullptr) {
    auto l = Listener::open(url, tls);
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

TEST_CASE("a large frame arrives in two buffers where its handler says it splits", "[transport]") {
  EchoServer server("abstract://");
  auto conn = dial(server.listener->bound_url(), std::chrono::seconds(5));
  REQUIRE(conn);
  Sink sink;
  std::vector<std::pair<std::string, std::string>> split;
  Connection::Handlers h = sink.handlers();
  // Frames that start with 'S' split after their first 10 bytes; others are not split.
  h.tail_at = [](std::string_view prefix, std::size_t) -> std::optional<std::size_t> {
    if (prefix.size() < 1) return std::nullopt;
    return prefix[0] == 'S' ? 10 : 0;
  };
  h.on_split = [&](std::string head, std::string tail) {
    std::lock_guard<std::mutex> l(sink.mu);
    split.emplace_back(std::move(head), std::move(tail));
    sink.frames.push_back("(split)");
    sink.cv.notify_all();
  };
  (*conn)->start(std::move(h), UINT32_MAX);
  std::string big(3 << 20, 'z');
  big[0] = 'S';
  big[10] = 't';
  std::string other(3 << 20, 'o');
  (*conn)->send("S small");  // small frames are never split
  (*conn)->send(big);
  (*conn)->send(other);
  (*conn)->send("after", big);  // a two-part send arrives as the frame it is
  REQUIRE(sink.wait_frames(4));
  CHECK(sink.frames[0] == "S small");
  CHECK(sink.frames[1] == "(split)");
  CHECK(sink.frames[2] == other);
  CHECK(sink.frames[3] == "after" + big);
  REQUIRE(split.size() == 1);
  CHECK(split[0].first == big.substr(0, 10));
  CHECK(split[0].second == big.substr(10));
  (*conn)->shutdown();
}

TEST_CASE("frames of every size around the read buffer's arrive intact, one by one",
          "[transport]") {
  // A connection reads into 8 KiB until a read fills it or a frame comes in parts, then into
  // 256 KiB; frames above 64 KiB get buffers of their own.
  EchoServer server("abstract://");
  auto conn = dial(server.listener->bound_url(), std::chrono::seconds(5));
  REQUIRE(conn);
  Sink sink;
  (*conn)->start(sink.handlers(), UINT32_MAX);
  std::vector<std::string> sent;
  for (std::size_t n : {4000, 8188, 8192, 8200, 20000, 65535, 65536, 70000, 262144, 300000}) {
    std::string f(n, 'a');
    for (std::size_t i = 0; i < n; i += 997) f[i] = static_cast<char>('b' + i % 23);
    sent.push_back(f);
    (*conn)->send(f);
    REQUIRE(sink.wait_frames(sent.size()));  // alone on the wire: the echo comes back whole
  }
  // And all of them in one write of 20 parts (corked), more than NNG takes in one operation,
  // so that they also come in parts.
  REQUIRE((*conn)->cork());
  for (const auto& f : std::vector<std::string>(sent)) {
    sent.push_back(f);
    (*conn)->send(f);
  }
  (*conn)->uncork();
  REQUIRE(sink.wait_frames(sent.size()));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    INFO(i);
    CHECK(sink.frames[i] == sent[i]);
  }
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

TEST_CASE("frames round-trip over tls+tcp and wss with a generated certificate",
          "[transport][tls]") {
  auto url = GENERATE(as<std::string>{}, "tls+tcp://127.0.0.1:0", "wss://127.0.0.1:0/mirai",
                      "tls+tcp://[::1]:0");
  INFO(url);
  auto host = url_host(url);
  auto id = tls::self_signed({host});
  REQUIRE(id);
  TlsServer server_tls{id->cert_pem, id->key_pem, ""};
  EchoServer server(url, &server_tls);
  std::string bound = server.listener->bound_url();
  CHECK(bound.find(":0") == std::string::npos);
  TlsClient trust{id->cert_pem, ""};
  auto conn = dial(bound, std::chrono::seconds(5), &trust);
  INFO((conn ? std::string() : conn.message()));
  REQUIRE(conn);
  Sink sink;
  (*conn)->start(sink.handlers(), UINT32_MAX);
  std::string big(2 * 1024 * 1024 + 3, 's');
  (*conn)->send("hello");
  (*conn)->send(big);
  REQUIRE(sink.wait_frames(2));
  CHECK(sink.frames[0] == "hello");
  CHECK(sink.frames[1] == big);
  (*conn)->shutdown();
}

TEST_CASE("a TLS dialer refuses a certificate for another name or from another key",
          "[transport][tls]") {
  auto right = tls::self_signed({"127.0.0.1"});
  auto other_name = tls::self_signed({"dispatcher.invalid"});
  auto other_key = tls::self_signed({"127.0.0.1"});
  REQUIRE(right);
  REQUIRE(other_name);
  REQUIRE(other_key);
  // The handshake runs with the first frame: a refused one closes the connection with a TLS
  // error, and the frame never reaches the server.
  auto first_frame_closes = [](const std::string& url, const TlsClient& trust) {
    auto conn = dial(url, std::chrono::seconds(5), &trust);
    REQUIRE(conn);
    std::mutex mu;
    std::condition_variable cv;
    int error = -1;
    (*conn)->start({[](std::string) {},
                    [&](int e) {
                      std::lock_guard<std::mutex> l(mu);
                      error = e;
                      cv.notify_all();
                    }},
                   UINT32_MAX);
    (*conn)->send("hello");
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(10), [&] { return error >= 0; });
    (*conn)->shutdown();
    return error;
  };
  // The server presents a certificate for another name; the daemon trusts exactly that one.
  TlsServer wrong_name{other_name->cert_pem, other_name->key_pem, ""};
  EchoServer named(std::string("tls+tcp://127.0.0.1:0"), &wrong_name);
  TlsClient trust_it{other_name->cert_pem, ""};
  CHECK(is_tls_rejection(first_frame_closes(named.listener->bound_url(), trust_it)));
  // The right name, but signed by a key the daemon was not given.
  TlsServer server_tls{right->cert_pem, right->key_pem, ""};
  EchoServer server(std::string("tls+tcp://127.0.0.1:0"), &server_tls);
  TlsClient trust_other{other_key->cert_pem, ""};
  CHECK(is_tls_rejection(first_frame_closes(server.listener->bound_url(), trust_other)));
  // Without any certificate to trust, a TLS URL is not dialled at all.
  auto untrusting = dial(server.listener->bound_url(), std::chrono::seconds(5));
  REQUIRE_FALSE(untrusting);
  CHECK_THAT(untrusting.message(), Catch::Contains("MIRAI_TLS_CA"));
}

TEST_CASE("generated certificates and keys are checked like user-supplied ones", "[tls]") {
  auto id = tls::self_signed({"node1.example.org", "10.0.0.5"});
  REQUIRE(id);
  CHECK(tls::check_certificates(id->cert_pem).ok());
  CHECK(tls::check_key(id->cert_pem, id->key_pem, "").ok());
  CHECK_THAT(id->key_pem, Catch::StartsWith("-----BEGIN EC PRIVATE KEY-----"));
  auto other = tls::self_signed({"node1.example.org"});
  REQUIRE(other);
  CHECK_THAT(tls::check_key(id->cert_pem, other->key_pem, "").message(),
             Catch::Contains("does not belong"));
  CHECK_FALSE(tls::check_certificates("-----BEGIN CERTIFICATE-----\nnope\n"));
  CHECK_FALSE(tls::self_signed({"a,CN=evil"}));
  CHECK_FALSE(tls::self_signed({}));
  auto listener = Listener::open("tls+tcp://127.0.0.1:0");
  REQUIRE_FALSE(listener);
  CHECK_THAT(listener.message(), Catch::Contains("needs a certificate and key"));
}

TEST_CASE("heartbeats keep a quiet connection alive and lose a silent peer", "[transport]") {
  using namespace std::chrono_literals;
  auto url =
      GENERATE(as<std::string>{}, "tcp://127.0.0.1:0", "abstract://", "ws://127.0.0.1:0/mirai");
  INFO(url);
  // The server side records what reaches on_frame and how it ended; with `answer` false it
  // never reads or writes (a frozen process).
  struct Server {
    Sink sink;
    std::mutex mu;
    std::vector<std::shared_ptr<Connection>> conns;
    std::atomic<int> lost{0};
  } server;
  bool answer = GENERATE(true, false);
  auto l = Listener::open(url);
  REQUIRE(l);
  (*l)->start([&](std::shared_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(server.mu);
    server.conns.push_back(c);
    if (!answer) return;
    auto h = server.sink.handlers();
    auto on_close = h.on_close;
    h.on_close = [&server, on_close](int error) {
      if (Connection::lost(error)) ++server.lost;
      on_close(error);
    };
    c->start(h, UINT32_MAX);
    c->enable_heartbeat(200ms);
  });
  auto conn = dial((*l)->bound_url(), 5s);
  REQUIRE(conn);
  Sink client;
  std::atomic<int> client_lost{0};
  auto h = client.handlers();
  auto on_close = h.on_close;
  h.on_close = [&client_lost, on_close](int error) {
    if (Connection::lost(error)) ++client_lost;
    on_close(error);
  };
  (*conn)->start(h, UINT32_MAX);
  (*conn)->enable_heartbeat(200ms);
  if (answer) {
    // Quiet for 8 intervals: heartbeats flow both ways, never reach on_frame, and neither side
    // is lost; a real frame still goes through.
    std::this_thread::sleep_for(1600ms);
    (*conn)->send("after");
    REQUIRE(server.sink.wait_frames(1));
    std::lock_guard<std::mutex> lock(server.sink.mu);
    CHECK(server.sink.frames == std::vector<std::string>{"after"});
    CHECK_FALSE(server.sink.closed);
    CHECK(client_lost == 0);
    CHECK(server.lost == 0);
  } else {
    // A peer that sends nothing (frozen): lost after 3 intervals, not much later.
    auto start = std::chrono::steady_clock::now();
    REQUIRE(client.wait_closed());
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(client_lost == 1);
    CHECK(took >= 550ms);
    CHECK(took < 1500ms);
  }
  (*conn)->shutdown();
  (*l)->close();
  std::lock_guard<std::mutex> lock(server.mu);
  for (auto& c : server.conns) c->shutdown();
}

TEST_CASE("no heartbeat goes out while frames flow, and one does once they stop", "[transport]") {
  using namespace std::chrono_literals;
  // The server side: a Connection with heartbeats every 200 ms that echoes every frame.
  EchoServer server("tcp://127.0.0.1:0");
  std::string bound = server.listener->bound_url();
  int port = std::stoi(bound.substr(bound.rfind(':') + 1));
  // The peer: a plain socket, so that every byte on the wire is seen.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(test::eventually([&] {
    std::lock_guard<std::mutex> lock(server.mu);
    return !server.conns.empty();
  }));
  server.conns.front()->enable_heartbeat(200ms);
  // Reads what arrived within `wait` and counts the frames, and the empty ones among them.
  std::string in;
  auto drain = [&](std::chrono::milliseconds wait, int& frames, int& empty) {
    pollfd p{fd, POLLIN, 0};
    char buf[4096];
    while (poll(&p, 1, static_cast<int>(wait.count())) > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      wait = 0ms;
    }
    while (in.size() >= 4) {
      std::uint32_t len;
      std::memcpy(&len, in.data(), 4);
      if (in.size() < 4 + len) break;
      ++frames;
      if (len == 0) ++empty;
      in.erase(0, 4 + len);
    }
  };
  int frames = 0, empty = 0;
  const std::string frame("\x05\x00\x00\x00hello", 9);
  // 1.5 s of traffic, a frame every 50 ms each way (the echo): no heartbeat.
  int written = 0;
  for (auto end = std::chrono::steady_clock::now() + 1500ms; std::chrono::steady_clock::now() < end;
       ++written) {
    if (write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) break;
    std::this_thread::sleep_for(50ms);
    drain(0ms, frames, empty);
  }
  CHECK(written >= 20);
  drain(100ms, frames, empty);
  CHECK(frames >= 20);
  CHECK(empty == 0);
  // Quiet: heartbeats come, about one an interval, and the peer is lost after 3 (600 ms).
  frames = empty = 0;
  drain(500ms, frames, empty);
  drain(500ms, frames, empty);
  CHECK(empty >= 1);
  CHECK(empty <= 4);
  ::close(fd);
}

TEST_CASE("a corked connection holds its frames until uncorked, in order", "[transport]") {
  EchoServer server("tcp://127.0.0.1:0");
  auto conn = dial(server.listener->bound_url(), std::chrono::seconds(5));
  REQUIRE(conn);
  Sink sink;
  (*conn)->start(sink.handlers(), UINT32_MAX);
  CHECK((*conn)->cork());
  CHECK_FALSE((*conn)->cork());  // already
  for (int i = 0; i < 3; ++i) (*conn)->send("frame " + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    std::lock_guard<std::mutex> l(sink.mu);
    CHECK(sink.frames.empty());  // nothing was written
  }
  CHECK((*conn)->queued_bytes() > 0);
  (*conn)->uncork();
  REQUIRE(sink.wait_frames(3));
  CHECK(sink.frames == std::vector<std::string>{"frame 0", "frame 1", "frame 2"});
  (*conn)->send("after");  // uncorked: written at once
  REQUIRE(sink.wait_frames(4));
  (*conn)->shutdown();
}

namespace {

bool resolves_to_loopback(const char* name) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0) return false;
  bool loopback = found != nullptr;
  for (addrinfo* a = found; a; a = a->ai_next)
    loopback = loopback &&
               (ntohl(reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr) >> 24) == 127;
  freeaddrinfo(found);
  return loopback;
}

}  // namespace

TEST_CASE("a listener on every interface hands out this machine's name to dial", "[transport]") {
  char name[256] = {};
  REQUIRE(gethostname(name, sizeof name - 1) == 0);
  for (const char* url : {"tcp://:0", "tcp://0.0.0.0:0", "ws://:0/mirai"}) {
    INFO(url);
    EchoServer server(url);
    std::string bound = server.listener->bound_url();
    CHECK(url_host(bound) == name);
    CHECK(bound.find(":0") == std::string::npos);
    // Tests dial only loopback addresses: this one where the name resolves to one (as in
    // /etc/hosts here).
    if (!resolves_to_loopback(name)) continue;
    auto conn = dial(bound, std::chrono::seconds(5));
    REQUIRE(conn);
    Sink sink;
    (*conn)->start(sink.handlers(), UINT32_MAX);
    (*conn)->send("by name");
    REQUIRE(sink.wait_frames(1));
    CHECK(sink.frames[0] == "by name");
    (*conn)->shutdown();
  }
}
