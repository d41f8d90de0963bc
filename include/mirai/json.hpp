// JSON values as call task arguments and results (nlohmann::json): Codec<nlohmann::json>.
// Map::flat<nlohmann::json>() requires every value to be of one JSON type, as mirai's .flat
// requires one R type. Needs nlohmann_json (Debian: nlohmann-json3-dev).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "mirai/codec.hpp"

namespace mirai {

template <>
struct Codec<nlohmann::json> {
  static std::string encode(const nlohmann::json& j) { return j.dump(); }
  static nlohmann::json decode(std::string_view bytes) {
    nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
    if (j.is_discarded()) throw DecodeError(detail::excerpt(bytes) + " is not JSON");
    return j;
  }
  static std::string name() { return "JSON value"; }
  // "number", "string", "array", ... (integers and floating point are both "number").
  static std::string type_of(const nlohmann::json& j) { return j.type_name(); }
};

}  // namespace mirai
