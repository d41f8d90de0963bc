// Durations as users write them: "300ms", "5s", "2m", "1h", "1h30m", "1.5s"; "0" is zero.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "mirai/status.hpp"

namespace mirai {

Expected<std::chrono::milliseconds> parse_duration(std::string_view text);
// The shortest exact spelling of `d` that parse_duration reads back ("1500ms", "2m", "0").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace mirai
