#include "schedulers/sge/sge.hpp"

#include <cctype>
#include <sstream>

#include "launcher/command.hpp"
#include "launcher/registry.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher::sge {

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The text of the first <tag>...</tag> inside `block`, or "".
std::string element(const std::string& block, const std::string& tag) {
  auto open = block.find("<" + tag + ">");
  if (open == std::string::npos) return "";
  open += tag.size() + 2;
  auto close = block.find("</" + tag + ">", open);
  return close == std::string::npos ? "" : block.substr(open, close - open);
}

// The job number of a task id ("12.3" -> "12").
std::string job_of(const std::string& id) { return id.substr(0, id.find('.')); }

const std::vector<ResourceKey>& keys() {
  using T = ResourceType;
  static const std::vector<ResourceKey> k = {{"queue", T::kName},    {"project", T::kName},
                                             {"time", T::kTime},     {"mem", T::kSize},
                                             {"pe", T::kName},       {"slots", T::kCount},
                                             {"job_name", T::kName}, {"max_array_size", T::kCount}};
  return k;
}

// Why `log` cannot be an SGE `log:` path, or "": one word that is safe in a directive line,
// which may hold SGE's own $JOB_ID, $TASK_ID, $JOB_NAME, $HOSTNAME, $USER and $HOME (SGE expands
// them; no shell reads the line).
std::string log_problem(const std::string& log) {
  std::string rest;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i] != '$') {
      rest += log[i];
      continue;
    }
    bool known = false;
    for (const std::string var : {"JOB_ID", "TASK_ID", "JOB_NAME", "HOSTNAME", "USER", "HOME"}) {
      if (log.compare(i + 1, var.size(), var) == 0) {
        i += var.size();
        known = true;
        break;
      }
    }
    if (!known)
      return "'$' may only start one of SGE's $JOB_ID, $TASK_ID, $JOB_NAME, $HOSTNAME, $USER "
             "or $HOME";
    rest += '_';
  }
  return directive_problem(rest);
}

class Sge : public Backend {
 public:
  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    std::set<std::string> known = common_placeholders();
    for (const auto& k : keys()) known.insert(k.name);
    return render_arrays(spec, "sge", "#$", known,
                         [&](int first, int last) { return script_values(spec, first, last); },
                         {"qsub", "-terse"});
  }

  Expected<Submitted> submit(const Submission& s) override { return submit_script(s, parse_qsub); }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    std::vector<std::string> argv = {"qstat", "-xml", "-g", "d"};
    auto out = run_checked(argv, "", kSchedulerCommandTimeout);
    if (!out) return out.status();
    std::vector<JobStatus> result;
    std::set<std::string> wanted(ids.begin(), ids.end()), seen;
    for (auto& s : parse_qstat_xml(out->out)) {
      std::string job = job_of(s.id);
      if (!wanted.count(job)) continue;
      seen.insert(job);
      if (s.state == JobState::kFailed) {  // Eqw: say why, as `qstat -j` tells it
        auto why = run_command({"qstat", "-j", job}, "", kSchedulerCommandTimeout);
        if (why && why->exit_code == 0) {
          std::string reason = parse_error_reason(why->out);
          if (!reason.empty()) s.detail += ": " + reason;
        }
      }
      result.push_back(std::move(s));
    }
    // Jobs that left the queue: qacct knows how each task ended once accounting is written.
    for (const auto& id : ids) {
      if (seen.count(id)) continue;
      auto acct = run_command({"qacct", "-j", id}, "", kSchedulerCommandTimeout);
      std::vector<JobStatus> ended;
      if (acct && acct->exit_code == 0) ended = parse_qacct(acct->out);
      if (ended.empty()) result.push_back({id, JobState::kFinished, "no longer in the queue"});
      for (auto& e : ended) result.push_back(std::move(e));
    }
    return result;
  }

  std::vector<std::vector<std::string>> cancel_commands(
      const std::vector<std::string>& ids) const override {
    return {plus_ids({"qdel"}, ids)};
  }

  Status cancel(const std::vector<std::string>& ids) override {
    if (ids.empty()) return Status();
    std::vector<std::string> argv = plus_ids({"qdel"}, ids);
    auto out = run_command(argv, "", kSchedulerCommandTimeout);
    if (!out) return out.status();
    if (out->exit_code == 0) return Status();
    // `denied: job "12" does not exist` only means it ended already.
    for (const auto& line : lines_of(out->out + "\n" + out->err))
      if (line.rfind("denied:", 0) == 0 && line.find("does not exist") == std::string::npos)
        return Status::error(describe_failure(argv, *out));
    return Status();
  }

  int max_array_size(const ProfileConfig& profile) override {
    if (auto it = profile.resources.find("max_array_size"); it != profile.resources.end())
      return static_cast<int>(it->second.amount);
    auto out = run_command({"qconf", "-sconf"}, "", kSchedulerCommandTimeout);
    if (!out || out->exit_code != 0) return 0;
    int tasks = parse_max_aj_tasks(out->out);
    return tasks > 0 ? tasks + 1 : 0;  // a cap on the count: indices 1..max_aj_tasks
  }

  // SGE's elements are "3.4" for job "3", and a range of pending ones "3.1-5:1".
  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    if (Backend::element_range(job, id, first, last)) return true;
    if (id.size() <= job.size() + 1 || id.compare(0, job.size(), job) != 0 || id[job.size()] != '.')
      return false;
    std::string rest = id.substr(job.size() + 1);
    auto dash = rest.find('-');
    if (dash == std::string::npos) {
      if (!parse_index(rest, first)) return false;
      last = first;
      return true;
    }
    auto colon = rest.find(':', dash);
    return parse_index(rest.substr(0, dash), first) &&
           parse_index(rest.substr(dash + 1, colon == std::string::npos ? std::string::npos
                                                                        : colon - dash - 1),
                       last) &&
           first <= last;
  }
};

}  // namespace

