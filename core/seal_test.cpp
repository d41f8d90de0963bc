#include "core/seal.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/tls.hpp"
#include "core/transport.hpp"

using namespace mirai;

namespace {

std::string open_one(FrameSealer& opener, std::string sealed, bool* ok) {
  std::string out(sealed.size() >= kSealTagBytes ? sealed.size() - kSealTagBytes : 0, '\0');
  *ok = opener.open(sealed.data(), sealed.size(), out.data());
  return out;
}

const std::string kKey(32, 'k');

}  // namespace

TEST_CASE("a sealed frame opens once, in order, unchanged, under its own key", "[seal]") {
  FrameSealer sender(kKey, FrameSealer::Mode::kSeal), receiver(kKey, FrameSealer::Mode::kOpen);
  std::string a = sender.seal("type+body of the first frame");
  std::string b = sender.seal("head ", "and tail");
  std::string heartbeat = sender.seal("");
  CHECK(a.size() == std::strlen("type+body of the first frame") + kSealTagBytes);
  CHECK(a.find("first frame") == std::string::npos);  // encrypted
  CHECK(heartbeat.size() == kSealTagBytes);
  bool ok = false;
  CHECK(open_one(receiver, a, &ok) == "type+body of the first frame");
  CHECK(ok);
  SECTION("in order, a split frame as one, and an empty one") {
    CHECK(open_one(receiver, b, &ok) == "head and tail");
    CHECK(ok);
    CHECK(open_one(receiver, heartbeat, &ok).empty());
    CHECK(ok);
  }
  SECTION("replayed") {
    open_one(receiver, a, &ok);
    CHECK_FALSE(ok);
  }
  SECTION("reordered") {
    open_one(receiver, heartbeat, &ok);
    CHECK_FALSE(ok);
  }
  SECTION("any one byte changed") {
    for (std::size_t i = 0; i < b.size(); ++i) {
      FrameSealer fresh(kKey, FrameSealer::Mode::kOpen);
      open_one(fresh, a, &ok);  // frame 0
      std::string changed = b;
      changed[i] ^= 0x01;
      open_one(fresh, changed, &ok);
      INFO("byte " << i);
      CHECK_FALSE(ok);
    }
  }
  SECTION("cut short, or grown") {
    open_one(receiver, b.substr(0, b.size() - 1), &ok);
    CHECK_FALSE(ok);
    open_one(receiver, b + "x", &ok);
    CHECK_FALSE(ok);
    open_one(receiver, std::string(kSealTagBytes - 1, 'x'), &ok);
    CHECK_FALSE(ok);
    CHECK(open_one(receiver, b, &ok) == "head and tail");  // a failure consumed nothing
    CHECK(ok);
  }
  SECTION("in place") {
    std::string in_place = b;
    CHECK(receiver.open(in_place.data(), in_place.size(), in_place.data()));
    CHECK(in_place.substr(0, in_place.size() - kSealTagBytes) == "head and tail");
  }
  SECTION("under another key") {
    FrameSealer other(std::string(32, 'K'), FrameSealer::Mode::kOpen);
    open_one(other, a, &ok);
    CHECK_FALSE(ok);
  }
}

TEST_CASE("session keys differ by direction and by every input", "[seal]") {
  std::string secret(64, 'a'), nd(32, 'd'), ns(32, 's');
  SessionKeys k = derive_session_keys(secret, nd, ns);
  CHECK(k.to_dispatcher.size() == kSealKeyBytes);
  CHECK(k.to_daemon.size() == kSealKeyBytes);
  CHECK(k.to_dispatcher != k.to_daemon);
  SessionKeys again = derive_session_keys(secret, nd, ns);
  CHECK(again.to_dispatcher == k.to_dispatcher);
  CHECK(again.to_daemon == k.to_daemon);
  std::string other_nonce(32, 'x');
  CHECK(derive_session_keys(std::string(64, 'b'), nd, ns).to_daemon != k.to_daemon);
  CHECK(derive_session_keys(secret, other_nonce, ns).to_daemon != k.to_daemon);
  CHECK(derive_session_keys(secret, nd, other_nonce).to_daemon != k.to_daemon);
  CHECK(derive_session_keys(secret, ns, nd).to_daemon != k.to_daemon);  // roles not swappable
}

namespace {

// One end of a connection that keeps what arrived and how it ended.
struct End {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> frames;
  int error = 0;
  bool closed = false;
  std::function<void(const std::string&)> react;
  Connection::Handlers handlers() {
    return {[this](std::string f) {
              if (react) react(f);
              std::lock_guard<std::mutex> l(mu);
              frames.push_back(std::move(f));
              cv.notify_all();
            },
            [this](int e) {
              std::lock_guard<std::mutex> l(mu);
              closed = true;
              error = e;
              cv.notify_all();
            }};
  }
  template <class P>
  bool wait(P p) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), p);
  }
};

}  // namespace

