// PBS: the rendered scripts of both flavours (golden files) and parsing of what qsub and
// qstat -f print (fixtures written after the formats in the PBS Pro and Torque documentation).
#include "schedulers/pbs/pbs.hpp"

#include <catch2/catch.hpp>

#include "tests/support/launch_specs.hpp"
#include "tests/support/support.hpp"

using namespace mirai::launcher;

namespace {

std::string fixture(const std::string& name) {
  return mirai::test::read_file(std::string(MIRAI_TEST_SOURCE_DIR) + "/tests/fixtures/pbs/" + name);
}

LaunchSpec full_spec(const std::string& flavour) {
  LaunchSpec spec = mirai::test::full_spec("pbs", "hpc", 12);
  ProfileConfig& p = spec.profile;
  p.resources = {{"flavour", flavour}, {"queue", "workq"},  {"account", "lab"},
                 {"time", 7200},       {"mem", 4096},       {"cpus", 2},
                 {"gpus", 1},          {"job_name", "sims"}};
  p.directives = {"-l place=scatter", "#PBS -m n"};
  p.log = "/home/me/logs/mirai.^array_index^.log";
  return spec;
}

}  // namespace

TEST_CASE("pbs renders the golden scripts of both flavours", "[pbs]") {
  for (const char* flavour : {"pro", "torque"}) {
    auto spec = full_spec(flavour);
    auto subs = pbs::make(spec.profile)->render(spec);
    REQUIRE(subs);
    REQUIRE(subs->size() == 1);
    CHECK((*subs)[0].argv == std::vector<std::string>{"qsub"});
    CHECK(mirai::test::matches_golden(std::string("pbs-") + flavour + ".sh", (*subs)[0].script));
  }
  auto minimal = mirai::test::minimal_spec("pbs");
  auto min = pbs::make(minimal.profile)->render(minimal);
  REQUIRE(min);
  CHECK(mirai::test::matches_golden("pbs-minimal.sh", (*min)[0].script));
  // PBS Pro arrays need two subjobs: one daemon is a plain job; Torque takes -t 1-1.
  CHECK((*min)[0].script.find("#PBS -J") == std::string::npos);
  auto one = full_spec("torque");
  one.n = 1;
  CHECK_THAT((*pbs::make(one.profile)->render(one))[0].script, Catch::Contains("#PBS -t 1-1\n"));
}

TEST_CASE("pbs refuses hostile values and foreign directives", "[pbs]") {
  for (const char* hostile : {"a b", "x\n#PBS -S /tmp/evil", "`id`", "$(id)", "q'x"}) {
    auto spec = full_spec("pro");
    spec.profile.resources["account"] = hostile;
    auto subs = pbs::make(spec.profile)->render(spec);
    REQUIRE_FALSE(subs);
    CHECK_THAT(subs.message(), Catch::Contains("cannot go into a directive line"));
  }
  auto spec = full_spec("pro");
  spec.profile.directives = {"#BSUB -x"};
  REQUIRE_FALSE(pbs::make(spec.profile)->render(spec));
}

TEST_CASE("pbs parses qsub and qstat -f output", "[pbs]") {
  CHECK(*pbs::parse_qsub(fixture("qsub-pro.txt")) == "1234[].pbsserver");
  CHECK(*pbs::parse_qsub(fixture("qsub-wrapper.txt")) == "77[].torquehead.cluster");
  CHECK(*pbs::parse_qsub("5678.pbsserver\n") == "5678.pbsserver");
  CHECK(*pbs::parse_qsub("91\n") == "91");
  CHECK_FALSE(pbs::parse_qsub(""));
  CHECK_FALSE(pbs::parse_qsub("qsub: Unknown queue\n"));

  auto pro = pbs::parse_qstat_full(fixture("qstat-f-pro.txt"));
  REQUIRE(pro.size() == 4);  // the array's own entry is left out: its subjobs are there
  CHECK(pro[0].id == "1234[1].pbsserver");
  CHECK(pro[0].state == JobState::kRunning);
  CHECK(pro[1].state == JobState::kFailed);
  CHECK(pro[1].detail == "F exit 69");
  CHECK(pro[2].state == JobState::kPending);
  CHECK(pro[3].id == "1240.pbsserver");
  CHECK(pro[3].state == JobState::kFinished);

  auto torque = pbs::parse_qstat_full(fixture("qstat-f-torque.txt"));
  REQUIRE(torque.size() == 2);
  CHECK(torque[0].id == "77[1].torquehead.cluster");
  CHECK(torque[0].state == JobState::kFinished);
  CHECK(torque[1].state == JobState::kPending);
  CHECK(torque[1].detail == "H");
  // An array queued as a whole, before its subjobs are listed.
  auto queued = pbs::parse_qstat_full("Job Id: 9[].s\n    job_state = Q\n");
  REQUIRE(queued.size() == 1);
  CHECK(queued[0].state == JobState::kPending);
}
