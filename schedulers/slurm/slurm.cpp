#include "schedulers/slurm/slurm.hpp"

#include <cctype>
#include <sstream>

#include "launcher/command.hpp"
#include "launcher/registry.hpp"

namespace mirai::launcher::slurm {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// Slurm's --time: minutes are its unit, so whole seconds become [D-]HH:MM:SS.
std::string slurm_time(long long seconds) {
  if (seconds >= 86400) return std::to_string(seconds / 86400) + "-" + format_hms(seconds % 86400);
  return format_hms(seconds);
}

const std::vector<ResourceKey>& keys() {
  using T = ResourceType;
  static const std::vector<ResourceKey> k = {
      {"partition", T::kName},   {"account", T::kName},
      {"qos", T::kName},         {"time", T::kTime},
      {"mem", T::kSize},         {"mem_per_cpu", T::kSize},
      {"mem_per_gpu", T::kSize}, {"cpus_per_task", T::kCount},
      {"gpus", T::kWord},        {"constraint", T::kWord},
      {"job_name", T::kName},    {"max_array_size", T::kCount}};
  return k;
}

class Slurm : public Backend {
 public:
  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    std::set<std::string> known = common_placeholders();
    for (const auto& k : keys()) known.insert(k.name);
    return render_arrays(spec, "slurm", "#SBATCH", known,
                         [&](int first, int last) { return script_values(spec, first, last); },
                         {"sbatch", "--parsable"});
  }

  Expected<Submitted> submit(const Submission& s) override {
    return submit_script(s, parse_sbatch);
  }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    std::vector<std::string> argv = {
        "squeue",       "--noheader",        "--array",
        "--states=all", "--format=%i|%T|%r", "--jobs=" + join(ids, ",")};
    auto out = run_command(argv, "", kSchedulerCommandTimeout);
    if (!out) return out.status();
    std::vector<JobStatus> result;
    if (out->exit_code == 0) {
      result = parse_squeue(out->out);
    } else if (out->err.find("Invalid job id") == std::string::npos) {
      return Status::error(describe_failure(argv, *out));
    }
    // Jobs that left the queue: sacct knows how they ended, when accounting is on.
    std::vector<std::string> gone;
    for (const auto& id : ids) {
      bool seen = false;
      for (const auto& r : result) seen = seen || r.id == id || r.id.rfind(id + "_", 0) == 0;
      if (!seen) gone.push_back(id);
    }
    if (gone.empty()) return result;
    std::vector<std::string> sacct = {
        "sacct", "-X", "-n", "-P", "-o", "JobID,State,ExitCode", "-j", join(gone, ",")};
    auto acct = run_command(sacct, "", kSchedulerCommandTimeout);
    std::vector<JobStatus> ended;
    if (acct && acct->exit_code == 0) ended = parse_sacct(acct->out);
    for (const auto& id : gone) {
      bool seen = false;
      for (const auto& r : ended)
        if (r.id == id || r.id.rfind(id + "_", 0) == 0) {
          result.push_back(r);
          seen = true;
        }
      if (!seen) result.push_back({id, JobState::kFinished, "no longer in the queue"});
    }
    return result;
  }

  Status cancel(const std::vector<std::string>& ids) override {
    return cancel_jobs("scancel", ids, {"Invalid job id"});
  }
  std::vector<std::vector<std::string>> cancel_commands(
      const std::vector<std::string>& ids) const override {
    return {plus_ids({"scancel"}, ids)};
  }

  int max_array_size(const ProfileConfig& profile) override {
    if (auto it = profile.resources.find("max_array_size"); it != profile.resources.end())
      return static_cast<int>(it->second.amount);
    auto out = run_command({"scontrol", "show", "config"}, "", kSchedulerCommandTimeout);
    if (!out || out->exit_code != 0) return 0;
    return parse_max_array_size(out->out);
  }

  // Slurm's array elements are "17_4" for job "17".
  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    if (Backend::element_range(job, id, first, last)) return true;
    if (!element_between(id, job + "_", "", first)) return false;
    last = first;
    return true;
  }
};

}  // namespace

std::unique_ptr<Backend> make() { return std::make_unique<Slurm>(); }

namespace {

// Registered by name before main(); nothing outside this directory names it.
const bool kRegistered = register_backend([] {
  BackendKind k;
  k.name = "slurm";
  k.keys = keys();
  k.exclusive = {{"mem", "mem_per_cpu", "mem_per_gpu"}};
  k.make = [](const ProfileConfig&) { return make(); };
  return k;
}());

}  // namespace

Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last) {
  TemplateValues v = common_values(spec, "#SBATCH", first, last);
  for (const auto& [key, value] : spec.profile.resources) {
    if (key == "max_array_size" || key == "job_name") continue;
    if (key == "time")
      v[key] = {slurm_time(value.amount)};
    else if (key == "mem" || key == "mem_per_cpu" || key == "mem_per_gpu")
      v[key] = {value.text + "M"};
    else
      v[key] = {value.text};
  }
  return v;
}

Expected<std::string> parse_sbatch(const std::string& out) {
  auto lines = lines_of(out);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string id = it->substr(0, it->find(';'));
    if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) return id;
  }
  return Status::error(out.empty() ? "it printed nothing" : "it printed: " + out);
}

JobState state_of(const std::string& s) {
  if (s == "PENDING" || s == "CONFIGURING" || s == "REQUEUED" || s == "REQUEUE_HOLD" ||
      s == "REQUEUE_FED" || s == "RESIZING" || s == "SUSPENDED" || s == "STOPPED")
    return JobState::kPending;
  if (s == "RUNNING" || s == "COMPLETING" || s == "SIGNALING" || s == "STAGE_OUT")
    return JobState::kRunning;
  if (s == "COMPLETED") return JobState::kFinished;
  if (s.rfind("CANCELLED", 0) == 0) return JobState::kCancelled;
  if (s == "FAILED" || s == "TIMEOUT" || s == "NODE_FAIL" || s == "OUT_OF_MEMORY" ||
      s == "BOOT_FAIL" || s == "DEADLINE" || s == "PREEMPTED" || s == "REVOKED")
    return JobState::kFailed;
  return JobState::kUnknown;
}

std::vector<JobStatus> parse_squeue(const std::string& out) {
  std::vector<JobStatus> result;
  for (const auto& line : lines_of(out)) {
    auto f = split(line, '|');
    if (f.size() < 2 || f[0].empty() || !std::isdigit(static_cast<unsigned char>(f[0][0])))
      continue;
    std::string detail = f[1];
    if (f.size() > 2 && !f[2].empty() && f[2] != "None") detail += " (" + f[2] + ")";
    result.push_back({f[0], state_of(f[1]), detail});
  }
  return result;
}

std::vector<JobStatus> parse_sacct(const std::string& out) {
  std::vector<JobStatus> result;
  for (const auto& line : lines_of(out)) {
    auto f = split(line, '|');
    if (f.size() < 3 || f[0].empty() || !std::isdigit(static_cast<unsigned char>(f[0][0])))
      continue;
    std::string state = f[1].substr(0, f[1].find(' '));  // "CANCELLED by 0"
    result.push_back({f[0], state_of(state), f[1] + " exit " + f[2]});
  }
  return result;
}

int parse_max_array_size(const std::string& out) {
  for (const auto& line : lines_of(out)) {
    if (line.rfind("MaxArraySize", 0) != 0) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    return std::atoi(line.c_str() + eq + 1);
  }
  return 0;
}

}  // namespace mirai::launcher::slurm
