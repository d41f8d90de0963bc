// Results: every mirai resolves to exactly one of a value, an evaluation error, an interrupt or
// an error value (mirai's codes, which are NNG's).
#pragma once

#include <cstdint>
#include <string>

namespace mirai {

// The error values a mirai can resolve to, with NNG's numbers as in the R package.
enum class ErrorValue : int {
  kNone = 0,
  kTimedOut = 5,          // the task's timeout elapsed
  kClosed = 7,            // the compute profile was reset while the task was pending
  kConnectionReset = 19,  // the daemon died or disconnected mid-task
  kCanceled = 20,         // stopped by the caller
};

// Text for an error value, as nng_strerror gives it ("Timed out", ...).
const char* error_value_text(int code);

// Why a task gave no value of its own: code to branch on, where the message is for people.
// Each error value has one cause or two (19 is kCrashed or kLost).
enum class Cause : std::uint8_t {
  kNone = 0,          // it ran: a value, an evaluation error or an interrupt (Result::Kind says)
  kCrashed = 1,       // its daemon died while running it, on every attempt its retries allow (19)
  kLost = 2,          // its daemon fell silent or was lost by its launcher (19)
  kClosed = 3,        // the profile or dispatcher was reset or stopped while it was pending (7)
  kCancelled = 4,     // stopped by the caller (20)
  kTimedOut = 5,      // its timeout elapsed (5)
  kRefused = 6,       // it could not be run at all: no such compute profile, or no daemon is left
                      // and none can be launched (19, or an evaluation error for no profile)
  kDisconnected = 7,  // the connection to the running dispatcher it went to ended (19)
};
inline constexpr std::uint8_t kMaxCause = static_cast<std::uint8_t>(Cause::kDisconnected);

// The cause's name in lower case, as `mirai map --jsonl` prints it: "crashed", "timed out", ...
const char* cause_text(Cause cause);

struct Result {
  enum class Kind : std::uint8_t {
    kValue = 0,      // the task succeeded
    kError = 1,      // evaluation error: mirai's miraiError
    kInterrupt = 2,  // interrupted on the daemon: mirai's miraiInterrupt
    kErrorValue = 3  // no result from the daemon: see ErrorValue
  };

  Kind kind = Kind::kValue;
  ErrorValue error_value = ErrorValue::kNone;  // set when kind == kErrorValue
  Cause cause = Cause::kNone;                  // why it gave no value of its own
  // For call tasks: the returned bytes. For shell tasks: the command's stdout (also on error).
  std::string value;
  // Shell tasks: the command's stderr (whole, not only the tail).
  std::string stderr_output;
  // Evaluation errors: what went wrong and what kind of failure it was: the exception type for
  // call tasks, "exit status N" or "signal N" for shell tasks.
  std::string message;
  std::string type;
  int exit_code = 0;          // shell tasks: the exit status, or -1 when killed by a signal
  int signal = 0;             // shell tasks: the signal that ended the command, else 0
  std::uint64_t wall_us = 0;  // time spent evaluating on the daemon

  bool ok() const { return kind == Kind::kValue; }
  // mirai's is_mirai_error(): an evaluation error.
  bool is_evaluation_error() const { return kind == Kind::kError; }
  // mirai's is_mirai_interrupt().
  bool is_interrupt() const { return kind == Kind::kInterrupt; }
  // mirai's is_error_value(): true for every failure, evaluation errors and interrupts included.
  bool is_error_value() const { return kind != Kind::kValue; }
  // The numeric code for kErrorValue results, else 0.
  int code() const { return static_cast<int>(error_value); }

  // The last `max_bytes` of stderr, starting at a line boundary where one is near.
  std::string stderr_tail(std::size_t max_bytes = 2000) const;
  // One line that says what happened: "value", "error: exit status 2: <message>", ...
  std::string describe() const;

  // An error value with its usual cause (5: kTimedOut, 7: kClosed, 20: kCancelled, 19:
  // kCrashed) and text.
  static Result error_value_result(ErrorValue v);
  // An error value for `cause` (kCrashed, kLost, kRefused and kDisconnected give 19), with
  // `message` (or the error value's text).
  static Result failure(Cause cause, std::string message = {});
};

}  // namespace mirai
