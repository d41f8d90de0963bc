// Against a real Slurm (tests/infra/slurm-up.sh, started by ctest as a fixture): daemons start
// as array jobs, dial back, run tasks, and nothing is left in the queue or running afterwards.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/support.hpp"

using mirai::test::eventually;
using mirai::test::read_file;
using mirai::test::run;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> mirai_cmd(std::vector<std::string> args) {
  args.insert(args.begin(), mirai::test::mirai_exe());
  return args;
}

// The profiles every test here uses; `extra` is appended under profiles:.
std::string write_config(const mirai::test::TempDir& dir, const std::string& extra = "") {
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
  return dir.file("mirai.yaml");
}

// Jobs of `id` that Slurm still runs or will run.
std::string active(const std::string& id) {
  return run({"squeue", "-h", "-r", "-t", "PD,R,CG,CF,S", "-o", "%i %T", "-j", id}).out;
}

std::string job_ids(const mirai::test::TempDir& dir, const std::string& profile, int n = 1) {
  std::string ids =
      read_file(dir.file(".mirai/jobs/" + profile + "/" + std::to_string(n) + "/job_ids"));
  while (!ids.empty() && ids.back() == '\n') ids.pop_back();
  return ids;
}

}  // namespace

TEST_CASE("slurm: map --profile runs tasks in a job array and leaves nothing behind",
          "[slurm][live]") {
  mirai::test::TempDir dir;
  std::string config = write_config(dir);
  auto r = run(mirai_cmd({"map", "--config", config, "-p", "cluster", "--no-progress", "--", "sh",
                          "-c", "echo {} $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $PPID",
                          ":::", "1", "2", "3", "4", "5", "6"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string id = job_ids(dir, "cluster");
  REQUIRE(!id.empty());
  std::istringstream lines(r.out);
  std::set<std::string> indices;
  std::set<pid_t> daemons;
  for (int i = 1; i <= 6; ++i) {
    std::string arg, job, index;
    pid_t daemon = 0;
    REQUIRE(lines >> arg >> job >> index >> daemon);
    CHECK(arg == std::to_string(i));
    CHECK(job == id);  // every task ran inside the one array this run submitted
    indices.insert(index);
    daemons.insert(daemon);
  }
  CHECK(indices.size() >= 1);
  for (const auto& index : indices) CHECK((index == "1" || index == "2" || index == "3"));
  // The record of the submission.
  std::string record = dir.file(".mirai/jobs/cluster/1/");
  CHECK_THAT(read_file(record + "script.sh"), Catch::Contains("#SBATCH --array=1-3\n"));
  CHECK_THAT(read_file(record + "submit.out"),
             Catch::StartsWith("$ sbatch --parsable < script.sh\n"));
  CHECK(access(dir.file("logs/" + id + "_1.log").c_str(), F_OK) == 0);  // its directory was made
  // Afterwards: no job of this run left in the queue, no daemon left running.
  CHECK(eventually([&] { return active(id).empty(); }, 20s));
  for (pid_t d : daemons) CHECK(eventually([&] { return !mirai::test::process_alive(d); }, 10s));
}

TEST_CASE("slurm: launches that cannot start are reported, not waited on", "[slurm][live]") {
  mirai::test::TempDir dir;
  std::string config = write_config(dir, R"(  badpart:
    launcher: slurm
    url: tcp://127.0.0.1:0
    slurm: { partition: nosuch }
  pending:
    launcher: slurm
    url: tcp://127.0.0.1:0
    launch_timeout: 2s
    directives: [ "--begin=now+1hour" ]
  broken:
    launcher: slurm
    url: tcp://127.0.0.1:0
    workers: 2
    log: /tmp/broken.log
    daemon: { command: /nonexistent/mirai }
)");
  auto bad = run(mirai_cmd({"run", "--config", config, "-p", "badpart", "--", "true"}));
  CHECK(bad.exit_code == 125);
  CHECK_THAT(bad.err, Catch::Contains("`sbatch --parsable` exited with 1: sbatch: error: invalid "
                                      "partition specified: nosuch"));

  auto pending = run(mirai_cmd({"run", "--config", config, "-p", "pending", "--", "true"}));
  CHECK(pending.exit_code == 125);
  CHECK_THAT(pending.err, Catch::Contains("no daemon connected within the launch timeout (2s)"));
  CHECK_THAT(pending.err, Catch::Contains("PENDING (BeginTime)"));
  CHECK(eventually([&] { return active(job_ids(dir, "pending")).empty(); }, 20s));

  auto broken = run(mirai_cmd({"run", "--config", config, "-p", "broken", "--", "true"}));
  CHECK(broken.exit_code == 125);
  CHECK_THAT(broken.err, Catch::Contains("every job ended before a daemon connected; log: "
                                         "/tmp/broken.log"));
  CHECK_THAT(broken.err, Catch::Contains("FAILED (NonZeroExitCode)"));
}

TEST_CASE("slurm: SIGTERM to map cancels the jobs and their tasks", "[slurm][live]") {
  mirai::test::TempDir dir;
  std::string config = write_config(dir);
  mirai::test::Started procs(mirai::test::mirai_exe());
  pid_t map = procs.start({"map", "--config", config, "-p", "cluster", "-n", "2", "--", "sh", "-c",
                           "echo $$ > " + dir.file("{}.pid") + "; exec sleep 60", ":::", "a", "b"});
  pid_t a = mirai::test::wait_pid(dir, "a.pid");
  pid_t b = mirai::test::wait_pid(dir, "b.pid");
  std::string id = job_ids(dir, "cluster");
  CHECK(!active(id).empty());
  kill(map, SIGTERM);
  int ws = mirai::wait_for_exit(map, 30s);
  CHECK(WIFEXITED(ws));
  CHECK(WEXITSTATUS(ws) == 128 + SIGTERM);
  CHECK(eventually([&] { return active(id).empty(); }, 20s));
  CHECK(eventually([&] { return !mirai::test::process_alive(a) && !mirai::test::process_alive(b); },
                   10s));
}

TEST_CASE("slurm: mirai launch feeds a running dispatcher and status shows job and index",
          "[slurm][live]") {
  mirai::test::TempDir dir;
  std::string config = write_config(dir);
  std::string control = "ipc://" + dir.file("control.sock");
  mirai::test::Started procs(mirai::test::mirai_exe());
  pid_t dispatcher = procs.start({"dispatcher", "--listen", "tcp://127.0.0.1:0", "--control",
                                  control, "--url-file", dir.file("urls")});
  REQUIRE(eventually([&] { return !read_file(dir.file("urls")).empty(); }));
  auto launched = run(mirai_cmd(
      {"launch", "--config", config, "-p", "cluster", "-n", "2", "--dispatcher", control}));
  INFO(launched.err);
  REQUIRE(launched.exit_code == 0);
  std::string id = job_ids(dir, "cluster");
  CHECK_THAT(launched.out, Catch::Contains("jobs: " + id + "\n"));
  nlohmann::json status;
  REQUIRE(eventually(
      [&] {
        status = nlohmann::json::parse(
            run(mirai_cmd({"status", "--dispatcher", control, "--json"})).out, nullptr, false);
        return status.is_object() && status["daemons"].size() == 2;
      },
      30s));
  std::set<int> indices;
  for (const auto& d : status["daemons"]) {
    CHECK(d["job_id"] == id);
    indices.insert(d["array_index"].get<int>());
  }
  CHECK(indices == std::set<int>{1, 2});
  auto map = run(mirai_cmd(
      {"map", "--dispatcher", control, "--no-progress", "--", "echo", "{}", ":::", "x", "y"}));
  CHECK(map.out == "x\ny\n");
  // The dispatcher tells its daemons to exit when it stops; their jobs then end by themselves.
  kill(dispatcher, SIGTERM);
  CHECK(mirai::wait_for_exit(dispatcher, 10s) >= 0);
  CHECK(eventually([&] { return active(id).empty(); }, 20s));
}