TEST_CASE("connections seal every frame after the switch, heartbeats and large frames too",
          "[seal][transport]") {
  auto url = GENERATE(as<std::string>{}, "tcp://127.0.0.1:0", "ws://127.0.0.1:0/s");
  INFO(url);
  SessionKeys keys =
      derive_session_keys(std::string(64, 's'), std::string(32, 'd'), std::string(32, 'D'));
  auto l = Listener::open(url);
  REQUIRE(l);
  End server, client;
  std::shared_ptr<Connection> accepted;
  std::mutex mu;
  (*l)->start([&](std::shared_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu);
    accepted = c;
    CHECK(c->exposed());
    Connection* raw = c.get();
    // The dispatcher's side: seals on the "proof", then everything it sends is sealed.
    server.react = [raw, &keys](const std::string& f) {
      if (f == "hello") return raw->send("challenge");
      if (f == "proof") {
        raw->seal(keys.to_daemon, keys.to_dispatcher);
        raw->enable_heartbeat(std::chrono::milliseconds(50));
        return raw->send("welcome");
      }
      raw->send("echo " + f);
    };
    c->start(server.handlers(), UINT32_MAX);
  });
  auto conn = dial((*l)->bound_url(), std::chrono::seconds(5));
  REQUIRE(conn);
  Connection* raw = conn->get();
  CHECK(raw->exposed());
  client.react = [raw, &keys](const std::string& f) {
    if (f == "challenge") {
      raw->send("proof");
      raw->seal(keys.to_dispatcher, keys.to_daemon);
    }
    if (f == "welcome") raw->enable_heartbeat(std::chrono::milliseconds(50));
  };
  raw->start(client.handlers(), UINT32_MAX);
  raw->send("hello");
  REQUIRE(client.wait([&] { return client.frames.size() >= 2; }));
  std::string big(3 * 1024 * 1024 + 5, 'b');
  big[777] = 'q';
  raw->send("small");
  raw->send("big:", big);
  raw->send(big);
  REQUIRE(client.wait([&] { return client.frames.size() >= 5; }));
  CHECK(client.frames[0] == "challenge");
  CHECK(client.frames[1] == "welcome");
  CHECK(client.frames[2] == "echo small");
  CHECK(client.frames[3] == "echo big:" + big);
  CHECK(client.frames[4] == "echo " + big);
  // Frames written together: small ones share a record, a larger one has its own, in order.
  raw->cork();
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i)
    sent.push_back(i == 20 ? std::string(100000, 'm') : "together " + std::to_string(i));
  for (const auto& f : sent) raw->send(f);
  raw->uncork();
  REQUIRE(client.wait([&] { return client.frames.size() >= 45; }));
  for (int i = 0; i < 40; ++i) CHECK(client.frames[5 + i] == "echo " + sent[i]);
  // Quiet for many intervals: sealed heartbeats keep both ends open, and reach no handler.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK_FALSE(client.closed);
  CHECK_FALSE(server.closed);
  CHECK(client.frames.size() == 45);
  raw->shutdown();
  (*l)->close();
  std::lock_guard<std::mutex> lock(mu);
  accepted->shutdown();
}

TEST_CASE("local and TLS connections are not exposed", "[seal][transport]") {
  auto id = tls::self_signed({"127.0.0.1"});
  REQUIRE(id);
  TlsServer server_tls{id->cert_pem, id->key_pem, ""};
  TlsClient trust{id->cert_pem, ""};
  for (const char* url : {"abstract://", "ipc:///tmp/mirai-seal-test.sock", "tls+tcp://127.0.0.1:0",
                          "wss://127.0.0.1:0/s"}) {
    INFO(url);
    auto l = Listener::open(url, &server_tls);
    REQUIRE(l);
    std::shared_ptr<Connection> accepted;
    std::mutex mu;
    std::condition_variable cv;
    (*l)->start([&](std::shared_ptr<Connection> c) {
      std::lock_guard<std::mutex> lock(mu);
      accepted = c;
      cv.notify_all();
    });
    auto conn = dial((*l)->bound_url(), std::chrono::seconds(5), &trust);
    REQUIRE(conn);
    CHECK_FALSE((*conn)->exposed());
    (*conn)->start({[](std::string) {}, [](int) {}}, 64);
    (*conn)->send("x");  // a TLS handshake starts with the first write
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return accepted != nullptr; }));
    CHECK_FALSE(accepted->exposed());
    lock.unlock();
    (*conn)->shutdown();
    (*l)->close();
    accepted->shutdown();
  }
}
