#include "tests/support/launcher_live.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdlib>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "client/remote_dispatcher.hpp"
#include "core/process.hpp"

namespace mirai::test {

using namespace std::chrono_literals;

std::vector<std::string> mirai_cmd(std::vector<std::string> args) {
  args.insert(args.begin(), mirai_exe());
  return args;
}

std::string recorded_job_ids(const TempDir& dir, const std::string& profile, int n) {
  std::string ids =
      read_file(dir.file(".mirai/jobs/" + profile + "/" + std::to_string(n) + "/job_ids"));
  while (!ids.empty() && ids.back() == '\n') ids.pop_back();
  return ids;
}

std::string launched_job_ids(const TempDir& dir, const std::string& profile) {
  std::string ids;
  bool recorded = eventually([&] {
    ids = recorded_job_ids(dir, profile);
    return !ids.empty();
  });
  INFO("no job ids recorded for profile " << profile);
  REQUIRE(recorded);
  return ids;
}

std::string active_of(const LiveLauncher& l, const std::string& ids) {
  std::istringstream lines(ids);
  std::string out;
  for (std::string id; std::getline(lines, id);)
    if (!id.empty()) out += l.active(id);
  return out;
}

std::vector<pid_t> processes_with(const std::string& needle, const std::string& job) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (dirent* e = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == getpid() || !process_alive(pid)) continue;
    std::string base = std::string("/proc/") + e->d_name;
    std::string env = read_file(base + "/environ"), cmd = read_file(base + "/cmdline");
    bool ours = env.find(needle) != std::string::npos || cmd.find(needle) != std::string::npos;
    std::string job_var = std::string("MIRAI_JOB_ID=") + job + '\0';
    if (ours && (job.empty() || env.find(job_var) != std::string::npos)) out.push_back(pid);
  }
  closedir(proc);
  return out;
}

LiveLauncher launched_by_mirai(const TempDir& dir, const std::string& profile) {
  std::string tag = "MIRAI_TEST_TAG=" + dir.path();
  auto active = [tag](const std::string& id) {
    std::string out;
    for (pid_t p : processes_with(tag, id)) out += std::to_string(p) + " ";
    return out;
  };
  return {dir.file("mirai.yaml"), profile, "MIRAI_JOB_ID", "MIRAI_JOB_INDEX", active};
}

pid_t start_dispatcher(Started& procs, const TempDir& dir, const std::string& control) {
  pid_t dispatcher = procs.start({"dispatcher", "--listen", "tcp://127.0.0.1:0", "--control",
                                  control, "--url-file", dir.file("urls")});
  REQUIRE(eventually([&] { return !read_file(dir.file("urls")).empty(); }));
  return dispatcher;
}

nlohmann::json status_with_daemons(const std::string& control, std::size_t n) {
  nlohmann::json status;
  bool reached = eventually(
      [&] {
        status = nlohmann::json::parse(
            run(mirai_cmd({"status", "--dispatcher", control, "--json"})).out, nullptr, false);
        return status.is_object() && status["daemons"].size() == n;
      },
      std::chrono::seconds(30));
  INFO(status.dump());
  REQUIRE(reached);
  return status;
}

