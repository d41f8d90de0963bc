// The `mirai` command as users run it.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/support.hpp"

using mirai::test::run;
using nlohmann::json;

namespace {
std::vector<std::string> cmd(std::vector<std::string> args) {
  args.insert(args.begin(), mirai::test::mirai_exe());
  return args;
}
}  // namespace

TEST_CASE("mirai run prints the output and exits with the command status", "[cli]") {
  auto r = run(cmd({"run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}));
  CHECK(r.out == "out\n");
  CHECK_THAT(r.err, Catch::StartsWith("err\n"));
  CHECK(r.exit_code == 3);
  CHECK(run(cmd({"run", "--", "true"})).exit_code == 0);
  auto t = run(cmd({"run", "--timeout", "200ms", "--", "sleep", "10"}));
  CHECK(t.exit_code == 124);
  CHECK_THAT(t.err, Catch::Contains("timed out after 200ms"));
  auto missing = run(cmd({"run", "--", "no-such-command-here"}));
  CHECK(missing.exit_code == 127);
  CHECK_THAT(missing.err, Catch::Contains("no-such-command-here"));
  // A file that is there but cannot be run: 126, as a shell and timeout(1) say it.
  mirai::test::TempDir dir;
  std::ofstream(dir.file("script.sh")) << "#!/bin/sh\necho ran\n";
  auto not_executable = run(cmd({"run", "--", dir.file("script.sh")}));
  CHECK(not_executable.exit_code == 126);
  CHECK_THAT(not_executable.err, Catch::Contains("Permission denied"));
  CHECK(run(cmd({"run", "--", dir.path()})).exit_code == 126);  // a directory
  // Its stdin is the command's.
  auto piped = run(cmd({"run", "--", "sh", "-c", "wc -l; cat"}), "one\ntwo\n");
  CHECK(piped.out == "2\n");
  CHECK(run(cmd({"run", "--", "cat"}), "hi\n").out == "hi\n");
}

TEST_CASE("mirai map substitutes {} and prints results in input order", "[cli]") {
  auto r = run(cmd(
      {"map", "-k", "-j", "2", "--", "sleep 0.$((5 - {})); echo {}", ":::", "1", "2", "3", "4"}));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "1\n2\n3\n4\n");
  auto appended = run(cmd({"map", "-k", "-j", "1", "--", "echo", "x", ":::", "a", "b"}));
  CHECK(appended.out == "x a\nx b\n");
}

TEST_CASE("hostile task arguments reach the command as data, never a shell", "[cli][security]") {
  mirai::test::TempDir dir;
  std::string pwned = dir.file("pwned");
  std::vector<std::string> hostile = {"$(touch " + pwned + ")",
                                      "`touch " + pwned + "`",
                                      "; touch " + pwned,
                                      "| touch " + pwned,
                                      "' \" \\ ",
                                      "'$(touch " + pwned + ")'",
                                      "\"; touch " + pwned + "\""};
  std::vector<std::string> args = {"map", "-k",   "-j", "1",  "--no-progress",
                                   "--",  "echo", "{}", ":::"};
  args.insert(args.end(), hostile.begin(), hostile.end());
  auto r = run(cmd(args));
  CHECK(r.exit_code == 0);
  std::string expected;
  for (const auto& h : hostile) expected += h + "\n";
  CHECK(r.out == expected);
  CHECK(access(pwned.c_str(), F_OK) != 0);
  // The same inside a shell line of the user's: each replacement is quoted for that shell (as
  // in parallel, one inside "..." of the user's would not be).
  args = {"map", "-k", "--no-progress", "echo x{}y && echo {} | cat", ":::"};
  args.insert(args.end(), hostile.begin(), hostile.end());
  auto in_line = run(cmd(args));
  CHECK(in_line.exit_code == 0);
  std::string twice;
  for (const auto& h : hostile) twice += "x" + h + "y\n" + h + "\n";
  CHECK(in_line.out == twice);
  CHECK(access(pwned.c_str(), F_OK) != 0);
}

TEST_CASE("mirai map reports failures and exits non-zero", "[cli]") {
  auto r = run(cmd({"map", "-k", "-j", "2", "--", "test {} != b", ":::", "a", "b", "c"}));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("task 2 (b): exit status 1"));
  CHECK_THAT(r.err, Catch::Contains("1 of 3 tasks failed"));
}

TEST_CASE("mirai map --retries runs a failing task again on another daemon", "[cli]") {
  // Daemon 1 fails every task; each that went there runs again on daemon 2.
  auto r = run(cmd({"map", "-k", "-j", "2", "--retries", "2", "--",
                    "test $MIRAI_DAEMON_ID != 1 && echo {} on $MIRAI_DAEMON_ID", ":::", "a", "b",
                    "c", "d", "e", "f"}));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "a on 2\nb on 2\nc on 2\nd on 2\ne on 2\nf on 2\n");
  // One daemon: it is the only one to run the task again on.
  r = run(cmd({"map", "-j", "1", "--retries", "3", "--", "echo try; exit 1", ":::", "x"}));
  CHECK(r.exit_code == 1);
  CHECK(r.out == "try\n");  // the last attempt's output only, as parallel
}

