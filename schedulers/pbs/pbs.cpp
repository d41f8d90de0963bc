#include "schedulers/pbs/pbs.hpp"

#include <map>
#include <sstream>

#include "launcher/command.hpp"
#include "launcher/registry.hpp"

namespace mirai::launcher::pbs {

namespace {

bool torque(const ProfileConfig& p) {
  auto it = p.resources.find("flavour");
  return it != p.resources.end() && it->second.text == "torque";
}

// The array a subjob belongs to: "12[3].server" -> "12[].server".
std::string array_of(const std::string& id) {
  auto open = id.find('['), close = id.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return id;
  return id.substr(0, open + 1) + id.substr(close);
}

// What qstat and qdel say about jobs that already left.
const std::vector<std::string> kGone = {"Unknown Job Id", "Job has finished"};

const std::vector<ResourceKey>& keys() {
  using T = ResourceType;
  static const std::vector<ResourceKey> k = {
      {"flavour", T::kFlavour}, {"queue", T::kName},    {"account", T::kName},
      {"time", T::kTime},       {"mem", T::kSize},      {"cpus", T::kCount},
      {"gpus", T::kCount},      {"job_name", T::kName}, {"max_array_size", T::kCount}};
  return k;
}

class Pbs : public Backend {
 public:
  explicit Pbs(bool is_torque) : torque_(is_torque) {}

  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    std::set<std::string> known = common_placeholders();
    for (const auto& k : keys()) known.insert(k.name);
    known.insert({"pro_array", "torque_array", "resources"});
    return render_arrays(spec, "pbs", "#PBS", known,
                         [&](int first, int last) { return script_values(spec, first, last); },
                         {"qsub"});
  }

  Expected<Submitted> submit(const Submission& s) override { return submit_script(s, parse_qsub); }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    // -x (Pro) keeps finished jobs in the answer; on Torque -x means XML, and finished jobs
    // stay as state C for keep_completed seconds.
    std::vector<std::string> argv = {"qstat", "-f", "-t"};
    if (!torque_) argv.push_back("-x");
    argv.insert(argv.end(), ids.begin(), ids.end());
    auto out = run_unless_gone(argv, kGone);
    if (!out) return out.status();
    std::vector<JobStatus> result;
    for (auto& s : parse_qstat_full(out->out))
      for (const auto& id : ids)
        if (s.id == id || array_of(s.id) == id) result.push_back(s);
    for (const auto& id : ids) {
      bool seen = false;
      for (const auto& r : result) seen = seen || r.id == id || array_of(r.id) == id;
      if (!seen) result.push_back({id, JobState::kFinished, "no longer in the queue"});
    }
    return result;
  }

  Status cancel(const std::vector<std::string>& ids) override {
    return cancel_jobs("qdel", ids, kGone);
  }
  std::vector<std::vector<std::string>> cancel_commands(
      const std::vector<std::string>& ids) const override {
    return {plus_ids({"qdel"}, ids)};
  }

  int max_array_size(const ProfileConfig& profile) override {
    auto it = profile.resources.find("max_array_size");
    return it != profile.resources.end() ? static_cast<int>(it->second.amount) : 0;
  }

 private:
  const bool torque_;

  // PBS's array elements are "123[4].server" for job "123[].server".
  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    if (Backend::element_range(job, id, first, last)) return true;
    auto brackets = job.find("[]");
    if (brackets == std::string::npos) return false;
    if (!element_between(id, job.substr(0, brackets + 1), job.substr(brackets + 1), first))
      return false;
    last = first;
    return true;
  }
};

}  // namespace

std::unique_ptr<Backend> make(const ProfileConfig& profile) {
  return std::make_unique<Pbs>(torque(profile));
}

