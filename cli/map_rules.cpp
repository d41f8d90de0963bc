#include "cli/map_rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "cli/parallel_args.hpp"
#include "mirai/duration.hpp"

namespace mirai::cli {

Expected<Halt> parse_halt(const std::string& text) {
  using W = Halt::When;
  using Y = Halt::Why;
  if (text == "0" || text == "never") return Halt{};
  if (text == "1") return Halt{W::kSoon, Y::kFail, 1, false};
  if (text == "2") return Halt{W::kNow, Y::kFail, 1, false};
  if (text == "-1") return Halt{W::kSoon, Y::kSuccess, 1, false};
  if (text == "-2") return Halt{W::kNow, Y::kSuccess, 1, false};
  auto bad = [&] {
    return Status::error("--halt: '" + text +
                         "' is not a rule (write now|soon,fail|success|done=N or =N%, e.g. "
                         "now,fail=1)");
  };
  std::size_t comma = text.find(','), eq = text.find('=');
  if (comma == std::string::npos || eq == std::string::npos || eq < comma) return bad();
  Halt h;
  std::string when = text.substr(0, comma), why = text.substr(comma + 1, eq - comma - 1),
              n = text.substr(eq + 1);
  if (when == "now")
    h.when = W::kNow;
  else if (when == "soon")
    h.when = W::kSoon;
  else
    return bad();
  if (why == "fail")
    h.why = Y::kFail;
  else if (why == "success")
    h.why = Y::kSuccess;
  else if (why == "done")
    h.why = Y::kDone;
  else
    return bad();
  if (!n.empty() && n.back() == '%') {
    h.percent = true;
    n.pop_back();
  }
  char* end = nullptr;
  h.count = std::strtod(n.c_str(), &end);
  if (n.empty() || *end != '\0' || !(h.count > 0) || (h.percent && h.count > 100)) return bad();
  return h;
}

Expected<std::chrono::milliseconds> parse_timeout(const std::string& text, double& percent) {
  char* end = nullptr;
  if (!text.empty() && text.back() == '%') {
    percent = std::strtod(text.c_str(), &end);
    if (text.size() < 2 || end != text.c_str() + text.size() - 1 || !(percent > 0))
      return Status::error("--timeout: '" + text + "' must be more than 0%");
    return std::chrono::milliseconds(0);
  }
  double seconds = std::strtod(text.c_str(), &end);
  if (!text.empty() && *end == '\0') {
    if (!(seconds > 0) || seconds > 4e6)
      return Status::error("--timeout: '" + text + "' must be more than 0 seconds");
    return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
  }
  auto d = parse_duration(text);
  if (!d) return Status::error("--timeout: " + d.message());
  return *d;
}

std::pair<Args, Args> split_options(const Args& all, const po::options_description& options) {
  auto takes_value = [&](const std::string& name) {
    const po::option_description* o = options.find_nothrow(name, false);
    return o && o->semantic()->max_tokens() > 0;
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string& w = all[i];
    auto split = [&](std::size_t command) {
      return std::pair{Args(all.begin(), all.begin() + static_cast<long>(i)),
                       Args(all.begin() + static_cast<long>(command), all.end())};
    };
    if (w == "--") return split(i + 1);
    if (w.size() < 2 || w[0] != '-') return split(i);
    if (w[1] == '-') {
      if (w.find('=') == std::string::npos && takes_value(w.substr(2))) ++i;
      continue;
    }
    // Short options, grouped (-kq) or with their value attached (-j4).
    for (std::size_t k = 1; k < w.size(); ++k) {
      if (!takes_value(std::string("-") + w[k])) continue;
      if (k + 1 == w.size()) ++i;
      break;
    }
  }
  return {all, {}};
}

std::string job_shell() {
  if (const char* s = std::getenv("PARALLEL_SHELL"); s && *s) return s;
  if (const char* s = std::getenv("SHELL"); s && *s == '/') {
    std::string name = std::string(s).substr(std::string(s).rfind('/') + 1);
    for (const char* posix : {"sh", "bash", "dash", "ksh", "mksh", "zsh", "yash", "ash"})
      if (name == posix) return s;
  }
  return "/bin/sh";
}

Task task_for(const std::string& line, const std::string& shell) {
  if (auto words = parallel::simple_command(line)) return Task::shell(std::move(*words));
  return Task::shell({shell, "-c", line});
}

int one_a_task(std::size_t tasks) {
  return static_cast<int>(std::clamp<std::size_t>(tasks, 1, kMostDaemonsForJ0));
}

}  // namespace mirai::cli