TEST_CASE("mirai map --stop-on-error stops the rest", "[cli]") {
  mirai::test::TempDir dir;
  auto r = run(cmd({"map", "-k", "-j", "1", "--stop-on-error", "--",
                    "test {} != 1 && touch " + dir.path() + "/{}", ":::", "1", "2", "3", "4", "5",
                    "6", "7", "8"}));
  CHECK(r.exit_code == 1);  // the exit status of the task that failed, as parallel's fail=1
  CHECK_THAT(r.err, Catch::Contains("halting (--halt now,fail=1) after task 1"));
  CHECK_FALSE(std::ifstream(dir.path() + "/8").good());
}

TEST_CASE("mirai map --json and --jsonl are machine-readable", "[cli]") {
  auto r = run(cmd({"map", "-k", "-j", "2", "--json", "--", "echo {}; exit {}", ":::", "0", "3"}));
  json j = json::parse(r.out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["status"] == "value");
  CHECK(j[0]["stdout"] == "0\n");
  CHECK(j[1]["status"] == "error");
  CHECK(j[1]["exit_code"] == 3);
  CHECK(j[1]["arg"] == "3");

  std::string specs = R"({"id": "a", "argv": ["echo", "hi"]})"
                      "\n"
                      R"({"id": 2, "sh": "cat; echo $X", "stdin": "in ", "env": {"X": "y"}})"
                      "\n"
                      R"({"call": "echo", "payload": "p"})"
                      "\n"
                      R"({"sh": "sleep 5", "timeout": "100ms"})"
                      "\n";
  auto l = run(cmd({"map", "-n", "2", "--jsonl"}), specs);
  std::istringstream lines(l.out);
  std::vector<json> out;
  for (std::string line; std::getline(lines, line);) out.push_back(json::parse(line));
  REQUIRE(out.size() == 4);
  CHECK(out[0]["id"] == "a");
  CHECK(out[0]["stdout"] == "hi\n");
  CHECK(out[1]["id"] == 2);
  CHECK(out[1]["stdout"] == "in y\n");
  CHECK(out[2]["stdout"] == "p");
  CHECK(out[3]["error_value"] == 5);
  CHECK(out[3]["cause"] == "timed out");
  CHECK(out[0]["cause"] == "none");
  CHECK(l.exit_code == 1);
}