std::unique_ptr<Backend> make() { return std::make_unique<Sge>(); }

namespace {

// Registered by name before main(); nothing outside this directory names it.
const bool kRegistered = register_backend([] {
  BackendKind k;
  k.name = "sge";
  k.keys = keys();
  k.log_problem = log_problem;
  k.make = [](const ProfileConfig&) { return make(); };
  return k;
}());

}  // namespace

Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last) {
  TemplateValues v = common_values(spec, "#$", first, last);
  const auto& r = spec.profile.resources;
  for (const auto& [key, value] : r) {
    if (key == "max_array_size" || key == "job_name") continue;
    if (key == "time")
      v[key] = {format_hms(value.amount)};
    else if (key == "mem")
      v[key] = {value.text + "M"};
    else
      v[key] = {value.text};
  }
  if (r.count("slots") && !r.count("pe"))
    return Status::error("profile '" + spec.profile.name +
                         "': sge 'slots' needs 'pe', the parallel environment that grants them "
                         "(e.g. pe: smp)");
  if (r.count("pe") && !r.count("slots")) v["slots"] = {"1"};
  if (!spec.profile.log.empty()) {
    if (auto problem = log_problem(spec.profile.log); !problem.empty())
      return Status::error("profile '" + spec.profile.name + "': log '" + spec.profile.log +
                           "' cannot be an SGE output path: " + problem);
    v["log"] = {spec.profile.log, false, true};
  }
  return v;
}

Expected<std::string> parse_qsub(const std::string& out) {
  auto lines = lines_of(out);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string id = it->substr(0, it->find('.'));
    if (all_digits(id)) return id;
  }
  return Status::error(out.empty() ? "it printed nothing" : "it printed: " + out);
}

JobState state_of(const std::string& s) {
  if (s.find('E') != std::string::npos) return JobState::kFailed;  // Eqw: stuck in error
  if (s.find('d') != std::string::npos) return JobState::kStopping;
  if (s.find('r') != std::string::npos || s.find('t') != std::string::npos)
    return JobState::kRunning;
  if (s.find_first_of("qwhsST") != std::string::npos) return JobState::kPending;
  return JobState::kUnknown;
}

std::vector<JobStatus> parse_qstat_xml(const std::string& xml) {
  std::vector<JobStatus> result;
  for (std::size_t pos = 0;;) {
    auto open = xml.find("<job_list", pos);
    if (open == std::string::npos) break;
    auto close = xml.find("</job_list>", open);
    if (close == std::string::npos) break;
    std::string block = xml.substr(open, close - open);
    pos = close;
    std::string job = element(block, "JB_job_number");
    std::string state = element(block, "state");
    if (!all_digits(job) || state.empty()) continue;
    std::string tasks = element(block, "tasks");
    result.push_back({tasks.empty() ? job : job + "." + tasks, state_of(state), state});
  }
  return result;
}

std::string parse_error_reason(const std::string& out) {
  std::string reasons;
  for (const auto& line : lines_of(out)) {
    if (line.rfind("error reason", 0) != 0) continue;
    auto colon = line.find(':');  // "error reason    1:      11/23/2026 17:26:59 [0:1]: error: ..."
    std::string text = colon == std::string::npos ? line : line.substr(colon + 1);
    if (auto at = text.find("]: "); at != std::string::npos) text = text.substr(at + 3);
    auto b = text.find_first_not_of(' ');
    if (b != std::string::npos) reasons += (reasons.empty() ? "" : "; ") + text.substr(b);
  }
  return reasons;
}

std::vector<JobStatus> parse_qacct(const std::string& out) {
  std::vector<JobStatus> result;
  std::string job, task, failed, exit_status;
  auto flush = [&] {
    if (all_digits(job)) {
      std::string id = all_digits(task) ? job + "." + task : job;
      bool ok = (failed.empty() || failed == "0") && (exit_status.empty() || exit_status == "0");
      std::string detail = "exit_status " + (exit_status.empty() ? "?" : exit_status);
      if (!failed.empty() && failed != "0") detail += ", failed " + failed;
      result.push_back({id, ok ? JobState::kFinished : JobState::kFailed, detail});
    }
    job = task = failed = exit_status = "";
  };
  for (const auto& line : lines_of(out)) {
    if (line.rfind("=====", 0) == 0) {
      flush();
      continue;
    }
    std::istringstream words(line);
    std::string key, value;
    words >> key;
    std::getline(words, value);
    auto b = value.find_first_not_of(' ');
    value = b == std::string::npos ? "" : value.substr(b);
    if (key == "jobnumber") job = value;
    if (key == "taskid") task = value;
    if (key == "failed") failed = value;
    if (key == "exit_status") exit_status = value;
  }
  flush();
  return result;
}

int parse_max_aj_tasks(const std::string& out) {
  for (const auto& line : lines_of(out)) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "max_aj_tasks" && all_digits(value))
      return std::atoi(value.c_str());
  }
  return 0;
}

}  // namespace mirai::launcher::sge
