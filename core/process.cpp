#include "core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <unordered_map>

extern char** environ;

namespace mirai {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::vector<std::string> child_environment(const SpawnOptions& options) {
  std::vector<std::string> out;
  for (char** e = options.clear_env ? nullptr : environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    std::string key = eq ? std::string(*e, eq - *e) : std::string(*e);
    if (!options.env.count(key)) out.emplace_back(*e);
  }
  for (const auto& [k, v] : options.env) out.push_back(k + "=" + v);
  return out;
}

namespace {

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  p.reserve(strings.size() + 1);
  for (auto& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

// posix_spawn of `program` with the child's stdio wired to the given pipe ends (or /dev/null).
int posix_spawn_child(pid_t* pid, const std::string& program, const SpawnOptions& options,
                      int in_fd, int out_fd, int err_fd, std::vector<char*>& argp,
                      std::vector<char*>& envp) {
  using S = SpawnOptions::Stdio;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto wire = [&](S mode, int pipe_end, int target, int flags) {
    if (mode == S::kPipe || mode == S::kFile || mode == S::kMemory)
      posix_spawn_file_actions_adddup2(&fa, pipe_end, target);
    if (mode == S::kNull) posix_spawn_file_actions_addopen(&fa, target, "/dev/null", flags, 0);
  };
  wire(options.in, in_fd, 0, O_RDONLY);
  wire(options.out, out_fd, 1, O_WRONLY);
  wire(options.err, err_fd, 2, O_WRONLY);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  sigset_t none, defaults;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  int rv = posix_spawn(pid, program.c_str(), &fa, &attr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rv;
}

// Where a name was found on a PATH lately. A shell task's program is looked up once a second
// rather than in every directory before it for every task (as a shell's hash of commands, but
// it forgets): a program put earlier on the PATH is found within a second.
class ProgramCache {
 public:
  std::string find(const std::string& name, const std::string& dirs) {
    auto now = std::chrono::steady_clock::now();
    std::string key = dirs + '\0' + name;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = found_.find(key);
      if (it != found_.end() && now - it->second.when < std::chrono::seconds(1) &&
          access(it->second.path.c_str(), X_OK) == 0)
        return it->second.path;
    }
    std::string path = search(name, dirs);
    if (path == name) return path;
    std::lock_guard<std::mutex> lock(mutex_);
    if (found_.size() > 256) found_.clear();
    found_[key] = {path, now};
    return path;
  }

 private:
  static std::string search(const std::string& name, const std::string& dirs) {
    for (std::size_t start = 0; start <= dirs.size();) {
      std::size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string dir = dirs.substr(start, end - start);
      std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
    return name;  // execve fails with ENOENT, as posix_spawnp would
  }

  struct Found {
    std::string path;
    std::chrono::steady_clock::time_point when;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Found> found_;
};

// `name` as posix_spawnp would find it, but on the PATH in the child's environment `env` when
// it has no '/'.
std::string find_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : env)
    if (kv.compare(0, 5, "PATH=") == 0 && kv.size() > 5) dirs = kv.substr(5);
  static ProgramCache cache;
  return cache.find(name, dirs);
}

// /dev/null, opened once (close-on-exec) for the children's stdio; -1 when it cannot be, and the
// child opens it itself. Checked on each use: a program that closed it finds it again.
int dev_null() {
  static std::mutex mutex;
  static int fd = -1;
  std::lock_guard<std::mutex> lock(mutex);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)))
    fd = -1;  // closed, or its number now names another file: not ours to close
  if (fd < 0) fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  return fd;
}

// What the child of spawn_with_parent_death needs, in memory it shares with its parent.
struct SpawnArgs {
  const char* program;
  char* const* argv;
  char* const* envp;
  const SpawnOptions* options;
  const int* fds;
  const bool* null_fds;
  int dev_null;  // an open /dev/null, or -1
  pid_t parent;
  int error = 0;  // the errno of the step that failed, written by the child
};

