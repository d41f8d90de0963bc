#include "tests/support/support.hpp"
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace mirai::test {

std::string mirai_exe() { return MIRAI_TEST_EXE; }
std::string custom_daemon_exe() { return MIRAI_TEST_CUSTOM_DAEMON; }

DaemonsConfig local_daemons(int n, std::string url) {
  DaemonsConfig c;
  c.n = n;
  c.url = std::move(url);
  c.daemon_command = mirai_exe();
  return c;
}

void set_daemons(Profile& p, const DaemonsConfig& c) {
  Status s = p.set_daemons(c);
  INFO(s.message());
  REQUIRE(s.ok());
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/mirai-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Ran run(const std::vector<std::string>& argv, const std::string& input) {
  SpawnOptions o;
  o.argv = argv;
  auto out = run_captured(
      o, input, [](pid_t) {}, [] {});
  Ran r;
  if (!out) {
    r.err = out.message();
    return r;
  }
  r.exit_code = WIFEXITED(out->wait_status) ? WEXITSTATUS(out->wait_status) : -1;
  r.out = std::move(out->out);
  r.err = std::move(out->err);
  return r;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

pid_t Started::start(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& out) {
  SpawnOptions o;
  o.argv = args;
  o.argv.insert(o.argv.begin(), program_);
  o.env = env;
  o.out = out.empty() ? SpawnOptions::Stdio::kNull : SpawnOptions::Stdio::kFile;
  o.file = out;
  auto c = spawn(o);
  REQUIRE(c);
  pids_.push_back(c->pid);
  return c->pid;
}

Started::~Started() {
  for (pid_t p : pids_) {
    kill(p, SIGKILL);
    wait_for_exit(p, std::chrono::seconds(5));
  }
}

SmallDisk::SmallDisk(const TempDir& dir, const std::string& size) : path_(dir.file("small")) {
  REQUIRE(mkdir(path_.c_str(), 0700) == 0);
  REQUIRE(mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0);
}

SmallDisk::~SmallDisk() { umount(path_.c_str()); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool matches_golden(const std::string& name, const std::string& text) {
  std::string path = std::string(MIRAI_TEST_SOURCE_DIR) + "/tests/golden/" + name;
  if (const char* update = std::getenv("MIRAI_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    std::ofstream(path, std::ios::trunc) << text;
    return true;
  }
  return read_file(path) == text;
}

Task sleeper(const TempDir& dir, const std::string& name, int seconds) {
  return Task::sh("echo $PPID > " + dir.file(name + ".daemon") + "; echo $$ > " +
                  dir.file(name + ".pid") + "; exec sleep " + std::to_string(seconds));
}

pid_t wait_pid(const TempDir& dir, const std::string& file) {
  std::string text;
  REQUIRE(eventually([&] {
    text = read_file(dir.file(file));
    return !text.empty() && text.back() == '\n';
  }));
  return std::stoi(text);
}

}  // namespace mirai::test