TEST_CASE("bad input to mirai map is refused before anything runs", "[cli]") {
  // Bad usage exits 255, as GNU parallel's does.
  auto bad_line = run(cmd({"map", "--jsonl"}), "{\"argv\": [\"true\"]}\n{\"argv\": 5}\n");
  CHECK(bad_line.exit_code == 255);
  CHECK_THAT(bad_line.err, Catch::Contains("stdin:2"));
  // An "id" nested 100,000 deep: refused with the reason, not a crash of the stack.
  std::string deep =
      "{\"sh\": \"true\", \"id\": " + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  auto nested = run(cmd({"map", "--jsonl"}), deep);
  CHECK(nested.exit_code == 255);
  CHECK_THAT(nested.err, Catch::Contains("stdin:1: it nests arrays and objects more than 64 deep"));
  auto no_file = run(cmd({"map", "--", "echo", "::::"}));
  CHECK(no_file.exit_code == 255);
  CHECK_THAT(no_file.err, Catch::Contains("'::::' needs a file"));
  auto missing = run(cmd({"map", "echo", "::::", "/no/such/file"}));
  CHECK(missing.exit_code == 255);
  CHECK_THAT(missing.err, Catch::Contains("cannot read the argument file '/no/such/file'"));
  auto bad_timeout = run(cmd({"map", "--timeout", "soon", "--", "echo", ":::", "a"}));
  CHECK(bad_timeout.exit_code == 255);
  CHECK_THAT(bad_timeout.err, Catch::Contains("--timeout"));
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"map", "--halt", "now,sometimes=1", "echo", ":::", "a"},
        {"map", "-j", "many", "echo", ":::", "a"},
        {"map", "-n", "0", "echo", ":::", "a"},
        {"map", "-X", "-m", "echo", ":::", "a"},
        {"map", "--resume", "echo", ":::", "a"},
        {"map", "--colsep", "[", "echo", ":::", "a"}}) {
    auto r = run(cmd(bad));
    INFO(r.err);
    CHECK(r.exit_code == 255);
    CHECK(r.out.empty());
  }
  auto unknown = run(cmd({"frobnicate"}));
  CHECK(unknown.exit_code == 2);
}

TEST_CASE("mirai map reads arguments from a file", "[cli]") {
  mirai::test::TempDir dir;
  std::ofstream(dir.file("args")) << "one\ntwo words\nthree\n";
  auto r = run(cmd({"map", "-k", "-j", "2", "-a", dir.file("args"), "--", "echo", "[{}]"}));
  CHECK(r.out == "[one]\n[two words]\n[three]\n");
}

using mirai::test::Started;

TEST_CASE("mirai dispatcher serves daemons and clients until SIGTERM", "[cli]") {
  using namespace std::chrono_literals;
  mirai::test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock");
  std::string listen = "abstract://mirai-cli-test-" + std::to_string(getpid());
  Started procs(mirai::test::mirai_exe());
  // The secret is written 0600 where the dispatcher is told; daemons read it from there.
  std::string secret = dir.file("secret");
  pid_t dispatcher = procs.start({"dispatcher", "--listen", listen, "--control", control,
                                  "--url-file", dir.file("urls"), "--secret-file", secret});
  REQUIRE(
      mirai::test::eventually([&] { return !mirai::test::read_file(dir.file("urls")).empty(); }));
  CHECK(mirai::test::read_file(dir.file("urls")) ==
        "listen " + listen + "\ncontrol " + control + "\n");
  struct stat mode {};
  REQUIRE(stat(secret.c_str(), &mode) == 0);
  CHECK((mode.st_mode & 0777) == 0600);
  CHECK(mirai::test::read_file(secret).size() == 65);  // 64 hex digits and a newline
  // A second dispatcher on the same control URL is refused with the reason (it crashed once).
  auto taken = run(cmd({"dispatcher", "--control", control}));
  CHECK(taken.exit_code == 69);
  CHECK_THAT(taken.err, Catch::Contains("cannot open the control URL"));
  pid_t d1 = procs.start({"daemon", listen, "--secret-file", secret});
  pid_t d2 = procs.start({"daemon", listen, "--secret-file", secret});
  REQUIRE(mirai::test::eventually([&] {
    return run(cmd({"status", "--dispatcher", control})).out.find("connections 2") !=
           std::string::npos;
  }));

  auto m = run(cmd({"map", "-k", "--dispatcher", control, "--no-progress", "--", "echo", "{}",
                    ":::", "x", "y", "z"}));
  CHECK(m.exit_code == 0);
  CHECK(m.out == "x\ny\nz\n");
  auto r = run(cmd({"run", "--dispatcher", control, "--", "sh", "-c", "exit 4"}));
  CHECK(r.exit_code == 4);

  auto st = run(cmd({"status", "--dispatcher", control, "--json"}));
  REQUIRE(st.exit_code == 0);
  json j = json::parse(st.out);
  CHECK(j["url"] == listen);
  CHECK(j["completed"] == 4);
  REQUIRE(j["daemons"].size() == 2);
  std::set<int> pids{j["daemons"][0]["pid"].get<int>(), j["daemons"][1]["pid"].get<int>()};
  CHECK(pids == std::set<int>{d1, d2});

  // SIGTERM: the dispatcher exits 0, its daemons follow, and its files are gone.
  kill(dispatcher, SIGTERM);
  int ws = mirai::wait_for_exit(dispatcher, 5s);
  CHECK(WIFEXITED(ws));
  CHECK(WEXITSTATUS(ws) == 0);
  CHECK(mirai::wait_for_exit(d1, 3s) >= 0);
  CHECK(mirai::wait_for_exit(d2, 3s) >= 0);
  CHECK(access(dir.file("urls").c_str(), F_OK) != 0);
  auto gone = run(cmd({"status", "--dispatcher", control}));
  CHECK(gone.exit_code != 0);
  CHECK_THAT(gone.err, Catch::Contains("mirai dispatcher"));
}