// The child, on its own stack, sharing the parent's memory until it execs (CLONE_VM |
// CLONE_VFORK: the parent waits until then, as with vfork). It makes system calls only: no
// allocation, no lock, nothing another thread of the parent could hold.
int spawn_child(void* p) {
  auto* a = static_cast<SpawnArgs*>(p);
  const SpawnOptions& o = *a->options;
  auto fail = [&](int e) {
    a->error = e;
    _exit(127);
  };
  // Signals were blocked before the clone: a handler of the parent's must never run here. Each
  // one the parent catches goes back to its default before they are unblocked for the exec.
  for (int sig = 1; sig < _NSIG; ++sig) {
    struct sigaction sa;
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    bool reset = sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL;
    // These the task gets at their defaults even where the daemon ignores them.
    for (int d : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT}) reset = reset || sig == d;
    if (!reset) continue;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
  if (getppid() != a->parent) _exit(127);  // the parent died before prctl took effect
  if (o.new_process_group && setpgid(0, 0) != 0) fail(errno);
  for (int i = 0; i < 3; ++i) {
    if (a->fds[i] == i) {
      fcntl(i, F_SETFD, 0);
    } else if (a->fds[i] >= 0) {
      if (dup2(a->fds[i], i) < 0) fail(errno);
    } else if (a->null_fds[i] && a->dev_null >= 0) {
      if (dup2(a->dev_null, i) < 0) fail(errno);
    } else if (a->null_fds[i]) {
      int fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
      if (fd < 0) fail(errno);
      if (fd != i && (dup2(fd, i) < 0 || close(fd) != 0)) fail(errno);
    }
  }
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) fail(errno);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(a->program, a->argv, a->envp);
  fail(errno);
  return 127;
}

// Starts `program` with PR_SET_PDEATHSIG, so that it dies with this thread's process; returns 0
// or the errno of the step that failed. Not fork(): copying a daemon's page tables and threads'
// state for each task cost more than the task (GNU parallel and xargs were faster at `true`).
// Like posix_spawn, a clone that shares this process's memory and suspends the caller until the
// child execs. `fds[i]` becomes fd i when >= 0; `null_fds[i]` opens /dev/null as fd i.
int spawn_with_parent_death(pid_t* pid, const std::string& program, char* const argv[],
                            char* const envp[], const SpawnOptions& o, const int fds[3],
                            const bool null_fds[3]) {
  // The child's stack, one per thread and kept: the thread waits while the child uses it, and a
  // map and unmap for each task cost more than the rest of the spawn (an unmap interrupts every
  // other thread of the daemon to flush its TLB).
  constexpr std::size_t kStack = 64 * 1024;
  struct Stack {
    void* p = MAP_FAILED;
    ~Stack() {
      if (p != MAP_FAILED) munmap(p, kStack);
    }
  };
  thread_local Stack stack;
  if (stack.p == MAP_FAILED)
    stack.p = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                   -1, 0);
  if (stack.p == MAP_FAILED) return errno;
  bool any_null = null_fds[0] || null_fds[1] || null_fds[2];
  SpawnArgs a{program.c_str(), argv, envp, &o, fds, null_fds, any_null ? dev_null() : -1,
              getpid(),        0};
  sigset_t all, mask;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &mask);
  pid_t child = clone(spawn_child, static_cast<char*>(stack.p) + kStack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  if (child < 0) return clone_errno;
  if (a.error != 0) {  // it never ran the program: reap it, report why
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    return a.error;
  }
  *pid = child;
  return 0;
}

}  // namespace

