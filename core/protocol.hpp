// Wire protocol v2: every message between client, dispatcher and daemon. docs/protocol.md
// describes the bytes; this file is the only place that encodes or decodes them.
//
// On the wire a frame is: u32 length (little-endian, the bytes that follow), u8 type, body.
// The connection layer (core/connection.hpp) adds and strips the length; everything here works
// on "type + body". Integers are little-endian; a string is u32 length + bytes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mirai/info.hpp"
#include "mirai/result.hpp"
#include "mirai/rng.hpp"
#include "mirai/task.hpp"

namespace mirai::proto {

inline constexpr std::uint16_t kVersion = 2;
inline constexpr std::uint32_t kMagic = 0x4152494d;  // "MIRA"
inline constexpr std::size_t kLengthBytes = 4;
// A peer that has not yet said hello may send only this much in one frame.
inline constexpr std::uint32_t kMaxHelloFrame = 4096;

enum class Type : std::uint8_t {
  kHello = 1,     // daemon -> dispatcher, first frame: who the daemon is (Hello)
  kWelcome = 2,   // dispatcher -> daemon: accepted, with the daemon's instance number
  kTask = 3,      // dispatcher -> daemon: u64 id, task
  kResult = 4,    // daemon -> dispatcher: u64 id, u8 flags, result
  kCancel = 5,    // dispatcher -> daemon: u64 id; stop that task, queued or running
  kExitAck = 6,   // dispatcher -> daemon: final result received, you may exit
  kRecall = 7,    // dispatcher -> daemon: u64 id; give back a prefetched task not yet started
  kRecalled = 8,  // daemon -> dispatcher: u64 id, u8 given back (1) or already started (0)
  kExit = 9,      // dispatcher -> daemon: exit now, even without autoexit
  // A client of a standalone dispatcher (`mirai dispatcher`) on its control URL. After the
  // hello and welcome, the client sends kTask (with ids of its own choosing) and kCancel; the
  // dispatcher answers with kResult carrying the client's ids.
  kClientHello = 10,    // client -> dispatcher, first frame (ClientHello)
  kStatusRequest = 11,  // client -> dispatcher: u64 request id
  kStatusReply = 12,    // dispatcher -> client: u64 request id, ProfileStatus
  // Authentication, between a daemon's hello and its welcome (core/auth.hpp).
  kChallenge = 13,  // dispatcher -> daemon: Challenge (its nonce and its proof)
  kProof = 14,      // daemon -> dispatcher: string proof
  // The pool's secret, for a client that launches daemons (mirai launch --dispatcher).
  kSecretRequest = 15,  // client -> dispatcher: u64 request id
  kSecretReply = 16,    // dispatcher -> client: u64 request id, string secret
  // everywhere(): copies of one task, each for a different daemon, queued as one unit.
  kEverywhere = 17,  // client -> dispatcher: u32 n, n x u64 client id, then a kTask frame
  // daemon -> dispatcher, empty: stopped by a signal, it leaves; its running task is not at
  // fault and goes back to the queue without costing a retry.
  kLeaving = 18,
  // daemon -> dispatcher -> client: what a task that streams its output (kTaskStreamOutput)
  // wrote, as it comes: u64 id, u8 stream (1 stdout, 2 stderr), string bytes. All of it comes
  // before the task's result, which then holds none of it.
  kOutput = 19,
};

// Flags on a result frame.
inline constexpr std::uint8_t kResultFinal = 1;  // the daemon exits after this (limit reached)
// Flags on a task frame.
// everywhere(): what a shell task leaves behind (its environment variables and working
// directory, when it succeeds) stays for the daemon's later tasks.
inline constexpr std::uint8_t kTaskEverywhere = 1;
// Send the task's output in kOutput frames as it is written, not in the result.
inline constexpr std::uint8_t kTaskStreamOutput = 2;
// For the dispatcher (daemons ignore it): a failed attempt (an error, a command's non-zero
// exit, a timeout) also runs the task again under its retries, on another daemon.
inline constexpr std::uint8_t kTaskRerunFailures = 4;
inline constexpr std::uint8_t kTaskFlags = kTaskEverywhere | kTaskStreamOutput | kTaskRerunFailures;

struct Hello {
  std::uint16_t version = kVersion;
  std::uint32_t pid = 0;
  std::string host;
  std::string job_id;  // launcher job id, when known
  std::uint32_t array_index = 0;
  std::uint32_t maxtasks = 0;  // 0: no limit; the dispatcher never sends more than this
  // How long the daemon takes tasks from now (its job's allocation ends soon after); 0: no end
  // known. The dispatcher sends it no task that declares a longer expected duration.
  std::uint32_t time_left_ms = 0;
  std::uint32_t heartbeat_ms = 0;  // the daemon's heartbeat interval; 0: none (heartbeat_for)
  bool seal = false;               // the daemon's link is exposed: frames after the proof sealed
  std::string nonce;               // auth::kNonceBytes fresh random bytes
};

struct Challenge {
  std::string nonce;  // the dispatcher's, auth::kNonceBytes
  // Frames after the handshake are sealed (core/seal.hpp): the hello asked for it, or the
  // dispatcher's side of the connection is exposed.
  bool seal = false;
  std::string proof;  // auth::proof(secret, kDispatcherRole, hello frame, this nonce, seal)
};

struct ClientHello {
  std::uint16_t version = kVersion;
  std::uint32_t pid = 0;
  std::uint32_t heartbeat_ms = 0;  // as in Hello
};

struct Welcome {
  std::uint16_t version = kVersion;
  std::uint32_t instance = 0;
  std::uint32_t heartbeat_ms = 0;   // the dispatcher's heartbeat interval; 0: none
  std::optional<RngStream> stream;  // the daemon's own stream, for tasks that carry none
};

struct ResultFrame {
  std::uint64_t id = 0;
  std::uint8_t flags = 0;
  Result result;
};

// The heartbeat interval of a connection whose hello said `ours` (or `theirs`) and whose welcome
// said the other: the shorter, and none when either side has none. Both peers compute it.
inline std::chrono::milliseconds heartbeat_for(std::uint32_t ours, std::uint32_t theirs) {
  return std::chrono::milliseconds(ours == 0 || theirs == 0 ? 0 : std::min(ours, theirs));
}

// Encoders return a frame: the type byte, then the body.
std::string encode_hello(const Hello& h);
std::string encode_welcome(const Welcome& w);
// The frame carries task.retries (0 when unset: the profile fills it in first).
std::string encode_task(std::uint64_t id, const Task& task, std::uint8_t flags = 0);
std::string encode_result(std::uint64_t id, std::uint8_t flags, const Result& r);
// A result frame carrying only an error value (5, 7, 19, 20).
std::string encode_error_value(std::uint64_t id, ErrorValue v);
// A frame in two parts that are sent back to back (Connection::send(head, tail)): a large
// result value goes out as it is, without being copied into the frame. `tail` may be empty.
struct SplitFrame {
  std::string head, tail;
};
SplitFrame encode_result_parts(std::uint64_t id, std::uint8_t flags, Result&& r);
std::string encode_id(Type type, std::uint64_t id);  // kCancel, kRecall
std::string encode_recalled(std::uint64_t id, bool given_back);
std::string encode_output(std::uint64_t id, std::uint8_t stream, std::string_view bytes);
std::string encode_empty(Type type);  // kExitAck, kExit
std::string encode_client_hello(const ClientHello& h);
std::string encode_status_reply(std::uint64_t request, const ProfileStatus& s);
std::string encode_challenge(const Challenge& c);
std::string encode_proof(const std::string& proof);
std::string encode_secret_reply(std::uint64_t request, const std::string& secret);
// `task_frame` is an encoded kTask frame (its id is ignored).
std::string encode_everywhere(const std::vector<std::uint64_t>& ids, std::string_view task_frame);

// A frame split into its type and body.
struct FrameView {
  Type type;
  std::string_view body;
};
std::optional<FrameView> view_frame(std::string_view frame);

// Decoders return nullopt for malformed input (never throw, never abort).
std::optional<Hello> decode_hello(std::string_view body);
std::optional<Welcome> decode_welcome(std::string_view body);
// decode_task and decode_result take the whole frame, type byte included, and move a large
// payload or value out of it rather than copy it.
std::optional<Task> decode_task(std::string frame, std::uint64_t* id,
                                std::uint8_t* flags = nullptr);
// The same for a frame that arrived split (Connection's on_split): `head` ends with the length
// of the last field (the payload, or a command's stdin), which is `tail`. An empty tail: `head`
// is the whole frame (a split frame's tail never is empty).
std::optional<Task> decode_task(std::string head, std::string tail, std::uint64_t* id,
                                std::uint8_t* flags = nullptr);
// Whether decode_task would accept `frame`, checked without copying anything.
bool valid_task(std::string_view frame);
std::optional<ResultFrame> decode_result(std::string frame);
// Split, the value is `tail` (empty: `head` is the whole frame), as decode_task's.
std::optional<ResultFrame> decode_result(std::string head, std::string tail);
// Where the last field of a task or result frame of `length` bytes starts, from the frame's
// first bytes (`prefix`): the size of the head that on_split is given (the tail is the rest).
// nullopt: the prefix is too short to say; 0: not a frame that is split.
std::optional<std::size_t> tail_at(std::string_view prefix, std::size_t length);
std::optional<std::uint64_t> decode_id(std::string_view body);
std::optional<std::pair<std::uint64_t, bool>> decode_recalled(std::string_view body);
struct Output {
  std::uint64_t id;
  std::uint8_t stream;  // 1 stdout, 2 stderr
  std::string_view bytes;
};
// A kOutput body; `bytes` points into it.
std::optional<Output> decode_output(std::string_view body);
std::optional<ClientHello> decode_client_hello(std::string_view body);
std::optional<std::pair<std::uint64_t, ProfileStatus>> decode_status_reply(std::string_view body);
std::optional<Challenge> decode_challenge(std::string_view body);
std::optional<std::string> decode_proof(std::string_view body);
std::optional<std::pair<std::uint64_t, std::string>> decode_secret_reply(std::string_view body);
// A kEverywhere body: the client's ids (at least one, no repeats) and the task frame, which
// valid_task accepts.
struct Everywhere {
  std::vector<std::uint64_t> ids;
  std::string task_frame;
};
std::optional<Everywhere> decode_everywhere(std::string_view body);

// The fixed fields at the start of a kResult frame, read without decoding the payloads.
struct ResultHeader {
  std::uint64_t id;
  std::uint8_t flags;
  Result::Kind kind;
  std::uint64_t wall_us;
};
std::optional<ResultHeader> peek_result(std::string_view frame);

// The id of a task or result frame, read in place, and rewritten in place (the standalone
// dispatcher maps client ids to its own).
std::optional<std::uint64_t> peek_id(std::string_view frame);
// The flags, the retries, the expected duration and the timeout of a task frame that
// valid_task accepts.
std::uint8_t peek_task_flags(std::string_view frame);
// Whether a task frame runs a command (a shell task), not a function; false for anything else.
bool peek_command(std::string_view frame);
std::uint8_t peek_retries(std::string_view frame);
std::chrono::milliseconds peek_expected(std::string_view frame);
std::chrono::milliseconds peek_timeout(std::string_view frame);
void patch_retries(std::string& frame, std::uint8_t retries);
void patch_id(std::string& frame, std::uint64_t id);

}  // namespace mirai::proto
