// How results are shown: exit statuses, one-line failure texts, JSON objects.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "mirai/result.hpp"

namespace mirai::cli {

// The exit status a shell would report for this result: the command's own, 128+N for signal
// N, 127 when it could not be started, 124 for a timeout, 125 for other failures.
int exit_status(const Result& r);

// "exit status 2", "timed out after 5s", "interrupted", ...
std::string failure_text(const Result& r, std::chrono::milliseconds timeout);

// {"status": "value"|"error"|"interrupt"|"error_value", "exit_code", "signal",
//  "error_value", "message", "stdout", "stderr", "seconds"}
nlohmann::json result_json(const Result& r);

// JSON text, with bytes that are not UTF-8 replaced rather than failing.
std::string dump(const nlohmann::json& j);

}  // namespace mirai::cli
