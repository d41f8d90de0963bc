#include "cli/report.hpp"

#include "cli/exit_codes.hpp"
#include "mirai/duration.hpp"

namespace mirai::cli {

int exit_status(const Result& r) {
  switch (r.kind) {
    case Result::Kind::kValue:
      return kExitOk;
    case Result::Kind::kError:
      if (r.signal > 0) return kExitSignalBase + r.signal;
      return r.exit_code > 0 ? r.exit_code : kExitCannotRun;
    case Result::Kind::kInterrupt:
      return kExitSignalBase + 2;  // SIGINT
    case Result::Kind::kErrorValue:
      return r.cause == Cause::kTimedOut ? kExitTimedOut : kExitCannotRun;
  }
  return kExitCannotRun;
}

std::string failure_text(const Result& r, std::chrono::milliseconds timeout) {
  if (r.cause == Cause::kTimedOut)
    return "timed out after " + format_duration(timeout) + " (error value 5)";
  if (r.kind == Result::Kind::kError) return r.type == "exec failed" ? r.message : r.type;
  return r.describe();
}

nlohmann::json result_json(const Result& r) {
  static const char* kinds[] = {"value", "error", "interrupt", "error_value"};
  nlohmann::json j;
  j["status"] = kinds[static_cast<int>(r.kind)];
  j["exit_code"] = r.kind == Result::Kind::kValue ? 0 : r.exit_code;
  j["signal"] = r.signal;
  j["error_value"] = r.code();
  j["cause"] = cause_text(r.cause);
  j["message"] = r.kind == Result::Kind::kValue ? "" : r.message;
  j["type"] = r.type;
  j["stdout"] = r.value;
  j["stderr"] = r.stderr_output;
  j["seconds"] = static_cast<double>(r.wall_us) / 1e6;
  return j;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mirai::cli