Expected<Child> spawn(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty())
    return Status::error("cannot start a process: the command is empty");
  using S = SpawnOptions::Stdio;
  if (options.in == S::kFile || options.in == S::kMemory)
    return Status::error("cannot start a process: stdin can be a pipe, /dev/null or inherited");
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  auto make_pipe = [](int p[2]) { return pipe2(p, O_CLOEXEC) == 0; };
  // A memfd: we keep one descriptor, the child gets the other (one open file, one offset).
  auto make_memory = [](int p[2]) {
    p[0] = memfd_create("mirai-output", MFD_CLOEXEC);
    if (p[0] < 0) return false;
    p[1] = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
    return p[1] >= 0;
  };
  auto make = [&](S mode, int p[2]) {
    return mode == S::kPipe ? make_pipe(p) : mode == S::kMemory ? make_memory(p) : true;
  };
  if (!make(options.in, in_pipe) || !make(options.out, out_pipe) || !make(options.err, err_pipe)) {
    int e = errno;
    for (int* p : {in_pipe, out_pipe, err_pipe}) close_fd(p[0]), close_fd(p[1]);
    return Status::error(std::string("cannot create pipes: ") + std::strerror(e));
  }
  if (options.out == S::kFile || options.err == S::kFile) {
    int fd = open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      int e = errno;
      for (int* p : {in_pipe, out_pipe, err_pipe}) close_fd(p[0]), close_fd(p[1]);
      return Status::error("cannot open " + options.file + ": " + std::strerror(e));
    }
    // The file stands in for the write ends of the pipes; it is closed with them below.
    if (options.out == S::kFile) out_pipe[1] = fd;
    if (options.err == S::kFile)
      err_pipe[1] = options.out == S::kFile ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : fd;
  }

  std::vector<std::string> args = options.argv;
  std::vector<std::string> env = child_environment(options);
  std::string program = find_program(args[0], env);
  auto argp = pointers(args);
  auto envp = pointers(env);
  pid_t pid = -1;
  int rv;
  if (options.die_with_parent) {
    const int fds[3] = {options.in == S::kPipe ? in_pipe[0] : -1, out_pipe[1], err_pipe[1]};
    const bool null_fds[3] = {options.in == S::kNull, options.out == S::kNull,
                              options.err == S::kNull};
    rv = spawn_with_parent_death(&pid, program, argp.data(), envp.data(), options, fds, null_fds);
  } else {
    rv =
        posix_spawn_child(&pid, program, options, in_pipe[0], out_pipe[1], err_pipe[1], argp, envp);
  }
  close_fd(in_pipe[0]);
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);
  if (rv != 0) {
    close_fd(in_pipe[1]);
    close_fd(out_pipe[0]);
    close_fd(err_pipe[0]);
    std::string where = options.cwd.empty() ? "" : " in directory '" + options.cwd + "'";
    return Status::error("cannot run '" + options.argv[0] + "'" + where + ": " + std::strerror(rv),
                         rv);
  }
  return Child{pid, in_pipe[1], out_pipe[0], err_pipe[0]};
}

namespace {

// All that a memfd holds, from its start.
std::string read_memory(int fd) {
  std::string out;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) return out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t k = pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += static_cast<std::size_t>(k);
  }
  out.resize(got);
  return out;
}

std::uint64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

}  // namespace

