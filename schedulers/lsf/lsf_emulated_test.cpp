// LSF through the strict fake bsub/bjobs/bkill in tests/emulated/ (no LSF can run here): they
// accept only real options, print the real formats, and run the jobs for real with LSF's
// environment. Labelled "emulated": this is not coverage against a real LSF.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/fake_scheduler.hpp"
#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

LiveLauncher lsf(const TempDir& dir, const std::string& extra = "") {
  std::ofstream(dir.file("mirai.yaml")) << "profiles:\n"
                                           "  farm:\n"
                                           "    launcher: lsf\n"
                                           "    workers: 3\n"
                                           "    url: tcp://127.0.0.1:0\n"
                                           "    log: " +
                                               dir.file("logs/mirai.%J.%I.log") +
                                               "\n"
                                               "    daemon: { idletime: 2m }\n"
                                               "    lsf: { queue: normal, time: 10m, mem: 1G }\n"
                                        << extra;
  auto active = [](const std::string& id) {
    std::istringstream lines(
        run({"bjobs", "-noheader", "-o", "jobid stat jobindex delimiter='|'", id}).out);
    std::string out;
    for (std::string line; std::getline(lines, line);) out += line + "\n";
    return out;
  };
  return {dir.file("mirai.yaml"), "farm", "LSB_JOBID", "LSB_JOBINDEX", active};
}

}  // namespace

TEST_CASE("lsf (emulated): map --profile runs tasks in a job array and leaves nothing behind",
          "[lsf][emulated]") {
  TempDir dir;
  FakeScheduler fake(dir, "lsf");
  std::string id = check_map_runs_in_one_array(dir, lsf(dir));
  CHECK(id == "100");
  std::string calls = fake.calls();
  CHECK_THAT(calls, Catch::Contains("#BSUB -J \\\"mirai-farm[1-3]\\\"\\n"));
  CHECK_THAT(calls, Catch::Contains("\"argv\": [\"bkill\", \"100\"]"));
  CHECK(read_file(dir.file("logs/mirai.100.1.log")).empty());  // %J and %I, directory made
}

TEST_CASE("lsf (emulated): SIGTERM to map kills the array and its tasks", "[lsf][emulated]") {
  TempDir dir;
  FakeScheduler fake(dir, "lsf");
  check_signal_cancels(dir, lsf(dir));
}

TEST_CASE("lsf (emulated): mirai launch feeds a dispatcher and status shows job and index",
          "[lsf][emulated]") {
  TempDir dir;
  FakeScheduler fake(dir, "lsf");
  check_launch_feeds_dispatcher(dir, lsf(dir));
}

TEST_CASE("lsf (emulated): rejected and stuck launches are reported", "[lsf][emulated]") {
  TempDir dir;
  FakeScheduler fake(dir, "lsf");
  auto l = lsf(dir, R"(  badqueue:
    launcher: lsf
    url: tcp://127.0.0.1:0
    launch_retries: 0
    lsf: { queue: nosuch }
  held:
    launcher: lsf
    url: tcp://127.0.0.1:0
    launch_retries: 0
    launch_timeout: 2s
    directives: [ "-H" ]
  broken:
    launcher: lsf
    url: tcp://127.0.0.1:0
    launch_retries: 0
    daemon: { command: /nonexistent/mirai }
)");
  auto bad = run(mirai_cmd({"run", "--config", l.config, "-p", "badqueue", "--", "true"}));
  CHECK(bad.exit_code == 125);
  CHECK_THAT(bad.err, Catch::Contains("`bsub` exited with 255: nosuch: No such queue. Job not "
                                      "submitted."));

  auto held = run(mirai_cmd({"run", "--config", l.config, "-p", "held", "--", "true"}));
  CHECK(held.exit_code == 125);
  CHECK_THAT(held.err, Catch::Contains("had not connected after the launch timeout (2s)"));
  CHECK_THAT(held.err,
             Catch::Contains("daemon 1 had not connected after the launch timeout (2s): PSUSP"));

  auto broken = run(mirai_cmd({"run", "--config", l.config, "-p", "broken", "--", "true"}));
  CHECK(broken.exit_code == 125);
  CHECK_THAT(broken.err, Catch::Contains("ended before connecting"));
  CHECK_THAT(broken.err, Catch::Contains("EXIT exit 127"));
}
