#include "launcher/process_jobs.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>

#include "core/process.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

Expected<std::string> render_shell_script(const LaunchSpec& spec, int first, int last,
                                          const std::string& id, const std::string& url) {
  const ProfileConfig& p = spec.profile;
  LaunchSpec without_secret = spec;  // it comes on stdin (the first line), not in the script
  without_secret.secret.clear();
  TemplateValues v = common_values(without_secret, "#", first, last);
  if (spec.workdir.empty()) v.erase("workdir");
  v["job_id"] = {id};
  v["command"] = {spec.command};
  if (auto slash = p.log.rfind('/'); slash != std::string::npos && slash > 0)
    v["log_dir"] = {p.log.substr(0, slash)};
  v["daemon"] = {"  MIRAI_JOB_INDEX=$i " + daemon_command_line(spec, url) + " </dev/null >>" +
                     shell_quote(p.log.empty() ? "/dev/null" : p.log) + " 2>&1 &",
                 true};
  // A background list reads /dev/null, so the watcher reads the script's stdin as fd 3.
  v["watch"] = {spec.attached ? "exec 3<&0\n"
                                "(while read -r _ <&3; do :; done; kill $pids 2>/dev/null) "
                                ">/dev/null 2>&1 &\n"
                                "watcher=$!\n"
                              : "",
                true};
  std::set<std::string> known = common_placeholders();
  known.insert({"job_id", "command", "log_dir", "watch"});
  return render_template(builtin_template("shell"), "templates/shell.sh", known, v);
}

std::string last_line_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff from = size > 4096 ? size - 4096 : 0;
  in.seekg(from);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  auto lines = lines_of(tail);
  return lines.empty() ? "" : lines.back();
}

ProcessJobs::~ProcessJobs() {
  for (auto& [id, p] : procs_) close_fd(p.in_fd);
}

Status ProcessJobs::start(const std::string& id, const std::vector<std::string>& argv,
                          bool attached, const std::string& log_file, const std::string& input) {
  SpawnOptions o;
  o.argv = argv;
  o.in = SpawnOptions::Stdio::kPipe;
  o.out = o.err = SpawnOptions::Stdio::kFile;
  o.file = log_file;
  auto child = spawn(o);
  if (!child) return child.status();
  // A line or two: far below the pipe's buffer, so this does not block.
  std::size_t done = 0;
  while (done < input.size()) {
    ssize_t k = ::write(child->in_fd, input.data() + done, input.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;  // it died at once; status() reports how
    done += static_cast<std::size_t>(k);
  }
  if (!attached) close_fd(child->in_fd);
  std::lock_guard<std::mutex> lock(mutex_);
  Proc& p = procs_[id];
  p.pid = child->pid;
  p.in_fd = child->in_fd;
  p.log_file = log_file;
  return Status();
}

void ProcessJobs::poll(Proc& p) {
  if (p.exited) return;
  int ws = wait_for_exit(p.pid, std::chrono::milliseconds(0));
  if (ws < 0) return;
  p.exited = true;
  p.wait_status = ws;
  close_fd(p.in_fd);
}

std::vector<JobStatus> ProcessJobs::status(const std::vector<std::string>& ids,
                                           const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<JobStatus> out;
  for (const auto& id : ids) {
    auto it = procs_.find(id);
    if (it == procs_.end()) {
      out.push_back({id, JobState::kUnknown, "not started by this process"});
      continue;
    }
    Proc& p = it->second;
    poll(p);
    if (!p.exited) {
      out.push_back(
          {id, JobState::kRunning, what + " running (pid " + std::to_string(p.pid) + ")"});
    } else if (p.wait_status == 0) {
      out.push_back({id, JobState::kFinished, what + " ended"});
    } else {
      std::string last = last_line_of(p.log_file);
      out.push_back({id, JobState::kFailed,
                     what + " ended with " + describe_wait_status(p.wait_status) +
                         (last.empty() ? "" : ": " + last) + " (output in " + p.log_file + ")"});
    }
  }
  return out;
}

Status ProcessJobs::cancel(const std::vector<std::string>& ids, std::chrono::milliseconds grace) {
  using namespace std::chrono;
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Proc*> live;
  for (const auto& id : ids) {
    auto it = procs_.find(id);
    if (it == procs_.end()) continue;
    close_fd(it->second.in_fd);
    live.push_back(&it->second);
  }
  // Waits until every process has ended or `deadline` passes; true when all have.
  auto wait_all = [&](steady_clock::time_point deadline) {
    bool all = true;
    for (Proc* p : live) {
      if (!p->exited) {
        auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
        int ws = wait_for_exit(p->pid, std::max(left, milliseconds(0)));
        if (ws >= 0) {
          p->exited = true;
          p->wait_status = ws;
        }
      }
      all = all && p->exited;
    }
    return all;
  };
  if (wait_all(steady_clock::now() + grace)) return Status();
  for (int sig : {SIGTERM, SIGKILL}) {
    for (Proc* p : live)
      if (!p->exited) ::kill(-p->pid, sig);  // each leads its own process group
    if (wait_all(steady_clock::now() + seconds(3))) return Status();
  }
  std::string stuck;
  for (Proc* p : live)
    if (!p->exited) stuck += " " + std::to_string(p->pid);
  return Status::error("processes did not end after SIGKILL:" + stuck);
}

}  // namespace mirai::launcher
