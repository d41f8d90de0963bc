#include "launcher/command_backend.hpp"

#include <climits>

#include "launcher/command.hpp"

namespace mirai::launcher {
namespace {

// A job id as a command may be given it: one printable word that cannot read as an option.
bool safe_id(const std::string& id) {
  if (id.empty() || id[0] == '-') return false;
  for (char c : id)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

std::vector<std::string> with_ids(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& word : argv) {
    if (word == "{ids}") {
      out.insert(out.end(), ids.begin(), ids.end());
      continue;
    }
    std::string w = word;
    for (auto at = w.find("{ids}"); at != std::string::npos; at = w.find("{ids}", at)) {
      const std::string joined = join(ids, ",");
      w.replace(at, 5, joined);
      at += joined.size();
    }
    out.push_back(std::move(w));
  }
  return out;
}

class CommandBackend : public Backend {
 public:
  explicit CommandBackend(std::shared_ptr<const CommandBackendSpec> spec)
      : spec_(std::move(spec)) {}

  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    if (spec_->directive.empty() && !spec.profile.directives.empty())
      return Status::error("profile '" + spec.profile.name + "': launcher " + spec_->name +
                           " takes no 'directives' (its backend gives no 'directive' prefix)");
    LaunchSpec s = spec;
    if (s.profile.template_file.empty()) s.profile.template_file = spec_->template_file;
    return render_arrays(
        s, spec_->name, spec_->directive, common_placeholders(),
        [&](int first, int last) -> Expected<TemplateValues> {
          return common_values(s, spec_->directive, first, last);
        },
        spec_->submit);
  }

  Expected<Submitted> submit(const Submission& s) override {
    return submit_script(s, [this](const std::string& out) -> Expected<std::string> {
      std::smatch m;
      if (!std::regex_search(out, m, spec_->job_id) || m.size() < 2 || !m[1].matched)
        return Status::error("nothing in it matches job_id '" + spec_->job_id_text + "'");
      std::string id = m[1].str();
      if (!safe_id(id))
        return Status::error("job_id '" + spec_->job_id_text + "' matched '" + id +
                             "', which is not one word that cannot read as an option");
      return id;
    });
  }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    if (ids.empty()) return std::vector<JobStatus>{};
    auto argv = with_ids(spec_->status, ids);
    auto out = run_command(argv, "", kSchedulerCommandTimeout);
    if (!out) return out.status();
    if (out->exit_code != 0 && (spec_->gone.empty() || !only_gone_jobs(out->err, spec_->gone)))
      return Status::error(describe_failure(argv, *out));
    std::vector<JobStatus> rows;
    for (const auto& line : lines_of(out->out)) {
      std::smatch m;
      if (!std::regex_search(line, m, spec_->status_line) || m.size() < 3) continue;
      JobStatus row{m[1].str(), JobState::kUnknown, m[2].str()};
      if (auto it = spec_->states.find(row.detail); it != spec_->states.end())
        row.state = it->second;
      rows.push_back(std::move(row));
    }
    // A job no longer listed has left the scheduler.
    for (const auto& id : ids) {
      bool seen = false;
      for (const auto& r : rows) {
        int first = 0, last = 0;
        seen = seen || element_range(id, r.id, first, last);
      }
      if (!seen) rows.push_back({id, JobState::kFinished, "no longer listed"});
    }
    return rows;
  }

  Status cancel(const std::vector<std::string>& ids) override {
    if (ids.empty()) return Status();
    auto argv = with_ids(spec_->cancel, ids);
    auto out = run_command(argv, "", kSchedulerCommandTimeout);
    if (!out) return out.status();
    if (out->exit_code != 0 && (spec_->gone.empty() || !only_gone_jobs(out->err, spec_->gone)))
      return Status::error(describe_failure(argv, *out));
    return Status();
  }

  int max_array_size(const ProfileConfig&) override { return spec_->max_array_size; }

  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    if (Backend::element_range(job, id, first, last)) return true;
    const std::string& pattern = spec_->element;
    auto at = pattern.find("{index}");
    if (at == std::string::npos) return false;
    std::string head = pattern.substr(0, at), tail = pattern.substr(at + 7);
    for (auto j = head.find("{job}"); j != std::string::npos;
         j = head.find("{job}", j + job.size()))
      head.replace(j, 5, job);
    for (auto j = tail.find("{job}"); j != std::string::npos;
         j = tail.find("{job}", j + job.size()))
      tail.replace(j, 5, job);
    if (!element_between(id, head, tail, first)) return false;
    last = first;
    return true;
  }

 private:
  std::shared_ptr<const CommandBackendSpec> spec_;
};

}  // namespace

bool parse_job_state(const std::string& word, JobState& state) {
  static const std::map<std::string, JobState> words = {
      {"pending", JobState::kPending},   {"running", JobState::kRunning},
      {"stopping", JobState::kStopping}, {"finished", JobState::kFinished},
      {"failed", JobState::kFailed},     {"cancelled", JobState::kCancelled}};
  auto it = words.find(word);
  if (it == words.end()) return false;
  state = it->second;
  return true;
}

std::shared_ptr<const BackendKind> command_backend(CommandBackendSpec spec) {
  auto shared = std::make_shared<const CommandBackendSpec>(std::move(spec));
  auto kind = std::make_shared<BackendKind>();
  kind->name = shared->name;
  kind->job_scripts = true;
  kind->make = [shared](const ProfileConfig&) -> std::unique_ptr<Backend> {
    return std::make_unique<CommandBackend>(shared);
  };
  return kind;
}

}  // namespace mirai::launcher
