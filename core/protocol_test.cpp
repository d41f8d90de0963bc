#include "core/protocol.hpp"

#include <catch2/catch.hpp>

using namespace mirai;

TEST_CASE("a shell task survives encoding with every field", "[protocol]") {
  ShellTask sh;
  sh.argv = {"printf", "%s\\n", "a b", std::string("nul\0byte", 8)};
  sh.env = {{"A", "1"}, {"EMPTY", ""}};
  sh.cwd = "/tmp";
  sh.stdin_data = std::string(100000, 'x');
  Task t{sh,
         std::chrono::milliseconds(1500),
         std::nullopt,
         std::nullopt,
         false,
         std::chrono::minutes(90),
         {}};
  std::string frame = proto::encode_task(42, t);
  auto fv = proto::view_frame(frame);
  REQUIRE(fv);
  CHECK(fv->type == proto::Type::kTask);
  std::uint64_t id = 0;
  auto back = proto::decode_task(frame, &id);
  REQUIRE(back);
  CHECK(id == 42);
  CHECK(back->timeout.count() == 1500);
  CHECK(back->expected == std::chrono::minutes(90));
  CHECK(proto::peek_expected(frame) == std::chrono::minutes(90));
  const auto& b = std::get<ShellTask>(back->body);
  CHECK(b.argv == sh.argv);
  CHECK(b.env == sh.env);
  CHECK(b.cwd == "/tmp");
  CHECK(b.stdin_data == sh.stdin_data);
}

TEST_CASE("a call task and a result survive encoding", "[protocol]") {
  std::string frame = proto::encode_task(7, Task::call("echo", std::string("\0\1\2", 3)));
  std::uint64_t id = 0;
  auto t = proto::decode_task(frame, &id);
  REQUIRE(t);
  CHECK(std::get<CallTask>(t->body).function == "echo");
  CHECK(std::get<CallTask>(t->body).payload == std::string("\0\1\2", 3));

  Result r;
  r.kind = Result::Kind::kError;
  r.type = "exit status 2";
  r.message = "failed";
  r.exit_code = 2;
  r.value = "out";
  r.stderr_output = "err";
  r.wall_us = 1234;
  std::string rf = proto::encode_result(9, proto::kResultFinal, r);
  auto h = proto::peek_result(rf);
  REQUIRE(h);
  CHECK(h->id == 9);
  CHECK(h->flags == proto::kResultFinal);
  CHECK(h->wall_us == 1234);
  auto d = proto::decode_result(rf);
  REQUIRE(d);
  CHECK(d->result.kind == Result::Kind::kError);
  CHECK(d->result.type == "exit status 2");
  CHECK(d->result.exit_code == 2);
  CHECK(d->result.value == "out");
  CHECK(d->result.stderr_output == "err");
  CHECK(d->result.cause == Cause::kNone);

  // An error value keeps its cause: 19 alone does not say crashed from lost.
  for (Cause c : {Cause::kCrashed, Cause::kLost, Cause::kRefused, Cause::kDisconnected}) {
    auto lost = proto::decode_result(proto::encode_result(3, 0, Result::failure(c, "why")));
    REQUIRE(lost);
    CHECK(lost->result.code() == 19);
    CHECK(lost->result.cause == c);
    CHECK(lost->result.message == "why");
  }
}

