#include "core/protocol.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/buffer.hpp"

namespace mirai::proto {
namespace {

// Appends little-endian integers and length-prefixed strings to a frame.
class Writer {
 public:
  explicit Writer(Type type, std::size_t reserve = 64) {
    reserve_bulk(out_, reserve + 1);
    out_.push_back(static_cast<char>(type));
  }
  Writer& u8(std::uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  Writer& u16(std::uint16_t v) { return le(v, 2); }
  Writer& u32(std::uint32_t v) { return le(v, 4); }
  Writer& i32(std::int32_t v) { return le(static_cast<std::uint32_t>(v), 4); }
  Writer& u64(std::uint64_t v) { return le(v, 8); }
  Writer& str(std::string_view s) { return u32(static_cast<std::uint32_t>(s.size())).raw(s); }
  Writer& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  std::string finish() { return std::move(out_); }

 private:
  Writer& le(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string out_;
};

// Reads what Writer wrote. Any read past the end marks the reader bad and yields zeros, so a
// decoder reads every field and checks ok() once at the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::uint64_t u64() { return le(8); }
  std::string str() {
    std::string_view v = view();
    std::string s;
    reserve_bulk(s, v.size());
    s.assign(v);
    return s;
  }
  // A string field without copying it: a view into the input.
  std::string_view view() {
    std::uint32_t n = u32();
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // The frame's last field: a view into the input; or, with the frame split (`tail` set), its
  // length, which must be the tail's, and the tail.
  std::string_view last(const std::string* tail) {
    if (!tail) return view();
    if (u32() != tail->size()) ok_ = false;
    return ok_ ? std::string_view(*tail) : std::string_view();
  }
  // True when every read succeeded and the input was consumed exactly.
  bool done() const { return ok_ && pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }
  bool ok() const { return ok_; }

 private:
  std::uint64_t le(int bytes) {
    if (!ok_ || in_.size() - pos_ < static_cast<std::size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    pos_ += bytes;
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// The bytes of `field`, the frame's last field: the tail of a split frame, which is consumed;
// or a view into `frame`, and a large one is moved out of the frame, which is consumed, instead
// of copied.
std::string take_last(std::string& frame, std::string_view field, std::string* tail) {
  if (tail) return std::move(*tail);
  if (field.size() < kBulkBytes) return std::string(field);
  frame.erase(0, static_cast<std::size_t>(field.data() - frame.data()));
  return std::move(frame);
}

constexpr std::uint8_t kShell = 1;
constexpr std::uint8_t kCall = 2;
// Where a task frame keeps its kind (after the type and the u64 id), its flags, its retries,
// its timeout (after the retries) and its expected duration (after the u32 timeout).
constexpr std::size_t kKindAt = 9;
constexpr std::size_t kFlagsAt = 10;
constexpr std::size_t kRetriesAt = 11;
constexpr std::size_t kTimeoutAt = 12;
constexpr std::size_t kExpectedAt = 16;
constexpr std::uint32_t kMaxListItems = 1u << 20;
constexpr std::uint32_t kMaxEverywhere = 1u << 16;  // copies of one everywhere() task
constexpr std::size_t kNonceSize = 32;              // auth::kNonceBytes
constexpr std::size_t kProofSize = 32;              // HMAC-SHA256

// A stream field: empty (none) or six integers that make a valid stream; false otherwise.
bool read_stream(Reader& r, std::optional<RngStream>& stream) {
  std::string_view text = r.view();
  stream.reset();
  if (text.empty()) return true;
  if (text.size() > 128) return false;
  stream = RngStream::parse(std::string(text));
  return stream.has_value();
}

// Reads a task body's fields up to its last one (a call's payload, a command's stdin),
// checking what valid_task checks of them; false when one breaks a rule, or when `r` ran out
// (then !r.ok()). `command`: the task is a shell task with something to run, or a call.
bool task_fields_before_last(Reader& r, bool* command) {
  r.u64();  // id
  std::uint8_t kind = r.u8();
  if (r.u8() & ~kTaskFlags) return false;
  r.u8();   // retries
  r.u32();  // timeout
  r.u32();  // expected
  std::optional<RngStream> stream;
  if (!read_stream(r, stream)) return false;
  *command = true;
  if (kind == kCall) {
    r.view();  // function
    return r.ok();
  }
  if (kind != kShell) return false;
  std::uint32_t argc = r.u32();
  if (argc > kMaxListItems) return false;
  for (std::uint32_t i = 0; i < argc && r.ok(); ++i) r.view();
  std::string_view script = r.view();
  std::uint32_t nenv = r.u32();
  if (nenv > kMaxListItems) return false;
  for (std::uint32_t i = 0; i < 2 * nenv && r.ok(); ++i) r.view();
  r.view();  // cwd
  *command = argc > 0 || !script.empty();
  return r.ok();
}

}  // namespace

std::string encode_hello(const Hello& h) {
  return Writer(Type::kHello)
      .u32(kMagic)
      .u16(h.version)
      .u32(h.pid)
      .str(h.host)
      .str(h.job_id)
      .u32(h.array_index)
      .u32(h.maxtasks)
      .u32(h.time_left_ms)
      .u32(h.heartbeat_ms)
      .u8(h.seal ? 1 : 0)
      .str(h.nonce)
      .finish();
}

std::string encode_challenge(const Challenge& c) {
  return Writer(Type::kChallenge).str(c.nonce).u8(c.seal ? 1 : 0).str(c.proof).finish();
}

std::string encode_proof(const std::string& proof) {
  return Writer(Type::kProof).str(proof).finish();
}

std::string encode_secret_reply(std::uint64_t request, const std::string& secret) {
  return Writer(Type::kSecretReply).u64(request).str(secret).finish();
}

std::string encode_everywhere(const std::vector<std::uint64_t>& ids, std::string_view task_frame) {
  Writer w(Type::kEverywhere, 8 + 8 * ids.size() + task_frame.size());
  w.u32(static_cast<std::uint32_t>(ids.size()));
  for (std::uint64_t id : ids) w.u64(id);
  return w.raw(task_frame).finish();
}

std::optional<Everywhere> decode_everywhere(std::string_view body) {
  Reader r(body);
  std::uint32_t n = r.u32();
  if (n == 0 || n > kMaxEverywhere || body.size() < 4 + 8ull * n) return std::nullopt;
  Everywhere e;
  e.ids.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) e.ids.push_back(r.u64());
  std::vector<std::uint64_t> sorted = e.ids;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return std::nullopt;
  e.task_frame = std::string(body.substr(4 + 8ull * n));
  if (!valid_task(e.task_frame)) return std::nullopt;
  return e;
}

std::string encode_welcome(const Welcome& w) {
  return Writer(Type::kWelcome)
      .u32(kMagic)
      .u16(w.version)
      .u32(w.instance)
      .u32(w.heartbeat_ms)
      .str(w.stream ? w.stream->to_string() : std::string())
      .finish();
}

namespace {

// The fields every task frame starts with; the retries byte is at kRetriesAt, the expected
// duration at kExpectedAt.
void task_head(Writer& w, std::uint64_t id, std::uint8_t kind, std::uint8_t flags,
               const Task& task) {
  w.u64(id).u8(kind).u8(flags).u8(task.retries.value_or(0));
  w.u32(static_cast<std::uint32_t>(task.timeout.count()));
  w.u32(static_cast<std::uint32_t>(std::clamp<std::int64_t>(
      task.expected.count(), 0, std::numeric_limits<std::uint32_t>::max())));
  w.str(task.stream ? task.stream->to_string() : std::string());
}

}  // namespace

std::string encode_task(std::uint64_t id, const Task& task, std::uint8_t flags) {
  if (const auto* call = std::get_if<CallTask>(&task.body)) {
    Writer w(Type::kTask, 32 + call->function.size() + call->payload.size());
    task_head(w, id, kCall, flags, task);
    return w.str(call->function).str(call->payload).finish();
  }
  const auto& sh = std::get<ShellTask>(task.body);
  std::size_t size = 64 + sh.script.size() + sh.cwd.size() + sh.stdin_data.size();
  for (const auto& a : sh.argv) size += 4 + a.size();
  Writer w(Type::kTask, size);
  task_head(w, id, kShell, flags, task);
  w.u32(static_cast<std::uint32_t>(sh.argv.size()));
  for (const auto& a : sh.argv) w.str(a);
  w.str(sh.script).u32(static_cast<std::uint32_t>(sh.env.size()));
  for (const auto& [k, v] : sh.env) w.str(k).str(v);
  w.str(sh.cwd).str(sh.stdin_data);
  return w.finish();
}

namespace {

// Everything of a result frame up to and including the value's length: the value follows.
Writer result_head(std::uint64_t id, std::uint8_t flags, const Result& r, std::size_t reserve) {
  Writer w(Type::kResult, 64 + r.stderr_output.size() + r.message.size() + reserve);
  w.u64(id).u8(flags).u8(static_cast<std::uint8_t>(r.kind)).u8(static_cast<std::uint8_t>(r.cause));
  w.i32(static_cast<int>(r.error_value));
  w.i32(r.exit_code).i32(r.signal).u64(r.wall_us);
  w.str(r.message).str(r.type).str(r.stderr_output);  // value last: see take_last
  w.u32(static_cast<std::uint32_t>(r.value.size()));
  return w;
}

}  // namespace

std::string encode_result(std::uint64_t id, std::uint8_t flags, const Result& r) {
  return result_head(id, flags, r, r.value.size()).raw(r.value).finish();
}

std::string encode_error_value(std::uint64_t id, ErrorValue v) {
  return encode_result(id, 0, Result::error_value_result(v));
}

SplitFrame encode_result_parts(std::uint64_t id, std::uint8_t flags, Result&& r) {
  if (r.value.size() < kBulkBytes) return {encode_result(id, flags, r), {}};
  return {result_head(id, flags, r, 0).finish(), std::move(r.value)};
}

std::string encode_id(Type type, std::uint64_t id) { return Writer(type).u64(id).finish(); }

std::string encode_recalled(std::uint64_t id, bool given_back) {
  return Writer(Type::kRecalled).u64(id).u8(given_back ? 1 : 0).finish();
}

std::string encode_output(std::uint64_t id, std::uint8_t stream, std::string_view bytes) {
  Writer w(Type::kOutput, 16 + bytes.size());
  return w.u64(id).u8(stream).str(bytes).finish();
}

std::string encode_empty(Type type) { return Writer(type).finish(); }

std::string encode_client_hello(const ClientHello& h) {
  return Writer(Type::kClientHello)
      .u32(kMagic)
      .u16(h.version)
      .u32(h.pid)
      .u32(h.heartbeat_ms)
      .finish();
}

std::string encode_status_reply(std::uint64_t request, const ProfileStatus& s) {
  Writer w(Type::kStatusReply, 128 + 96 * s.daemons.size());
  w.u64(request).str(s.url);
  const Info& i = s.info;
  w.u64(i.connections).u64(i.cumulative).u64(i.awaiting).u64(i.executing).u64(i.completed);
  w.u64(i.rejected).u64(i.dropped).u64(i.retried);
  w.u32(static_cast<std::uint32_t>(s.daemons.size()));
  for (const DaemonStatus& d : s.daemons) {
    w.u32(d.instance).u32(d.pid).u32(d.array_index).str(d.host).str(d.job_id).str(d.peer);
    w.u64(d.assigned).u64(d.completed).u32(d.in_flight).u32(d.time_left_ms);
  }
  w.str(s.tls_certificate);
  w.u8(s.launcher ? 1 : 0);
  if (const auto& l = s.launcher) {
    w.str(l->profile).str(l->launcher).u32(l->workers).u32(l->connected).u32(l->launching);
    w.u32(l->failed).u32(l->launched).u32(l->batches);
    w.u32(static_cast<std::uint32_t>(l->jobs.size()));
    for (const auto& [state, n] : l->jobs) w.str(state).u32(n);
    w.u8(l->paused ? 1 : 0).str(l->reason).str(l->dial).str(l->login);
  }
  return w.finish();
}

std::optional<FrameView> view_frame(std::string_view frame) {
  if (frame.empty()) return std::nullopt;
  auto t = static_cast<std::uint8_t>(frame[0]);
  if (t < static_cast<std::uint8_t>(Type::kHello) || t > static_cast<std::uint8_t>(Type::kOutput))
    return std::nullopt;
  return FrameView{static_cast<Type>(t), frame.substr(1)};
}

std::optional<Hello> decode_hello(std::string_view body) {
  Reader r(body);
  if (r.u32() != kMagic) return std::nullopt;
  Hello h;
  h.version = r.u16();
  h.pid = r.u32();
  h.host = r.str();
  h.job_id = r.str();
  h.array_index = r.u32();
  h.maxtasks = r.u32();
  h.time_left_ms = r.u32();
  h.heartbeat_ms = r.u32();
  std::uint8_t seal = r.u8();
  h.seal = seal == 1;
  h.nonce = r.str();
  if (!r.done() || seal > 1 || h.nonce.size() != kNonceSize) return std::nullopt;
  return h;
}

std::optional<Challenge> decode_challenge(std::string_view body) {
  Reader r(body);
  Challenge c;
  c.nonce = r.str();
  std::uint8_t seal = r.u8();
  c.seal = seal == 1;
  c.proof = r.str();
  if (!r.done() || seal > 1 || c.nonce.size() != kNonceSize || c.proof.size() != kProofSize)
    return std::nullopt;
  return c;
}

std::optional<std::string> decode_proof(std::string_view body) {
  Reader r(body);
  std::string proof = r.str();
  if (!r.done() || proof.size() != kProofSize) return std::nullopt;
  return proof;
}

std::optional<std::pair<std::uint64_t, std::string>> decode_secret_reply(std::string_view body) {
  Reader r(body);
  std::uint64_t request = r.u64();
  std::string secret = r.str();
  if (!r.done()) return std::nullopt;
  return std::make_pair(request, std::move(secret));
}

std::optional<Welcome> decode_welcome(std::string_view body) {
  Reader r(body);
  if (r.u32() != kMagic) return std::nullopt;
  Welcome w;
  w.version = r.u16();
  w.instance = r.u32();
  w.heartbeat_ms = r.u32();
  if (!read_stream(r, w.stream) || !r.done()) return std::nullopt;
  return w;
}

namespace {

std::optional<Task> decode_task_parts(std::string& frame, std::string* tail, std::uint64_t* id,
                                      std::uint8_t* flags) {
  if (frame.empty() || frame[0] != static_cast<char>(Type::kTask)) return std::nullopt;
  Reader r(std::string_view(frame).substr(1));
  *id = r.u64();
  std::uint8_t kind = r.u8();
  std::uint8_t f = r.u8();
  if (f & ~kTaskFlags) return std::nullopt;
  if (flags) *flags = f;
  std::uint8_t retries = r.u8();
  Task task;
  if (retries > 0) task.retries = retries;
  task.timeout = std::chrono::milliseconds(r.u32());
  task.expected = std::chrono::milliseconds(r.u32());
  if (!read_stream(r, task.stream)) return std::nullopt;
  if (kind == kCall) {
    CallTask call;
    call.function = r.str();
    std::string_view payload = r.last(tail);
    if (!r.done()) return std::nullopt;
    call.payload = take_last(frame, payload, tail);
    task.body = std::move(call);
    return task;
  }
  if (kind != kShell) return std::nullopt;
  ShellTask sh;
  std::uint32_t argc = r.u32();
  if (argc > kMaxListItems) return std::nullopt;
  for (std::uint32_t i = 0; i < argc && r.ok(); ++i) sh.argv.push_back(r.str());
  sh.script = r.str();
  std::uint32_t nenv = r.u32();
  if (nenv > kMaxListItems) return std::nullopt;
  for (std::uint32_t i = 0; i < nenv && r.ok(); ++i) {
    std::string k = r.str();
    sh.env[k] = r.str();
  }
  sh.cwd = r.str();
  std::string_view stdin_data = r.last(tail);
  if (!r.done() || (sh.argv.empty() && sh.script.empty())) return std::nullopt;
  sh.stdin_data = take_last(frame, stdin_data, tail);
  task.body = std::move(sh);
  return task;
}

std::optional<ResultFrame> decode_result_parts(std::string& frame, std::string* tail) {
  if (frame.empty() || frame[0] != static_cast<char>(Type::kResult)) return std::nullopt;
  Reader r(std::string_view(frame).substr(1));
  ResultFrame f;
  f.id = r.u64();
  f.flags = r.u8();
  std::uint8_t kind = r.u8();
  std::uint8_t cause = r.u8();
  if (kind > static_cast<std::uint8_t>(Result::Kind::kErrorValue) || cause > kMaxCause)
    return std::nullopt;
  f.result.kind = static_cast<Result::Kind>(kind);
  f.result.cause = static_cast<Cause>(cause);
  f.result.error_value = static_cast<ErrorValue>(r.i32());
  f.result.exit_code = r.i32();
  f.result.signal = r.i32();
  f.result.wall_us = r.u64();
  f.result.message = r.str();
  f.result.type = r.str();
  f.result.stderr_output = r.str();
  std::string_view value = r.last(tail);
  if (!r.done()) return std::nullopt;
  f.result.value = take_last(frame, value, tail);
  return f;
}

}  // namespace

std::optional<Task> decode_task(std::string frame, std::uint64_t* id, std::uint8_t* flags) {
  return decode_task_parts(frame, nullptr, id, flags);
}

std::optional<Task> decode_task(std::string head, std::string tail, std::uint64_t* id,
                                std::uint8_t* flags) {
  return decode_task_parts(head, tail.empty() ? nullptr : &tail, id, flags);
}

std::optional<ResultFrame> decode_result(std::string frame) {
  return decode_result_parts(frame, nullptr);
}

std::optional<ResultFrame> decode_result(std::string head, std::string tail) {
  return decode_result_parts(head, tail.empty() ? nullptr : &tail);
}

std::optional<std::size_t> tail_at(std::string_view prefix, std::size_t length) {
  if (prefix.empty()) return std::nullopt;
  Reader r(prefix.substr(1));
  const auto type = static_cast<Type>(prefix[0]);
  if (type == Type::kResult) {
    r.u64();
    r.u8();                                // flags
    r.u8();                                // kind
    r.u8();                                // cause
    r.u32();                               // error value
    r.u32();                               // exit code
    r.u32();                               // signal
    r.u64();                               // wall time
    for (int k = 0; k < 3; ++k) r.view();  // message, type, stderr
  } else if (type == Type::kTask) {
    bool command;
    if (!task_fields_before_last(r, &command))
      return r.ok() ? std::optional<std::size_t>(0) : std::nullopt;
  } else {
    return 0;
  }
  std::uint32_t n = r.u32();
  if (!r.ok()) return std::nullopt;  // more of it needed (or malformed: decoding will say)
  const std::size_t head = 1 + r.pos();
  if (head > length || n != length - head) return 0;
  return head;
}

bool valid_task(std::string_view frame) {
  if (frame.empty() || frame[0] != static_cast<char>(Type::kTask)) return false;
  Reader r(frame.substr(1));
  bool command;
  if (!task_fields_before_last(r, &command)) return false;
  r.view();  // the payload, or the command's stdin
  return r.done() && command;
}

bool peek_command(std::string_view frame) {
  return frame.size() > kKindAt && static_cast<std::uint8_t>(frame[kKindAt]) == kShell;
}

std::optional<std::uint64_t> decode_id(std::string_view body) {
  Reader r(body);
  std::uint64_t id = r.u64();
  if (!r.done()) return std::nullopt;
  return id;
}

std::optional<std::pair<std::uint64_t, bool>> decode_recalled(std::string_view body) {
  Reader r(body);
  std::uint64_t id = r.u64();
  std::uint8_t given = r.u8();
  if (!r.done() || given > 1) return std::nullopt;
  return std::make_pair(id, given == 1);
}

std::optional<Output> decode_output(std::string_view body) {
  Reader r(body);
  Output o{r.u64(), r.u8(), {}};
  o.bytes = r.view();
  if (!r.done() || (o.stream != 1 && o.stream != 2)) return std::nullopt;
  return o;
}

std::optional<ClientHello> decode_client_hello(std::string_view body) {
  Reader r(body);
  if (r.u32() != kMagic) return std::nullopt;
  ClientHello h;
  h.version = r.u16();
  h.pid = r.u32();
  h.heartbeat_ms = r.u32();
  if (!r.done()) return std::nullopt;
  return h;
}

std::optional<std::pair<std::uint64_t, ProfileStatus>> decode_status_reply(std::string_view body) {
  Reader r(body);
  std::uint64_t request = r.u64();
  ProfileStatus s;
  s.url = r.str();
  Info& i = s.info;
  i.connections = r.u64();
  i.cumulative = r.u64();
  i.awaiting = r.u64();
  i.executing = r.u64();
  i.completed = r.u64();
  i.rejected = r.u64();
  i.dropped = r.u64();
  i.retried = r.u64();
  std::uint32_t n = r.u32();
  if (n > kMaxListItems) return std::nullopt;
  for (std::uint32_t k = 0; k < n && r.ok(); ++k) {
    DaemonStatus d;
    d.instance = r.u32();
    d.pid = r.u32();
    d.array_index = r.u32();
    d.host = r.str();
    d.job_id = r.str();
    d.peer = r.str();
    d.assigned = r.u64();
    d.completed = r.u64();
    d.in_flight = r.u32();
    d.time_left_ms = r.u32();
    s.daemons.push_back(std::move(d));
  }
  s.tls_certificate = r.str();
  std::uint8_t has_launcher = r.u8();
  if (has_launcher > 1) return std::nullopt;
  if (has_launcher) {
    LauncherStatus l;
    l.profile = r.str();
    l.launcher = r.str();
    l.workers = r.u32();
    l.connected = r.u32();
    l.launching = r.u32();
    l.failed = r.u32();
    l.launched = r.u32();
    l.batches = r.u32();
    std::uint32_t states = r.u32();
    if (states > kMaxListItems) return std::nullopt;
    for (std::uint32_t k = 0; k < states && r.ok(); ++k) {
      std::string state = r.str();
      l.jobs[state] = r.u32();
    }
    std::uint8_t paused = r.u8();
    if (paused > 1) return std::nullopt;
    l.paused = paused == 1;
    l.reason = r.str();
    l.dial = r.str();
    l.login = r.str();
    s.launcher = std::move(l);
  }
  if (!r.done()) return std::nullopt;
  return std::make_pair(request, std::move(s));
}

std::optional<ResultHeader> peek_result(std::string_view frame) {
  if (frame.empty() || frame[0] != static_cast<char>(Type::kResult)) return std::nullopt;
  Reader r(frame.substr(1));
  ResultHeader h;
  h.id = r.u64();
  h.flags = r.u8();
  std::uint8_t kind = r.u8();
  r.u8();   // cause
  r.i32();  // error value
  r.i32();  // exit code
  r.i32();  // signal
  h.wall_us = r.u64();
  if (!r.ok() || kind > static_cast<std::uint8_t>(Result::Kind::kErrorValue)) return std::nullopt;
  h.kind = static_cast<Result::Kind>(kind);
  return h;
}

std::optional<std::uint64_t> peek_id(std::string_view frame) {
  if (frame.size() < 9) return std::nullopt;
  Reader r(frame.substr(1, 8));
  return r.u64();
}

std::uint8_t peek_retries(std::string_view frame) {
  return frame.size() > kRetriesAt ? static_cast<std::uint8_t>(frame[kRetriesAt]) : 0;
}

std::uint8_t peek_task_flags(std::string_view frame) {
  return frame.size() > kFlagsAt ? static_cast<std::uint8_t>(frame[kFlagsAt]) : 0;
}

std::chrono::milliseconds peek_expected(std::string_view frame) {
  if (frame.size() < kExpectedAt + 4) return std::chrono::milliseconds(0);
  Reader r(frame.substr(kExpectedAt, 4));
  return std::chrono::milliseconds(r.u32());
}

std::chrono::milliseconds peek_timeout(std::string_view frame) {
  if (frame.size() < kTimeoutAt + 4) return std::chrono::milliseconds(0);
  Reader r(frame.substr(kTimeoutAt, 4));
  return std::chrono::milliseconds(r.u32());
}

void patch_retries(std::string& frame, std::uint8_t retries) {
  frame[kRetriesAt] = static_cast<char>(retries);
}

void patch_id(std::string& frame, std::uint64_t id) {
  for (int i = 0; i < 8; ++i) frame[1 + i] = static_cast<char>((id >> (8 * i)) & 0xff);
}

}  // namespace mirai::proto
