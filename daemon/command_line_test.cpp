#include "daemon/command_line.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

TEST_CASE("the daemon's command line says what differs from its defaults, and it parses",
          "[daemon]") {
  DaemonCommand c;
  c.program = test::mirai_exe();
  c.url = "tcp://127.0.0.1:9";  // nothing listens: the daemon gives up dialing
  CHECK(daemon_argv(c) == std::vector<std::string>{c.program, "daemon", c.url});
  c.limits.idletime = 2min;
  c.limits.walltime = 1h;
  c.limits.maxtasks = 7;
  c.limits.autoexit = false;
  c.limits.asyncdial = true;
  c.limits.output = true;
  c.join_timeout = 300ms;
  c.heartbeat = 250ms;
  c.allocation = 3600s;
  std::vector<std::string> argv = daemon_argv(c);
  auto value_of = [&](const std::string& option) {
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == option) return argv[i + 1];
    return std::string("(absent)");
  };
  CHECK(value_of("--idletime") == "2m");
  CHECK(value_of("--walltime") == "1h");
  CHECK(value_of("--maxtasks") == "7");
  CHECK(value_of("--join-timeout") == "300ms");
  CHECK(value_of("--heartbeat") == "250ms");
  CHECK(value_of("--allocation") == "1h");
  for (const char* flag : {"--no-autoexit", "--asyncdial", "--output"})
    CHECK(std::find(argv.begin(), argv.end(), flag) != argv.end());
  // `mirai daemon` takes every option written: it fails to connect, not to parse.
  c.limits.asyncdial = false;  // else it would keep dialing
  c.limits.autoexit = true;
  test::TempDir dir;
  std::string secret = dir.file("secret");
  std::ofstream(secret) << std::string(64, 'a') << "\n";
  chmod(secret.c_str(), 0600);
  argv = daemon_argv(c);
  argv.insert(argv.end(), {"--secret-file", secret});
  test::Ran ran = test::run(argv);
  CHECK(ran.exit_code == 69);
  CHECK_THAT(ran.err, Catch::Contains("127.0.0.1:9"));
}
