// A backend defined in mirai.yaml alone (crew's launcher plugins, without code): commands that
// submit, ask the status of and cancel jobs, how to read a job id and a state from what they
// print, and a job script template. docs/config.md, "A backend of your own".
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "launcher/backend.hpp"
#include "launcher/registry.hpp"

namespace mirai::launcher {

struct CommandBackendSpec {
  std::string name;
  // The job script's template (absolute path): the placeholders every template knows
  // ({{ array }}, {{ first }}, {{ last }}, {{ daemon }}, {{ env }}, ...).
  std::string template_file;
  // What starts a line of `directives:` ("#SBATCH"); "": the backend takes none.
  std::string directive;
  // Each command is argv, run without a shell. A word that is exactly `{ids}` becomes one word
  // per job id; `{ids}` inside a word becomes the ids joined with commas.
  std::vector<std::string> submit;  // the job script goes to its stdin
  std::vector<std::string> status;
  std::vector<std::string> cancel;
  // What a status or cancel command writes on stderr, failing, when a job has already left the
  // scheduler ("Invalid job id"): such a failure is none.
  std::vector<std::string> gone;
  std::regex job_id;        // its first group is the job id in submit's output
  std::string job_id_text;  // as written, for messages
  std::regex status_line;   // in each line of status's output: the id (group 1), the state (2)
  std::map<std::string, JobState> states;  // the scheduler's state words, as ours
  // How an array element's id is written, with {job} and {index}: "{job}_{index}"; "": the
  // status lists whole jobs only.
  std::string element;
  int max_array_size = 0;  // 0: none
};

// The state words of a `states:` map: pending, running, stopping, finished, failed, cancelled.
bool parse_job_state(const std::string& word, JobState& state);

// The backend kind for `spec` (named spec.name), for a profile's `launcher:`.
std::shared_ptr<const BackendKind> command_backend(CommandBackendSpec spec);

}  // namespace mirai::launcher
