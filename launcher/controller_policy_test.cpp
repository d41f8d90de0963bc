// The controller's scaling policy without processes or wall clocks: a scheduler held in memory
// (its jobs change state when the test says), a backlog the test sets, and a manual clock that
// tick() reads (controller_test.cpp runs the same controller against real daemons).
#include <catch2/catch.hpp>

#include "launcher/controller.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace mirai::launcher;
using namespace std::chrono_literals;

namespace {

// The jobs a test's scheduler holds: "J1", "J2", ..., elements "J1_1", "J1_2", ...
struct Jobs {
  std::vector<int> sizes;                  // daemons per job, in submission order
  std::map<std::string, JobState> states;  // by element id; pending when not set
  std::vector<std::string> cancelled;      // every id cancel() was given
  std::string refuse;                      // when set, a submit fails with this
};

class MemoryScheduler final : public Backend {
 public:
  explicit MemoryScheduler(std::shared_ptr<Jobs> jobs) : jobs_(std::move(jobs)) {}

  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    Submission s;
    s.script = "#!/bin/sh\n";
    s.argv = {"submit"};
    s.last = spec.n;
    return std::vector<Submission>{s};
  }
  Expected<Submitted> submit(const Submission& s) override {
    if (!jobs_->refuse.empty()) return Status::error(jobs_->refuse);
    jobs_->sizes.push_back(s.last);
    return Submitted{{"J" + std::to_string(jobs_->sizes.size())}, ""};
  }
  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    std::vector<JobStatus> rows;
    for (const auto& id : ids) {
      int n = jobs_->sizes.at(std::stoi(id.substr(1)) - 1);
      for (int k = 1; k <= n; ++k) {
        std::string element = id + "_" + std::to_string(k);
        auto it = jobs_->states.find(element);
        JobState s = it == jobs_->states.end() ? JobState::kPending : it->second;
        rows.push_back({element, s, to_string(s)});
      }
    }
    return rows;
  }
  Status cancel(const std::vector<std::string>& ids) override {
    for (const auto& id : ids) jobs_->cancelled.push_back(id);
    return Status();
  }
  bool element_range(const std::string& job, const std::string& id, int& first,
                     int& last) const override {
    int index = 0;
    if (!element_between(id, job + "_", "", index)) return false;
    first = last = index;
    return true;
  }

 private:
  std::shared_ptr<Jobs> jobs_;
};

// A controller of workers `workers`, its scheduler, its backlog and its clock.
struct Scaling {
  test::TempDir dir;
  std::shared_ptr<Jobs> jobs = std::make_shared<Jobs>();
  std::chrono::steady_clock::time_point clock = std::chrono::steady_clock::time_point() + 1000h;
  ProfileStatus pool;  // what the dispatcher shows: the backlog and the daemons connected
  std::vector<std::string> reports, lost;
  std::unique_ptr<Controller> controller;

  Scaling(int workers, Controller::Options o, std::chrono::milliseconds launch_timeout = 60s) {
    LaunchSpec spec;
    spec.profile.name = "policy";
    spec.profile.workers = workers;
    spec.profile.launch_timeout = launch_timeout;
    o.clock = [this] { return clock; };
    auto launch =
        Launch::open(std::make_unique<MemoryScheduler>(jobs), dir.path(), spec.profile.name);
    REQUIRE(launch.ok());
    Controller::Source source{
        [this] { return pool.info; }, [this] { return pool; }, nullptr,
        [this](const std::string& job, std::uint32_t index, const std::string& why) {
          lost.push_back(job + "_" + std::to_string(index) + ": " + why);
        }};
    controller =
        std::make_unique<Controller>(std::move(source), std::move(*launch), spec, o,
                                     [this](const std::string& r) { reports.push_back(r); });
  }
  void backlog(std::uint64_t n) { pool.info.awaiting = n; }
  // The daemon of element `index` of job `job` connects (its row in status).
  void connect(const std::string& job, std::uint32_t index) {
    DaemonStatus d;
    d.instance = static_cast<std::uint32_t>(pool.daemons.size() + 1);
    d.job_id = job;
    d.array_index = index;
    pool.daemons.push_back(d);
    pool.info.connections = pool.daemons.size();
    ++pool.info.cumulative;
  }
  // Ticks every 100 ms for `d`, as the loop does.
  void run_for(std::chrono::milliseconds d) {
    for (auto end = clock + d; clock < end; clock += 100ms) controller->tick();
  }
  std::string all_reports() const {
    std::string out;
    for (const auto& r : reports) out += r + "\n";
    return out;
  }
};

