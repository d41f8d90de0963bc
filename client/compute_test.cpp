// Compute profiles: independent named pools, chosen per call or for a scope.
#include "mirai/compute.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "tests/support/support.hpp"

using namespace mirai;

namespace {

// The pids of the daemons a profile has.
std::set<std::uint32_t> daemon_pids(Profile& p) {
  std::set<std::uint32_t> pids;
  for (const auto& d : p.status().daemons) pids.insert(d.pid);
  return pids;
}

std::uint32_t ran_on(Future f) { return static_cast<std::uint32_t>(std::stoul(f.wait().value)); }

}  // namespace

TEST_CASE("named profiles are independent pools, chosen for a scope", "[compute]") {
  REQUIRE(profile("cpu").set_daemons(test::local_daemons(1)).ok());
  REQUIRE(profile("gpu").set_daemons(test::local_daemons(1)).ok());
  auto cpu = daemon_pids(profile("cpu")), gpu = daemon_pids(profile("gpu"));
  REQUIRE(cpu.size() == 1);
  REQUIRE(gpu.size() == 1);
  CHECK(cpu != gpu);
  CHECK(profile("cpu").url() != profile("gpu").url());
  CHECK(current_compute() == "default");
  {
    ComputeScope scope("gpu");  // with_daemons("gpu", ...)
    CHECK(current_compute() == "gpu");
    CHECK(gpu.count(ran_on(submit(Task::call("pid")))) == 1);
    {
      ComputeScope inner("cpu");  // scopes nest
      CHECK(cpu.count(ran_on(submit(Task::call("pid")))) == 1);
    }
    CHECK(current_compute() == "gpu");
    CHECK(gpu.count(ran_on(submit(Task::call("pid")))) == 1);
  }
  CHECK(current_compute() == "default");
  // The scope is the calling thread's own: another thread still submits to "default".
  std::string other;
  {
    ComputeScope scope("cpu");
    std::thread([&] { other = current_compute(); }).join();
  }
  CHECK(other == "default");
  auto names = profile_names();
  CHECK(std::set<std::string>(names.begin(), names.end()).count("gpu") == 1);
  CHECK(remove_profile("gpu"));
  CHECK(remove_profile("cpu"));
  CHECK_FALSE(remove_profile("cpu"));
}

TEST_CASE("a scope for a compute profile that does not exist fails, and runs nothing",
          "[compute]") {
  REQUIRE(profile("cpu").set_daemons(test::local_daemons(1)).ok());
  {
    ComputeScope scope("gpux");  // a typo: with_daemons("gpux", ...) is an error in mirai too
    CHECK_FALSE(scope.ok());
    CHECK(scope.profile() == nullptr);
    CHECK_THAT(scope.status().message(),
               Catch::Contains("no compute profile 'gpux'") && Catch::Contains("cpu"));
    Result r = submit(Task::sh("echo ran")).wait();  // fails at once, runs nowhere
    CHECK(r.is_evaluation_error());
    CHECK(r.type == "no such compute profile");
    CHECK(r.cause == Cause::kRefused);
    CHECK(r.value.empty());
  }
  auto names = profile_names();
  CHECK(std::set<std::string>(names.begin(), names.end()).count("gpux") == 0);  // none made
  {
    ComputeScope scope("cpu");
    CHECK(scope.ok());
    CHECK(scope.profile() == &profile("cpu"));
    CHECK(submit(Task::call("echo", "x")).wait().value == "x");
  }
  CHECK(remove_profile("cpu"));
}