TEST_CASE("mirai daemon stops its running task on SIGTERM", "[cli]") {
  using namespace std::chrono_literals;
  mirai::test::TempDir dir;
  mirai::Profile p;
  REQUIRE(p.set_daemons(mirai::test::local_daemons(
                            0, "abstract://mirai-cli-sigterm-" + std::to_string(getpid())))
              .ok());
  Started procs(mirai::test::mirai_exe());
  pid_t daemon = procs.start({"daemon", p.url()}, {{"MIRAI_SECRET", p.secret()}});
  REQUIRE(mirai::test::eventually([&] { return p.info().connections == 1; }));
  mirai::Future f = p.submit(mirai::test::sleeper(dir, "t"));
  pid_t task = mirai::test::wait_pid(dir, "t.pid");
  kill(daemon, SIGTERM);
  int ws = mirai::wait_for_exit(daemon, 5s);
  CHECK(WIFEXITED(ws));
  CHECK(WEXITSTATUS(ws) == 128 + SIGTERM);
  CHECK(mirai::test::eventually([&] { return !mirai::test::process_alive(task); }, 2s));
  // Not the task's fault: it goes back to the queue for the next daemon, at no retry's cost.
  CHECK(mirai::test::eventually([&] { return p.info().awaiting == 1; }, 5s));
  CHECK(p.info().retried == 1);
  CHECK(f.unresolved());
  f.stop();
}

