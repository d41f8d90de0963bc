// The narrow interface every launcher backend implements (schedulers/<name>/): render what
// starts N daemons (pure), submit it, ask the status of many jobs at once, cancel.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "launcher/command.hpp"
#include "launcher/config.hpp"
#include "launcher/template.hpp"
#include "mirai/status.hpp"

namespace mirai::launcher {

// Everything a backend needs to render a launch of `n` daemons.
struct LaunchSpec {
  ProfileConfig profile;
  int n = 1;
  std::string url;         // the concrete URL the daemons dial
  std::string command;     // the mirai executable where the daemons run
  std::string workdir;     // absolute
  int max_array_size = 0;  // the scheduler's cap on array indices; 0: none known
  // ssh and local: the daemons stop when this process ends or cancels them (map, run); false
  // for `mirai launch`, whose daemons serve a dispatcher after it has returned.
  bool attached = true;
  // For a TLS url: the certificate daemons trust, exported to them as MIRAI_TLS_CA.
  std::string tls_ca_pem;
  // The pool's secret. Scheduler job scripts (written 0700, given to the submit command on
  // stdin) export it; ssh and local get it on stdin, never in a command line.
  std::string secret;
  // Which launch of the run this is (1, 2, ... as the controller scales up). ssh and local job
  // ids carry it from the second on, so that every launch's jobs have ids of their own.
  int batch = 1;
};

// One submission: a job script with the command that submits it (the script goes to the
// command's stdin), or, for ssh and local, a command that runs the script itself (`sh -c`) and
// whose process is the job.
struct Submission {
  std::string script;
  std::vector<std::string> argv;  // the submit command
  int first = 1, last = 1;        // the array indices it covers (daemons first..last)
  // ssh and local: the job's id (known before it starts), whether the script is argv's last
  // word instead of its stdin, whether it is attached (LaunchSpec::attached), and where the
  // process's own output goes (set by Launch, in the job directory).
  std::string id;
  bool script_in_argv = false;
  bool attached = true;
  std::string log_file;
  std::string input;  // ssh and local: written to the process's stdin first (the secret)
  // ssh with a tunnel whose port sshd chooses: ssh reports the port on its stderr, and it is
  // written to the process's stdin as the next line (ProcessJobs::start).
  bool tunnel_port = false;
};

// kStopping: being cancelled, still listed (SGE's "dr", LSF's ZOMBI); its processes may run.
enum class JobState { kPending, kRunning, kStopping, kFinished, kFailed, kCancelled, kUnknown };
const char* to_string(JobState s);

// The state of one job or array element, as the scheduler reports it.
struct JobStatus {
  std::string id;  // as the scheduler prints it: "123_4", "123.4", "123[4].server"
  JobState state = JobState::kUnknown;
  std::string detail;  // the scheduler's own words: "PENDING (Resources)", "qw", "EXIT 1"
};

class Backend {
 public:
  virtual ~Backend() = default;
  // What would be submitted to start spec.n daemons; fails on values that cannot be used.
  virtual Expected<std::vector<Submission>> render(const LaunchSpec& spec) const = 0;
  // Runs one submission and returns the ids of the jobs it made, plus what the command
  // printed (kept in the job directory).
  struct Submitted {
    std::vector<std::string> ids;
    std::string output;
  };
  virtual Expected<Submitted> submit(const Submission& submission) = 0;
  // The state of every element of the given jobs, in one command where the scheduler allows.
  // A job the scheduler no longer knows is reported as kFinished.
  virtual Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) = 0;
  // Cancels the jobs (queued or running); cancelling a finished job is not an error.
  virtual Status cancel(const std::vector<std::string>& ids) = 0;
  // The commands cancel() runs for `ids`, for a relay to run when this process is gone (a
  // profile with `login:`); none for a backend whose jobs are this process's own.
  virtual std::vector<std::vector<std::string>> cancel_commands(
      const std::vector<std::string>& ids) const {
    (void)ids;
    return {};
  }
  // The site's cap on array indices (slurm: MaxArraySize); 0 when there is none.
  virtual int max_array_size(const ProfileConfig&) { return 0; }
  // Whether `id` (a row of status()) is job `job` or elements of it, and which: [first, last],
  // or [0, INT_MAX] for the whole job. By default only the job itself is known; an array
  // scheduler knows its element ids ("17_4" for Slurm's job "17").
  virtual bool element_range(const std::string& job, const std::string& id, int& first,
                             int& last) const;

