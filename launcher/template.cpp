#include "launcher/template.hpp"

#include <sstream>
#include <vector>

#include "launcher/diagnostics.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

struct Placeholder {
  std::size_t begin, end;  // the whole {{ ... }} in the line
  std::string name;
  bool has_default = false;
  std::string fallback;
};

bool is_directive_line(const std::string& line) {
  std::string t = trim(line);
  return !t.empty() && t[0] == '#' && t.rfind("#!", 0) != 0;
}

}  // namespace

Expected<std::string> render_template(const std::string& text, const std::string& name,
                                      const std::set<std::string>& known,
                                      const TemplateValues& values) {
  Diagnostics d(name);
  std::vector<std::string> known_list(known.begin(), known.end());
  std::string out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::vector<Placeholder> found;
    bool broken = false;
    for (std::size_t pos = 0;;) {
      auto open = line.find("{{", pos);
      if (open == std::string::npos) break;
      auto close = line.find("}}", open + 2);
      if (close == std::string::npos) {
        d.error(number, static_cast<int>(open) + 1, "'{{' without a closing '}}'");
        broken = true;
        break;
      }
      Placeholder p{open, close + 2, "", false, ""};
      std::string inner = line.substr(open + 2, close - open - 2);
      if (auto bar = inner.find('|'); bar != std::string::npos) {
        p.has_default = true;
        p.fallback = trim(inner.substr(bar + 1));
        inner = inner.substr(0, bar);
      }
      p.name = trim(inner);
      if (!known.count(p.name)) {
        std::string near = nearest(p.name, known_list);
        d.error(number, static_cast<int>(open) + 1, "unknown placeholder '" + p.name + "'",
                near.empty() ? "" : "did you mean '" + near + "'?");
        broken = true;
      }
      found.push_back(p);
      pos = close + 2;
    }
    if (broken) continue;
    if (found.empty()) {
      out += line + "\n";
      continue;
    }
    std::size_t unset = 0;
    for (const auto& p : found)
      if (!values.count(p.name) && !p.has_default) ++unset;
    if (unset == found.size()) continue;  // every placeholder unset: drop the line
    if (unset > 0) {
      for (const auto& p : found)
        if (!values.count(p.name) && !p.has_default)
          d.error(number, static_cast<int>(p.begin) + 1,
                  "'" + p.name + "' has no value here, while other placeholders on this line do",
                  "give it a default: {{ " + p.name + " | value }}");
      continue;
    }
    const bool directive = is_directive_line(line);
    std::string rendered;
    std::size_t last = 0;
    bool ok = true;
    for (const auto& p : found) {
      rendered += line.substr(last, p.begin - last);
      last = p.end;
      auto v = values.find(p.name);
      if (v == values.end()) {  // the template's own default, as written
        rendered += p.fallback;
        continue;
      }
      if (v->second.block) {
        if (found.size() != 1 || !trim(line.substr(0, p.begin)).empty() ||
            !trim(line.substr(p.end)).empty()) {
          d.error(number, static_cast<int>(p.begin) + 1,
                  "'" + p.name + "' is a block of lines and must stand alone on its line");
          ok = false;
          break;
        }
        rendered = v->second.text;
        last = line.size();
        if (!rendered.empty() && rendered.back() == '\n') rendered.pop_back();
        break;
      }
      if (directive) {
        auto problem = v->second.checked ? "" : directive_problem(v->second.text);
        if (!problem.empty()) {
          d.error(number, static_cast<int>(p.begin) + 1,
                  "the value of '" + p.name + "' ('" + v->second.text +
                      "') cannot go into a directive line: " + problem);
          ok = false;
          break;
        }
        rendered += v->second.text;
      } else {
        rendered += shell_quote(v->second.text);
      }
    }
    if (!ok) continue;
    rendered += line.substr(std::min(last, line.size()));
    if (rendered.empty() && found.size() == 1 && values.count(found[0].name) &&
        values.at(found[0].name).block)
      continue;  // an empty block
    out += rendered + "\n";
  }
  if (!d.empty()) {
    std::string s = d.summary();
    s.pop_back();
    return Status::error(s);
  }
  return out;
}

}  // namespace mirai::launcher
