// Starting and running child processes: posix_spawn (or fork and exec, for die_with_parent) with
// pipes, a process group per child, and
// pidfd-based waiting. The only place that forks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mirai/status.hpp"

namespace mirai {

struct SpawnOptions {
  // argv[0] is searched on the child's PATH when it has no '/'.
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // set on top of the inherited environment
  bool clear_env = false;                  // the child's environment is `env` alone
  std::string cwd;                         // empty: inherit
  bool new_process_group = true;           // the child leads its own group (pgid == pid)
  // The child gets SIGKILL when the thread that started it ends, even by SIGKILL (Linux
  // PR_SET_PDEATHSIG): a task never outlives a daemon that a scheduler killed.
  bool die_with_parent = false;
  // kFile: appended to `file` (created 0600 when missing); only for out and err. kMemory: an
  // anonymous file in memory (memfd) that the child writes and never waits on, read once it
  // has exited (Child's fd is the file, at the child's offset); only for out and err.
  enum class Stdio { kInherit, kNull, kPipe, kFile, kMemory };
  Stdio in = Stdio::kNull, out = Stdio::kInherit, err = Stdio::kInherit;
  std::string file;
};

struct Child {
  pid_t pid = -1;
  int in_fd = -1, out_fd = -1, err_fd = -1;  // our ends of the pipes (or memfds), when requested
};

// The child's environment as "K=V" strings: this process's (unless cleared) with `env` on top.
std::vector<std::string> child_environment(const SpawnOptions& options);

// Starts a process. Fails (with the reason) when the program cannot be found or executed.
Expected<Child> spawn(const SpawnOptions& options);

// What a captured run produced.
struct RunOutput {
  int wait_status = 0;  // as from waitpid
  std::string out, err;
  std::uint64_t wall_us = 0;
};

// Runs to completion: writes `input` to stdin, collects stdout and stderr, waits for the exit.
// `on_started(pid)` is called once the child runs (its pid is also its process group); the
// caller may kill the group from another thread until `on_exited()` is called, which happens
// before the child is reaped, so the pid is never reused under a late kill. With `on_output`,
// what the child writes goes there as it is read (stream 1 stdout, 2 stderr), not into `out`
// and `err`.
Expected<RunOutput> run_captured(SpawnOptions options, const std::string& input,
                                 const std::function<void(pid_t)>& on_started,
                                 const std::function<void()>& on_exited,
                                 const std::function<void(int, std::string_view)>& on_output = {});

// Waits up to `timeout` for `pid` to exit and reaps it; returns its wait status, or -1 if it is
// still running. A zero timeout only checks.
int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

// A pidfd for `pid` (readable once it exits), or -1 where the kernel has none.
int open_pidfd(pid_t pid);

// Describes a wait status: "exit status 2", "signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

}  // namespace mirai
