#include "schedulers/lsf/lsf.hpp"

#include <sstream>

#include "launcher/command.hpp"
#include "launcher/registry.hpp"

namespace mirai::launcher::lsf {

namespace {

constexpr int kDefaultMaxJobArraySize = 1000;  // LSF's MAX_JOB_ARRAY_SIZE unless the site sets it

// What bjobs and bkill say about jobs that already left.
const std::vector<std::string> kGone = {"is not found", "No matching job found",
                                        "Job has already finished"};

const std::vector<ResourceKey>& keys() {
  using T = ResourceType;
  static const std::vector<ResourceKey> k = {{"queue", T::kName},    {"project", T::kName},
                                             {"time", T::kTime},     {"mem", T::kSize},
                                             {"cpus", T::kCount},    {"gpus", T::kCount},
                                             {"job_name", T::kName}, {"max_array_size", T::kCount}};
  return k;
}

class Lsf : public Backend {
 public:
  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    std::set<std::string> known = common_placeholders();
    for (const auto& k : keys()) known.insert(k.name);
    known.insert("job_array");
    return render_arrays(spec, "lsf", "#BSUB", known,
                         [&](int first, int last) { return script_values(spec, first, last); },
                         {"bsub"});
  }

  Expected<Submitted> submit(const Submission& s) override { return submit_script(s, parse_bsub); }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    std::vector<std::string> argv = {"bjobs", "-a", "-noheader", "-o",
                                     "jobid stat exit_code jobindex delimiter='|'"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    auto out = run_unless_gone(argv, kGone);
    if (!out) return out.status();
    std::vector<JobStatus> result = parse_bjobs(out->out);
    for (const auto& id : ids) {
      bool seen = false;
      for (const auto& r : result) seen = seen || r.id == id || r.id.rfind(id + "[", 0) == 0;
      if (!seen) result.push_back({id, JobState::kFinished, "no longer known to bjobs"});
    }
    return result;
  }

  Status cancel(const std::vector<std::string>& ids) override {
    return cancel_jobs("bkill", ids, kGone);
  }
  std::vector<std::vector<std::string>> cancel_commands(
      const std::vector<std::string>& ids) const override {
    return {plus_ids({"bkill"}, ids)};
  }

  // LSF caps the array index itself (at most MAX_JOB_ARRAY_SIZE), one above Slurm's rule.
  int max_array_size(const ProfileConfig& profile) override {
    auto it = profile.resources.find("max_array_size");
    int cap = it != profile.resources.end() ? static_cast<int>(it->second.amount)
                                            : kDefaultMaxJobArraySize;
    return cap + 1;
  }

  // LSF's array elements are "77[4]" for job "77".
  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    if (Backend::element_range(job, id, first, last)) return true;
    if (!element_between(id, job + "[", "]", first)) return false;
    last = first;
    return true;
  }
};

}  // namespace

std::unique_ptr<Backend> make() { return std::make_unique<Lsf>(); }

namespace {

// Registered by name before main(); nothing outside this directory names it.
const bool kRegistered = register_backend([] {
  BackendKind k;
  k.name = "lsf";
  k.keys = keys();
  k.make = [](const ProfileConfig&) { return make(); };
  return k;
}());

}  // namespace

Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last) {
  TemplateValues v = common_values(spec, "#BSUB", first, last);
  v["job_array"] = {v["job_name"].text + "[" + v["array"].text + "]"};
  for (const auto& [key, value] : spec.profile.resources) {
    if (key == "max_array_size" || key == "job_name") continue;
    if (key == "time") {  // -W takes [hours:]minutes; round up to whole minutes
      long long minutes = (value.amount + 59) / 60;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%lld:%02lld", minutes / 60, minutes % 60);
      v[key] = {buf};
    } else if (key == "mem") {
      v[key] = {value.text + "MB"};
    } else {
      v[key] = {value.text};
    }
  }
  return v;
}

Expected<std::string> parse_bsub(const std::string& out) {
  auto lines = lines_of(out);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->rfind("Job <", 0) != 0) continue;
    auto close = it->find('>');
    std::string id = it->substr(5, close == std::string::npos ? 0 : close - 5);
    if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) return id;
  }
  return Status::error(out.empty() ? "it printed nothing" : "it printed: " + out);
}

JobState state_of(const std::string& s) {
  if (s == "PEND" || s == "PSUSP" || s == "USUSP" || s == "SSUSP" || s == "WAIT")
    return JobState::kPending;
  if (s == "RUN" || s == "PROV") return JobState::kRunning;
  if (s == "DONE") return JobState::kFinished;
  if (s == "EXIT") return JobState::kFailed;
  if (s == "ZOMBI") return JobState::kStopping;
  return JobState::kUnknown;
}

std::vector<JobStatus> parse_bjobs(const std::string& out) {
  std::vector<JobStatus> result;
  for (const auto& line : lines_of(out)) {
    std::vector<std::string> f;
    std::istringstream in(line);
    for (std::string part; std::getline(in, part, '|');) f.push_back(part);
    if (f.size() < 4 || f[0].empty() || f[0].find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string id = f[3] == "0" || f[3] == "-" ? f[0] : f[0] + "[" + f[3] + "]";
    std::string detail = f[1] + (f[2].empty() || f[2] == "-" ? "" : " exit " + f[2]);
    result.push_back({id, state_of(f[1]), detail});
  }
  return result;
}

}  // namespace mirai::launcher::lsf
