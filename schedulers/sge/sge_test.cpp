// SGE: the rendered script (golden file), resource rules, and parsing of what qsub, qstat, qacct
// and qconf print (verbatim captures from Son of Grid Engine 8.1.9).
#include "schedulers/sge/sge.hpp"

#include <catch2/catch.hpp>

#include "launcher/registry.hpp"
#include "launcher/shell.hpp"
#include "tests/support/launch_specs.hpp"
#include "tests/support/support.hpp"

using namespace mirai::launcher;

namespace {

std::string fixture(const std::string& name) {
  return mirai::test::read_file(std::string(MIRAI_TEST_SOURCE_DIR) + "/tests/fixtures/sge/" + name);
}

LaunchSpec full_spec() {
  LaunchSpec spec = mirai::test::full_spec("sge", "grid", 16);
  ProfileConfig& p = spec.profile;
  p.resources = {{"queue", "all.q@node1,long.q"},
                 {"project", "lab"},
                 {"time", 90061},
                 {"mem", 2048},
                 {"pe", "smp"},
                 {"slots", 4},
                 {"job_name", "sims"}};
  p.directives = {"-l gpu=1", "#$ -m n"};
  p.log = "logs/$JOB_NAME.$JOB_ID.$TASK_ID.log";
  return spec;
}

}  // namespace

TEST_CASE("sge renders the golden script", "[sge]") {
  auto backend = sge::make();
  auto subs = backend->render(full_spec());
  REQUIRE(subs);
  REQUIRE(subs->size() == 1);
  CHECK((*subs)[0].argv == std::vector<std::string>{"qsub", "-terse"});
  CHECK((*subs)[0].last == 16);
  CHECK(mirai::test::matches_golden("sge-full.sh", (*subs)[0].script));

  LaunchSpec minimal = mirai::test::minimal_spec("sge");
  auto min = backend->render(minimal);
  REQUIRE(min);
  CHECK(mirai::test::matches_golden("sge-minimal.sh", (*min)[0].script));
}

TEST_CASE("sge checks slots, pe and the log path", "[sge]") {
  auto spec = full_spec();
  spec.profile.resources.erase("pe");
  auto no_pe = sge::make()->render(spec);
  REQUIRE_FALSE(no_pe);
  CHECK_THAT(no_pe.message(), Catch::Contains("sge 'slots' needs 'pe'"));

  spec = full_spec();
  spec.profile.resources.erase("slots");
  auto one_slot = sge::make()->render(spec);
  REQUIRE(one_slot);
  CHECK_THAT((*one_slot)[0].script, Catch::Contains("#$ -pe smp 1\n"));

  // As a profile's `log:` is checked: by its backend's own rule, else as a directive word.
  auto log_problem = [](const std::string& launcher, const std::string& log) {
    const BackendKind* kind = find_backend(launcher);
    REQUIRE(kind);
    return kind->log_problem ? kind->log_problem(log) : directive_problem(log);
  };
  CHECK(log_problem("sge", "logs/").empty());
  CHECK(log_problem("sge", "/scratch/$USER/$JOB_ID.$TASK_ID").empty());
  CHECK_THAT(log_problem("sge", "$(reboot)"), Catch::Contains("'$' may only start one of"));
  CHECK_THAT(log_problem("sge", "${JOB_ID}"), Catch::Contains("'$' may only start one of"));
  CHECK_THAT(log_problem("sge", "a b"), Catch::Contains("space"));
  CHECK_THAT(log_problem("sge", "$JOB_ID`id`"), Catch::Contains("character `"));
  CHECK_THAT(log_problem("slurm", "$JOB_ID"), Catch::Contains("character $"));
  spec = full_spec();
  spec.profile.log = "logs/$PATH";
  auto bad = sge::make()->render(spec);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.message(), Catch::Contains("log 'logs/$PATH' cannot be an SGE output path"));
}

TEST_CASE("sge refuses hostile resource values in its directives", "[sge]") {
  for (const char* hostile : {"a b", "x\n#$ -S /tmp/evil", "`id`", "$(id)", "q'x", "a\\b"}) {
    auto spec = full_spec();
    spec.profile.resources["project"] = hostile;
    auto subs = sge::make()->render(spec);
    REQUIRE_FALSE(subs);
    CHECK_THAT(subs.message(), Catch::Contains("cannot go into a directive line"));
  }
  auto spec = full_spec();
  spec.profile.directives = {"#SBATCH --exclusive"};
  auto subs = sge::make()->render(spec);
  REQUIRE_FALSE(subs);
  CHECK_THAT(subs.message(), Catch::Contains("must start with '-' (an sge option) or with '#$ '"));
}

TEST_CASE("sge parses qsub, qstat, qacct and qconf output", "[sge]") {
  CHECK(*sge::parse_qsub(fixture("qsub-array.txt")) == "9");
  CHECK(*sge::parse_qsub(fixture("qsub-single.txt")) == "10");
  CHECK(*sge::parse_qsub("NOTE: project lab is the default\n42.1-8:1\n") == "42");
  CHECK_FALSE(sge::parse_qsub(""));
  CHECK_FALSE(sge::parse_qsub("Unable to run job: Job was rejected\nExiting.\n"));

  auto q = sge::parse_qstat_xml(fixture("qstat-xml.txt"));
  REQUIRE(q.size() == 6);
  CHECK(q[0].id == "3.1");
  CHECK(q[0].state == JobState::kRunning);
  CHECK(q[2].id == "3.12");
  CHECK(q[3].id == "8");
  CHECK(q[3].state == JobState::kFailed);
  CHECK(q[3].detail == "Eqw");
  CHECK(q[4].id == "6.1");
  CHECK(q[4].state == JobState::kPending);
  auto compressed = sge::parse_qstat_xml(fixture("qstat-xml-compressed.txt"));
  REQUIRE(compressed.size() == 2);
  CHECK(compressed[0].id == "9.1-5:1");
  CHECK(compressed[1].id == "10");
  CHECK(sge::parse_qstat_xml("").empty());

  CHECK(sge::parse_error_reason(fixture("qstat-j-error.txt")) ==
        "error: can't open output file \"/nonexistent/dir/x.log\": No such file or directory");
  CHECK(sge::parse_error_reason("job_number: 1\n").empty());

  auto a = sge::parse_qacct(fixture("qacct.txt"));
  REQUIRE(a.size() == 2);
  CHECK(a[0].id == "7.1");
  CHECK(a[0].state == JobState::kFailed);
  CHECK(a[0].detail == "exit_status 3");
  CHECK(a[1].id == "7.2");

  CHECK(sge::parse_max_aj_tasks(fixture("qconf-sconf.txt")) == 75000);
  CHECK(sge::parse_max_aj_tasks("max_aj_tasks 0\n") == 0);

  CHECK(sge::state_of("r") == JobState::kRunning);
  CHECK(sge::state_of("t") == JobState::kRunning);
  CHECK(sge::state_of("qw") == JobState::kPending);
  CHECK(sge::state_of("hqw") == JobState::kPending);
  CHECK(sge::state_of("s") == JobState::kPending);
  CHECK(sge::state_of("dr") == JobState::kStopping);
  CHECK(sge::state_of("Eqw") == JobState::kFailed);
}