std::string check_map_runs_in_one_array(const TempDir& dir, const LiveLauncher& l) {
  auto r = run(mirai_cmd({"map", "-k", "--config", l.config, "-p", l.profile, "--no-progress", "--",
                          "echo {} $" + l.job_env + " $" + l.index_env + " $PPID", ":::", "1", "2",
                          "3", "4", "5", "6"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string id = recorded_job_ids(dir, l.profile);
  REQUIRE(!id.empty());
  std::istringstream lines(r.out);
  std::set<pid_t> daemons;
  for (int i = 1; i <= 6; ++i) {
    std::string arg, job, index;
    pid_t daemon = 0;
    REQUIRE(lines >> arg >> job >> index >> daemon);
    CHECK(arg == std::to_string(i));
    CHECK(l.job_of(job) == id);  // every task ran inside the one array this run submitted
    CHECK((index == "1" || index == "2" || index == "3"));
    daemons.insert(daemon);
  }
  CHECK(eventually([&] { return active_of(l, id).empty(); }, 20s));
  for (pid_t d : daemons) CHECK(eventually([&] { return !process_alive(d); }, 10s));
  return id;
}

std::string check_secret_stays_private(const TempDir& dir, const LiveLauncher& l) {
  // A task that says whether its daemon's /proc environ still shows MIRAI_SECRET and whether
  // the task itself inherited it, then waits while the test looks at every command line.
  std::string task = "tr '\\0' '\\n' < /proc/$PPID/environ | grep -c '^MIRAI_SECRET=' > " +
                     dir.file("in_environ") + "; echo ${MIRAI_SECRET:-none} > " +
                     dir.file("inherited") + "; touch " + dir.file("ready") + "; sleep 30 # {}";
  Started procs(mirai_exe());
  pid_t map = procs.start({"map", "-k", "--config", l.config, "-p", l.profile, "-j", "1",
                           "--no-progress", "--", task, ":::", "x"},
                          {{"XDG_RUNTIME_DIR", dir.path()}});
  REQUIRE(eventually([&] { return access(dir.file("ready").c_str(), F_OK) == 0; }, 60s));
  // The pool's secret, as the run's own control socket gives it to this user.
  auto remote = RemoteDispatcher::connect("ipc://" + dir.path() + "/mirai/dispatcher-" +
                                              std::to_string(map) + "-" + l.profile + ".sock",
                                          5s);
  REQUIRE(remote);
  auto secret = (*remote)->secret();
  REQUIRE(secret);
  CHECK(secret->size() == 64);
  std::vector<pid_t> shown;
  DIR* proc = opendir("/proc");
  while (dirent* e = proc ? readdir(proc) : nullptr) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid > 0 && read_file(std::string("/proc/") + e->d_name + "/cmdline").find(*secret) !=
                       std::string::npos)
      shown.push_back(pid);
  }
  if (proc) closedir(proc);
  CHECK(shown.empty());                               // on no command line on this machine
  CHECK(read_file(dir.file("in_environ")) == "0\n");  // gone from the daemon's environ
  CHECK(read_file(dir.file("inherited")) == "none\n");
  remote->reset();
  kill(map, SIGTERM);
  mirai::wait_for_exit(map, 30s);
  return *secret;
}

void check_secret_in_job_script(const TempDir& dir, const LiveLauncher& l) {
  std::string secret = check_secret_stays_private(dir, l);
  std::string record = dir.file(".mirai/jobs/" + l.profile + "/1/");
  CHECK_THAT(read_file(record + "script.sh"), Catch::Contains("export MIRAI_SECRET=" + secret));
  struct stat st {};
  REQUIRE(stat((record + "script.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(read_file(record + "submit.out").find("MIRAI_SECRET") == std::string::npos);
}

SleepingMap start_sleeping_map(Started& procs, const TempDir& dir, const LiveLauncher& l) {
  pid_t map = procs.start({"map", "-k", "--config", l.config, "-p", l.profile, "-j", "2", "--",
                           "echo $PPID > " + dir.file("{}.daemon") + "; echo $$ > " +
                               dir.file("{}.pid") + "; exec sleep 60",
                           ":::", "a", "b"});
  return {map,
          {wait_pid(dir, "a.pid"), wait_pid(dir, "b.pid"), wait_pid(dir, "a.daemon"),
           wait_pid(dir, "b.daemon")}};
}

bool all_gone(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        return std::none_of(pids.begin(), pids.end(), [](pid_t p) { return process_alive(p); });
      },
      timeout);
}

void check_signal_cancels(const TempDir& dir, const LiveLauncher& l, int signal) {
  Started procs(mirai_exe());
  auto [map, pids] = start_sleeping_map(procs, dir, l);
  std::string id = launched_job_ids(dir, l.profile);
  CHECK(!active_of(l, id).empty());
  // `mirai status` sees the run's profile at its control socket.
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  std::string socket =
      (xdg && *xdg ? std::string(xdg) + "/mirai" : "/tmp/mirai-" + std::to_string(getuid())) +
      "/dispatcher-" + std::to_string(map) + "-" + l.profile + ".sock";
  auto st = nlohmann::json::parse(
      run(mirai_cmd({"status", "--dispatcher", "ipc://" + socket, "--json"})).out, nullptr, false);
  INFO(st.dump());
  CHECK(st["launcher"]["profile"] == l.profile);
  CHECK(st["launcher"]["connected"] == 2);
  CHECK(st["executing"] == 2);
  kill(map, signal);
  int ws = wait_for_exit(map, 30s);
  CHECK(WIFEXITED(ws));
  CHECK(WEXITSTATUS(ws) == 128 + signal);
  // map waited until the scheduler dropped its jobs, and removed its socket.
  CHECK(active_of(l, id) == "");
  CHECK(access(socket.c_str(), F_OK) != 0);
  // Tasks and daemons are gone.
  CHECK(all_gone(pids, 10s));
}

void check_launch_feeds_dispatcher(const TempDir& dir, const LiveLauncher& l) {
  std::string control = "ipc://" + dir.file("control.sock");
  Started procs(mirai_exe());
  pid_t dispatcher = start_dispatcher(procs, dir, control);
  auto launched = run(mirai_cmd(
      {"launch", "--config", l.config, "-p", l.profile, "-n", "2", "--dispatcher", control}));
  INFO(launched.err);
  REQUIRE(launched.exit_code == 0);
  std::string id = recorded_job_ids(dir, l.profile);
  CHECK_THAT(launched.out, Catch::Contains("jobs: " + id + "\n"));
  nlohmann::json status = status_with_daemons(control, 2);
  std::set<int> indices;
  for (const auto& d : status["daemons"]) {
    CHECK(d["job_id"] == id);
    indices.insert(d["array_index"].get<int>());
  }
  CHECK(indices == std::set<int>{1, 2});
  auto map = run(mirai_cmd({"map", "-k", "--dispatcher", control, "--no-progress", "--", "echo",
                            "{}", ":::", "x", "y"}));
  CHECK(map.out == "x\ny\n");
  // The dispatcher tells its daemons to exit when it stops; their jobs then end by themselves.
  kill(dispatcher, SIGTERM);
  CHECK(wait_for_exit(dispatcher, 10s) >= 0);
  CHECK(eventually([&] { return active_of(l, id).empty(); }, 20s));
}

}  // namespace mirai::test
