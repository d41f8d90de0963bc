// LSF: the rendered script (golden file) and parsing of what bsub and bjobs print (fixtures
// written after the formats in the LSF command reference).
#include "schedulers/lsf/lsf.hpp"

#include <catch2/catch.hpp>

#include "tests/support/launch_specs.hpp"
#include "tests/support/support.hpp"

using namespace mirai::launcher;

namespace {

std::string fixture(const std::string& name) {
  return mirai::test::read_file(std::string(MIRAI_TEST_SOURCE_DIR) + "/tests/fixtures/lsf/" + name);
}

LaunchSpec full_spec() {
  LaunchSpec spec = mirai::test::full_spec("lsf", "farm", 30);
  ProfileConfig& p = spec.profile;
  p.resources = {{"queue", "normal"}, {"project", "lab"}, {"time", 5430},      {"mem", 2048},
                 {"cpus", 2},         {"gpus", 1},        {"job_name", "sims"}};
  p.directives = {"-R \"span[hosts=1]\"", "#BSUB -x"};
  p.log = "/home/me/logs/mirai.%J.%I.log";
  return spec;
}

}  // namespace

TEST_CASE("lsf renders the golden script", "[lsf]") {
  auto subs = lsf::make()->render(full_spec());
  REQUIRE(subs);
  REQUIRE(subs->size() == 1);
  CHECK((*subs)[0].argv == std::vector<std::string>{"bsub"});
  CHECK(mirai::test::matches_golden("lsf-full.sh", (*subs)[0].script));
  auto minimal = mirai::test::minimal_spec("lsf");
  auto min = lsf::make()->render(minimal);
  REQUIRE(min);
  CHECK(mirai::test::matches_golden("lsf-minimal.sh", (*min)[0].script));
}

TEST_CASE("lsf splits arrays at MAX_JOB_ARRAY_SIZE, which caps the index", "[lsf]") {
  auto spec = full_spec();
  spec.n = 2500;
  spec.max_array_size = lsf::make()->max_array_size(spec.profile);  // LSF's default, 1000
  auto subs = lsf::make()->render(spec);
  REQUIRE(subs);
  REQUIRE(subs->size() == 3);
  CHECK_THAT((*subs)[0].script, Catch::Contains("#BSUB -J \"sims[1-1000]\"\n"));
  CHECK_THAT((*subs)[2].script, Catch::Contains("#BSUB -J \"sims[1-500]\"\n"));
}

TEST_CASE("lsf refuses hostile values", "[lsf]") {
  for (const char* hostile : {"a b", "x\n#BSUB -L /tmp/evil", "`id`", "$(id)", "q\"x"}) {
    auto spec = full_spec();
    spec.profile.resources["project"] = hostile;
    auto subs = lsf::make()->render(spec);
    REQUIRE_FALSE(subs);
    CHECK_THAT(subs.message(), Catch::Contains("cannot go into a directive line"));
  }
}

TEST_CASE("lsf parses bsub and bjobs output", "[lsf]") {
  CHECK(*lsf::parse_bsub(fixture("bsub.txt")) == "4521");
  CHECK(*lsf::parse_bsub(fixture("bsub-wrapper.txt")) == "4522");
  CHECK_FALSE(lsf::parse_bsub(""));
  CHECK_FALSE(lsf::parse_bsub("nosuch: No such queue. Job not submitted.\n"));

  auto b = lsf::parse_bjobs(fixture("bjobs.txt"));
  REQUIRE(b.size() == 6);
  CHECK(b[0].id == "4521[1]");
  CHECK(b[0].state == JobState::kRunning);
  CHECK(b[2].state == JobState::kPending);
  CHECK(b[3].state == JobState::kFailed);
  CHECK(b[3].detail == "EXIT exit 69");
  CHECK(b[4].state == JobState::kFinished);
  CHECK(b[5].id == "4530");
  CHECK(b[5].state == JobState::kPending);
}
