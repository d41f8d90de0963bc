// The `mirai` command as users run it.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

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
}

TEST_CASE("mirai map substitutes {} and prints results in input order", "[cli]") {
  auto r = run(cmd({"map", "-n", "2", "--", "sh", "-c", "sleep 0.$((5 - {})); echo {}", ":::", "1",
                    "2", "3", "4"}));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "1\n2\n3\n4\n");
  auto appended = run(cmd({"map", "-n", "1", "--", "echo", "x", ":::", "a", "b"}));
  CHECK(appended.out == "x a\nx b\n");
}

TEST_CASE("mirai map reports failures and exits non-zero", "[cli]") {
  auto r = run(cmd({"map", "-n", "2", "--", "sh", "-c", "test {} != b", ":::", "a", "b", "c"}));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("task 2 (b): exit status 1"));
  CHECK_THAT(r.err, Catch::Contains("1 of 3 tasks failed"));
}

TEST_CASE("mirai map --stop-on-error stops the rest", "[cli]") {
  mirai::test::TempDir dir;
  auto r = run(cmd({"map", "-n", "1", "--stop-on-error", "--", "sh", "-c",
                    "test {} != 1 && touch " + dir.path() + "/{}", ":::", "1", "2", "3", "4", "5",
                    "6", "7", "8"}));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("stopped at the first failure"));
  CHECK_FALSE(std::ifstream(dir.path() + "/8").good());
}

TEST_CASE("mirai map --json and --jsonl are machine-readable", "[cli]") {
  auto r =
      run(cmd({"map", "-n", "2", "--json", "--", "sh", "-c", "echo {}; exit {}", ":::", "0", "3"}));
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
  CHECK(l.exit_code == 1);
}

TEST_CASE("bad input to mirai map is refused before anything runs", "[cli]") {
  auto bad_line = run(cmd({"map", "--jsonl"}), "{\"argv\": [\"true\"]}\n{\"argv\": 5}\n");
  CHECK(bad_line.exit_code == 2);
  CHECK_THAT(bad_line.err, Catch::Contains("stdin:2"));
  auto no_args = run(cmd({"map", "--", "echo"}));
  CHECK(no_args.exit_code == 2);
  CHECK_THAT(no_args.err, Catch::Contains(":::"));
  auto bad_timeout = run(cmd({"map", "--timeout", "10", "--", "echo", ":::", "a"}));
  CHECK(bad_timeout.exit_code == 2);
  CHECK_THAT(bad_timeout.err, Catch::Contains("has no unit"));
  auto unknown = run(cmd({"frobnicate"}));
  CHECK(unknown.exit_code == 2);
}

TEST_CASE("mirai map reads arguments from a file", "[cli]") {
  mirai::test::TempDir dir;
  std::ofstream(dir.file("args")) << "one\ntwo words\nthree\n";
  auto r = run(cmd({"map", "-n", "2", "--args-file", dir.file("args"), "--", "echo", "[{}]"}));
  CHECK(r.out == "[one]\n[two words]\n[three]\n");
}
