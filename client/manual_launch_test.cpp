// Daemons started by hand (R mirai's launch_remote() without a remote): the command a profile
// gives, run as it is, joins the pool; the secret and certificate are in private files only.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "mirai/profile.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("the command for a daemon started by hand joins the pool, its secret in a file",
          "[profile][manual]") {
  auto url = GENERATE(as<std::string>{}, "tcp://127.0.0.1:0", "tls+tcp://127.0.0.1:0");
  test::TempDir dir;
  Profile p;
  DaemonsConfig c = test::local_daemons(0, url);
  c.limits.idletime = 30s;
  test::set_daemons(p, c);
  const std::string files = dir.file("files");
  auto m = p.manual_launch(files);
  REQUIRE(m);
  INFO(m->command_line());
  CHECK(mode_of(files) == 0700);
  CHECK(mode_of(m->secret_file) == 0600);
  CHECK(test::read_file(m->secret_file) == p.secret() + "\n");
  // The command line names the files and holds no secret; it keeps the profile's options.
  CHECK(m->command_line().find(p.secret()) == std::string::npos);
  CHECK(m->argv.at(1) == "daemon");
  CHECK(m->argv.at(2) == p.url());
  CHECK_THAT(m->command_line(), Catch::Contains("--idletime 30s") &&
                                    Catch::Contains("--secret-file " + m->secret_file));
  if (url.rfind("tls", 0) == 0) {
    CHECK(test::read_file(m->certificate_file) == p.tls_certificate());
    CHECK_THAT(m->command_line(), Catch::Contains("--tls-ca " + m->certificate_file));
  } else {
    CHECK(m->certificate_file.empty());
  }
  // Run as printed, by a shell, it joins and takes tasks.
  test::Started sh("/bin/sh");
  sh.start({"-c", "exec " + m->command_line()});
  CHECK(p.submit(Task::call("echo", "by hand")).wait().value == "by hand");
  CHECK(p.info().connections == 1);
  // Asked again, it writes the same files in place.
  auto again = p.manual_launch(files);
  REQUIRE(again);
  CHECK(again->secret_file == m->secret_file);
}

TEST_CASE("a daemon command by hand needs daemons and a private directory", "[profile][manual]") {
  test::TempDir dir;
  Profile none;
  CHECK_THAT(none.manual_launch(dir.file("x")).message(), Catch::Contains("set_daemons first"));
  Profile p;
  test::set_daemons(p, test::local_daemons(0));
  const std::string open = dir.file("open");
  REQUIRE(mkdir(open.c_str(), 0777) == 0);
  REQUIRE(chmod(open.c_str(), 0777) == 0);
  auto m = p.manual_launch(open);
  REQUIRE_FALSE(m);
  CHECK_THAT(m.message(), Catch::Contains("chmod 700 " + open));
  // A symlink planted where the secret's file goes is replaced, not followed.
  const std::string files = dir.file("files");
  auto first = p.manual_launch(files);
  REQUIRE(first);
  const std::string target = dir.file("elsewhere");
  std::ofstream(target) << "untouched";
  REQUIRE(unlink(first->secret_file.c_str()) == 0);
  REQUIRE(symlink(target.c_str(), first->secret_file.c_str()) == 0);
  REQUIRE(p.manual_launch(files));
  CHECK(test::read_file(target) == "untouched");
  CHECK(test::read_file(first->secret_file) == p.secret() + "\n");
}