TEST_CASE("a large task or result splits where its last field starts", "[protocol]") {
  std::string payload(2 << 20, 'p');
  payload[7] = 'q';
  std::string task = proto::encode_task(5, Task::call("echo", payload));
  std::size_t at = task.size() - payload.size();
  // Known from the first bytes, and only once they hold the head.
  CHECK(proto::tail_at(task.substr(0, 10), task.size()) == std::nullopt);
  CHECK(proto::tail_at(task.substr(0, at), task.size()) == at);
  CHECK(proto::tail_at(task.substr(0, 4096), task.size()) == at);
  // A length that does not match the frame's, or another kind of frame: not split.
  CHECK(proto::tail_at(task.substr(0, 4096), task.size() + 1) == 0u);
  CHECK(proto::tail_at(proto::encode_empty(proto::Type::kExit), 2 << 20) == 0u);
  std::uint64_t id = 0;
  auto t = proto::decode_task(task.substr(0, at), task.substr(at), &id);
  REQUIRE(t);
  CHECK(id == 5);
  CHECK(std::get<CallTask>(t->body).payload == payload);
  // A command's stdin is its last field.
  ShellTask sh;
  sh.argv = {"cat"};
  sh.stdin_data = payload;
  std::string shell = proto::encode_task(6, Task{sh, {}, {}, {}, {}, {}, {}});
  at = shell.size() - payload.size();
  CHECK(proto::tail_at(shell.substr(0, 4096), shell.size()) == at);
  t = proto::decode_task(shell.substr(0, at), shell.substr(at), &id);
  REQUIRE(t);
  CHECK(std::get<ShellTask>(t->body).stdin_data == payload);

  Result r;
  r.value = payload;
  r.message = "m";
  auto parts = proto::encode_result_parts(9, 0, Result(r));
  std::string whole = parts.head + parts.tail;
  CHECK(proto::tail_at(whole.substr(0, 4096), whole.size()) == parts.head.size());
  auto d = proto::decode_result(parts.head, parts.tail);
  REQUIRE(d);
  CHECK(d->id == 9);
  CHECK(d->result.value == payload);
  CHECK(d->result.message == "m");
  // A tail of another length than the head says is refused, as is a head with bytes left over.
  CHECK_FALSE(proto::decode_result(parts.head, parts.tail + "x"));
  CHECK_FALSE(proto::decode_result(parts.head + "x", parts.tail));
  CHECK_FALSE(proto::decode_task(task.substr(0, at), task.substr(at + 1), &id));
}

