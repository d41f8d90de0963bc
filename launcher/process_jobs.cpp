#include "launcher/process_jobs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>
#include <regex>

#include "core/process.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Writes all of `text` to `fd`; false when the reader is gone.
bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t k = ::write(fd, text.data() + done, text.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += static_cast<std::size_t>(k);
  }
  return true;
}

// The port in ssh's "Allocated port N for remote forward to HOST:PORT", in `text`; 0: none yet.
int allocated_port(const std::string& text) {
  static const std::regex line("Allocated port ([0-9]{1,5}) for remote forward");
  std::smatch m;
  if (!std::regex_search(text, m, line)) return 0;
  int port = std::stoi(m[1].str());
  return port > 0 && port < 65536 ? port : 0;
}

// Whether `pid` has ended (a zombie counts: it is reaped by status()).
bool ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close == std::string::npos || text.compare(close, 3, ") Z") == 0;
}

// The port reader of a job whose tunnel's port sshd chooses: waits until ssh reports it in
// `log_file` (past `offset`), then writes it as a line to `fd` (the job's stdin), which it
// closes. Gives up when the job ends or is stopped.
void hand_over_port(pid_t pid, std::string log_file, std::streamoff offset, int fd,
                    std::shared_ptr<std::atomic<bool>> stop) {
  while (!stop->load() && !ended(pid)) {
    std::ifstream in(log_file, std::ios::binary);
    in.seekg(offset);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (int port = allocated_port(text)) {
      write_all(fd, std::to_string(port) + "\n");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::close(fd);
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
  // A tunnel's port that sshd chooses: the script reads it, makes the URL of it, and the daemons
  // dial that ("$MIRAI_DAEMON_URL" in their command line).
  std::string daemon, tunnel;
  if (auto at = url.find(kTunnelPort); at != std::string::npos) {
    const std::string word = "MIRAI_DAEMON_URL_HERE";  // one word that needs no quoting
    daemon = daemon_command_line(spec, word);
    daemon.replace(daemon.find(word), word.size(), "\"$MIRAI_DAEMON_URL\"");
    tunnel =
        "IFS= read -r MIRAI_TUNNEL_PORT || { echo no tunnel port on stdin >&2; exit 1; }\n"
        "case $MIRAI_TUNNEL_PORT in ''|*[!0-9]*) echo bad tunnel port >&2; exit 1 ;; esac\n"
        "MIRAI_DAEMON_URL=" +
        shell_quote(url.substr(0, at)) + "\"$MIRAI_TUNNEL_PORT\"" +
        shell_quote(url.substr(at + std::string(kTunnelPort).size())) + "\n";
  } else {
    daemon = daemon_command_line(spec, url);
  }
  v["daemon"] = {"  MIRAI_JOB_INDEX=$i " + daemon + " </dev/null >>" +
                     shell_quote(p.log.empty() ? "/dev/null" : p.log) + " 2>&1 &",
                 true};
  v["tunnel"] = {tunnel, true};
  // A background list reads /dev/null, so the watcher reads the script's stdin as fd 3.
  v["watch"] = {spec.attached ? "exec 3<&0\n"
                                "(while read -r _ <&3; do :; done; kill $pids 2>/dev/null) "
                                ">/dev/null 2>&1 &\n"
                                "watcher=$!\n"
                              : "",
                true};
  std::set<std::string> known = common_placeholders();
  known.insert({"job_id", "command", "log_dir", "watch", "tunnel"});
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
  std::vector<std::thread> readers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, p] : procs_) {
      close_fd(p.in_fd);
      p.stop->store(true);
    }
    readers.swap(port_readers_);
  }
  for (auto& t : readers) t.join();
}

Status ProcessJobs::start(const std::string& id, const std::vector<std::string>& argv,
                          bool attached, const std::string& log_file, const std::string& input,
                          bool tunnel_port) {
  std::streamoff offset = 0;  // the log is appended to: ssh's report comes after this
  if (std::ifstream log{log_file, std::ios::binary | std::ios::ate}) offset = log.tellg();
  SpawnOptions o;
  o.argv = argv;
  o.in = SpawnOptions::Stdio::kPipe;
  o.out = o.err = SpawnOptions::Stdio::kFile;
  o.file = log_file;
  auto child = spawn(o);
  if (!child) return child.status();
  // A line or two: far below the pipe's buffer, so this does not block. If it died at once,
  // status() reports how.
  write_all(child->in_fd, input);
  std::lock_guard<std::mutex> lock(mutex_);
  Proc& p = procs_[id];
  p.pid = child->pid;
  p.log_file = log_file;
  if (tunnel_port) {
    // The reader holds stdin open until it wrote the port: its own copy for an attached job.
    int fd = attached ? fcntl(child->in_fd, F_DUPFD_CLOEXEC, 0) : child->in_fd;
    if (!attached) child->in_fd = -1;
    if (fd >= 0)
      port_readers_.emplace_back(hand_over_port, child->pid, log_file, offset, fd, p.stop);
  }
  if (!attached) close_fd(child->in_fd);
  p.in_fd = child->in_fd;
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
    it->second.stop->store(true);
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
