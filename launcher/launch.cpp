#include "launcher/launch.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "client/profile_core.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher {

namespace {

Status make_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return Status();
  return Status::error("cannot create " + path + ": " + std::strerror(errno));
}

Status write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream out(path, std::ios::trunc);
  if (!(out << text)) return Status::error("cannot write " + path);
  out.close();
  chmod(path.c_str(), mode);
  return Status();
}

std::string cwd() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? buf : ".";
}

}  // namespace

LaunchSpec make_spec(const ProfileConfig& profile, int n, const std::string& url) {
  LaunchSpec spec;
  spec.profile = profile;
  spec.n = n;
  spec.url = url;
  spec.command = !profile.command.empty()    ? profile.command
                 : profile.launcher == "ssh" ? "mirai"
                                             : find_daemon_command("");
  // ssh: the profile's workdir on the host, else the login directory there.
  spec.workdir = profile.workdir.empty() && profile.launcher != "ssh" ? cwd() : profile.workdir;
  return spec;
}

std::string listen_url_template(const ProfileConfig& profile) {
  if (!profile.url.empty()) return profile.url;
  if (profile.launcher == "local") return "";
  if (profile.launcher == "ssh" && profile.ssh.tunnel) return "tcp://127.0.0.1:0";
  return "tcp://{hostname}:0";
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

Expected<std::unique_ptr<Launch>> Launch::start(std::unique_ptr<Backend> backend,
                                                const LaunchSpec& spec, const std::string& root) {
  auto submissions = backend->render(spec);
  if (!submissions) return submissions.status();
  auto dir = make_job_dir(root, spec.profile.name);
  if (!dir) return dir.status();
  // Schedulers fail a job whose log directory is missing, so make it (when it has no pattern).
  // An SGE log that is a directory ("logs/") gets one file per task in it.
  // An ssh profile's log is on the host, where the script makes its directory.
  if (auto slash = spec.profile.log.rfind('/');
      spec.profile.launcher != "ssh" && slash != std::string::npos && slash > 0) {
    std::string log_dir = spec.profile.log.substr(0, slash);
    if (log_dir.find_first_of("%$") == std::string::npos) {
      for (std::size_t at = 1; at != std::string::npos; at = log_dir.find('/', at + 1))
        mkdir(log_dir.substr(0, at).c_str(), 0755);
      mkdir(log_dir.c_str(), 0755);
    }
  }
  std::unique_ptr<Launch> launch(new Launch());
  launch->backend_ = std::move(backend);
  launch->spec_ = spec;
  launch->dir_ = *dir;
  launch->started_ = std::chrono::steady_clock::now();
  std::string record;
  for (std::size_t i = 0; i < submissions->size(); ++i) {
    Submission& s = (*submissions)[i];
    std::string suffix = submissions->size() > 1 ? "-" + std::to_string(i + 1) : "";
    if (!s.script.empty()) write_file(*dir + "/script" + suffix + ".sh", s.script, 0700);
    if (s.script_in_argv) s.log_file = *dir + "/output" + suffix + ".log";  // ssh, local
    record += "$ " + shown_command(s, "script" + suffix + ".sh") + "\n";
    auto submitted = launch->backend_->submit(s);
    if (!submitted) {
      record += submitted.message() + "\n";
      write_file(*dir + "/submit.out", record);
      launch->cancel();
      return Status::error("submitting daemons " + std::to_string(s.first) + "-" +
                           std::to_string(s.last) + " failed: " + submitted.message() +
                           " (record in " + *dir + ")");
    }
    record += submitted->output;
    for (auto& id : submitted->ids) launch->ids_.push_back(id);
    std::string ids;
    for (const auto& id : launch->ids_) ids += id + "\n";
    write_file(*dir + "/job_ids", ids);
  }
  write_file(*dir + "/submit.out", record);
  return launch;
}

Launch::~Launch() = default;

std::string Launch::check(int connected) {
  if (connected > 0 || cancelled_) return "";
  auto states = backend_->status(ids_);
  if (!states) return "";  // the scheduler did not answer this time; ask again later
  bool all_ended = !states->empty();
  bool pending = false;
  std::string report;
  for (const auto& s : *states) {
    bool ended = s.state == JobState::kFinished || s.state == JobState::kFailed ||
                 s.state == JobState::kCancelled;
    all_ended = all_ended && ended;
    pending = pending || s.state == JobState::kPending;
    report += "\n  job " + s.id + ": " + s.detail;
  }
  std::string log = spec_.profile.log.empty()
                        ? "no log kept (set 'log:' in the profile to keep the daemons' output)"
                        : "log: " + spec_.profile.log;
  if (all_ended) return "every job ended before a daemon connected; " + log + report;
  if (pending && std::chrono::steady_clock::now() - started_ > spec_.profile.launch_timeout)
    return "no daemon connected within the launch timeout (" +
           std::to_string(spec_.profile.launch_timeout.count() / 1000) +
           "s) while jobs are still pending; " + log + report;
  return "";
}

Status Launch::cancel() {
  if (cancelled_.exchange(true)) return Status();
  return backend_->cancel(ids_);
}

}  // namespace mirai::launcher