TEST_CASE("mirai.yaml profiles drive run and map and are checked before anything starts", "[cli]") {
  mirai::test::TempDir dir;
  std::string config = dir.file("mirai.yaml");
  std::ofstream(config)
      << "default: two\n"
         "profiles:\n"
         "  two: { launcher: local, workers: 2, env: { GREETING: \"hi $(id)\" } }\n"
         "  batch:\n"
         "    launcher: slurm\n"
         "    url: tcp://127.0.0.1:0\n"
         "    slurm: { partition: short, time: 1h }\n";
  // The default profile: two local daemons that get the profile's environment, unexpanded.
  auto r = run(cmd({"map", "-k", "--config", config, "--no-progress", "--",
                    "echo \"$GREETING\" $PPID # {}", ":::", "a", "b", "c", "d"}));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("hi $(id) "));
  auto check = run(cmd({"config", "check", "--config", config}));
  CHECK(check.exit_code == 0);
  CHECK(check.out == config + ": 2 profile(s), no problems: batch (slurm) two (local)\n");
  auto rendered = run(cmd({"render", "--config", config, "-p", "batch", "-n", "5"}));
  CHECK(rendered.exit_code == 0);
  CHECK_THAT(rendered.out,
             Catch::StartsWith("# daemons 1-5: sbatch --parsable < script\n#!/bin/sh\n"));
  CHECK_THAT(rendered.out, Catch::Contains("#SBATCH --array=1-5\n#SBATCH --output=/dev/null\n"));
  CHECK_THAT(rendered.out, Catch::Contains("#SBATCH --partition=short\n"));
  CHECK_THAT(rendered.out,
             Catch::Contains(" daemon tcp://127.0.0.1:0 --join-timeout 10m --allocation 1h\n"));
  // A profile with login: as the login node would run it, without connecting to it.
  std::ofstream(dir.file("login.yaml")) << "profiles:\n"
                                           "  far:\n"
                                           "    launcher: slurm\n"
                                           "    url: tcp://{interface:ib0}:0\n"
                                           "    login: { host: me@login.cluster.org }\n"
                                           "    log: logs/%A_%a.log\n"
                                           "    slurm: { partition: short, time: 1h }\n";
  auto far = run(cmd({"render", "--config", dir.file("login.yaml"), "-p", "far", "-n", "2"}));
  CHECK(far.exit_code == 0);
  CHECK_THAT(far.out, Catch::StartsWith("# on the login node login.cluster.org, through ssh; its "
                                        "relay listens on tcp://{interface:ib0}:0 (resolved "
                                        "there)"));
  CHECK_THAT(far.out, Catch::Contains("# daemons 1-2: sbatch --parsable < script\n"));
  CHECK_THAT(far.out, Catch::Contains("#SBATCH --output=logs/%A_%a.log\n"));  // as written there
  CHECK_THAT(far.out, Catch::Contains("cd '<home directory on login.cluster.org>' || exit 1\n"));
  CHECK_THAT(far.out, Catch::Contains("\nmirai daemon 'tcp://{interface:ib0}:0' "));  // on PATH
  // mirai launch cannot keep a relay for jobs that outlive it: it says what to use instead.
  auto launched = run(cmd({"launch", "--config", dir.file("login.yaml"), "-p", "far",
                           "--dispatcher", "ipc://" + dir.file("none.sock")}));
  CHECK(launched.exit_code == 2);
  CHECK_THAT(launched.err, Catch::Contains("start `mirai dispatcher -p far`"));
  auto unknown = run(cmd({"run", "--config", config, "-p", "tow", "--", "true"}));
  CHECK(unknown.exit_code == 125);
  CHECK_THAT(unknown.err, Catch::Contains("has no profile 'tow' (did you mean 'two'?)"));

  // One mistake anywhere in the file: every command refuses, and says where.
  std::ofstream(config, std::ios::app) << "  broken: { launcher: local, workers: -1 }\n";
  auto refused = run(cmd({"run", "--config", config, "-p", "two", "--", "touch", dir.file("ran")}));
  CHECK(refused.exit_code == 125);
  CHECK_THAT(refused.err,
             Catch::Contains(config + ":8:39: 'workers' must be a whole number from 1 to 100000, "
                                      "not '-1'"));
  CHECK_THAT(refused.err, Catch::Contains("nothing was started"));
  CHECK(access(dir.file("ran").c_str(), F_OK) != 0);
  auto failed_check = run(cmd({"config", "check", "--config", config}));
  CHECK(failed_check.exit_code == 1);
  CHECK_THAT(failed_check.err, Catch::EndsWith(": 1 problem(s)\n"));
}

TEST_CASE("mirai map --seed gives the same streams with 1 and 2 daemons", "[cli][rng]") {
  auto streams = [](const char* n) {
    return run(cmd({"map", "-k", "-j", n, "--seed", "7", "--no-progress", "--",
                    "echo {} $MIRAI_STREAM", ":::", "a", "b", "c", "d"}))
        .out;
  };
  std::string one = streams("1");
  CHECK(one == streams("2"));
  std::istringstream lines(one);
  std::set<std::string> distinct;
  for (std::string line; std::getline(lines, line);) distinct.insert(line.substr(2));
  CHECK(distinct.size() == 4);
}

TEST_CASE("mirai map --everywhere sets up every daemon before any task", "[cli][everywhere]") {
  mirai::test::TempDir dir;
  std::vector<std::string> args = {
      "map",
      "-k",
      "-j",
      "3",
      "--no-progress",
      "--everywhere",
      "export SETUP='a b'; mkdir " + dir.path() + "/$PPID && cd " + dir.path() + "/$PPID",
      "--everywhere",
      "export SETUP=\"$SETUP c\"",
      "--",
      "echo \"$SETUP|$(pwd)|$PPID\" # {}",
      ":::"};
  for (int i = 0; i < 12; ++i) args.push_back(std::to_string(i));
  auto r = run(cmd(args));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    auto bar = line.rfind('|');
    CHECK(line == "a b c|" + dir.path() + "/" + line.substr(bar + 1) + "|" + line.substr(bar + 1));
  }
  CHECK(n == 12);
  // Each of the 3 daemons made its directory exactly once (mkdir fails on a second run).
  auto made = run({"sh", "-c", "ls " + dir.path() + " | wc -l"});
  CHECK(made.out == "3\n");

  auto failed = run(cmd({"map", "-k", "-j", "2", "--no-progress", "--everywhere",
                         "echo cannot load >&2; exit 4", "--", "touch", ":::", dir.file("never")}));
  CHECK(failed.exit_code == 1);
  CHECK_THAT(failed.err, Catch::Contains("cannot load\n") &&
                             Catch::Contains("--everywhere failed on a daemon (1 of 2)") &&
                             Catch::Contains("exit status 4") &&
                             Catch::Contains("no task was run"));
  CHECK(access(dir.file("never").c_str(), F_OK) != 0);
  CHECK(run(cmd({"map", "-j", "1", "--everywhere", " ", "--", "true", ":::", "x"})).exit_code ==
        255);
}

