// Against a real Slurm (tests/infra/slurm-up.sh, started by ctest as a fixture): daemons start
// as array jobs, dial back, run tasks, and nothing is left in the queue or running afterwards.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <sstream>

#include "mirai/launched.hpp"
#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

// The profiles every test here uses; `extra` is appended under profiles:.
LiveLauncher slurm(const TempDir& dir, const std::string& extra = "") {
  std::ofstream(dir.file("mirai.yaml")) << "profiles:\n"
                                           "  cluster:\n"
                                           "    launcher: slurm\n"
                                           "    workers: 3\n"
                                           "    url: tcp://127.0.0.1:0\n"
                                           "    log: " +
                                               dir.file("logs/%A_%a.log") +
                                               "\n"
                                               "    daemon: { idletime: 2m }\n"
                                               "    slurm: { partition: debug, time: 10m }\n"
                                        << extra;
  // Jobs of `id` that Slurm still runs or will run.
  auto active = [](const std::string& id) {
    return run({"squeue", "-h", "-r", "-t", "PD,R,CG,CF,S", "-o", "%i %T", "-j", id}).out;
  };
  return {dir.file("mirai.yaml"), "cluster", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", active};
}

}  // namespace

TEST_CASE("slurm: map --profile runs tasks in a job array and leaves nothing behind",
          "[slurm][live]") {
  TempDir dir;
  std::string id = check_map_runs_in_one_array(dir, slurm(dir));
  std::string record = dir.file(".mirai/jobs/cluster/1/");
  CHECK_THAT(read_file(record + "script.sh"), Catch::Contains("#SBATCH --array=1-3\n"));
  CHECK_THAT(read_file(record + "submit.out"),
             Catch::StartsWith("$ sbatch --parsable < script.sh\n"));
  CHECK(access(dir.file("logs/" + id + "_1.log").c_str(), F_OK) == 0);  // its directory was made
}

TEST_CASE("slurm: launches that cannot start are reported, not waited on", "[slurm][live]") {
  TempDir dir;
  auto l = slurm(dir, R"(  badpart:
    launcher: slurm
    url: tcp://127.0.0.1:0
    launch_retries: 0
    slurm: { partition: nosuch }
  pending:
    launcher: slurm
    url: tcp://127.0.0.1:0
    launch_retries: 0
    launch_timeout: 2s
    directives: [ "--begin=now+1hour" ]
  broken:
    launcher: slurm
    url: tcp://127.0.0.1:0
    launch_retries: 1
    interval: 500ms
    workers: 2
    log: /tmp/broken.log
    daemon: { command: /nonexistent/mirai }
)");
  auto bad = run(mirai_cmd({"run", "--config", l.config, "-p", "badpart", "--", "true"}));
  CHECK(bad.exit_code == 125);
  CHECK_THAT(bad.err, Catch::Contains("`sbatch --parsable` exited with 1: sbatch: error: invalid "
                                      "partition specified: nosuch"));

  auto pending = run(mirai_cmd({"run", "--config", l.config, "-p", "pending", "--", "true"}));
  CHECK(pending.exit_code == 125);
  CHECK_THAT(pending.err, Catch::Contains("had not connected after the launch timeout (2s)"));
  CHECK_THAT(pending.err, Catch::Contains("PENDING (BeginTime)"));
  CHECK(eventually([&] { return active_of(l, recorded_job_ids(dir, "pending")).empty(); }, 20s));

  auto broken = run(mirai_cmd({"run", "--config", l.config, "-p", "broken", "--", "true"}));
  CHECK(broken.exit_code == 125);
  // Launched again once after a back-off, then paused: the run ends with the reason.
  std::string ids = recorded_job_ids(dir, "broken");
  REQUIRE(ids.find('\n') != std::string::npos);  // two launches
  std::string last = ids.substr(ids.rfind('\n') + 1);
  CHECK(ids.find('\n') == ids.rfind('\n'));
  // One task: one daemon at a time, though the profile allows two.
  CHECK_THAT(broken.err, Catch::Contains("daemon 1 ended before connecting: FAILED "
                                         "(NonZeroExitCode); log: /tmp/broken.log"));
  CHECK_THAT(broken.err, Catch::Contains("profile 'broken': launching again in 0.5s (failed "
                                         "launch 1 of at most 2 in a row)\n"));
  CHECK_THAT(broken.err, Catch::Contains("profile 'broken': paused after 2 failed launches in "
                                         "a row; it launches no more daemons\n"));
  CHECK_THAT(broken.err, Catch::EndsWith("mirai run: profile 'broken' is paused, with no daemon "
                                         "connected: launch 2 failed: job " +
                                         last +
                                         " daemon 1 ended before connecting: FAILED "
                                         "(NonZeroExitCode); log: /tmp/broken.log\n"));
}

