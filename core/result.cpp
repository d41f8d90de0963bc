#include "mirai/result.hpp"

#include <utility>

namespace mirai {

const char* error_value_text(int code) {
  switch (code) {
    case 5:
      return "Timed out";
    case 7:
      return "Object closed";
    case 19:
      return "Connection reset";
    case 20:
      return "Operation canceled";
    default:
      return "Unknown error";
  }
}

const char* cause_text(Cause cause) {
  switch (cause) {
    case Cause::kNone:
      return "none";
    case Cause::kCrashed:
      return "crashed";
    case Cause::kLost:
      return "lost";
    case Cause::kClosed:
      return "closed";
    case Cause::kCancelled:
      return "cancelled";
    case Cause::kTimedOut:
      return "timed out";
    case Cause::kRefused:
      return "refused";
    case Cause::kDisconnected:
      return "disconnected";
  }
  return "?";
}

namespace {

// Each error value and its usual cause; the causes not here (lost, refused, disconnected) are
// 19s too.
constexpr std::pair<ErrorValue, Cause> kUsual[] = {{ErrorValue::kTimedOut, Cause::kTimedOut},
                                                   {ErrorValue::kClosed, Cause::kClosed},
                                                   {ErrorValue::kCanceled, Cause::kCancelled},
                                                   {ErrorValue::kConnectionReset, Cause::kCrashed}};

Cause usual_cause(ErrorValue v) {
  for (auto [value, cause] : kUsual)
    if (value == v) return cause;
  return Cause::kNone;
}

ErrorValue error_value_of(Cause c) {
  for (auto [value, cause] : kUsual)
    if (cause == c) return value;
  return ErrorValue::kConnectionReset;
}

}  // namespace

Result Result::error_value_result(ErrorValue v) {
  Result r;
  r.kind = Kind::kErrorValue;
  r.error_value = v;
  r.cause = usual_cause(v);
  r.message = error_value_text(static_cast<int>(v));
  return r;
}

Result Result::failure(Cause cause, std::string message) {
  Result r = error_value_result(error_value_of(cause));
  r.cause = cause;
  if (!message.empty()) r.message = std::move(message);
  return r;
}

std::string Result::stderr_tail(std::size_t max_bytes) const {
  if (stderr_output.size() <= max_bytes) return stderr_output;
  std::size_t start = stderr_output.size() - max_bytes;
  std::size_t nl = stderr_output.find('\n', start);
  if (nl != std::string::npos && nl + 1 < stderr_output.size()) start = nl + 1;
  return stderr_output.substr(start);
}

std::string Result::describe() const {
  switch (kind) {
    case Kind::kValue:
      return "value";
    case Kind::kError:
      return "error (" + type + "): " + message;
    case Kind::kInterrupt:
      return "interrupted";
    case Kind::kErrorValue:
      return "error value " + std::to_string(code()) + " (" + error_value_text(code()) + ")" +
             (message.empty() || message == error_value_text(code()) ? "" : ": " + message);
  }
  return "?";
}

}  // namespace mirai