TEST_CASE("mirai map --progress draws the bar with count even off a terminal", "[cli]") {
  auto r = run(cmd({"map", "-k", "-j", "2", "--progress", "--", "sleep 0.3; echo {}", ":::", "a",
                    "b", "c", "d"}));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "a\nb\nc\nd\n");
  CHECK_THAT(r.err, Catch::Contains("/4") && Catch::Contains("left"));
  auto quiet = run(cmd({"map", "-k", "-j", "1", "--", "echo", ":::", "x"}));
  CHECK(quiet.err.empty());  // not a terminal, no --progress
  CHECK(run(cmd({"map", "--progress", "--no-progress", "--", "echo", ":::", "x"})).exit_code ==
        255);
}

TEST_CASE("mirai status shows a job id that is not text safely, as text and as JSON", "[cli]") {
  using namespace std::chrono_literals;
  mirai::test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock"), secret = dir.file("secret");
  Started procs(mirai::test::mirai_exe());
  procs.start({"dispatcher", "--control", control, "--url-file", dir.file("urls"), "--secret-file",
               secret});
  REQUIRE(
      mirai::test::eventually([&] { return !mirai::test::read_file(dir.file("urls")).empty(); }));
  std::string urls = mirai::test::read_file(dir.file("urls"));
  // A job id with an escape sequence (clear the screen) and a byte that is not UTF-8.
  procs.start({"daemon", urls.substr(7, urls.find('\n') - 7), "--secret-file", secret, "--job-id",
               "j\x1b[2J\xff"});
  REQUIRE(mirai::test::eventually([&] {
    return run(cmd({"status", "--dispatcher", control})).out.find("connections 1") !=
           std::string::npos;
  }));
  auto text = run(cmd({"status", "--dispatcher", control}));
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("j\\x1b[2J\\xff"));
  CHECK(text.out.find('\x1b') == std::string::npos);
  auto js = run(cmd({"status", "--dispatcher", control, "--json"}));
  CHECK(js.exit_code == 0);
  json j = json::parse(js.out);
  CHECK(j["daemons"][0]["job_id"] == "j\x1b[2J\xef\xbf\xbd");
}

TEST_CASE("mirai --version, mirai help COMMAND, and a suggestion for a mistyped command", "[cli]") {
  auto version = run(cmd({"--version"}));
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("mirai 0.") && Catch::Contains("wire protocol v2"));
  auto help = run(cmd({"help", "map"}));
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("mirai map") && Catch::Contains("--timeout"));
  auto run_help = run(cmd({"run", "--help"}));  // shows what a user writes, nothing internal
  CHECK(run_help.exit_code == 0);
  CHECK_THAT(run_help.out, Catch::Contains("--timeout") && !Catch::Contains("--command"));
  CHECK(run(cmd({"run", "echo", "words", "before", "dashes"})).out == "words before dashes\n");
  auto typo = run(cmd({"mpa", "--", "echo"}));
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("unknown command 'mpa' (did you mean 'map'?)"));
  auto no_such = run(cmd({"help", "zzzzzz"}));
  CHECK(no_such.exit_code == 2);
  CHECK_THAT(no_such.err,
             Catch::Contains("unknown command 'zzzzzz'") && !Catch::Contains("did you mean"));
}

