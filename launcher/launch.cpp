#include "launcher/launch.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "core/file.hpp"
#include "daemon/command_line.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher {

namespace {

Status make_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return Status();
  return Status::error("cannot create " + path + ": " + std::strerror(errno));
}

}  // namespace

LaunchSpec make_spec(const ProfileConfig& profile, int n, const std::string& url) {
  LaunchSpec spec;
  spec.profile = profile;
  spec.n = n;
  spec.url = url;
  // On other hosts (ssh, or a cluster reached through its login node): `mirai` on their PATH,
  // and the profile's workdir there, else the home directory.
  const BackendKind* kind = kind_of(profile);
  const bool remote = (kind && kind->remote_hosts) || !profile.login.host.host.empty();
  spec.command = !profile.command.empty() ? profile.command
                 : remote                 ? "mirai"
                                          : find_daemon_command("");
  spec.workdir = profile.workdir.empty() && !remote ? working_directory() : profile.workdir;
  return spec;
}

Expected<std::string> make_job_dir(const std::string& root, const std::string& profile) {
  std::string path = root + "/.mirai";
  for (const char* part : {"", "/jobs"}) {
    path += part;
    if (Status s = make_dir(path); !s) return s;
  }
  path += "/" + profile;
  if (Status s = make_dir(path); !s) return s;
  for (int n = 1; n < 1000000; ++n) {
    std::string dir = path + "/" + std::to_string(n);
    if (mkdir(dir.c_str(), 0700) == 0) return dir;
    if (errno != EEXIST) return Status::error("cannot create " + dir + ": " + std::strerror(errno));
  }
  return Status::error("too many job directories in " + path + "; remove old ones");
}

Expected<std::unique_ptr<Launch>> Launch::open(std::unique_ptr<Backend> backend,
                                               const std::string& root,
                                               const std::string& profile) {
  auto dir = make_job_dir(root, profile);
  if (!dir) return dir.status();
  std::unique_ptr<Launch> launch(new Launch());
  launch->backend_ = std::move(backend);
  launch->dir_ = *dir;
  return launch;
}

Expected<std::unique_ptr<Launch>> Launch::start(std::unique_ptr<Backend> backend,
                                                const LaunchSpec& spec, const std::string& root) {
  // Render first: a profile that cannot be rendered leaves no directory behind.
  if (auto rendered = backend->render(spec); !rendered) return rendered.status();
  auto launch = open(std::move(backend), root, spec.profile.name);
  if (!launch) return launch.status();
  if (auto batch = (*launch)->submit(spec); !batch) return batch.status();
  return launch;
}

Expected<Launch::Batch> Launch::submit(LaunchSpec spec) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    spec.batch = ++batches_;
  }
  auto submissions = backend_->render(spec);
  if (!submissions) return submissions.status();
  // Schedulers fail a job whose log directory is missing, so make it (when it has no pattern).
  // An SGE log that is a directory ("logs/") gets one file per task in it.
  // A log on other hosts (ssh) is made there, by the script; on a login node, through it.
  const BackendKind* kind = kind_of(spec.profile);
  auto slash = spec.profile.log.rfind('/');
  std::string log_dir =
      slash != std::string::npos && slash > 0 ? spec.profile.log.substr(0, slash) : "";
  if (!(kind && kind->remote_hosts) && !log_dir.empty() &&
      log_dir.find_first_of("%$") == std::string::npos) {
    if (backend_->commands_elsewhere()) {
      // Relative to the job's directory there, as the scheduler reads it.
      if (log_dir[0] != '/' && !spec.profile.workdir.empty())
        log_dir = spec.profile.workdir + "/" + log_dir;
      (void)backend_->commands().run({"mkdir", "-p", "--", log_dir}, "", std::chrono::seconds(20));
    } else {
      for (std::size_t at = 1; at != std::string::npos; at = log_dir.find('/', at + 1))
        mkdir(log_dir.substr(0, at).c_str(), 0755);
      mkdir(log_dir.c_str(), 0755);
    }
  }
  Batch batch;
  batch.number = spec.batch;
  std::string batch_suffix = spec.batch > 1 ? "-b" + std::to_string(spec.batch) : "";
  for (std::size_t i = 0; i < submissions->size(); ++i) {
    Submission& s = (*submissions)[i];
    std::string suffix =
        batch_suffix + (submissions->size() > 1 ? "-" + std::to_string(i + 1) : "");
    if (!s.script.empty())
      if (Status w = write_file_atomically(dir_ + "/script" + suffix + ".sh", s.script, 0700); !w)
        return abandon(batch, w);
    if (s.script_in_argv) s.log_file = dir_ + "/output" + suffix + ".log";  // ssh, local
    record_ += "$ " + shown_command(s, "script" + suffix + ".sh") + "\n";
    auto submitted = backend_->submit(s);
    if (!submitted) {
      record_ += submitted.message() + "\n";
      Status recorded = write_file_atomically(dir_ + "/submit.out", record_);
      return abandon(batch, Status::error("submitting daemons " + std::to_string(s.first) + "-" +
                                          std::to_string(s.last) + " failed: " +
                                          submitted.message() + " (record in " + dir_ +
                                          (recorded ? ")" : "; " + recorded.message() + ")")));
    }
    record_ += submitted->output;
    if (on_submitted_) on_submitted_(submitted->ids);
    std::string ids;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& id : submitted->ids) {
        ids_.push_back(id);
        batch.jobs.push_back({id, s.first, s.last});
      }
      for (const auto& id : ids_) ids += id + "\n";
    }
    // A job that is not recorded could not be found again: cancel it rather than lose it.
    if (Status w = write_file_atomically(dir_ + "/job_ids", ids); !w) return abandon(batch, w);
  }
  if (Status w = write_file_atomically(dir_ + "/submit.out", record_); !w) return abandon(batch, w);
  if (cancelled_) {  // cancel() ran meanwhile and could not see these jobs
    std::vector<std::string> ids;
    for (const auto& job : batch.jobs) ids.push_back(job.id);
    backend_->cancel(ids);
  }
  return batch;
}

Status Launch::abandon(const Batch& batch, const Status& why) {
  std::vector<std::string> ids;
  for (const auto& job : batch.jobs) ids.push_back(job.id);
  if (ids.empty()) return why;
  Status cancelled = backend_->cancel(ids);
  return Status::error(
      why.message() + "; the jobs it had submitted (" + join(ids, " ") + ") " +
      (cancelled ? "were cancelled" : "could not be cancelled: " + cancelled.message()));
}

std::vector<std::string> Launch::job_ids() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ids_;
}

Launch::~Launch() = default;

Status Launch::cancel() {
  if (cancelled_.exchange(true)) return Status();
  auto ids = job_ids();
  if (ids.empty()) return Status();
  return backend_->cancel(ids);
}

bool Launch::wait_gone(std::chrono::milliseconds timeout) {
  auto ids = job_ids();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Cancelled jobs usually leave within a fraction of a second: ask soon, then less often.
  std::chrono::milliseconds pause{50};
  for (;;) {
    if (ids.empty()) return true;
    auto states = backend_->status(ids);
    if (states) {
      bool live = false;
      for (const auto& s : *states)
        live = live || s.state == JobState::kPending || s.state == JobState::kRunning ||
               s.state == JobState::kStopping;
      if (!live) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(2 * pause, std::chrono::milliseconds(500));
  }
}

std::string log_hint(const ProfileConfig& profile) {
  return profile.log.empty() ? "no log kept (set 'log:' in the profile to keep the daemons' output)"
                             : "log: " + profile.log;
}

}  // namespace mirai::launcher