Controller::Options every(std::chrono::milliseconds interval) {
  Controller::Options o;
  o.interval = interval;
  return o;
}

}  // namespace

TEST_CASE(
    "the controller launches for a backlog once it stops growing, up to workers, one "
    "launch per interval",
    "[controller][policy]") {
  Scaling s(4, every(2s));
  s.backlog(3);
  s.controller->tick();  // the backlog just appeared: it may still be growing
  CHECK(s.jobs->sizes.empty());
  s.clock += 100ms;
  s.controller->tick();
  REQUIRE(s.jobs->sizes == std::vector<int>{3});

  // More work: the launching daemons count as supply, and the next launch waits an interval.
  s.backlog(10);
  s.run_for(1900ms);
  CHECK(s.jobs->sizes == std::vector<int>{3});
  s.run_for(200ms);
  CHECK(s.jobs->sizes == std::vector<int>{3, 1});  // up to workers

  s.run_for(10s);
  CHECK(s.jobs->sizes == std::vector<int>{3, 1});
  ControllerStatus st = s.controller->status();
  CHECK(st.launched == 4);
  CHECK(st.launching == 4);
  CHECK(st.batches == 2);
  CHECK(st.jobs["pending"] == 4);
}

TEST_CASE("a backlog that calls for every worker is launched at the first look",
          "[controller][policy]") {
  Scaling s(4, every(2s));
  s.backlog(200);
  s.controller->tick();  // growing or not, it cannot call for more than 4
  CHECK(s.jobs->sizes == std::vector<int>{4});
  // One that calls for fewer waits until it has not grown for 100 ms.
  Scaling t(4, every(2s));
  t.backlog(2);
  t.controller->tick();
  t.clock += 50ms;
  t.backlog(3);
  t.controller->tick();
  t.clock += 50ms;
  t.controller->tick();
  CHECK(t.jobs->sizes.empty());
  t.clock += 50ms;
  t.controller->tick();
  CHECK(t.jobs->sizes == std::vector<int>{3});
}

TEST_CASE("the controller does not launch while the connected daemons cover the backlog",
          "[controller][policy]") {
  Scaling s(8, every(1s));
  s.backlog(2);
  s.run_for(300ms);
  REQUIRE(s.jobs->sizes == std::vector<int>{2});
  s.connect("J1", 1);
  s.connect("J1", 2);
  s.jobs->states["J1_1"] = s.jobs->states["J1_2"] = JobState::kRunning;
  s.run_for(5s);
  CHECK(s.jobs->sizes == std::vector<int>{2});
  ControllerStatus st = s.controller->status();
  CHECK(st.connected == 2);
  CHECK(st.launching == 0);
  CHECK(st.jobs["running"] == 2);
  // Three more tasks than daemons: a launch of three.
  s.backlog(5);
  s.run_for(300ms);
  CHECK(s.jobs->sizes == std::vector<int>{2, 3});
}

