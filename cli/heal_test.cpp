// Pools that heal, as users see them through `mirai map` and `mirai run`: dead local daemons
// reaped and replaced, a frozen one lost and replaced, a profile that cannot get daemons ending
// the run with the reason, timeouts that count from a task's start.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/launcher_live.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> seq(int n) {
  std::vector<std::string> v;
  for (int i = 1; i <= n; ++i) v.push_back(std::to_string(i));
  return v;
}

std::string expected_lines(const std::string& prefix, int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) s += prefix + std::to_string(i) + "\n";
  return s;
}

// The distinct pids listed one per line in `path`.
std::set<pid_t> pids_in(const std::string& path) {
  std::set<pid_t> pids;
  std::istringstream in(test::read_file(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) pids.insert(std::stoi(line));
  return pids;
}

// Whether `pid` is gone entirely: neither running nor a zombie waiting to be reaped.
bool reaped(pid_t pid) {
  struct stat st;
  return stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0;
}

// Starts `mirai map -k ARGS -- SCRIPT ::: 1..n` (SCRIPT a shell line) with its stdout in `out`.
pid_t start_map(test::Started& procs, std::vector<std::string> args, const std::string& script,
                int n, const std::string& out) {
  args.insert(args.begin(), {"map", "-k"});
  for (const std::string& a :
       {std::string("--no-progress"), std::string("--"), script, std::string(":::")})
    args.push_back(a);
  for (const std::string& a : seq(n)) args.push_back(a);
  return procs.start(args, {}, out);
}

int exit_code_within(pid_t pid, std::chrono::milliseconds timeout) {
  int st = wait_for_exit(pid, timeout);
  return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("both local daemons SIGKILLed mid-map: every result once, no zombie", "[cli][heal]") {
  test::TempDir dir;
  test::Started procs(test::mirai_exe());
  std::string daemons = dir.file("daemons"), out = dir.file("out");
  pid_t map = start_map(procs, {"-j", "2", "--crash-retries", "3"},
                        "echo $PPID >> " + daemons + "; sleep 0.05; echo ok-{}", 200, out);
  // Once both daemons have run tasks, kill them both.
  std::set<pid_t> first;
  REQUIRE(test::eventually([&] { return (first = pids_in(daemons)).size() >= 2; }));
  for (pid_t pid : first) kill(pid, SIGKILL);
  // They are reaped (no zombies) while the map goes on with their replacements.
  CHECK(test::eventually([&] {
    return std::all_of(first.begin(), first.end(), reaped) || !test::process_alive(map);
  }));
  REQUIRE(exit_code_within(map, 60s) == 0);
  CHECK(test::read_file(out) == expected_lines("ok-", 200));
  CHECK(pids_in(daemons).size() >= 4);  // the replacements ran tasks
}

TEST_CASE("mirai run whose task kills its daemon on every attempt ends with 19, not a hang",
          "[cli][heal]") {
  auto r = test::run({test::mirai_exe(), "run", "--crash-retries", "1", "--", "sh", "-c",
                      "kill -9 $PPID; sleep 30"});
  CHECK(r.exit_code == 125);
  CHECK_THAT(r.err, Catch::Contains("its daemon died while running it, on all 2 attempts"));
}

TEST_CASE("a local profile whose replacement daemons keep failing ends the run with 125",
          "[cli][heal]") {
  test::TempDir dir;
  // The node breaks once a task has run: later daemons exit at once.
  std::string broken = dir.file("broken"), command = dir.file("daemon.sh");
  {
    std::ofstream s(command);
    s << "#!/bin/sh\n[ -e " << broken << " ] && exit 3\nexec " << test::mirai_exe() << " \"$@\"\n";
  }
  chmod(command.c_str(), 0755);
  std::ofstream(dir.file("mirai.yaml")) << "profiles:\n  flaky:\n    launcher: local\n"
                                           "    workers: 1\n    interval: 100ms\n"
                                           "    launch_retries: 2\n    daemon: { command: "
                                        << command << " }\n";
  auto start = std::chrono::steady_clock::now();
  auto r = test::run({test::mirai_exe(), "map", "-k", "--config", dir.file("mirai.yaml"), "-p",
                      "flaky", "--crash-retries", "3", "--",
                      "touch " + broken + "; kill -9 $PPID; sleep 30 # {}", ":::", "a", "b"});
  CHECK(r.exit_code == 125);
  CHECK_THAT(r.err, Catch::Contains("profile 'flaky': local daemons keep failing: daemon "
                                    "process"));
  CHECK_THAT(r.err, Catch::Contains("ended with exit status 3 before it connected (3 launches "
                                    "in a row); no daemon is left to run the tasks"));
  // Back-off of 100 ms, then 200 ms, then 400 ms: well within seconds.
  CHECK(std::chrono::steady_clock::now() - start < 20s);
}

TEST_CASE("a SIGSTOPped local daemon is lost and replaced: the map completes, each task once",
          "[cli][heal][slow]") {
  test::TempDir dir;
  test::Started procs(test::mirai_exe());
  std::string daemons = dir.file("daemons"), out = dir.file("out");
  auto start = std::chrono::steady_clock::now();
  pid_t map = start_map(procs, {"-j", "2", "--crash-retries", "2"},
                        "echo $PPID >> " + daemons + "; sleep 0.2; echo ok-{}", 40, out);
  pid_t frozen = 0;
  REQUIRE(test::eventually([&] {
    auto pids = pids_in(daemons);
    if (pids.empty()) return false;
    frozen = *pids.begin();
    return true;
  }));
  kill(frozen, SIGSTOP);  // frozen for the whole run
  REQUIRE(exit_code_within(map, 60s) == 0);
  CHECK(std::chrono::steady_clock::now() - start < 45s);
  CHECK(test::read_file(out) == expected_lines("ok-", 40));
  // The frozen daemon is not left behind.
  CHECK(test::eventually([&] { return reaped(frozen) || !test::process_alive(frozen); }, 5s));
  kill(frozen, SIGKILL);
}

TEST_CASE("mirai map --timeout counts from a task's start: none that waited in the queue times out",
          "[cli][heal][slow]") {
  std::vector<std::string> args = {
      test::mirai_exe(),    "map", "-k", "-j", "2", "--timeout", "3s", "--no-progress", "--",
      "sleep 0.2; echo {}", ":::"};
  for (const std::string& a : seq(40)) args.push_back(a);
  auto r = test::run(args);
  CHECK(r.exit_code == 0);
  CHECK(r.out == expected_lines("", 40));
  CHECK(r.err.find("timed out") == std::string::npos);
}

TEST_CASE("mirai run on a running dispatcher without daemons says why it waits",
          "[cli][heal][slow]") {
  test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock"), secret = dir.file("secret");
  test::Started procs(test::mirai_exe());
  procs.start({"dispatcher", "--control", control, "--url-file", dir.file("urls"), "--secret-file",
               secret});
  REQUIRE(test::eventually([&] { return !test::read_file(dir.file("urls")).empty(); }));
  std::string urls = test::read_file(dir.file("urls"));
  std::string listen = urls.substr(7, urls.find('\n') - 7);
  // The run's output goes to a file: the test reads the notice while the run waits.
  std::string err = dir.file("err");
  SpawnOptions o;
  o.argv = {test::mirai_exe(), "run", "--dispatcher", control, "--", "echo", "ran"};
  o.out = SpawnOptions::Stdio::kFile;
  o.err = SpawnOptions::Stdio::kFile;
  o.file = err;
  auto child = spawn(o);
  REQUIRE(child);
  CHECK(test::eventually(
      [&] {
        return test::read_file(err).find(
                   "waiting: 1 task queued and no daemon connected to the "
                   "dispatcher at " +
                   control) != std::string::npos;
      },
      20s));
  // A daemon arrives: the run goes on.
  procs.start({"daemon", listen, "--secret-file", secret});
  int code = exit_code_within(child->pid, 10s);
  if (code < 0) kill(child->pid, SIGKILL);
  CHECK(code == 0);
  CHECK_THAT(test::read_file(err), Catch::Contains("ran\n"));
}

TEST_CASE("a launch on a full disk fails with the reason and leaves nothing running",
          "[cli][heal]") {
  test::TempDir dir;
  // Room for the mirai.yaml and not for the run's records.
  test::SmallDisk disk(dir, "8k");
  const std::string& mnt = disk.path();
  // ssh to a host that is never reached: the job script cannot even be written.
  std::ofstream(mnt + "/mirai.yaml") << "profiles:\n  full:\n    launcher: ssh\n"
                                        "    hosts: [ 127.0.0.1:1 ]\n    launch_retries: 0\n"
                                        "    workers: 1\n    env: { MIRAI_TEST_TAG: "
                                     << mnt << " }\n";
  std::ofstream(mnt + "/filler") << std::string(4096, 'x');
  auto r = test::run(
      {test::mirai_exe(), "run", "--config", mnt + "/mirai.yaml", "-p", "full", "--", "true"});
  CHECK(r.exit_code == 125);
  CHECK_THAT(r.err, Catch::Contains("cannot write " + mnt + "/.mirai/jobs/full/1/"));
  CHECK_THAT(r.err, Catch::Contains("No space left on device"));
  CHECK(test::processes_with(mnt).empty());
}

TEST_CASE("what a task leaves running in the background ends with the task", "[cli][heal]") {
  test::TempDir dir;
  auto r = test::run({test::mirai_exe(), "map", "-k", "-j", "1", "--no-progress", "--",
                      "sleep 100 >/dev/null 2>&1 & echo $! > " + dir.file("bg.{}") + "; echo {}",
                      ":::", "a"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "a\n");
  pid_t bg = std::stoi(test::read_file(dir.file("bg.a")));
  CHECK(test::eventually([&] { return !test::process_alive(bg); }, 5s));
}

TEST_CASE(
    "Ctrl-C during mirai map --line-buffer: it dies of SIGINT, the bar erased, nothing "
    "left running",
    "[cli][heal]") {
  test::TempDir dir;
  test::Started sh("/bin/sh");
  // exec: the pid is the map's own. Its stderr (where the bar is drawn) goes to a file.
  pid_t map = sh.start({"-c", "exec " + test::mirai_exe() +
                                  " map -j 2 --bar --line-buffer --tag 'echo $PPID > " +
                                  dir.file("{}.daemon") + "; echo $$ > " + dir.file("{}.pid") +
                                  "; echo started; exec sleep 60' ::: a b > " + dir.file("out") +
                                  " 2> " + dir.file("err")});
  std::vector<pid_t> pids;
  for (const char* f : {"a.pid", "b.pid", "a.daemon", "b.daemon"})
    pids.push_back(test::wait_pid(dir, f));
  REQUIRE(test::eventually(
      [&] { return test::read_file(dir.file("err")).find("0/2") != std::string::npos; }));
  // The tasks' first lines are out while they run.
  CHECK(test::eventually([&] {
    std::string out = test::read_file(dir.file("out"));
    return out.find("a\tstarted\n") != std::string::npos &&
           out.find("b\tstarted\n") != std::string::npos;
  }));
  kill(map, SIGINT);
  int status = 0;
  REQUIRE(waitpid(map, &status, 0) == map);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT));  // a shell says 130
  std::string err = test::read_file(dir.file("err"));
  CHECK_THAT(err, Catch::EndsWith("\r\033[K"));  // the bar's line is blank again
  for (pid_t pid : pids) CHECK(test::eventually([&] { return !test::process_alive(pid); }));
}
