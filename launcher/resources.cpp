#include "launcher/resources.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "launcher/shell.hpp"
#include "mirai/duration.hpp"

namespace mirai::launcher {

std::optional<long long> parse_size_mib(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return std::nullopt;
  char* end = nullptr;
  std::string number = text.substr(0, i);
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return std::nullopt;
  std::string unit = text.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.back() == 'B') unit.pop_back();
  if (unit.size() == 2 && unit.back() == 'I') unit.pop_back();
  double mib;
  if (unit.empty() || unit == "M")
    mib = value;
  else if (unit == "K")
    mib = value / 1024;
  else if (unit == "G")
    mib = value * 1024;
  else if (unit == "T")
    mib = value * 1024 * 1024;
  else
    return std::nullopt;
  if (!std::isfinite(mib) || mib < 1 || mib > 1e12) return std::nullopt;
  return static_cast<long long>(std::ceil(mib));
}

std::optional<long long> parse_time_seconds(const std::string& text) {
  if (text.find(':') == std::string::npos) {
    auto d = parse_duration(text);
    if (!d || d->count() < 1000) return std::nullopt;
    return (d->count() + 999) / 1000;
  }
  long long days = 0;
  std::string clock = text;
  if (auto dash = text.find('-'); dash != std::string::npos) {
    std::string d = text.substr(0, dash);
    if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos || d.size() > 4)
      return std::nullopt;
    days = std::atoll(d.c_str());
    clock = text.substr(dash + 1);
  }
  std::vector<long long> parts;
  std::stringstream ss(clock);
  std::string part;
  while (std::getline(ss, part, ':')) {
    if (part.empty() || part.size() > 4 ||
        part.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    parts.push_back(std::atoll(part.c_str()));
  }
  if (clock.back() == ':' || parts.size() < 2 || parts.size() > 3) return std::nullopt;
  if (parts.size() == 2) parts.insert(parts.begin(), 0);  // MM:SS
  if (parts[1] > 59 || parts[2] > 59) return std::nullopt;
  long long seconds = days * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2];
  if (seconds < 1) return std::nullopt;
  return seconds;
}

}  // namespace mirai::launcher
