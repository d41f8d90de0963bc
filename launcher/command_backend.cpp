#include "launcher/command_backend.hpp"

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

// `text` with every `placeholder` replaced by `value`.
std::string with(std::string text, const std::string& placeholder, const std::string& value) {
  for (auto at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size()))
    text.replace(at, placeholder.size(), value);
  return text;
}

// A word that is exactly {ids} becomes one word per id; {ids} inside a word, the ids joined.
std::vector<std::string> with_ids(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& word : argv) {
    if (word == "{ids}")
      out.insert(out.end(), ids.begin(), ids.end());
    else
      out.push_back(with(word, "{ids}", join(ids, ",")));
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
    auto out = run_unless_gone(with_ids(spec_->status, ids), spec_->gone);
    if (!out) return out.status();
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
    auto out = run_unless_gone(with_ids(spec_->cancel, ids), spec_->gone);
    return out ? Status() : out.status();
  }

  std::vector<std::vector<std::string>> cancel_commands(
      const std::vector<std::string>& ids) const override {
    return {with_ids(spec_->cancel, ids)};
  }

  int max_array_size(const ProfileConfig&) override { return spec_->max_array_size; }

  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    if (Backend::element_range(job, id, first, last)) return true;
    const std::string& pattern = spec_->element;
    auto at = pattern.find("{index}");
    if (at == std::string::npos) return false;
    if (!element_between(id, with(pattern.substr(0, at), "{job}", job),
                         with(pattern.substr(at + 7), "{job}", job), first))
      return false;
    last = first;
    return true;
  }

 private:
  std::shared_ptr<const CommandBackendSpec> spec_;
};

}  // namespace

bool parse_job_state(const std::string& word, JobState& state) {
  // The words to_string() gives: one table of them.
  for (JobState s : {JobState::kPending, JobState::kRunning, JobState::kStopping,
                     JobState::kFinished, JobState::kFailed, JobState::kCancelled})
    if (word == to_string(s)) {
      state = s;
      return true;
    }
  return false;
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