TEST_CASE("large payloads and values come out of their frames intact", "[protocol]") {
  // Above kBulkBytes the last field is moved out of the frame instead of copied.
  std::string payload(3 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  std::uint64_t id = 0;
  auto t = proto::decode_task(proto::encode_task(11, Task::call("echo", payload)), &id);
  REQUIRE(t);
  CHECK(id == 11);
  CHECK(std::get<CallTask>(t->body).function == "echo");
  CHECK(std::get<CallTask>(t->body).payload == payload);

  Result r;
  r.value = payload;
  r.stderr_output = std::string(5 << 20, 'e');  // large, but not last: copied
  r.message = "m";
  auto d = proto::decode_result(proto::encode_result(12, 0, r));
  REQUIRE(d);
  CHECK(d->id == 12);
  CHECK(d->result.value == payload);
  CHECK(d->result.stderr_output == r.stderr_output);
  CHECK(d->result.message == "m");

  // Sent in two parts, the value is not copied into the frame; the bytes are the same.
  std::string whole = proto::encode_result(12, 0, r);
  auto parts = proto::encode_result_parts(12, 0, Result(r));
  CHECK(parts.tail.size() == payload.size());
  CHECK(parts.head + parts.tail == whole);
  r.value = "small";
  parts = proto::encode_result_parts(12, 0, Result(r));
  CHECK(parts.tail.empty());
  CHECK(parts.head == proto::encode_result(12, 0, r));
}

TEST_CASE("ids are patched in place", "[protocol]") {
  std::string frame = proto::encode_task(1, Task::call("noop"));
  proto::patch_id(frame, 0x0102030405060708ull);
  CHECK(proto::peek_id(frame) == 0x0102030405060708ull);
}

TEST_CASE("an output frame carries its task, its stream and its bytes", "[protocol]") {
  std::string frame = proto::encode_output(42, 2, std::string("a\0b", 3));
  auto o = proto::decode_output(proto::view_frame(frame)->body);
  REQUIRE(o);
  CHECK(o->id == 42);
  CHECK(o->stream == 2);
  CHECK(o->bytes == std::string_view("a\0b", 3));
  CHECK(proto::peek_id(frame) == 42u);
  // Another stream, a body cut short, or bytes after it: refused.
  CHECK_FALSE(proto::decode_output(proto::view_frame(proto::encode_output(1, 3, "x"))->body));
  CHECK_FALSE(proto::decode_output(proto::view_frame(frame)->body.substr(0, 10)));
  CHECK_FALSE(proto::decode_output(std::string(proto::view_frame(frame)->body) + "!"));
}

TEST_CASE("an everywhere task carries its flag and its copies' ids", "[protocol]") {
  std::uint64_t id = 0;
  std::uint8_t flags = 0;
  std::string setup = proto::encode_task(5, Task::sh("export A=1"), proto::kTaskEverywhere);
  REQUIRE(proto::decode_task(setup, &id, &flags));
  CHECK(flags == proto::kTaskEverywhere);
  REQUIRE(proto::decode_task(proto::encode_task(5, Task::sh("x")), &id, &flags));
  CHECK(flags == 0);
  std::string streaming = setup;
  streaming[10] = static_cast<char>(proto::kTaskStreamOutput);
  REQUIRE(proto::decode_task(streaming, &id, &flags));
  CHECK(flags == proto::kTaskStreamOutput);
  std::string rerun = setup;
  rerun[10] = static_cast<char>(proto::kTaskRerunFailures);
  REQUIRE(proto::decode_task(rerun, &id, &flags));
  CHECK(proto::peek_task_flags(rerun) == proto::kTaskRerunFailures);
  std::string unknown = setup;
  unknown[10] = '\x08';  // a flag this version does not know
  CHECK_FALSE(proto::valid_task(unknown));
  CHECK_FALSE(proto::decode_task(unknown, &id));

  std::string frame = proto::encode_everywhere({7, 8, 9}, setup);
  auto e = proto::decode_everywhere(proto::view_frame(frame)->body);
  REQUIRE(e);
  CHECK(e->ids == std::vector<std::uint64_t>{7, 8, 9});
  CHECK(e->task_frame == setup);
  // No copies, a repeated id, or a task that does not decode: refused.
  CHECK_FALSE(
      proto::decode_everywhere(proto::view_frame(proto::encode_everywhere({}, setup))->body));
  CHECK_FALSE(
      proto::decode_everywhere(proto::view_frame(proto::encode_everywhere({7, 7}, setup))->body));
  CHECK_FALSE(proto::decode_everywhere(
      proto::view_frame(proto::encode_everywhere({7}, setup.substr(0, 20)))->body));
  std::string huge = frame;
  huge[1] = huge[2] = huge[3] = '\x7f';  // more ids than bytes
  CHECK_FALSE(proto::decode_everywhere(proto::view_frame(huge)->body));
}

TEST_CASE("malformed input is rejected and never trusted", "[protocol]") {
  std::uint64_t id;
  CHECK_FALSE(proto::view_frame(""));
  CHECK_FALSE(proto::view_frame(std::string(1, '\x7f')));
  std::string good = proto::encode_task(3, Task::shell({"true"}));
  CHECK(proto::valid_task(good));
  CHECK(proto::valid_task(proto::encode_task(4, Task::call("echo", "x"))));
  // Every truncation fails cleanly.
  for (std::size_t n = 0; n < good.size(); ++n) {
    CHECK_FALSE(proto::decode_task(good.substr(0, n), &id));
    CHECK_FALSE(proto::valid_task(good.substr(0, n)));
  }
  // Trailing bytes fail too.
  CHECK_FALSE(proto::decode_task(good + "x", &id));
  CHECK_FALSE(proto::valid_task(good + "x"));
  // A string length pointing past the end.
  std::string bad = good;
  bad[20] = '\xff';
  CHECK_FALSE(proto::decode_task(bad, &id));
  CHECK_FALSE(proto::valid_task(bad));
  // A frame of another type.
  CHECK_FALSE(proto::decode_task(proto::encode_id(proto::Type::kCancel, 3), &id));
  // A hello with the wrong magic.
  proto::Hello h;
  std::string hello = proto::encode_hello(h);
  hello[1] ^= 1;
  CHECK_FALSE(proto::decode_hello(proto::view_frame(hello)->body));
  CHECK_FALSE(proto::decode_result("short"));
  Result r;
  r.value = std::string(2 << 20, 'v');
  std::string rf = proto::encode_result(1, 0, r);
  CHECK_FALSE(proto::decode_result(rf.substr(0, rf.size() - 1)));
  rf = proto::encode_result(1, 0, Result::failure(Cause::kLost));
  rf[11] = static_cast<char>(kMaxCause + 1);  // after type, id, flags and kind: a cause unknown
  CHECK_FALSE(proto::decode_result(rf));
  CHECK_FALSE(proto::decode_recalled(std::string(9, '\x02')));
}

TEST_CASE("a hello carries the protocol version and the daemon's identity", "[protocol]") {
  proto::Hello h;
  h.pid = 1234;
  h.host = "node7";
  h.job_id = "998";
  h.array_index = 5;
  h.maxtasks = 10;
  h.time_left_ms = 3600000;
  h.heartbeat_ms = 1500;
  h.nonce = std::string(32, 'n');
  auto back = proto::decode_hello(proto::view_frame(proto::encode_hello(h))->body);
  REQUIRE(back);
  CHECK(back->version == proto::kVersion);
  CHECK(back->pid == 1234);
  CHECK(back->host == "node7");
  CHECK(back->job_id == "998");
  CHECK(back->array_index == 5);
  CHECK(back->maxtasks == 10);
  CHECK(back->time_left_ms == 3600000);
  CHECK(back->heartbeat_ms == 1500);
  CHECK(back->nonce == h.nonce);
  h.nonce = "short";  // a nonce must be 32 bytes
  CHECK_FALSE(proto::decode_hello(proto::view_frame(proto::encode_hello(h))->body));
}

TEST_CASE("a status reply carries counters and daemon rows", "[protocol]") {
  ProfileStatus s;
  s.url = "tcp://127.0.0.1:5555";
  s.info = Info{2, 3, 4, 5, 6};
  s.daemons.push_back(DaemonStatus{1, 100, 7, "node1", "998", "127.0.0.1:4000", 10, 9, 1, 5000});
  s.daemons.push_back(DaemonStatus{3, 200, 0, "node2", "", "ipc", 0, 0, 0, 0});
  CHECK(proto::decode_status_reply(proto::view_frame(proto::encode_status_reply(1, s))->body)
            ->second.launcher == std::nullopt);
  LauncherStatus l;
  l.profile = "cluster";
  l.launcher = "slurm";
  l.workers = 4;
  l.connected = 2;
  l.launching = 1;
  l.failed = 1;
  l.launched = 4;
  l.batches = 2;
  l.jobs = {{"running", 2}, {"pending", 1}, {"failed", 1}};
  l.paused = true;
  l.reason = "launch 2 failed";
  l.dial = "tcp://10.0.0.1:40001";
  l.login = "login.cluster.org";
  s.launcher = l;
  std::string frame = proto::encode_status_reply(77, s);
  auto back = proto::decode_status_reply(proto::view_frame(frame)->body);
  REQUIRE(back);
  CHECK(back->first == 77);
  CHECK(back->second.url == s.url);
  CHECK(back->second.info.completed == 6);
  REQUIRE(back->second.daemons.size() == 2);
  CHECK(back->second.daemons[0].job_id == "998");
  CHECK(back->second.daemons[0].peer == "127.0.0.1:4000");
  CHECK(back->second.daemons[0].in_flight == 1);
  CHECK(back->second.daemons[0].time_left_ms == 5000);
  CHECK(back->second.daemons[1].host == "node2");
  REQUIRE(back->second.launcher);
  const LauncherStatus& bl = *back->second.launcher;
  CHECK(bl.profile == "cluster");
  CHECK(bl.launcher == "slurm");
  CHECK((bl.workers == 4 && bl.connected == 2 && bl.launching == 1 && bl.failed == 1 &&
         bl.launched == 4 && bl.batches == 2));
  CHECK(bl.jobs == l.jobs);
  CHECK(bl.paused);
  CHECK(bl.reason == "launch 2 failed");
  CHECK(bl.dial == "tcp://10.0.0.1:40001");
  CHECK(bl.login == "login.cluster.org");
  for (std::size_t n = 0; n + 1 < frame.size(); ++n)
    CHECK_FALSE(proto::decode_status_reply(std::string_view(frame).substr(1, n)));
  auto hello = proto::decode_client_hello(
      proto::view_frame(proto::encode_client_hello({proto::kVersion, 42, 700}))->body);
  REQUIRE(hello);
  CHECK(hello->pid == 42);
  CHECK(hello->heartbeat_ms == 700);
  auto welcome = proto::decode_welcome(
      proto::view_frame(proto::encode_welcome({proto::kVersion, 3, 900, std::nullopt}))->body);
  REQUIRE(welcome);
  CHECK(welcome->instance == 3);
  CHECK(welcome->heartbeat_ms == 900);
  // Both peers settle on the shorter interval, and on none when either has none.
  CHECK(proto::heartbeat_for(700, 900) == std::chrono::milliseconds(700));
  CHECK(proto::heartbeat_for(900, 700) == std::chrono::milliseconds(700));
  CHECK(proto::heartbeat_for(0, 900) == std::chrono::milliseconds(0));
  CHECK(proto::heartbeat_for(900, 0) == std::chrono::milliseconds(0));
}
