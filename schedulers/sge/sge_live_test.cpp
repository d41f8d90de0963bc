// Against a real Grid Engine (tests/infra/sge-up.sh, started by ctest as a fixture): daemons
// start as array tasks, dial back, run tasks, and nothing is left in the queue or running after.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

LiveLauncher sge(const TempDir& dir, const std::string& extra = "") {
  // The SGE_ROOT, SGE_CELL and ports that sge-up.sh wrote, for the commands run from here.
  std::istringstream env(read_file("/tmp/mirai-ci/sge/env.sh"));
  for (std::string word; env >> word;)
    if (auto eq = word.find('='); eq != std::string::npos)
      setenv(word.substr(0, eq).c_str(), word.substr(eq + 1).c_str(), 1);
  std::ofstream(dir.file("mirai.yaml")) << "profiles:\n"
                                           "  grid:\n"
                                           "    launcher: sge\n"
                                           "    workers: 3\n"
                                           "    url: tcp://127.0.0.1:0\n"
                                           "    log: " +
                                               dir.file("logs/") +
                                               "\n"
                                               "    daemon: { idletime: 2m }\n"
                                               "    sge: { queue: all.q, time: 10m }\n"
                                        << extra;
  // The tasks of job `id` that SGE still holds.
  auto active = [](const std::string& id) {
    std::istringstream lines(run({"qstat", "-g", "d"}).out);
    std::string out;
    for (std::string line, job; std::getline(lines, line);)
      if (std::istringstream(line) >> job && job == id) out += line + "\n";
    return out;
  };
  return {dir.file("mirai.yaml"), "grid", "JOB_ID", "SGE_TASK_ID", active};
}

}  // namespace

TEST_CASE("sge: map --profile runs tasks in a job array and leaves nothing behind", "[sge][live]") {
  TempDir dir;
  std::string id = check_map_runs_in_one_array(dir, sge(dir));
  std::string record = dir.file(".mirai/jobs/grid/1/");
  CHECK_THAT(read_file(record + "script.sh"), Catch::Contains("#$ -t 1-3\n"));
  CHECK_THAT(read_file(record + "submit.out"), Catch::StartsWith("$ qsub -terse < script.sh\n"));
  // A log directory gets one file per task, named by SGE.
  CHECK(access(dir.file("logs/mirai-grid.o" + id + ".1").c_str(), F_OK) == 0);
}

TEST_CASE("sge: launches that cannot start are reported, not waited on", "[sge][live]") {
  TempDir dir;
  auto l = sge(dir, R"(  badqueue:
    launcher: sge
    url: tcp://127.0.0.1:0
    launch_retries: 0
    sge: { queue: nosuch.q }
  held:
    launcher: sge
    url: tcp://127.0.0.1:0
    launch_retries: 0
    launch_timeout: 2s
    directives: [ "-h" ]
  errorstate:
    launcher: sge
    url: tcp://127.0.0.1:0
    launch_retries: 0
    directives: [ "-o /proc/no/such.log" ]
  broken:
    launcher: sge
    url: tcp://127.0.0.1:0
    launch_retries: 0
    workers: 2
    daemon: { command: /nonexistent/mirai }
)");
  auto bad = run(mirai_cmd({"run", "--config", l.config, "-p", "badqueue", "--", "true"}));
  CHECK(bad.exit_code == 125);
  CHECK_THAT(bad.err, Catch::Contains("`qsub -terse` exited with 1: Unable to run job: Job was "
                                      "rejected because job requests unknown queue \"nosuch.q\""));

  auto held = run(mirai_cmd({"run", "--config", l.config, "-p", "held", "--", "true"}));
  CHECK(held.exit_code == 125);
  CHECK_THAT(held.err, Catch::Contains("had not connected after the launch timeout (2s)"));
  CHECK_THAT(held.err, Catch::Contains(": hqw"));
  CHECK(eventually([&] { return active_of(l, recorded_job_ids(dir, "held")).empty(); }, 20s));

  // A job in error state never runs; it is reported with SGE's reason and deleted.
  auto error = run(mirai_cmd({"run", "--config", l.config, "-p", "errorstate", "--", "true"}));
  CHECK(error.exit_code == 125);
  CHECK_THAT(error.err, Catch::Contains("ended before connecting"));
  CHECK_THAT(error.err,
             Catch::Contains("Eqw: error: can't open output file \"/proc/no/such.log\""));
  CHECK(eventually([&] { return active_of(l, recorded_job_ids(dir, "errorstate")).empty(); }, 20s));

  auto broken = run(mirai_cmd({"run", "--config", l.config, "-p", "broken", "--", "true"}));
  CHECK(broken.exit_code == 125);
  CHECK_THAT(broken.err, Catch::Contains("ended before connecting"));
  CHECK_THAT(broken.err, Catch::Contains("exit_status 127"));
}

TEST_CASE("sge: SIGTERM to map deletes the jobs and their tasks", "[sge][live]") {
  TempDir dir;
  check_signal_cancels(dir, sge(dir));
}

TEST_CASE("sge: mirai launch feeds a running dispatcher and status shows job and task",
          "[sge][live]") {
  TempDir dir;
  check_launch_feeds_dispatcher(dir, sge(dir));
}

TEST_CASE("sge: the secret is in the 0700 job script, never on a command line", "[sge][live]") {
  TempDir dir;
  check_secret_in_job_script(dir, sge(dir));
}
