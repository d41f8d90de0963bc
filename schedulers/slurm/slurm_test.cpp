// Slurm: the rendered script (golden file), array splitting, and parsing of what sbatch, squeue,
// sacct and scontrol print (verbatim fixtures from the Slurm documentation and a real cluster).
#include "schedulers/slurm/slurm.hpp"

#include <catch2/catch.hpp>

#include "tests/support/launch_specs.hpp"
#include "tests/support/support.hpp"

using namespace mirai::launcher;

namespace {

std::string fixture(const std::string& name) {
  return mirai::test::read_file(std::string(MIRAI_TEST_SOURCE_DIR) + "/tests/" + name);
}

LaunchSpec full_spec() {
  LaunchSpec spec = mirai::test::full_spec("slurm", "cluster", 200);
  ProfileConfig& p = spec.profile;
  p.resources = {
      {"partition", "short"}, {"account", "lab"},   {"qos", "normal"},  {"time", 3300},
      {"mem", 4096},          {"cpus_per_task", 2}, {"gpus", "a100:1"}, {"constraint", "ib&avx2"},
      {"job_name", "sims"}};
  p.directives = {"--exclusive", "#SBATCH --mail-type=NONE"};
  p.log = "/home/me/logs/%A_%a.log";
  return spec;
}

}  // namespace

TEST_CASE("slurm renders the golden script", "[slurm]") {
  auto backend = slurm::make();
  auto subs = backend->render(full_spec());
  REQUIRE(subs);
  REQUIRE(subs->size() == 1);
  CHECK((*subs)[0].argv == std::vector<std::string>{"sbatch", "--parsable"});
  CHECK((*subs)[0].first == 1);
  CHECK((*subs)[0].last == 200);
  CHECK(mirai::test::matches_golden("slurm-full.sh", (*subs)[0].script));

  LaunchSpec minimal = mirai::test::minimal_spec("slurm");
  auto min = backend->render(minimal);
  REQUIRE(min);
  CHECK(mirai::test::matches_golden("slurm-minimal.sh", (*min)[0].script));

  LaunchSpec per_gpu = mirai::test::minimal_spec("slurm");
  per_gpu.profile.resources = {{"mem_per_gpu", 8192}};
  auto gpu = backend->render(per_gpu);
  REQUIRE(gpu);
  CHECK_THAT((*gpu)[0].script, Catch::Contains("\n#SBATCH --mem-per-gpu=8192M\n"));
}

TEST_CASE("slurm splits arrays below MaxArraySize", "[slurm]") {
  auto spec = full_spec();
  spec.n = 2500;
  spec.max_array_size = 1001;  // indices 1..1000
  auto subs = slurm::make()->render(spec);
  REQUIRE(subs);
  REQUIRE(subs->size() == 3);
  CHECK((*subs)[0].script.find("#SBATCH --array=1-1000\n") != std::string::npos);
  CHECK((*subs)[1].script.find("#SBATCH --array=1-1000\n") != std::string::npos);
  CHECK((*subs)[2].script.find("#SBATCH --array=1-500\n") != std::string::npos);
  CHECK((*subs)[2].first == 2001);
  CHECK((*subs)[2].last == 2500);
  CHECK(array_chunks(5, 0) == std::vector<std::pair<int, int>>{{1, 5}});
  CHECK(array_chunks(4, 3) == std::vector<std::pair<int, int>>{{1, 2}, {1, 2}});
}

TEST_CASE("slurm refuses a directive of another scheduler", "[slurm]") {
  auto spec = full_spec();
  spec.profile.directives = {"#$ -l h_vmem=4G"};
  auto subs = slurm::make()->render(spec);
  REQUIRE_FALSE(subs);
  CHECK_THAT(subs.message(), Catch::Contains("directive '#$ -l h_vmem=4G' must start with '-'"));
}

TEST_CASE("slurm parses sbatch, squeue, sacct and scontrol output", "[slurm]") {
  CHECK(*slurm::parse_sbatch("12345\n") == "12345");
  CHECK(*slurm::parse_sbatch("12345;cluster2\n") == "12345");
  CHECK(*slurm::parse_sbatch(fixture("fixtures/slurm/sbatch-wrapper.txt")) == "4242");
  CHECK_FALSE(slurm::parse_sbatch(""));
  CHECK_FALSE(slurm::parse_sbatch("sbatch: error: Batch job submission failed\n"));

  auto q = slurm::parse_squeue(fixture("fixtures/slurm/squeue.txt"));
  REQUIRE(q.size() == 5);
  CHECK(q[0].id == "17_1");
  CHECK(q[0].state == JobState::kRunning);
  CHECK(q[2].id == "17_4");
  CHECK(q[2].state == JobState::kPending);
  CHECK(q[2].detail == "PENDING (Resources)");
  CHECK(q[3].state == JobState::kFailed);
  CHECK(q[4].state == JobState::kCancelled);

  auto a = slurm::parse_sacct(fixture("fixtures/slurm/sacct.txt"));
  REQUIRE(a.size() == 4);
  CHECK(a[0].id == "1_1");
  CHECK(a[0].state == JobState::kFailed);
  CHECK(a[0].detail == "FAILED exit 1:0");
  CHECK(a[2].state == JobState::kFinished);
  CHECK(a[3].state == JobState::kCancelled);

  CHECK(slurm::parse_max_array_size(fixture("fixtures/slurm/scontrol-show-config.txt")) == 1001);
  CHECK(slurm::parse_max_array_size("nothing here\n") == 0);
}