  // Where its scheduler commands run: this machine unless set, the login node's relay for a
  // profile with `login:` (launcher/login_link.hpp).
  void set_commands(std::shared_ptr<const CommandRunner> where) { commands_ = std::move(where); }
  const CommandRunner& commands() const { return commands_ ? *commands_ : local_commands(); }
  bool commands_elsewhere() const { return commands_ != nullptr; }

 protected:
  // The backends' commands, all run where commands() says.
  Expected<CommandOutput> run_command(const std::vector<std::string>& argv,
                                      const std::string& input,
                                      std::chrono::milliseconds timeout) const {
    return commands().run(argv, input, timeout);
  }
  Expected<CommandOutput> run_checked(const std::vector<std::string>& argv,
                                      const std::string& input,
                                      std::chrono::milliseconds timeout) const {
    return commands().checked(argv, input, timeout);
  }
  // Runs the submission's command with its script on stdin and reads the job id from what it
  // printed with `parse`; a failure names the command.
  Expected<Submitted> submit_script(
      const Submission& s,
      const std::function<Expected<std::string>(const std::string&)>& parse) const;
  // Runs a scheduler's command about jobs (squeue, qdel, ...): its output, also when it failed
  // only saying, with one of `gone` (none: never), that some jobs already left; else the
  // failure.
  Expected<CommandOutput> run_unless_gone(const std::vector<std::string>& argv,
                                          const std::vector<std::string>& gone) const;
  // Runs `command ids...` (scancel, qdel, bkill); a failure that only says, with one of `gone`,
  // that some jobs already ended is not one.
  Status cancel_jobs(const std::string& command, const std::vector<std::string>& ids,
                     const std::vector<std::string>& gone) const;

 private:
  std::shared_ptr<const CommandRunner> commands_;
};

// Shared by the backends -------------------------------------------------------------------

// The daemon's command line, quoted: COMMAND daemon URL --idletime ... (from the profile).
std::string daemon_command_line(const LaunchSpec& spec, const std::string& url);
// The values every template knows: job_name, array, log, workdir, env, prologue, epilogue,
// daemon, directives (with `prefix`, e.g. "#SBATCH").
TemplateValues common_values(const LaunchSpec& spec, const std::string& prefix, int first,
                             int last);
const std::set<std::string>& common_placeholders();
// The profile's template file, or the built-in one named `name` (templates/<name>.sh).
Expected<std::pair<std::string, std::string>> template_text(const ProfileConfig& profile,
                                                            const std::string& name);
// A whole number of at most 9 digits, as array indices are written; false for anything else.
bool parse_index(const std::string& text, int& value);
// Whether `id` is `head`, an index, then `tail` ("17_4" for "17_" and ""), and which index.
bool element_between(const std::string& id, const std::string& head, const std::string& tail,
                     int& index);

// Splits 1..n into arrays whose indices stay below `max_array_size` (when non-zero).
std::vector<std::pair<int, int>> array_chunks(int n, int max_array_size);
// Renders one script per chunk with `values(first, last)`; `prefix` starts the scheduler's
// directive lines ("#SBATCH") and is checked against the profile's `directives`.
Expected<std::vector<Submission>> render_arrays(
    const LaunchSpec& spec, const std::string& template_name, const std::string& prefix,
    const std::set<std::string>& known,
    const std::function<Expected<TemplateValues>(int first, int last)>& values,
    const std::vector<std::string>& submit_argv);

// How long a scheduler command (sbatch, qstat, bkill, ...) may take before it counts as failed.
inline constexpr std::chrono::seconds kSchedulerCommandTimeout{60};

// `command` followed by the ids: "scancel 12 13".
std::vector<std::string> plus_ids(std::vector<std::string> command,
                                  const std::vector<std::string>& ids);

// Whether every line of `err` says (with one of `gone`) that a job already left the system.
bool only_gone_jobs(const std::string& err, const std::vector<std::string>& gone);

// The submission's command as records and `mirai render` show it, with its script named
// `script_name`: "sbatch --parsable < script.sh", "ssh ... -- host sh -c <script.sh>".
std::string shown_command(const Submission& s, const std::string& script_name);

// The non-empty lines of a command's output, trailing spaces and '\r' removed.
std::vector<std::string> lines_of(const std::string& text);
// `parts` joined with `sep` between them.
std::string join(const std::vector<std::string>& parts, const std::string& sep);

// Seconds as "HH:MM:SS" (hours may exceed 24).
std::string format_hms(long long seconds);

// The built-in template `name` (compiled in from templates/), or nullptr.
const char* builtin_template(const std::string& name);

}  // namespace mirai::launcher
