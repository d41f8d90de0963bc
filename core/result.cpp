#include "mirai/result.hpp"

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

Result Result::error_value_result(ErrorValue v) {
  Result r;
  r.kind = Kind::kErrorValue;
  r.error_value = v;
  r.message = error_value_text(static_cast<int>(v));
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
