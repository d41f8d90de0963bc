#include "launcher/shell.hpp"

#include <cctype>

namespace mirai::launcher {

std::string directive_problem(const std::string& value) {
  if (value.empty()) return "it is empty";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "it holds a control character (a newline?)";
    if (c == ' ') return "it holds a space";
    if (u >= 0x80) return "it holds a non-ASCII character";
    if (std::string_view("'\"\\$`").find(c) != std::string_view::npos)
      return std::string("it holds the character ") + c;
  }
  return "";
}

std::string name_problem(const std::string& value) {
  if (value.empty()) return "it is empty";
  if (value[0] == '-') return "it starts with '-'";
  for (char c : value)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("._-+@:,=%/").find(c) == std::string_view::npos)
      return std::string("it holds '") + c +
             "' (names may hold letters, digits and . _ - + @ : , = % /)";
  return "";
}

std::string env_name_problem(const std::string& name) {
  if (name.empty()) return "it is empty";
  if (std::isdigit(static_cast<unsigned char>(name[0]))) return "it starts with a digit";
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return std::string("it holds '") + c + "' (use letters, digits and _)";
  return "";
}

}  // namespace mirai::launcher