TEST_CASE("slurm: SIGTERM to map cancels the jobs and their tasks", "[slurm][live]") {
  TempDir dir;
  check_signal_cancels(dir, slurm(dir));
}

TEST_CASE("slurm: SIGINT to map (Ctrl-C) cancels the jobs and leaves no process", "[slurm][live]") {
  TempDir dir;
  check_signal_cancels(dir, slurm(dir), SIGINT);
}

TEST_CASE("slurm: daemons know their job's time limit and take no task that would outrun it",
          "[slurm][live]") {
  TempDir dir;
  auto l = slurm(dir, R"(  short:
    launcher: slurm
    url: tcp://127.0.0.1:0
    slurm: { partition: debug, time: 1m }
)");
  // A 1m job keeps a twentieth as margin: a task that declares 58s could never run.
  auto refused = run(
      mirai_cmd({"run", "--config", l.config, "-p", "short", "--expected", "58s", "--", "true"}));
  CHECK(refused.exit_code == 125);
  CHECK_THAT(refused.err, Catch::Contains("a task is expected to run 58s, longer than the jobs "
                                          "of profile 'short' may run (slurm: time: 1m)"));
  CHECK(access(dir.file(".mirai/jobs/short").c_str(), F_OK) != 0);  // nothing was submitted
  // The daemon counts from the job's start: it has about 57 s, and reports so in its hello.
  auto ok = run(mirai_cmd({"map", "-k", "--config", l.config, "-p", "short", "--no-progress",
                           "--expected", "30s", "--", "echo", "{}", ":::", "x"}));
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "x\n");
  std::string script = read_file(dir.file(".mirai/jobs/short/1/script.sh"));
  CHECK_THAT(script, Catch::Contains("MIRAI_JOB_START=$(date +%s) && export MIRAI_JOB_START\n"));
  CHECK_THAT(script, Catch::Contains(" --allocation 1m\n"));
}

TEST_CASE("slurm: mirai launch feeds a running dispatcher and status shows job and index",
          "[slurm][live]") {
  TempDir dir;
  check_launch_feeds_dispatcher(dir, slurm(dir));
}

TEST_CASE("slurm: the secret is in the 0700 job script, never on a command line", "[slurm][live]") {
  TempDir dir;
  check_secret_in_job_script(dir, slurm(dir));
}

TEST_CASE("slurm: SIGKILL to map: its daemons exit within 2 s and their jobs leave the queue",
          "[slurm][live]") {
  TempDir dir;
  auto l = slurm(dir);
  Started procs(mirai_exe());
  auto [map, pids] = start_sleeping_map(procs, dir, l);
  std::string id = launched_job_ids(dir, l.profile);
  REQUIRE(!active_of(l, id).empty());
  // The dispatcher lives in map: nothing gets to cancel anything.
  kill(map, SIGKILL);
  REQUIRE(mirai::wait_for_exit(map, 10s) >= 0);
  CHECK(all_gone(pids, 2s));
  CHECK(eventually([&] { return active_of(l, id).empty(); }, 20s));
}

