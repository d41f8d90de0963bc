// The controller against real daemons launched by the local backend (templates/shell.sh): it
// launches for the backlog in batches up to `workers`, again after daemons leave by idletime,
// reports and retries failed launches, pauses, and leaves no process behind.
#include <catch2/catch.hpp>
#include <mutex>

#include "launcher/controller.hpp"
#include "mirai/mirai.hpp"
#include "tests/support/launcher_live.hpp"

using namespace mirai;
using namespace mirai::launcher;
using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

// A pool listening for daemons, and a controller of a local profile feeding it.
struct Scaled {
  Profile pool;
  std::unique_ptr<Controller> controller;
  std::mutex mu;
  std::vector<std::string> reports;  // GUARDED_BY(mu)

  Scaled(const TempDir& dir, ProfileConfig profile, Controller::Options o) {
    set_daemons(pool, local_daemons(0));
    profile.env.emplace_back("MIRAI_TEST_TAG", dir.path());
    LaunchSpec spec = make_spec(profile, 0, pool.url());
    spec.command = mirai_exe();
    spec.secret = pool.secret();
    auto launch = Launch::open(make_backend(profile), dir.path(), profile.name);
    REQUIRE(launch.ok());
    controller = std::make_unique<Controller>(pool, std::move(*launch), spec, o,
                                              [this](const std::string& line) {
                                                std::lock_guard<std::mutex> lock(mu);
                                                reports.push_back(line);
                                              });
    controller->start();
  }
  std::string all_reports() {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const auto& r : reports) out += r + "\n";
    return out;
  }
};

ProfileConfig local_profile(int workers) {
  ProfileConfig p;
  p.name = "auto";
  p.launcher = "local";
  p.workers = workers;
  p.launch_timeout = 20s;
  return p;
}

}  // namespace

TEST_CASE("the controller launches for the backlog in batches up to workers, and again later",
          "[controller][slow]") {
  TempDir dir;
  ProfileConfig profile = local_profile(3);
  profile.limits.idletime = 1s;  // how the pool scales down
  Controller::Options o;
  o.interval = 300ms;
  Scaled s(dir, profile, o);
  Profile& p = s.pool;

  // Two tasks: one launch of two daemons, though three are allowed.
  std::vector<Future> first;
  for (int i = 0; i < 2; ++i) first.push_back(p.submit(Task::call("sleep", "1500ms")));
  REQUIRE(eventually([&] { return p.info().connections == 2; }, 20s));
  ControllerStatus st = s.controller->status();
  CHECK(st.batches == 1);
  CHECK(st.launched == 2);

  // Ten more: one more launch, of the one daemon left below workers.
  std::vector<Future> more;
  for (int i = 0; i < 10; ++i) more.push_back(p.submit(Task::call("sleep", "100ms")));
  REQUIRE(eventually([&] { return p.info().connections == 3; }, 20s));
  wait_all(first);
  wait_all(more);
  for (const auto& f : more) CHECK(f.wait().ok());
  st = s.controller->status();
  CHECK(st.batches == 2);
  CHECK(st.launched == 3);
  CHECK(st.failed == 0);
  CHECK(st.jobs == std::map<std::string, std::uint32_t>{{"running", 3}});

  // Idle daemons leave; new work launches again.
  REQUIRE(eventually([&] { return p.info().connections == 0; }, 20s));
  Result r = p.submit(Task::sh("echo $MIRAI_JOB_ID")).wait();
  CHECK(r.value == "local-3\n");
  st = s.controller->status();
  CHECK(st.batches == 3);
  CHECK(st.launched == 4);
  CHECK(s.all_reports() == "");

  REQUIRE(s.controller->shutdown(10s).ok());
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
}

TEST_CASE("failed launches are reported and retried with back-off, then the profile pauses",
          "[controller][slow]") {
  TempDir dir;
  ProfileConfig profile = local_profile(2);
  profile.prologue = {"echo cannot start here >&2", "exit 3"};
  Controller::Options o;
  o.interval = 200ms;
  o.max_failed_launches = 3;
  Scaled s(dir, profile, o);
  Future f = s.pool.submit(Task::sh("echo never"));
  REQUIRE(eventually([&] { return !s.controller->failure().empty(); }, 30s));
  std::string reports = s.all_reports();
  INFO(reports);
  // Three launches, each after a longer wait.
  CHECK_THAT(reports, Catch::Contains("profile 'auto': launch 1 failed: job local daemon 1 ended "
                                      "before connecting: sh ended with exit status 3: cannot "
                                      "start here"));
  CHECK_THAT(reports, Catch::Contains("profile 'auto': launching again in 0.2s (failed launch 1 "
                                      "of at most 3 in a row)\n"));
  CHECK_THAT(reports, Catch::Contains("profile 'auto': launch 2 failed: job local-2 daemon 1"));
  CHECK_THAT(reports, Catch::Contains("profile 'auto': launching again in 0.4s (failed launch 2 "
                                      "of at most 3 in a row)\n"));
  CHECK_THAT(reports, Catch::EndsWith("profile 'auto': paused after 3 failed launches in a row; "
                                      "it launches no more daemons\n"));
  CHECK_THAT(s.controller->failure(),
             Catch::StartsWith("profile 'auto' is paused, with no daemon connected: launch 3 "
                               "failed: job local-3 daemon 1 ended before connecting"));
  ControllerStatus st = s.controller->status();
  CHECK(st.paused);
  CHECK(st.batches == 3);
  CHECK(st.failed == 3);
  CHECK(st.jobs == std::map<std::string, std::uint32_t>{{"failed", 3}});
  CHECK(f.unresolved());  // the caller decides: Pool resets the profile, which fails the task
  REQUIRE(s.controller->shutdown(10s).ok());
}

TEST_CASE("a launch whose daemons never connect is cancelled at the launch timeout",
          "[controller][slow]") {
  TempDir dir;
  ProfileConfig profile = local_profile(1);
  profile.launch_timeout = 1s;
  profile.prologue = {"sleep 30"};  // as a job stuck in the queue
  Controller::Options o;
  o.interval = 200ms;
  o.max_failed_launches = 1;
  Scaled s(dir, profile, o);
  Future f = s.pool.submit(Task::sh("echo never"));
  REQUIRE(eventually([&] { return !s.controller->failure().empty(); }, 20s));
  CHECK_THAT(s.controller->failure(),
             Catch::Contains("launch 1 failed: job local daemon 1 had not connected after the "
                             "launch timeout (1s): sh running"));
  // Its job was cancelled: the prologue's sleep is gone.
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
  REQUIRE(s.controller->shutdown(10s).ok());
}