namespace {

// Registered by name before main(); nothing outside this directory names it.
const bool kRegistered = register_backend([] {
  BackendKind k;
  k.name = "pbs";
  k.keys = keys();
  k.make = [](const ProfileConfig& profile) { return make(profile); };
  return k;
}());

}  // namespace

Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last) {
  TemplateValues v = common_values(spec, "#PBS", first, last);
  const auto& r = spec.profile.resources;
  const bool is_torque = torque(spec.profile);
  if (is_torque)
    v["torque_array"] = v["array"];
  else if (last > first)  // PBS Pro arrays need two subjobs at least: one daemon is a plain job
    v["pro_array"] = v["array"];
  auto get = [&](const char* key) {
    auto it = r.find(key);
    return it == r.end() ? std::string() : it->second.text;
  };
  if (auto q = get("queue"); !q.empty()) v["queue"] = {q};
  if (auto a = get("account"); !a.empty()) v["account"] = {a};
  if (auto t = r.find("time"); t != r.end()) v["time"] = {format_hms(t->second.amount)};
  std::string cpus = get("cpus"), mem = get("mem"), gpus = get("gpus");
  std::string resources;
  if (is_torque) {
    if (!cpus.empty() || !gpus.empty())
      resources =
          "nodes=1:ppn=" + (cpus.empty() ? "1" : cpus) + (gpus.empty() ? "" : ":gpus=" + gpus);
    if (!mem.empty()) resources += (resources.empty() ? "" : ",") + ("mem=" + mem + "mb");
  } else if (!cpus.empty() || !mem.empty() || !gpus.empty()) {
    resources = "select=1";
    if (!cpus.empty()) resources += ":ncpus=" + cpus;
    if (!mem.empty()) resources += ":mem=" + mem + "mb";
    if (!gpus.empty()) resources += ":ngpus=" + gpus;
  }
  if (!resources.empty()) v["resources"] = {resources};
  return v;
}

Expected<std::string> parse_qsub(const std::string& out) {
  auto lines = lines_of(out);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const std::string& line = *it;
    std::size_t digits = line.find_first_not_of("0123456789");
    if (digits == 0 || line.find(' ') != std::string::npos) continue;
    std::string rest = digits == std::string::npos ? "" : line.substr(digits);
    if (rest.rfind("[]", 0) == 0) rest = rest.substr(2);
    if (rest.empty() || (rest[0] == '.' && rest.size() > 1)) return line;
  }
  return Status::error(out.empty() ? "it printed nothing" : "it printed: " + out);
}

JobState state_of(const std::string& s) {
  if (s == "Q" || s == "H" || s == "W" || s == "T" || s == "S" || s == "M" || s == "U")
    return JobState::kPending;
  if (s == "R" || s == "E" || s == "B") return JobState::kRunning;
  if (s == "F" || s == "X" || s == "C") return JobState::kFinished;
  return JobState::kUnknown;
}

std::vector<JobStatus> parse_qstat_full(const std::string& out) {
  struct Entry {
    std::string id, state, exit;
  };
  std::vector<Entry> entries;
  for (const auto& line : lines_of(out)) {
    if (line.rfind("Job Id:", 0) == 0) {
      auto b = line.find_first_not_of(' ', 7);
      entries.push_back({b == std::string::npos ? "" : line.substr(b), "", ""});
      continue;
    }
    auto eq = line.find(" = ");
    if (entries.empty() || eq == std::string::npos) continue;
    std::string key = line.substr(line.find_first_not_of(' '), eq - line.find_first_not_of(' '));
    std::string value = line.substr(eq + 3);
    if (key == "job_state") entries.back().state = value;
    if (key == "Exit_status" || key == "exit_status") entries.back().exit = value;
  }
  std::set<std::string> arrays_with_subjobs;
  for (const auto& e : entries)
    if (e.id.find("[]") == std::string::npos && array_of(e.id) != e.id)
      arrays_with_subjobs.insert(array_of(e.id));
  std::vector<JobStatus> result;
  for (const auto& e : entries) {
    if (e.id.empty() || e.state.empty() || arrays_with_subjobs.count(e.id)) continue;
    JobState state = state_of(e.state);
    std::string detail = e.state;
    if (!e.exit.empty()) {
      detail += " exit " + e.exit;
      if (state == JobState::kFinished && e.exit != "0") state = JobState::kFailed;
    }
    result.push_back({e.id, state, detail});
  }
  return result;
}

}  // namespace mirai::launcher::pbs
