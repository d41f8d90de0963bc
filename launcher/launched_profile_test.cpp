// A launched profile from a C++ program: read from a mirai.yaml or given as values, started, and
// every mistake said.
#include "mirai/launched.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "tests/support/support.hpp"

using namespace mirai;

TEST_CASE("a launched profile of local daemons runs tasks, and mistakes are said", "[launched]") {
  test::TempDir dir;
  std::ofstream(dir.file("mirai.yaml")) << "default: here\n"
                                           "profiles:\n"
                                           "  here:\n"
                                           "    launcher: local\n"
                                           "    workers: 2\n"
                                           "    daemon: { command: "
                                        << test::mirai_exe()
                                        << " }\n"
                                           "  typo: { launcher: slurmm }\n";
  // The file has a problem: nothing starts, and the problem is said with its line.
  LaunchOptions o;
  o.config = dir.file("mirai.yaml");
  auto bad = LaunchedProfile::start(o);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.message(), Catch::Contains("mirai.yaml:7:") &&
                                Catch::Contains("unknown launcher 'slurmm'") &&
                                Catch::Contains("nothing was started"));
  std::ofstream(dir.file("mirai.yaml"), std::ios::trunc) << "default: here\n"
                                                            "profiles:\n"
                                                            "  here:\n"
                                                            "    launcher: local\n"
                                                            "    workers: 2\n"
                                                            "    daemon: { command: "
                                                         << test::mirai_exe() << " }\n";
  o.profile = "hre";
  auto missing = LaunchedProfile::start(o);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.message(), Catch::Contains("has no profile 'hre' (did you mean 'here'?)"));
  o.profile.clear();  // the file's default
  auto launched = LaunchedProfile::start(o);
  INFO((launched ? std::string() : launched.message()));
  REQUIRE(launched);
  CHECK((*launched)->name() == "here");
  CHECK_FALSE((*launched)->status());  // its daemons run here: no controller
  CHECK((*launched)->profile().submit(Task::call("echo", "launched")).wait().value == "launched");
  CHECK((*launched)->profile().info().connections == 2);
  CHECK((*launched)->failure().empty());
  CHECK((*launched)->shutdown());
  LaunchOptions nowhere;
  nowhere.config = dir.file("nosuch.yaml");
  CHECK_THAT(LaunchedProfile::start(nowhere).message(), Catch::Contains("nosuch.yaml"));
}

TEST_CASE("a launched profile from C++ values is read as mirai.yaml is, with the same checks",
          "[launched]") {
  test::TempDir dir;
  ProfileValues v;
  v.name = "here";
  v.launcher = "local";
  v.workers = 2;
  v.command = test::mirai_exe();
  v.env = {{"MIRAI_VALUES_TEST", "from values; $(not run)"}};
  v.idletime = std::chrono::minutes(5);
  LaunchOptions o;
  o.values = v;
  o.root = dir.path();
  setenv("MIRAI_PROFILE", "elsewhere", 1);  // a file's setting: values do not read it
  auto launched = LaunchedProfile::start(o);
  unsetenv("MIRAI_PROFILE");
  INFO((launched ? std::string() : launched.message()));
  REQUIRE(launched);
  CHECK((*launched)->name() == "here");
  Profile& p = (*launched)->profile();
  CHECK(p.submit(Task::sh("printf %s \"$MIRAI_VALUES_TEST\"")).wait().value ==
        "from values; $(not run)");
  CHECK(p.info().connections == 2);
  CHECK((*launched)->shutdown());

  SECTION("a key of the backend's section that does not exist, and a value of the wrong type") {
    ProfileValues bad;
    bad.name = "cluster";
    bad.launcher = "slurm";
    bad.resources = {{"partiton", "short"}, {"time", "soon"}};
    LaunchOptions b;
    b.values = bad;
    auto r = LaunchedProfile::start(b);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.message(), Catch::Contains("ProfileValues:") && Catch::Contains("'partiton'") &&
                                Catch::Contains("did you mean 'partition'") &&
                                Catch::Contains("which read as this mirai.yaml") &&
                                Catch::Contains("nothing was started"));
    CHECK_THAT(r.message(), Catch::Contains("soon"));
  }
  SECTION("a newline in a value cannot start a line of the job script") {
    ProfileValues bad;
    bad.name = "cluster";
    bad.launcher = "sge";
    bad.env = {{"X", "a\n#$ -S /bin/evil"}};
    LaunchOptions b;
    b.values = bad;
    auto r = LaunchedProfile::start(b);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.message(), Catch::Contains("newline"));
  }
  SECTION("a value that looks like YAML stays one value") {
    ProfileValues odd;
    odd.name = "here";
    odd.launcher = "local";
    odd.workers = 1;
    odd.command = test::mirai_exe();
    odd.env = {{"Y", "a: b\nlauncher: ssh"}};
    LaunchOptions b;
    b.values = odd;
    auto r = LaunchedProfile::start(b);
    REQUIRE_FALSE(r);  // refused for its newline, not read as keys
    CHECK_THAT(r.message(), Catch::Contains("newline") && !Catch::Contains("unknown key"));
  }
  SECTION("no name, a key given twice, or values beside a file") {
    ProfileValues none;
    none.launcher = "local";
    LaunchOptions b;
    b.values = none;
    CHECK_THAT(LaunchedProfile::start(b).message(), Catch::Contains("ProfileValues::name"));
    ProfileValues twice = v;
    twice.env.push_back({"MIRAI_VALUES_TEST", "again"});
    b.values = twice;
    CHECK_THAT(LaunchedProfile::start(b).message(),
               Catch::Contains("env has 'MIRAI_VALUES_TEST' twice"));
    b.values = v;
    b.config = dir.file("mirai.yaml");
    CHECK_THAT(LaunchedProfile::start(b).message(), Catch::Contains("not both"));
  }
}
