// mirai launch and render with a local profile: the local backend starts the daemons for a
// running dispatcher through templates/shell.sh, and they end with it.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

LiveLauncher local(const TempDir& dir) {
  std::ofstream(dir.file("mirai.yaml")) << "profiles:\n"
                                           "  here:\n"
                                           "    launcher: local\n"
                                           "    workers: 2\n"
                                           "    log: logs/daemons.log\n"
                                           "    env: { MIRAI_TEST_TAG: '"
                                        << dir.path() << "' }\n";
  return launched_by_mirai(dir, "here");
}

}  // namespace

TEST_CASE("local: launch starts daemons for a running dispatcher and they end with it", "[local]") {
  TempDir dir;
  check_launch_feeds_dispatcher(dir, local(dir));
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
  // The log's directory was made next to the config, and the daemons opened their log there.
  CHECK(access(dir.file("logs/daemons.log").c_str(), F_OK) == 0);
}

TEST_CASE("local: render prints the shell script that starts the daemons", "[local]") {
  TempDir dir;
  auto l = local(dir);
  auto r = run(mirai_cmd({"render", "--config", l.config, "-p", "here", "-n", "3"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("# daemons 1-3: /bin/sh -c <script>\n#!/bin/sh\n"));
  CHECK_THAT(r.out, Catch::Contains("while [ \"$i\" -le 3 ]; do\n"));
}

TEST_CASE("local: launch for a TLS dispatcher gives the daemons its certificate and no key",
          "[local][tls]") {
  TempDir dir;
  auto l = local(dir);
  std::string control = "ipc://" + dir.file("control.sock");
  Started procs(mirai_exe());
  procs.start({"dispatcher", "--listen", "tls+tcp://127.0.0.1:0", "--control", control,
               "--url-file", dir.file("urls")});
  REQUIRE(eventually([&] { return !read_file(dir.file("urls")).empty(); }));
  auto launched = run(mirai_cmd(
      {"launch", "--config", l.config, "-p", "here", "-n", "2", "--dispatcher", control}));
  INFO(launched.err);
  REQUIRE(launched.exit_code == 0);
  auto status = status_with_daemons(control, 2);
  std::string cert = status["tls_certificate"].get<std::string>();
  CHECK_THAT(cert, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
  CHECK_THAT(status["url"].get<std::string>(), Catch::StartsWith("tls+tcp://127.0.0.1:"));
  std::string script = read_file(dir.file(".mirai/jobs/here/1/script.sh"));
  CHECK_THAT(script, Catch::Contains("export MIRAI_TLS_CA='" + cert + "'"));
  CHECK(script.find("PRIVATE KEY") == std::string::npos);
  auto map = run(mirai_cmd({"map", "-k", "--dispatcher", control, "--no-progress", "--", "echo",
                            "{}", ":::", "x", "y"}));
  CHECK(map.out == "x\ny\n");
}