Expected<RunOutput> run_captured(SpawnOptions options, const std::string& input,
                                 const std::function<void(pid_t)>& on_started,
                                 const std::function<void()>& on_exited,
                                 const std::function<void(int, std::string_view)>& on_output) {
  // Nothing to write: /dev/null reads as the same end of input, one pipe fewer.
  options.in = input.empty() ? SpawnOptions::Stdio::kNull : SpawnOptions::Stdio::kPipe;
  // Nothing to write and nothing to show as it comes: the output goes to files in memory, read
  // when the child has exited. This thread then sleeps until the exit, where with pipes it woke
  // as each pipe closed (and a child writing more than a pipe holds waited for it).
  const bool in_memory = input.empty() && !on_output;
  options.out = in_memory ? SpawnOptions::Stdio::kMemory : SpawnOptions::Stdio::kPipe;
  options.err = options.out;
  options.new_process_group = true;
  auto t0 = std::chrono::steady_clock::now();
  auto spawned = spawn(options);
  if (!spawned) return spawned.status();
  Child c = *spawned;
  on_started(c.pid);
  if (in_memory) {
    siginfo_t si{};
    while (waitid(P_PID, c.pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    on_exited();
    RunOutput result;
    while (waitpid(c.pid, &result.wait_status, 0) < 0 && errno == EINTR) {
    }
    result.wall_us = micros_since(t0);
    result.out = read_memory(c.out_fd);
    result.err = read_memory(c.err_fd);
    close_fd(c.out_fd);
    close_fd(c.err_fd);
    return result;
  }
  int pidfd = pidfd_open(c.pid);
  for (int fd : {c.in_fd, c.out_fd, c.err_fd})
    if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);

  RunOutput result;
  std::size_t written = 0;
  bool exited = false;
  char buf[65536];
  // Read until the child has exited and both pipes are at EOF. Once it has exited, a pipe still
  // held open by a background grandchild is drained of what is there and then left alone.
  while (c.out_fd >= 0 || c.err_fd >= 0 || c.in_fd >= 0 || !exited) {
    pollfd fds[4];
    int n = 0;
    int i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
    if (c.out_fd >= 0) i_out = n, fds[n++] = {c.out_fd, POLLIN, 0};
    if (c.err_fd >= 0) i_err = n, fds[n++] = {c.err_fd, POLLIN, 0};
    if (c.in_fd >= 0) i_in = n, fds[n++] = {c.in_fd, POLLOUT, 0};
    if (!exited && pidfd >= 0) i_pid = n, fds[n++] = {pidfd, POLLIN, 0};
    int timeout_ms = exited ? 0 : (pidfd >= 0 ? -1 : 50);
    int rv = poll(fds, n, timeout_ms);
    if (rv < 0 && errno == EINTR) continue;
    auto drain = [&](int idx, int& fd, std::string& sink, int stream) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      for (;;) {
        ssize_t k = ::read(fd, buf, sizeof buf);
        if (k > 0) {
          if (on_output)
            on_output(stream, std::string_view(buf, static_cast<std::size_t>(k)));
          else
            sink.append(buf, static_cast<std::size_t>(k));
          continue;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) return;
        close_fd(fd);  // EOF or error
        return;
      }
    };
    drain(i_out, c.out_fd, result.out, 1);
    drain(i_err, c.err_fd, result.err, 2);
    if (i_in >= 0 && (fds[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t k = ::write(c.in_fd, input.data() + written, input.size() - written);
      if (k > 0) written += static_cast<std::size_t>(k);
      if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == input.size())
        close_fd(c.in_fd);
    }
    if (!exited) {
      bool gone;
      if (pidfd >= 0) {
        gone = i_pid >= 0 && (fds[i_pid].revents & POLLIN);
      } else {
        siginfo_t si{};
        gone = waitid(P_PID, c.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c.pid;
      }
      if (gone) exited = true;
    } else {
      // The child is gone: whatever is still open belongs to leftovers; stop after this pass.
      close_fd(c.out_fd);
      close_fd(c.err_fd);
      close_fd(c.in_fd);
    }
  }
  on_exited();
  int status = 0;
  while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  close_fd(pidfd);
  result.wait_status = status;
  result.wall_us = micros_since(t0);
  return result;
}

int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return status;
  if (r < 0) return errno == ECHILD ? 0 : -1;
  if (timeout.count() <= 0) return -1;
  int pidfd = pidfd_open(pid);
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(timeout.count()));
    close_fd(pidfd);
  } else {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && waitpid(pid, &status, WNOHANG) == 0)
      usleep(10000);
  }
  r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return status;
  return r < 0 && errno == ECHILD ? 0 : -1;
}

int open_pidfd(pid_t pid) {
  int fd = pidfd_open(pid);
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exit status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st))
    return "signal " + std::to_string(WTERMSIG(st)) + " (" + strsignal(WTERMSIG(st)) + ")";
  return "status " + std::to_string(st);
}

}  // namespace mirai
