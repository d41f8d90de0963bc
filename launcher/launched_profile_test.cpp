// A launched profile from a C++ program: read from a mirai.yaml, started, and every mistake said.
#include "mirai/launched.hpp"

#include <catch2/catch.hpp>
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
