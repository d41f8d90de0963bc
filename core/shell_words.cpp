#include "core/shell_words.hpp"

#include <cctype>
#include <string_view>

namespace mirai {

namespace {

bool shell_safe(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("_-+=./:,@%").find(c) != std::string_view::npos;
}

}  // namespace

std::string shell_quote(const std::string& value) {
  if (!value.empty()) {
    bool safe = true;
    for (char c : value) safe = safe && shell_safe(c);
    if (safe) return value;
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string shell_join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += shell_quote(w);
  }
  return out;
}

}  // namespace mirai
