// Helpers shared by the tests: temporary directories, running the real `mirai` binary, and
// waiting for conditions with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "mirai/profile.hpp"

namespace mirai::test {

// The `mirai` binary built with the tests.
std::string mirai_exe();
// The custom daemon example built with the tests.
std::string custom_daemon_exe();

// A profile configuration for `n` local daemons of the `mirai` binary built with the tests.
DaemonsConfig local_daemons(int n, std::string url = {});

// Sets `p`'s daemons, failing the test with the reason when that fails.
void set_daemons(Profile& p, const DaemonsConfig& c);

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A small tmpfs of `size` ("64k") mounted at dir/small for a test of a full disk (the tests
// run as root, as .ci/run does), unmounted when it goes.
class SmallDisk {
 public:
  SmallDisk(const TempDir& dir, const std::string& size);
  ~SmallDisk();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a command to completion and returns what it printed and how it ended.
struct Ran {
  int exit_code = -1;  // -1 if killed by a signal
  std::string out, err;
};
Ran run(const std::vector<std::string>& argv, const std::string& input = {});

// Processes a test started (`program` with the given arguments, stdout discarded or appended to
// `out`), killed by pid when the test ends, however it ends.
class Started {
 public:
  explicit Started(std::string program) : program_(std::move(program)) {}
  ~Started();
  pid_t start(const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {}, const std::string& out = "");

 private:
  std::string program_;
  std::vector<pid_t> pids_;
};

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// True while `pid` names a live (not zombie) process.
bool process_alive(pid_t pid);

std::string read_file(const std::string& path);

// Whether `text` equals the golden file tests/golden/<name>. With MIRAI_UPDATE_GOLDEN=1 in the
// environment the file is rewritten instead (review the diff before committing it).
bool matches_golden(const std::string& name, const std::string& text);

// A shell task that writes the pid of its daemon (its parent) to `dir/name.daemon` and its own
// pid to `dir/name.pid`, then sleeps.
Task sleeper(const TempDir& dir, const std::string& name, int seconds = 30);
// Waits until `dir/file` holds a whole line and returns the pid in it (fails the test if not).
pid_t wait_pid(const TempDir& dir, const std::string& file);

}  // namespace mirai::test