TEST_CASE("slurm: a dispatcher with a profile launches for its clients, and status shows it",
          "[slurm][live]") {
  TempDir dir;
  auto l = slurm(dir);
  std::string control = "ipc://" + dir.file("control.sock");
  Started procs(mirai_exe());
  pid_t dispatcher = procs.start({"dispatcher", "--config", l.config, "-p", l.profile, "-n", "2",
                                  "--control", control, "--url-file", dir.file("urls")});
  REQUIRE(eventually([&] { return !read_file(dir.file("urls")).empty(); }));
  // Nothing to do yet: nothing launched.
  auto idle = nlohmann::json::parse(
      run(mirai_cmd({"status", "--dispatcher", control, "--json"})).out, nullptr, false);
  REQUIRE(idle.is_object());
  CHECK(idle["launcher"]["profile"] == l.profile);
  CHECK(idle["launcher"]["launcher"] == "slurm");
  CHECK(idle["launcher"]["workers"] == 2);
  CHECK(idle["launcher"]["launched"] == 0);

  // A client's backlog: two daemons in one array, each knowing its job's time limit (10m).
  Started clients(mirai_exe());
  pid_t map = clients.start({"map", "-k", "--dispatcher", control, "--no-progress", "--",
                             "sleep 30 # {}", ":::", "a", "b", "c"});
  nlohmann::json st = status_with_daemons(control, 2);
  for (const auto& d : st["daemons"]) {
    CHECK(d["time_left_ms"].get<long>() > 8 * 60 * 1000);
    CHECK(d["time_left_ms"].get<long>() < 10 * 60 * 1000);
  }
  CHECK(st["launcher"]["launched"] == 2);
  CHECK(st["launcher"]["launches"] == 1);
  CHECK(st["launcher"]["failed"] == 0);
  // The controller's next round has the scheduler's word on both array elements.
  CHECK(eventually([&] {
    auto s = nlohmann::json::parse(
        run(mirai_cmd({"status", "--dispatcher", control, "--json"})).out, nullptr, false);
    return s.is_object() && s["launcher"]["jobs"] == nlohmann::json{{"running", 2}};
  }));
  auto table = run(mirai_cmd({"status", "--dispatcher", control}));
  CHECK_THAT(table.out, Catch::Contains("profile cluster (slurm): workers 2  connected 2  "
                                        "launching 0  failed 0  launched 2  launches 1\n"
                                        "jobs: running 2\n"));
  CHECK_THAT(table.out, Catch::Contains("time-left"));

  // Stopping the dispatcher cancels its jobs and waits until they are gone.
  std::string id = launched_job_ids(dir, l.profile);
  kill(map, SIGTERM);
  mirai::wait_for_exit(map, 10s);
  kill(dispatcher, SIGTERM);
  CHECK(mirai::wait_for_exit(dispatcher, 40s) >= 0);
  CHECK(active_of(l, id) == "");
}

TEST_CASE("slurm: tasks go to the profile they name, and crashed ones to the backup",
          "[slurm][live]") {
  TempDir dir;
  auto l = slurm(dir, R"(  small:
    launcher: slurm
    url: tcp://127.0.0.1:0
    retries: 1
    backup: big
    interval: 500ms
    env: { TIER: small }
    slurm: { partition: debug }
  big:
    launcher: slurm
    url: tcp://127.0.0.1:0
    interval: 500ms
    env: { TIER: big }
    slurm: { partition: debug, mem: 100M }
)");
  std::ofstream(dir.file("tasks.jsonl"))
      << R"({"id": "oom", "sh": "[ $TIER = small ] && kill -9 $PPID; echo on $TIER"})"
         "\n"
      << R"({"id": "fits", "sh": "echo on $TIER"})"
         "\n"
      << R"({"id": "routed", "sh": "echo on $TIER", "profile": "big"})"
         "\n";
  auto r = run(mirai_cmd({"map", "--config", l.config, "-p", "small", "--jsonl", "--args-file",
                          dir.file("tasks.jsonl")}));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  std::vector<nlohmann::json> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 3);
  // Killed on both attempts `small` allows, then run by `big`.
  CHECK(lines[0]["id"] == "oom");
  CHECK(lines[0]["stdout"] == "on big\n");
  CHECK(lines[1]["stdout"] == "on small\n");
  CHECK(lines[2]["stdout"] == "on big\n");
  // Both profiles' jobs are gone.
  CHECK(active_of(l, recorded_job_ids(dir, "small")) == "");
  CHECK(active_of(l, recorded_job_ids(dir, "big")) == "");

  auto unknown = run(mirai_cmd({"map", "--config", l.config, "-p", "small", "--jsonl"}),
                     R"({"sh": "true", "profile": "nosuch"})");
  CHECK(unknown.exit_code == 125);
  CHECK_THAT(unknown.err, Catch::Contains("nosuch"));
}