TEST_CASE(
    "a launch that never connects fails at the launch timeout, backs off doubling, and "
    "the profile pauses after max_failed_launches",
    "[controller][policy]") {
  Controller::Options o = every(1s);
  o.max_failed_launches = 3;
  Scaling s(2, o, 10s);
  s.backlog(2);
  s.run_for(200ms);
  REQUIRE(s.jobs->sizes.size() == 1);

  s.run_for(10s);  // pending, and within the timeout
  CHECK(s.reports.empty());
  s.run_for(1100ms);
  INFO(s.all_reports());
  REQUIRE(s.reports.size() == 2);
  CHECK_THAT(s.reports[0], Catch::Contains("launch 1 failed: job J1 daemon 1 had not connected "
                                           "after the launch timeout (10s)"));
  CHECK_THAT(s.reports[1], Catch::Contains("launching again in 1s (failed launch 1 of at most 3"));
  CHECK(s.jobs->cancelled == std::vector<std::string>{"J1"});  // it was still pending

  // The back-off: 1 s, then 2 s.
  s.run_for(500ms);
  CHECK(s.jobs->sizes.size() == 1);
  s.run_for(700ms);
  REQUIRE(s.jobs->sizes.size() == 2);
  s.run_for(11s);
  CHECK_THAT(s.reports.back(), Catch::Contains("launching again in 2s (failed launch 2"));
  s.run_for(1500ms);
  CHECK(s.jobs->sizes.size() == 2);
  s.run_for(700ms);
  REQUIRE(s.jobs->sizes.size() == 3);

  s.run_for(11s);
  CHECK_THAT(s.reports.back(), Catch::Contains("paused after 3 failed launches in a row"));
  s.run_for(60s);
  CHECK(s.jobs->sizes.size() == 3);
  CHECK(s.controller->status().paused);
  CHECK_THAT(s.controller->failure(), Catch::Contains("is paused, with no daemon connected"));
}

TEST_CASE("a daemon that connects resets the count of failed launches", "[controller][policy]") {
  Controller::Options o = every(1s);
  o.max_failed_launches = 2;
  Scaling s(1, o, 5s);
  s.backlog(1);
  s.run_for(200ms);
  s.run_for(6s);  // launch 1 fails
  REQUIRE(s.reports.size() == 2);
  s.run_for(1100ms);
  REQUIRE(s.jobs->sizes.size() == 2);
  s.connect("J2", 1);
  s.jobs->states["J2_1"] = JobState::kRunning;
  s.run_for(1s);
  // Its daemon leaves (idletime) and the job ends; more work comes: launch 3 fails, and the
  // profile does not pause, since the failures in a row started again.
  s.pool.daemons.clear();
  s.pool.info.connections = 0;
  s.jobs->states["J2_1"] = JobState::kFinished;
  s.run_for(1100ms);
  REQUIRE(s.jobs->sizes.size() == 3);
  s.run_for(6s);
  CHECK_THAT(s.reports.back(), Catch::Contains("launching again in 1s (failed launch 1 of"));
  CHECK_FALSE(s.controller->status().paused);
}

TEST_CASE("a connected daemon whose job the scheduler says ended is lost at once",
          "[controller][policy]") {
  Scaling s(2, every(1s));
  s.backlog(2);
  s.run_for(200ms);
  s.connect("J1", 1);
  s.connect("J1", 2);
  s.jobs->states["J1_1"] = s.jobs->states["J1_2"] = JobState::kRunning;
  s.run_for(1s);
  CHECK(s.lost.empty());

  SECTION("failed (its node went)") {
    s.jobs->states["J1_2"] = JobState::kFailed;
    s.run_for(1s);
    CHECK(s.lost == std::vector<std::string>{"J1_2: the scheduler reports its job J1_2 as failed"});
  }
  SECTION("requeued: pending again after running") {
    s.jobs->states["J1_1"] = JobState::kPending;
    s.run_for(1s);
    CHECK(s.lost ==
          std::vector<std::string>{"J1_1: the scheduler reports its job J1_1 as pending"});
  }
  s.run_for(5s);
  CHECK(s.lost.size() == 1);  // once
}

TEST_CASE("a submit that fails is a failed launch, reported with the scheduler's words",
          "[controller][policy]") {
  Scaling s(2, every(1s));
  s.jobs->refuse = "sbatch: error: invalid partition specified: nosuch";
  s.backlog(2);
  s.run_for(200ms);
  REQUIRE(s.reports.size() == 2);
  CHECK_THAT(s.reports[0], Catch::Contains("invalid partition specified: nosuch"));
  CHECK_THAT(s.reports[1], Catch::Contains("launching again in 1s"));
  CHECK(s.jobs->sizes.empty());
}
