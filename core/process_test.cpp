#include "core/process.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/support/support.hpp"

using namespace mirai;

namespace {
RunOutput run_ok(SpawnOptions o, const std::string& input = {}) {
  auto r = run_captured(
      std::move(o), input, [](pid_t) {}, [] {});
  REQUIRE(r);
  return *r;
}
}  // namespace

TEST_CASE("a command stdout and stderr and exit status are captured", "[process]") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"};
  auto r = run_ok(o);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK(WIFEXITED(r.wait_status));
  CHECK(WEXITSTATUS(r.wait_status) == 3);
}

TEST_CASE("stdin bytes and environment and working directory reach the command", "[process]") {
  test::TempDir dir;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "pwd; echo \"$MIRAI_X\"; wc -c"};
  o.env = {{"MIRAI_X", "value with spaces"}};
  o.cwd = dir.path();
  auto r = run_ok(o, std::string(300000, 'a'));  // more than a pipe buffer
  CHECK(r.out == dir.path() + "\nvalue with spaces\n300000\n");
}

TEST_CASE("large outputs on both streams are read without deadlock", "[process]") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"};
  auto r = run_ok(o);
  CHECK(r.out.size() == 1000000);
  CHECK(r.err.size() == 1000000);
}

TEST_CASE("a missing program is an error naming it", "[process]") {
  SpawnOptions o;
  o.argv = {"surely-not-a-program-xyz"};
  auto r = run_captured(
      o, "", [](pid_t) {}, [] {});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.message(), Catch::Contains("surely-not-a-program-xyz"));
  CHECK_THAT(r.message(), Catch::Contains("No such file"));
}

TEST_CASE("killing the process group ends the command and its children", "[process]") {
  test::TempDir dir;
  std::string pidfile = dir.file("child.pid");
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 60 & echo $! > " + pidfile + "; wait"};
  std::thread killer;
  auto r = run_captured(
      o, "",
      [&](pid_t pid) {
        killer = std::thread([pid, pidfile] {
          test::eventually([&] { return !test::read_file(pidfile).empty(); });
          kill(-pid, SIGKILL);
        });
      },
      [] {});
  killer.join();
  REQUIRE(r);
  CHECK(WIFSIGNALED(r->wait_status));
  pid_t grandchild = std::stoi(test::read_file(pidfile));
  CHECK(test::eventually([&] { return !test::process_alive(grandchild); }));
}

TEST_CASE("a background process holding the pipes does not hold up the result", "[process]") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo done; sleep 30 & echo $! >&2"};
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_ok(o);
  CHECK(r.out == "done\n");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  kill(std::stoi(r.err), SIGKILL);
}

TEST_CASE("output to a file is appended, private, from both streams and both spawn paths",
          "[process]") {
  test::TempDir dir;
  for (bool die_with_parent : {false, true}) {
    SpawnOptions o;
    o.argv = {"/bin/sh", "-c", "echo out; echo err >&2"};
    o.out = o.err = SpawnOptions::Stdio::kFile;
    o.file = dir.file("log");
    o.die_with_parent = die_with_parent;
    auto child = spawn(o);
    REQUIRE(child);
    CHECK(wait_for_exit(child->pid, std::chrono::seconds(10)) == 0);
  }
  CHECK(test::read_file(dir.file("log")) == "out\nerr\nout\nerr\n");
  struct stat st {};
  REQUIRE(stat(dir.file("log").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  SpawnOptions bad;
  bad.argv = {"/bin/true"};
  bad.out = SpawnOptions::Stdio::kFile;
  bad.file = dir.file("no/such/dir/log");
  auto failed = spawn(bad);
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.message(), Catch::Contains("cannot open " + dir.file("no/such/dir/log")));
}

TEST_CASE("a program is looked up on the task's PATH, and found anew when it moves", "[process]") {
  test::TempDir dir;
  for (const char* d : {"/early", "/late"}) mkdir((dir.path() + d).c_str(), 0700);
  auto program = [&](const std::string& where) { return dir.path() + where + "/mirai-which-test"; };
  auto place = [&](const std::string& where) {
    std::ofstream(program(where)) << "#!/bin/sh\necho " << where.substr(1) << "\n";
    chmod(program(where).c_str(), 0700);
  };
  SpawnOptions o;
  o.argv = {"mirai-which-test"};
  o.env = {{"PATH", dir.path() + "/early:" + dir.path() + "/late"}};
  o.die_with_parent = true;
  place("/late");
  CHECK(run_ok(o).out == "late\n");
  // Gone from where it was found: the search starts again.
  std::remove(program("/late").c_str());
  place("/early");
  CHECK(run_ok(o).out == "early\n");
  std::remove(program("/early").c_str());
  place("/late");
  CHECK(run_ok(o).out == "late\n");
  // Put earlier on the PATH than where it was found: found there within a second.
  place("/early");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(run_ok(o).out == "early\n");
}

TEST_CASE("a command without input reads an empty stdin, task after task", "[process]") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "wc -c; ls -l /proc/self/fd/0 | grep -c /dev/null"};
  o.die_with_parent = true;
  for (int i = 0; i < 3; ++i) CHECK(run_ok(o).out == "0\n1\n");
}