TEST_CASE("a usage error exits 2 from every command, 255 from mirai map, 64 from mirai daemon",
          "[cli]") {
  // The README's exit-code table: 1, 2 and 3 are the daemon's idletime, walltime and maxtasks.
  for (const char* command :
       {"run", "map", "config", "render", "launch", "status", "dispatcher", "help"}) {
    auto r = run(cmd({command, "--no-such-option"}));
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == (std::string(command) == "map" ? 255 : 2));  // map: parallel's 255
    CHECK_THAT(r.err, Catch::Contains("--help") || Catch::Contains("unknown command"));
  }
  CHECK(run(cmd({"daemon", "--no-such-option"})).exit_code == 64);
  CHECK(run(cmd({"dispatcher", "--max-prefetch", "0"})).exit_code == 2);
}

TEST_CASE("mirai launch --print gives the command for a daemon started by hand", "[cli][manual]") {
  mirai::test::TempDir dir;
  std::string control = "ipc://" + dir.file("control.sock");
  Started procs(mirai::test::mirai_exe());
  procs.start({"dispatcher", "--listen", "tcp://127.0.0.1:0", "--control", control, "--url-file",
               dir.file("urls")});
  REQUIRE(
      mirai::test::eventually([&] { return !mirai::test::read_file(dir.file("urls")).empty(); }));
  auto printed =
      run(cmd({"launch", "--print", "--dispatcher", control, "--files", dir.file("files")}));
  REQUIRE(printed.exit_code == 0);
  CHECK_THAT(printed.out, Catch::StartsWith("mirai daemon tcp://127.0.0.1:") &&
                              Catch::Contains(" --secret-file " + dir.file("files") + "/"));
  CHECK(std::count(printed.out.begin(), printed.out.end(), '\n') == 1);
  CHECK_THAT(printed.err, Catch::Contains("(mode 0600)"));
  // As printed (with the mirai of these tests for `mirai`), it joins and runs tasks.
  std::string line = printed.out.substr(std::string("mirai").size());
  line.pop_back();
  Started sh("/bin/sh");
  sh.start({"-c", "exec " + mirai::test::mirai_exe() + line});
  auto r = run(cmd({"run", "--dispatcher", control, "--", "echo", "by hand"}));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "by hand\n");
  // What --print does not take is refused, saying what to use instead.
  auto with_profile = run(cmd({"launch", "--print", "-p", "x", "--dispatcher", control}));
  CHECK(with_profile.exit_code == 2);
  CHECK_THAT(with_profile.err, Catch::Contains("mirai render -p"));
}

TEST_CASE("the man page and shell completion come from the commands' own help", "[cli][help]") {
  // The build makes mirai.1 beside bin/ with help2man (cmake/manpage.sh).
  std::string exe = mirai::test::mirai_exe();
  std::string build = exe.substr(0, exe.rfind("/bin/"));
  std::string page = mirai::test::read_file(build + "/mirai.1");
  CHECK_THAT(page, Catch::Contains(".TH MIRAI") && Catch::Contains(".SS mirai map") &&
                       Catch::Contains("joblog") && Catch::Contains(".SS mirai dispatcher"));
  for (const char* command :
       {"run", "map", "daemon", "dispatcher", "status", "launch", "render", "config"}) {
    auto help = run(cmd({"help", command}));
    INFO(command);
    CHECK_THAT(help.out, Catch::Contains("Examples:") && Catch::Contains("Exit status:"));
  }
  // bash: the options of the command being typed, as its help lists them.
  auto complete = [&](const std::string& words, int current) {
    return run({"bash", "-c",
                "source " MIRAI_TEST_SOURCE_DIR "/share/completions/mirai.bash; COMP_WORDS=(" +
                    words + "); COMP_CWORD=" + std::to_string(current) +
                    "; _mirai; printf '%s\\n' \"${COMPREPLY[@]}\""})
        .out;
  };
  CHECK(complete(exe + " map --jo", 2) == "--joblog\n--jobs\n");
  CHECK(complete(exe + " ma", 1) == "map\n");
  CHECK_THAT(complete(exe + " run --", 2), Catch::Contains("--timeout\n"));
  // A mistyped option gets the nearest one.
  auto typo = run(cmd({"map", "--joblgo", "x", "echo", ":::", "a"}));
  CHECK(typo.exit_code == 255);
  CHECK_THAT(typo.err, Catch::Contains("did you mean '--joblog'?"));
}
