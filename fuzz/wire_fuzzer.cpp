// libFuzzer target for the wire decoder (core/protocol): every decoder gets every input, and
// what decodes must agree with the cheap validity check and survive a round trip. Built and run
// by tests/fuzz/run.sh (clang, with AddressSanitizer and UndefinedBehaviorSanitizer); the seed
// corpus in fuzz/corpus/ holds one valid frame of each kind (regenerate with
// `wire_fuzzer --write-seeds DIR`, a build with -DMIRAI_FUZZ_SEEDS).
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/protocol.hpp"

using namespace mirai;

namespace {

void require(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports the input that got here
}

void check_task(const std::string& frame) {
  std::uint64_t id = 0;
  std::uint8_t flags = 0;
  bool valid = proto::valid_task(frame);
  auto task = proto::decode_task(frame, &id, &flags);
  require(valid == task.has_value());
  if (!task) return;
  auto peeked = proto::peek_id(frame);
  require(peeked && *peeked == id);
  // Re-encoding what was decoded gives a frame that decodes to the same bytes again.
  const std::string encoded = proto::encode_task(id, *task, flags);
  std::uint64_t again_id = 0;
  std::uint8_t again_flags = 0;
  auto again = proto::decode_task(encoded, &again_id, &again_flags);
  require(again && again_id == id && again_flags == flags &&
          proto::encode_task(again_id, *again, again_flags) == encoded);
}

void check_result(const std::string& frame) {
  auto header = proto::peek_result(frame);
  auto result = proto::decode_result(frame);
  if (!result) return;
  require(header && header->id == result->id && header->flags == result->flags);
  const std::string encoded = proto::encode_result(result->id, result->flags, result->result);
  auto again = proto::decode_result(encoded);
  require(again && proto::encode_result(again->id, again->flags, again->result) == encoded);
}

// Where a frame splits (Connection's on_split), and that the two parts decode as the whole
// frame does: split or not, a task or result is the same.
void check_split(const std::string& frame) {
  for (std::size_t prefix : {std::size_t{1}, std::size_t{16}, frame.size()}) {
    auto at = proto::tail_at(std::string_view(frame).substr(0, prefix), frame.size());
    if (!at || *at == 0) continue;
    require(*at <= prefix && *at <= frame.size());
    const std::string head = frame.substr(0, *at), tail = frame.substr(*at);
    std::uint64_t id = 0, split_id = 0;
    std::uint8_t flags = 0, split_flags = 0;
    auto whole = proto::decode_task(frame, &id, &flags);
    auto split = proto::decode_task(head, tail, &split_id, &split_flags);
    require(whole.has_value() == split.has_value());
    if (whole)
      require(id == split_id && flags == split_flags &&
              proto::encode_task(id, *whole, flags) == proto::encode_task(id, *split, flags));
    auto whole_result = proto::decode_result(frame);
    auto split_result = proto::decode_result(head, tail);
    require(whole_result.has_value() == split_result.has_value());
    if (whole_result)
      require(proto::encode_result(whole_result->id, whole_result->flags, whole_result->result) ==
              proto::encode_result(split_result->id, split_result->flags, split_result->result));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string frame(reinterpret_cast<const char*>(data), size);
  check_task(frame);
  check_result(frame);
  check_split(frame);
  auto fv = proto::view_frame(frame);
  if (!fv) return 0;
  // Every body decoder on every body: none may crash, read out of bounds or loop.
  (void)proto::decode_hello(fv->body);
  (void)proto::decode_welcome(fv->body);
  (void)proto::decode_id(fv->body);
  (void)proto::decode_recalled(fv->body);
  (void)proto::decode_output(fv->body);
  (void)proto::decode_client_hello(fv->body);
  (void)proto::decode_status_reply(fv->body);
  (void)proto::decode_challenge(fv->body);
  (void)proto::decode_proof(fv->body);
  (void)proto::decode_secret_reply(fv->body);
  if (auto e = proto::decode_everywhere(fv->body)) {
    require(!e->ids.empty() && proto::valid_task(e->task_frame));
    auto again = proto::decode_everywhere(
        proto::view_frame(proto::encode_everywhere(e->ids, e->task_frame))->body);
    require(again && again->ids == e->ids && again->task_frame == e->task_frame);
  }
  if (auto hello = proto::decode_hello(fv->body)) {
    auto again = proto::decode_hello(proto::view_frame(proto::encode_hello(*hello))->body);
    require(again && again->host == hello->host && again->nonce == hello->nonce);
  }
  return 0;
}

#ifdef MIRAI_FUZZ_SEEDS
// Writes one valid frame of each kind into the directory given.
int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--write-seeds") return 2;
  const std::string dir = argv[2];
  auto write = [&](const std::string& name, const std::string& frame) {
    std::ofstream(dir + "/" + name, std::ios::binary) << frame;
  };
  proto::Hello h;
  h.pid = 42;
  h.host = "node1";
  h.job_id = "123_4";
  h.array_index = 4;
  h.seal = true;
  h.nonce = std::string(32, 'n');
  write("hello", proto::encode_hello(h));
  write("welcome", proto::encode_welcome({proto::kVersion, 7, 5000, RngStream::from_seed(1)}));
  Task shell = Task::shell({"echo", "hi"});
  auto& body = std::get<ShellTask>(shell.body);
  body.env = {{"A", "1"}};
  body.cwd = "/tmp";
  body.stdin_data = "input";
  write("task-shell", proto::encode_task(9, shell));
  write("task-sh", proto::encode_task(10, Task::sh("echo $A")));
  write("task-call", proto::encode_task(11, Task::call("echo", "payload")));
  Task seeded = Task::call("runif", "3");
  seeded.stream = RngStream::from_seed(123).next_stream();
  write("task-seeded", proto::encode_task(13, seeded));
  std::string setup = proto::encode_task(0, Task::sh("export A=1"), proto::kTaskEverywhere);
  write("task-everywhere", setup);
  write("everywhere", proto::encode_everywhere({1, 2, 3}, setup));
  Result r;
  r.value = "out";
  r.stderr_output = "err";
  write("result", proto::encode_result(9, proto::kResultFinal, r));
  write("error-value", proto::encode_error_value(12, ErrorValue::kTimedOut));
  write("cancel", proto::encode_id(proto::Type::kCancel, 9));
  write("recalled", proto::encode_recalled(9, true));
  write("client-hello", proto::encode_client_hello({proto::kVersion, 42, 5000}));
  ProfileStatus s;
  s.url = "tcp://127.0.0.1:5555";
  s.daemons.push_back({1, 42, 4, "node1", "123", "127.0.0.1:1", 3, 2, 1, 60000});
  write("status-reply", proto::encode_status_reply(5, s));
  LauncherStatus l;
  l.profile = "cluster";
  l.launcher = "slurm";
  l.jobs = {{"running", 2}, {"pending", 1}};
  l.reason = "paused";
  s.launcher = l;
  write("status-reply-launcher", proto::encode_status_reply(5, s));
  write("challenge", proto::encode_challenge({std::string(32, 'c'), true, std::string(32, 'p')}));
  write("proof", proto::encode_proof(std::string(32, 'p')));
  write("secret-reply", proto::encode_secret_reply(6, std::string(64, 'a')));
  return 0;
}
#endif