TEST_CASE("slurm: a setup that fails on every replacement daemon ends the run", "[slurm][live]") {
  TempDir dir;
  auto l = slurm(dir, R"(  fragile:
    launcher: slurm
    url: tcp://127.0.0.1:0
    workers: 1
    retries: 5
    interval: 300ms
    slurm: { partition: debug }
)");
  // The task kills its daemon after making the setup fail everywhere from then on.
  std::string marker = dir.file("marker");
  auto r = run(mirai_cmd({"map", "-k", "--config", l.config, "-p", "fragile", "--no-progress", "-e",
                          "[ -e " + marker + " ] && exit 3; true", "--",
                          "touch " + marker + "; kill -9 $PPID # {}", ":::", "a"}));
  INFO(r.err);
  CHECK(r.exit_code == 125);
  CHECK_THAT(r.err, Catch::Contains("mirai map: --everywhere failed on a daemon that connected "
                                    "later: error (exit status 3): sh -c script failed with exit "
                                    "status 3; it takes no task\n"));
  CHECK_THAT(r.err, Catch::EndsWith("(on 3 daemons in a row)\n"));
  // The first daemon and three replacements, all gone.
  std::string ids = recorded_job_ids(dir, "fragile");
  CHECK(std::count(ids.begin(), ids.end(), '\n') == 3);
  CHECK(active_of(l, ids) == "");
}

TEST_CASE("slurm, defined in mirai.yaml alone: map runs in its array and leaves nothing behind",
          "[slurm][live][backends]") {
  // crew's launcher plugins without code: Slurm as a user would define it under `backends:`,
  // its commands, how to read job ids and states, and a job script template.
  TempDir dir;
  std::ofstream(dir.file("byhand.sh")) << "#!/bin/sh\n"
                                          "#SBATCH --job-name={{ job_name }}\n"
                                          "#SBATCH --array={{ array }}\n"
                                          "#SBATCH --output={{ log | /dev/null }}\n"
                                          "{{ directives }}\n"
                                          "cd {{ workdir }} || exit 1\n"
                                          "{{ env }}\n"
                                          "{{ daemon }}\n";
  std::ofstream(dir.file("mirai.yaml"))
      << "backends:\n"
         "  byhand:\n"
         "    template: byhand.sh\n"
         "    directive: \"#SBATCH\"\n"
         "    submit: [sbatch, --parsable]\n"
         "    job_id: '^([0-9]+)'\n"
         "    status: [squeue, --noheader, --array, --states=all, '--format=%i %T', "
         "'--jobs={ids}']\n"
         "    status_line: '^(\\S+) (\\S+)'\n"
         "    states: { PENDING: pending, RUNNING: running, COMPLETING: stopping, COMPLETED: "
         "finished, CANCELLED: cancelled, FAILED: failed, TIMEOUT: failed, NODE_FAIL: failed }\n"
         "    cancel: [scancel, '{ids}']\n"
         "    gone: [ \"Invalid job id\" ]\n"
         "    element: '{job}_{index}'\n"
         "profiles:\n"
         "  cluster:\n"
         "    launcher: byhand\n"
         "    workers: 3\n"
         "    url: tcp://127.0.0.1:0\n"
         "    log: "
      << dir.file("logs/%A_%a.log")
      << "\n"
         "    daemon: { idletime: 2m }\n"
         "    directives: [ \"--partition=debug\", \"--time=10\" ]\n";
  auto active = [](const std::string& id) {
    return run({"squeue", "-h", "-r", "-t", "PD,R,CG,CF,S", "-o", "%i %T", "-j", id}).out;
  };
  LiveLauncher l{dir.file("mirai.yaml"), "cluster", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
                 active};
  auto check = run(mirai_cmd({"config", "check", "--config", l.config}));
  INFO(check.err);
  REQUIRE(check.exit_code == 0);
  std::string id = check_map_runs_in_one_array(dir, l);
  std::string record = dir.file(".mirai/jobs/cluster/1/");
  CHECK_THAT(read_file(record + "script.sh"), Catch::Contains("#SBATCH --array=1-3\n") &&
                                                  Catch::Contains("#SBATCH --partition=debug\n"));
  CHECK_THAT(read_file(record + "submit.out"),
             Catch::StartsWith("$ sbatch --parsable < script.sh\n"));
  // `mirai status`-style questions go through its status command too: gone now.
  CHECK(active(id).empty());
}

