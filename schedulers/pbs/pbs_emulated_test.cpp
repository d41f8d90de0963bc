// PBS Pro and Torque through the strict fake commands in tests/emulated/ (no PBS can run here):
// they accept only real qsub/qstat/qdel options, print the real formats, and run the jobs for
// real with PBS's environment. Labelled "emulated": this is not coverage against a real PBS.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/fake_scheduler.hpp"
#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

LiveLauncher pbs(const TempDir& dir, const std::string& flavour, const std::string& extra = "") {
  std::ofstream(dir.file("mirai.yaml")) << "profiles:\n"
                                           "  hpc:\n"
                                           "    launcher: pbs\n"
                                           "    workers: 3\n"
                                           "    url: tcp://127.0.0.1:0\n"
                                           "    log: " +
                                               dir.file("logs/mirai.log") +
                                               "\n"
                                               "    daemon: { idletime: 2m }\n"
                                               "    pbs: { flavour: " +
                                               flavour + ", time: 10m, cpus: 1, mem: 1G }\n"
                                        << extra;
  const bool pro = flavour == "pro";
  auto active = [pro](const std::string& id) {
    std::vector<std::string> argv = {"qstat", "-f", "-t", id};
    if (pro) argv.push_back("-x");
    std::istringstream lines(run(argv).out);
    std::string out;
    for (std::string line; std::getline(lines, line);)
      if (line.find("job_state = ") != std::string::npos &&
          line.find_first_of("FCX", line.find('=') + 2) == std::string::npos)
        out += line + "\n";
    return out;
  };
  LiveLauncher l{dir.file("mirai.yaml"), "hpc", pro ? "PBS_ARRAY_ID" : "PBS_JOBID",
                 pro ? "PBS_ARRAY_INDEX" : "PBS_ARRAYID", active};
  // A Torque subjob knows only its own id, 12[3].server; the recorded id is the array's.
  if (!pro)
    l.job_of = [](std::string id) {
      return id.erase(id.find('[') + 1, id.find(']') - id.find('[') - 1);
    };
  return l;
}

}  // namespace

TEST_CASE("pbs (emulated): map --profile runs an array on PBS Pro and on Torque",
          "[pbs][emulated]") {
  for (const char* flavour : {"pro", "torque"}) {
    INFO(flavour);
    TempDir dir;
    FakeScheduler fake(dir, "pbs", flavour);
    std::string id = check_map_runs_in_one_array(dir, pbs(dir, flavour));
    CHECK(id == "100[].fakeserver");
    std::string calls = fake.calls();
    CHECK_THAT(calls, Catch::Contains(std::string("#PBS ") +
                                      (flavour == std::string("pro") ? "-J" : "-t") + " 1-3\\n"));
    CHECK_THAT(calls, Catch::Contains("\"argv\": [\"qdel\", \"100[].fakeserver\"]"));
  }
}

TEST_CASE("pbs (emulated): SIGTERM to map deletes the array and its tasks", "[pbs][emulated]") {
  TempDir dir;
  FakeScheduler fake(dir, "pbs", "pro");
  check_signal_cancels(dir, pbs(dir, "pro"));
}

TEST_CASE("pbs (emulated): mirai launch feeds a dispatcher and status shows job and index",
          "[pbs][emulated]") {
  for (const char* flavour : {"pro", "torque"}) {
    INFO(flavour);
    TempDir dir;
    FakeScheduler fake(dir, "pbs", flavour);
    check_launch_feeds_dispatcher(dir, pbs(dir, flavour));
  }
}

TEST_CASE("pbs (emulated): rejected and stuck launches are reported", "[pbs][emulated]") {
  TempDir dir;
  FakeScheduler fake(dir, "pbs", "pro");
  auto l = pbs(dir, "pro", R"(  badqueue:
    launcher: pbs
    url: tcp://127.0.0.1:0
    launch_retries: 0
    pbs: { queue: nosuch }
  held:
    launcher: pbs
    url: tcp://127.0.0.1:0
    launch_retries: 0
    workers: 2
    launch_timeout: 2s
    directives: [ "-h" ]
  torque_option:
    launcher: pbs
    url: tcp://127.0.0.1:0
    launch_retries: 0
    workers: 2
    directives: [ "-t 1-2" ]
)");
  auto bad = run(mirai_cmd({"run", "--config", l.config, "-p", "badqueue", "--", "true"}));
  CHECK(bad.exit_code == 125);
  CHECK_THAT(bad.err, Catch::Contains("`qsub` exited with 2: qsub: Unknown queue"));

  auto held = run(mirai_cmd({"run", "--config", l.config, "-p", "held", "--", "true"}));
  CHECK(held.exit_code == 125);
  CHECK_THAT(held.err, Catch::Contains("had not connected after the launch timeout (2s)"));
  CHECK_THAT(held.err,
             Catch::Contains("job 100.fakeserver daemon 1 had not connected after the launch "
                             "timeout (2s): H; no log kept"));

  // A Torque option in a PBS Pro profile is refused by qsub, as a real PBS Pro would.
  auto torque = run(mirai_cmd({"run", "--config", l.config, "-p", "torque_option", "--", "true"}));
  CHECK(torque.exit_code == 125);
  CHECK_THAT(torque.err, Catch::Contains("qsub: invalid option -- 't'"));
}
