#include "launcher/backend.hpp"

#include <climits>
#include <fstream>
#include <sstream>

#include "daemon/command_line.hpp"
#include "launcher/command.hpp"
#include "launcher/shell.hpp"
#include "mirai/duration.hpp"

namespace mirai::launcher {

const char* to_string(JobState s) {
  switch (s) {
    case JobState::kPending:
      return "pending";
    case JobState::kRunning:
      return "running";
    case JobState::kStopping:
      return "stopping";
    case JobState::kFinished:
      return "finished";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kUnknown:
      break;
  }
  return "unknown";
}

std::string daemon_command_line(const LaunchSpec& spec, const std::string& url) {
  DaemonCommand command;
  command.program = spec.command;
  command.url = url;
  command.limits = spec.profile.limits;
  // Daemons of a big array start at once; those turned away at first try again while their
  // launch may still succeed.
  command.join_timeout = spec.profile.launch_timeout;
  command.heartbeat = spec.profile.heartbeat;
  // The scheduler's time limit: the daemon takes no task it would not finish before then.
  if (auto t = spec.profile.resources.find("time"); t != spec.profile.resources.end())
    command.allocation = std::chrono::seconds(t->second.amount);
  return shell_join(daemon_argv(command));
}

std::string shown_command(const Submission& s, const std::string& script_name) {
  if (s.script.empty()) return shell_join(s.argv);
  if (!s.script_in_argv || s.argv.empty()) return shell_join(s.argv) + " < " + script_name;
  std::vector<std::string> rest(s.argv.begin(), s.argv.end() - 1);
  std::string last = s.argv.back(), quoted = shell_quote(s.script);
  if (last == s.script)
    last = "<" + script_name + ">";
  else if (last.size() >= quoted.size() &&
           last.compare(last.size() - quoted.size(), quoted.size(), quoted) == 0)
    last = last.substr(0, last.size() - quoted.size()) + "<" + script_name + ">";
  return shell_join(rest) + " " + last;
}

const std::set<std::string>& common_placeholders() {
  static const std::set<std::string> names = {"job_name",   "array",    "log",      "workdir",
                                              "env",        "prologue", "epilogue", "daemon",
                                              "directives", "first",    "last",     "workers"};
  return names;
}

TemplateValues common_values(const LaunchSpec& spec, const std::string& prefix, int first,
                             int last) {
  const ProfileConfig& p = spec.profile;
  TemplateValues v;
  auto name = p.resources.find("job_name");
  v["job_name"] = {name != p.resources.end() ? name->second.text : "mirai-" + p.name};
  v["array"] = {std::to_string(first) + "-" + std::to_string(last)};
  v["first"] = {std::to_string(first)};
  v["last"] = {std::to_string(last)};
  v["workers"] = {std::to_string(last - first + 1)};
  if (!p.log.empty()) v["log"] = {p.log};
  v["workdir"] = {spec.workdir};
  auto block = [](const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return TemplateValue{s, true};
  };
  std::vector<std::string> exports;
  for (const auto& [k, value] : p.env) exports.push_back("export " + k + "=" + shell_quote(value));
  if (!spec.tls_ca_pem.empty())
    exports.push_back("export MIRAI_TLS_CA=" + shell_quote(spec.tls_ca_pem));
  if (!spec.secret.empty()) exports.push_back("export MIRAI_SECRET=" + shell_quote(spec.secret));
  v["env"] = block(exports);
  v["prologue"] = block(p.prologue);
  v["epilogue"] = block(p.epilogue);
  v["daemon"] = {daemon_command_line(spec, spec.url), true};
  std::vector<std::string> directives;
  for (const auto& d : p.directives)
    directives.push_back(d.rfind(prefix, 0) == 0 ? d : prefix + " " + d);
  v["directives"] = block(directives);
  return v;
}

namespace {

// A directive line given in `directives:` must belong to this scheduler.
Status check_directives(const ProfileConfig& p, const std::string& prefix) {
  for (const auto& d : p.directives) {
    if (d.rfind(prefix + " ", 0) == 0 || d[0] == '-') continue;
    return Status::error("profile '" + p.name + "': directive '" + d +
                         "' must start with '-' (an " + p.launcher + " option) or with '" + prefix +
                         " '");
  }
  return Status();
}

}  // namespace

Expected<std::pair<std::string, std::string>> template_text(const ProfileConfig& profile,
                                                            const std::string& name) {
  if (profile.template_file.empty()) {
    const char* text = builtin_template(name);
    if (!text) return Status::error("no built-in template '" + name + "'");
    return std::make_pair(std::string("templates/") + name + ".sh", std::string(text));
  }
  std::ifstream in(profile.template_file);
  if (!in) return Status::error("cannot read the template " + profile.template_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::make_pair(profile.template_file, ss.str());
}

bool parse_index(const std::string& text, int& value) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  value = std::stoi(text);
  return true;
}

bool element_between(const std::string& id, const std::string& head, const std::string& tail,
                     int& index) {
  if (id.size() <= head.size() + tail.size() || id.compare(0, head.size(), head) != 0 ||
      id.compare(id.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  return parse_index(id.substr(head.size(), id.size() - head.size() - tail.size()), index);
}

bool Backend::element_range(const std::string& job, const std::string& id, int& first,
                            int& last) const {
  if (id != job) return false;
  first = 0;
  last = INT_MAX;
  return true;
}

std::vector<std::pair<int, int>> array_chunks(int n, int max_array_size) {
  std::vector<std::pair<int, int>> chunks;
  int per = max_array_size > 1 ? max_array_size - 1 : n;  // indices must stay below the cap
  for (int done = 0; done < n; done += per) chunks.emplace_back(1, std::min(per, n - done));
  return chunks;
}

Expected<std::vector<Submission>> render_arrays(
    const LaunchSpec& spec, const std::string& template_name, const std::string& prefix,
    const std::set<std::string>& known,
    const std::function<Expected<TemplateValues>(int, int)>& values,
    const std::vector<std::string>& submit_argv) {
  if (Status s = check_directives(spec.profile, prefix); !s) return s;
  auto text = template_text(spec.profile, template_name);
  if (!text) return text.status();
  std::vector<Submission> out;
  int offset = 0;
  for (auto [first, last] : array_chunks(spec.n, spec.max_array_size)) {
    auto v = values(first, last);
    if (!v) return v.status();
    auto script = render_template(text->second, text->first, known, *v);
    if (!script) return script.status();
    Submission s;
    s.script = std::move(*script);
    s.argv = submit_argv;
    s.first = offset + first;
    s.last = offset + last;
    offset += last;
    out.push_back(std::move(s));
  }
  return out;
}

Expected<Backend::Submitted> Backend::submit_script(
    const Submission& s,
    const std::function<Expected<std::string>(const std::string&)>& parse) const {
  auto out = run_checked(s.argv, s.script, kSchedulerCommandTimeout);
  if (!out) return out.status();
  auto id = parse(out->out);
  if (!id) return Status::error("`" + join(s.argv, " ") + "` printed no job id: " + id.message());
  return Backend::Submitted{{*id}, out->out + out->err};
}

std::vector<std::string> plus_ids(std::vector<std::string> command,
                                  const std::vector<std::string>& ids) {
  command.insert(command.end(), ids.begin(), ids.end());
  return command;
}

bool only_gone_jobs(const std::string& err, const std::vector<std::string>& gone) {
  for (const auto& line : lines_of(err)) {
    bool known = false;
    for (const auto& g : gone) known = known || line.find(g) != std::string::npos;
    if (!known) return false;
  }
  return true;
}

Expected<CommandOutput> Backend::run_unless_gone(const std::vector<std::string>& argv,
                                                 const std::vector<std::string>& gone) const {
  auto out = run_command(argv, "", kSchedulerCommandTimeout);
  if (!out) return out.status();
  if (out->exit_code != 0 && (gone.empty() || !only_gone_jobs(out->err, gone)))
    return Status::error(describe_failure(argv, *out));
  return out;
}

Status Backend::cancel_jobs(const std::string& command, const std::vector<std::string>& ids,
                            const std::vector<std::string>& gone) const {
  if (ids.empty()) return Status();
  auto out = run_unless_gone(plus_ids({command}, ids), gone);
  return out ? Status() : out.status();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (const auto& part : parts) s += (s.empty() ? "" : sep) + part;
  return s;
}

std::string format_hms(long long seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", seconds / 3600, seconds / 60 % 60,
                seconds % 60);
  return buf;
}

}  // namespace mirai::launcher
