// Job-script templates: `{{ name }}` and `{{ name | default }}` placeholders, filled so that no
// value can run as shell code. Lines starting with '#' (directive lines such as `#SBATCH ...`)
// take only values that are one safe word (directive_problem); on other lines a value is
// shell-quoted. A line whose placeholders are all unset is dropped. Blocks (lines we build,
// such as the daemon command or `export` lines) stand alone on their line and go in verbatim.
#pragma once

#include <map>
#include <set>
#include <string>

#include "mirai/status.hpp"

namespace mirai::launcher {

struct TemplateValue {
  std::string text;
  bool block = false;  // lines built and quoted by us; "" drops the line
  // The backend has checked the value for directive lines itself (SGE's `$TASK_ID` in a log
  // path); on shell lines it is still quoted.
  bool checked = false;
};
using TemplateValues = std::map<std::string, TemplateValue>;

// Renders `text`, named `name` in messages. `known` are the placeholders the backend defines;
// any other is an error naming the line. All errors are reported together.
Expected<std::string> render_template(const std::string& text, const std::string& name,
                                      const std::set<std::string>& known,
                                      const TemplateValues& values);

}  // namespace mirai::launcher
