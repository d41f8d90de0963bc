// Jobs that are processes this program starts itself (an ssh connection per host, a local shell)
// instead of jobs a scheduler runs: started, asked after and cancelled by pid. The ssh and
// local backends keep one of these.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "launcher/backend.hpp"

namespace mirai::launcher {

class ProcessJobs {
 public:
  ProcessJobs() = default;
  ProcessJobs(const ProcessJobs&) = delete;
  ProcessJobs& operator=(const ProcessJobs&) = delete;
  ~ProcessJobs();  // closes the stdin of attached jobs, which ends them; reaps none; joins

  // Starts `argv` as job `id`, its output appended to `log_file`. An attached job gets a pipe
  // as stdin that only this process holds: it must end when the pipe closes (at cancel(), or
  // when this process dies). A detached one outlives this process.
  // `input` is written to its stdin first (then, for a detached job, stdin is closed). With
  // `tunnel_port`, a thread waits for ssh's "Allocated port N for remote forward" in the log
  // and writes "N\n" to stdin next (closing it then for a detached job).
  Status start(const std::string& id, const std::vector<std::string>& argv, bool attached,
               const std::string& log_file, const std::string& input, bool tunnel_port = false);
  // Running while the process runs; then finished (exit status 0) or failed, with the last
  // line of its log as the reason. `what` names the process in details: "ssh", "sh".
  std::vector<JobStatus> status(const std::vector<std::string>& ids, const std::string& what);
  // Closes the jobs' stdin, gives them `grace` to end by themselves, then sends SIGTERM (and
  // SIGKILL 3 s later) to their process groups, and reaps them.
  Status cancel(const std::vector<std::string>& ids, std::chrono::milliseconds grace);

 private:
  struct Proc {
    pid_t pid = -1;
    int in_fd = -1;
    std::string log_file;
    bool exited = false;
    int wait_status = 0;
    // Set when the job is cancelled (or this object goes): its port reader closes its end of
    // the job's stdin and stops.
    std::shared_ptr<std::atomic<bool>> stop = std::make_shared<std::atomic<bool>>(false);
  };
  void poll(Proc& p);  // records the exit when the process has ended

  std::mutex mutex_;
  std::map<std::string, Proc> procs_;
  std::vector<std::thread> port_readers_;  // GUARDED_BY(mutex_)
};

// Stands for the port of a tunnel that sshd chooses in a daemon URL given to render_shell_script.
inline constexpr char kTunnelPort[] = "@TUNNEL_PORT@";

// The script (templates/shell.sh) that starts daemons first..last of job `id` in the background
// where it runs, for the ssh and local launchers; `url` is the one they dial there. When `url`
// holds kTunnelPort, the script reads the port as the second line of its stdin.
Expected<std::string> render_shell_script(const LaunchSpec& spec, int first, int last,
                                          const std::string& id, const std::string& url);

// The last non-empty line of `file` (at most its last 4 KiB are read), or "".
std::string last_line_of(const std::string& file);

}  // namespace mirai::launcher