TEST_CASE(
    "slurm, from C++: a LaunchedProfile of mirai.yaml or of values runs tasks in its array "
    "and cancels it at the end",
    "[slurm][live][launched]") {
  const bool from_values = GENERATE(false, true);
  TempDir dir;
  LiveLauncher l = slurm(dir);
  std::vector<std::string> events;
  std::mutex events_mu;
  std::string job;
  {
    mirai::LaunchOptions o;
    if (from_values) {  // the profile slurm() writes, as values
      mirai::ProfileValues v;
      v.name = "cluster";
      v.launcher = "slurm";
      v.workers = 3;
      v.url = "tcp://127.0.0.1:0";
      v.log = dir.file("logs/%A_%a.log");
      v.idletime = std::chrono::minutes(2);
      v.resources = {{"partition", "debug"}, {"time", "10m"}};
      o.values = v;
      o.root = dir.path();
    } else {
      o.config = l.config;
      o.profile = l.profile;
    }
    o.workers = 2;
    o.on_event = [&](const std::string& line) {
      std::lock_guard<std::mutex> lock(events_mu);
      events.push_back(line);
    };
    auto launched = mirai::LaunchedProfile::start(o);
    INFO((launched ? std::string() : launched.message()));
    REQUIRE(launched);
    mirai::Profile& p = (*launched)->profile();
    std::vector<mirai::Future> fs;
    for (int i = 0; i < 4; ++i)
      fs.push_back(p.submit(mirai::Task::sh("echo $SLURM_ARRAY_JOB_ID").with_timeout(60s)));
    for (auto& f : fs) {
      const mirai::Result& r = f.wait();
      INFO(r.describe());
      REQUIRE(r.ok());
      if (job.empty()) job = r.value.substr(0, r.value.size() - 1);
      CHECK(r.value == job + "\n");  // one array for all
    }
    auto status = (*launched)->status();
    REQUIRE(status);
    CHECK(status->launcher == "slurm");
    CHECK(status->launched >= 1);
    CHECK(status->launched <= 2);
    CHECK((*launched)->failure().empty());
  }  // destroyed: the array is cancelled and waited for
  CHECK(l.active(job).empty());
  CHECK_THAT(read_file(dir.file(".mirai/jobs/cluster/1/job_ids")), Catch::Contains(job));
  std::lock_guard<std::mutex> lock(events_mu);
  CHECK(events.empty());  // the controller speaks of failed launches only: none
}
