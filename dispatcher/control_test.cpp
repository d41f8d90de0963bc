// A dispatcher serving clients in other processes: ControlServer on one side, a Profile with
// dispatcher_url (RemoteDispatcher) on the other, real daemon processes in between.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "dispatcher/control.hpp"
#include "mirai/profile.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

struct Standalone {
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<ControlServer> server;
  Standalone() {
    DispatcherOptions o;
    o.urls = {local_url()};
    dispatcher = std::move(*Dispatcher::start(o));
    server = std::move(*ControlServer::start(*dispatcher, local_url()));
  }
  ~Standalone() {
    server.reset();
    dispatcher->exit_all();
  }
  // A profile using this dispatcher, launching `n` local daemons that dial it.
  DaemonsConfig client(int n) const {
    DaemonsConfig c = test::local_daemons(n);
    c.dispatcher_url = server->url();
    return c;
  }
};

}  // namespace

TEST_CASE("clients of a standalone dispatcher share its daemons", "[control]") {
  Standalone s;
  Profile provider, client;
  REQUIRE(provider.set_daemons(s.client(2)).ok());
  REQUIRE(client.set_daemons(s.client(0)).ok());
  CHECK(client.url() == s.dispatcher->url());
  std::vector<Future> a, b;
  for (int i = 0; i < 300; ++i) {
    a.push_back(provider.submit(Task::call("echo", "p" + std::to_string(i))));
    b.push_back(client.submit(Task::call("echo", "c" + std::to_string(i))));
  }
  for (int i = 0; i < 300; ++i) {
    REQUIRE(a[i].wait().value == "p" + std::to_string(i));
    REQUIRE(b[i].wait().value == "c" + std::to_string(i));
  }
  ProfileStatus st = client.status();
  CHECK(st.url == s.dispatcher->url());
  CHECK(st.info.connections == 2);
  REQUIRE(st.daemons.size() == 2);
  CHECK(st.daemons[0].completed + st.daemons[1].completed == 600);
  CHECK(st.daemons[0].pid != st.daemons[1].pid);
  CHECK(s.server->clients() == 2);

  // Errors and large values come back intact under the client's own ids.
  CHECK(client.submit(Task::call("fail", "boom")).wait().message == "boom");
  std::string big(5 << 20, 'b');
  CHECK(client.submit(Task::call("echo", big)).wait().value == big);
}

TEST_CASE("stopping or abandoning a task of a standalone dispatcher kills it", "[control]") {
  test::TempDir dir;
  Standalone s;
  Profile provider;
  REQUIRE(provider.set_daemons(s.client(1)).ok());
  {
    Profile client;
    REQUIRE(client.set_daemons(s.client(0)).ok());
    Future f = client.submit(test::sleeper(dir, "a"));
    pid_t pid = test::wait_pid(dir, "a.pid");
    CHECK(f.stop());
    CHECK(f.wait().error_value == ErrorValue::kCanceled);
    CHECK(test::eventually([&] { return !test::process_alive(pid); }, 5s));

    Future g = client.submit(test::sleeper(dir, "b"));
    Future queued = client.submit(Task::call("echo", "never"));
    pid = test::wait_pid(dir, "b.pid");
    client.reset();  // the client leaves: the dispatcher stops what it had sent
    CHECK(g.wait().error_value == ErrorValue::kClosed);
    CHECK(queued.wait().error_value == ErrorValue::kClosed);
    CHECK(test::eventually([&] { return !test::process_alive(pid); }, 5s));
  }
  // The daemon is free again and nothing of the client's runs later.
  CHECK(provider.submit(Task::call("echo", "free")).wait().value == "free");
  CHECK(test::eventually([&] { return s.dispatcher->info().awaiting == 0; }, 2s));
  CHECK(s.dispatcher->info().executing == 0);
}

TEST_CASE("bad input on the control URL drops that client only", "[control]") {
  Standalone s;
  Profile client;
  REQUIRE(client.set_daemons(s.client(1)).ok());
  auto send_and_wait_close = [&](const std::vector<std::string>& frames) {
    auto conn = dial(s.server->url(), 5s);
    REQUIRE(conn);
    std::atomic<bool> closed{false};
    (*conn)->start({[](std::string) {}, [&](int) { closed = true; }}, UINT32_MAX);
    for (const auto& f : frames) (*conn)->send(f);
    bool dropped = test::eventually([&] { return closed.load(); }, 5s);
    (*conn)->shutdown();
    return dropped;
  };
  std::string hello = proto::encode_client_hello({proto::kVersion, 1});
  CHECK(send_and_wait_close({proto::encode_task(1, Task::call("echo"))}));  // no hello
  CHECK(send_and_wait_close({proto::encode_hello(proto::Hello{})}));        // a daemon's hello
  CHECK(send_and_wait_close({proto::encode_client_hello({99, 1})}));        // another version
  std::string bad_task = proto::encode_task(2, Task::call("echo", "x"));
  bad_task.pop_back();
  CHECK(send_and_wait_close({hello, bad_task}));  // a task that does not decode
  CHECK(send_and_wait_close({hello, proto::encode_task(3, Task::sh("sleep 1")),
                             proto::encode_task(3, Task::sh("sleep 1"))}));      // id reused
  CHECK(send_and_wait_close({hello, proto::encode_empty(proto::Type::kExit)}));  // not a client's
  CHECK(client.submit(Task::call("echo", "still here")).wait().value == "still here");
}

TEST_CASE("a client cannot use a dispatcher that is not there", "[control]") {
  DaemonsConfig c = test::local_daemons(0);
  c.dispatcher_url = "ipc:///tmp/mirai-no-such-dispatcher.sock";
  c.startup_timeout = 500ms;
  Profile p;
  Status st = p.set_daemons(c);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("mirai-no-such-dispatcher.sock"));
  CHECK_THAT(st.message(), Catch::Contains("mirai dispatcher"));
  c.url = "abstract://x";
  CHECK_THAT(p.set_daemons(c).message(), Catch::Contains("cannot also set url"));
}

TEST_CASE("the control URL must be a local socket", "[control]") {
  // Its clients are given the pool's secret on request: a tcp control URL would hand it to
  // anyone on the network.
  DispatcherOptions o;
  o.urls = {local_url()};
  auto dispatcher = Dispatcher::start(o);
  REQUIRE(dispatcher);
  for (const char* url : {"tcp://127.0.0.1:0", "ws://127.0.0.1:0/c"}) {
    auto server = ControlServer::start(**dispatcher, url);
    REQUIRE_FALSE(server);
    CHECK_THAT(server.message(), Catch::Contains("not a local socket") &&
                                     Catch::Contains("secret") && Catch::Contains("ipc://"));
  }
}
