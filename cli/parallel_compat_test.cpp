// `mirai map` against GNU parallel, the oracle: the same arguments through both, stdout and the
// exit status compared exactly (sorted where parallel's order is not defined). Both run their
// command lines with /bin/sh (PARALLEL_SHELL), so the shell is not what differs.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/support.hpp"

namespace {

using mirai::test::run;
using Words = std::vector<std::string>;

std::string sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

struct Case {
  Case(Words a, std::string in = {}) : args(std::move(a)), input(std::move(in)) {}
  Words args;
  std::string input;  // stdin
};

mirai::test::Ran through(const std::string& program, const Case& c) {
  Words argv = {"env", "PARALLEL_SHELL=/bin/sh"};
  if (program == "parallel") {
    argv.insert(argv.end(), {"parallel", "--will-cite"});
  } else {
    argv.insert(argv.end(), {mirai::test::mirai_exe(), "map"});
    bool bar = false;
    for (const char* o : {"--bar", "--eta", "--progress"})
      bar = bar || std::find(c.args.begin(), c.args.end(), o) != c.args.end();
    if (!bar) argv.push_back("--no-progress");
  }
  // "%P" in an argument is the program's name: each writes its own --joblog or --results.
  for (std::string a : c.args) {
    for (std::size_t at; (at = a.find("%P")) != std::string::npos;) a.replace(at, 2, program);
    argv.push_back(std::move(a));
  }
  return run(argv, c.input);
}

std::string shown(const Words& args) {
  std::string out;
  for (const auto& a : args) out += " [" + a + "]";
  return out;
}

}  // namespace

TEST_CASE("mirai map gives what GNU parallel gives, output and exit status", "[cli][parallel]") {
  REQUIRE(access("/usr/bin/parallel", X_OK) == 0);  // scripts/setup.sh installs it
  mirai::test::TempDir dir;
  std::ofstream(dir.file("f1")) << "f1a\nf1b\n";
  std::ofstream(dir.file("f2")) << "f2a\nf2b\n";
  std::ofstream(dir.file("nul"), std::ios::binary) << std::string("n 1\0n'2\0", 8);
  const std::string f1 = dir.file("f1"), f2 = dir.file("f2");
  std::vector<Case> cases = {
      // Input sources and how they combine.
      {{"echo", "{1}-{2}", ":::", "a", "b", ":::", "1", "2"}},
      {{"-k", "echo", "{1}-{2}", ":::", "a", "b", ":::", "1", "2"}},
      {{"-k", "echo", "{1}-{2}", ":::", "a", "b", "c", ":::+", "1", "2"}},
      {{"-k", "echo", ":::", "a", "b", ":::+", "x", "y", ":::", "1", "2"}},
      {{"-k", "echo", "::::", f1, f2}},
      {{"-k", "echo", "{2}", ":::", "x", "::::+", f1}},
      {{"-k", "-a", f1, "echo", "from"}},
      {{"-k", "-a", f1, "-a", f2, "echo"}},
      {{"-k", "echo", "[{}]"}, "a\nb c\n\nd"},
      {{"-k", "-0", "echo", "[{}]"}, std::string("x y\0z\0", 6)},
      {{"-k", "--null", "-a", dir.file("nul"), "echo"}},
      {{"-k", "--colsep", ",", "echo", "{2}", "{1}", ":::", "a,b", "c,d"}},
      {{"-k", "--colsep", ",", "echo"}, "x,y\nz,w\n"},
      {{"-k", "echo", ":::"}},
      {{"-k", "echo"}, ""},
      {{"-k", "echo", "{#}:{}", ":::", "x\ny", "z"}},
      // Replacement strings.
      {{"-k", "echo", "{.}", "{/}", "{//}", "{/.}", ":::", "x/y.z.w", "a", "b.c", "/d/e.f",
        ".bashrc", "a/", "/x", "x/."}},
      {{"-k", "echo", "{1.}", "{1/}", "{2//}", "{2/.}", "{-1}", ":::", "x/y.z.w", ":::", "/d/e.f"}},
      {{"-k", "echo", "{3}", "{2}", ":::", "a", ":::", "b"}},
      {{"-k", "echo", "{#}", "{}", ":::", "a", "b", "c"}},
      {{"-k", "echo", "{{}}", "{}}", "{x}", "{", ":::", "a"}},
      {{"-k", "echo", "pre{}post", "{}", ":::", "a b"}},
      // The shell rule: words joined as written, every replacement quoted.
      {{"-k", "echo", "got", "{}", ":::", "x; echo INJECTED", "$(echo SUB)", "`echo BACK`", "it's",
        "a\"b", "\\", "*", "~", "$HOME", "'", "''", "a  b", ""}},
      {{"-k", "sh", "-c", "echo got {}", ":::", "x; echo INJECTED"}},
      {{"-k", "echo {} | tr a-z A-Z", ":::", "abc", "d; echo e"}},
      {{"-k", "-q", "echo", "a  b", "{}", ":::", "x  y"}},
      {{"-k", "-q", "printf", "%s|\\n", "{}", ":::", "$(id)"}},
      {{"-k", ":::", "echo one", "echo two"}},
      {{"-k", "echo $PARALLEL_SEQ {}", ":::", "a", "b"}},
      {{"-k", "printf", "[%s]", "{}", ":::", "a b", "c"}},
      // Several arguments a job.
      {{"-k", "-n", "2", "echo", ":::", "a", "b", "c", "d", "e"}},
      {{"-k", "-n2", "echo", "{1}+{2}", ":::", "a", "b", "c", "d", "e"}},
      {{"-k", "-j2", "-X", "echo", "x{}y", ":::", "a", "b", "c"}},
      {{"-k", "-j2", "-m", "echo", "x{}y", ":::", "a", "b", "c"}},
      {{"-k", "-j", "2", "-X", "echo", ":::", "a", "b", "c", "d", "e"}},
      // Output as it comes.
      {{"-k", "-j2", "--line-buffer", "echo s{}; sleep 0.{}; echo e{}", ":::", "3", "1", "2"}},
      {{"-j2", "--line-buffer", "--tag", "echo s{}; sleep 0.{}; printf e{}", ":::", "3", "1"}},
      {{"-u", "printf 'a{}'; sleep 0.1; echo b{}", ":::", "1"}},
      // Tags.
      {{"-k", "--tag", "echo", "hi", ":::", "a", "b c"}},
      {{"-k", "--tagstring", "<{}-{#}>", "echo", "hi", ":::", "a", "b"}},
      // Exit status and --halt.
      {{"-k", "exit {}", ":::", "0", "1", "2", "3"}},
      {{"false", ":::", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}},
      {{"-j1", "--halt", "now,fail=1", "exit {}", ":::", "0", "5", "0"}},
      {{"-j1", "--halt", "soon,fail=2", "echo {}; exit {}", ":::", "5", "6", "7", "0"}},
      {{"-j1", "--halt", "now,success=1", "exit {}", ":::", "3", "0", "4"}},
      {{"-j1", "--halt", "now,done=2", "exit {}", ":::", "3", "0", "4"}},
      {{"-j1", "--halt", "now,fail=50%", "exit {}", ":::", "0", "1", "1", "0", "0", "0"}},
      {{"-j1", "--halt", "2", "exit {}", ":::", "0", "9"}},
      {{"--retries", "3", "echo try; exit 1", ":::", "a"}},
      {{"-k", "--timeout", "1", "sleep {}; echo {}", ":::", "0.1", "3"}},
      {{"-k", "-j1", "--timeout", "300%", "sleep {}; echo {}", ":::", "0.2", "0.2", "0.2", "0.2",
        "3"}},
      // Logs, saved results and progress (on stderr): the output is the same.
      {{"-k", "--joblog", dir.file("log-%P"), "echo {}; exit {}", ":::", "0", "2"}},
      {{"-k", "--joblog", dir.file("resume-%P"), "--resume", "echo", ":::", "a", "b"}},
      {{"-k", "--joblog", dir.file("failed-%P"), "--resume-failed", "echo", ":::", "a"}},
      {{"-k", "--results", dir.file("res-%P"), "echo", ":::", "a", "b/c", ":::", "1"}},
      {{"-k", "--bar", "echo", ":::", "a", "b"}},
      {{"-k", "--eta", "echo", ":::", "a"}},
      {{"-k", "--progress", "echo", ":::", "a"}},
      // Dry runs and job counts.
      {{"-k", "--dry-run", "echo", "{}", ":::", "a b", "it's", "plain", "$(id)", "''"}},
      {{"-k", "--dry-run", "echo {} | wc -c", ":::", "x y"}},
      {{"-k", "-j", "200%", "echo", ":::", "a", "b"}},
      {{"-k", "--jobs", "+1", "echo", "{%}", ":::", "a"}},
      {{"-k", "-j0", "echo", ":::", "a", "b", "c"}},
  };
  CHECK(cases.size() >= 40);
  for (const auto& c : cases) {
    auto expected = through("parallel", c);
    auto got = through("mirai", c);
    bool ordered = std::find(c.args.begin(), c.args.end(), "-k") != c.args.end() ||
                   std::find(c.args.begin(), c.args.end(), "-j1") != c.args.end();
    INFO("args:" << shown(c.args) << "\nmirai's stderr: " << got.err);
    CHECK((ordered ? got.out : sorted_lines(got.out)) ==
          (ordered ? expected.out : sorted_lines(expected.out)));
    CHECK(got.exit_code == expected.exit_code);
  }
}

TEST_CASE("mirai map --joblog then --resume-failed reruns only the failed tasks",
          "[cli][parallel]") {
  mirai::test::TempDir dir;
  const std::string log = dir.file("log"), ran = dir.file("ran");
  Words first = {mirai::test::mirai_exe(),
                 "map",
                 "--joblog",
                 log,
                 "echo {} >> " + ran + "; exit {}",
                 ":::",
                 "0",
                 "3",
                 "0",
                 "4"};
  auto r = run(first);
  CHECK(r.exit_code == 2);
  std::ifstream in(log);
  std::string header;
  std::getline(in, header);
  CHECK(header == "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 4);
  for (const auto& line : lines) CHECK(std::count(line.begin(), line.end(), '\t') == 8);
  std::remove(ran.c_str());
  // The same command, now succeeding: only tasks 2 and 4 run again.
  auto again = run({mirai::test::mirai_exe(), "map", "-k", "--joblog", log, "--resume-failed",
                    "echo {} >> " + ran + "; exit 0", ":::", "0", "3", "0", "4"});
  CHECK(again.exit_code == 0);
  CHECK(sorted_lines(mirai::test::read_file(ran)) == "3\n4\n");
  // Everything in the log is done now: --resume runs nothing.
  std::remove(ran.c_str());
  auto resumed = run({mirai::test::mirai_exe(), "map", "--joblog", log, "--resume",
                      "echo {} >> " + ran, ":::", "0", "3", "0", "4"});
  CHECK(resumed.exit_code == 0);
  CHECK(access(ran.c_str(), F_OK) != 0);
}

TEST_CASE("mirai map --halt now,fail=1 with a slow first task stops the rest at once",
          "[cli][parallel]") {
  mirai::test::TempDir dir;
  auto start = std::chrono::steady_clock::now();
  // Task 1 sleeps; task 2 fails at once; tasks 3.. would each leave a file.
  auto r = run({mirai::test::mirai_exe(), "map", "-j", "2", "--halt", "now,fail=1",
                "if [ {} = 1 ]; then sleep 30; elif [ {} = 2 ]; then exit 7; else sleep 1; touch " +
                    dir.path() + "/{}; fi",
                ":::", "1", "2", "3", "4", "5", "6"});
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 7);
  CHECK(took < std::chrono::seconds(10));
  for (int i = 4; i <= 6; ++i)
    CHECK(access((dir.path() + "/" + std::to_string(i)).c_str(), F_OK) != 0);
}

TEST_CASE("mirai map --results keeps each task's output in parallel's layout", "[cli][parallel]") {
  mirai::test::TempDir dir;
  auto r = run({mirai::test::mirai_exe(), "map", "--results", dir.file("res"),
                "echo {1}{2}; echo e >&2", ":::", "a", "b/c", "..", ":::", "1"});
  REQUIRE(r.exit_code == 0);
  CHECK(mirai::test::read_file(dir.file("res/1/a/2/1/stdout")) == "a1\n");
  CHECK(mirai::test::read_file(dir.file("res/1/a/2/1/stderr")) == "e\n");
  CHECK(mirai::test::read_file(dir.file("res/1/a/2/1/seq")) == "1\n");
  CHECK(mirai::test::read_file(dir.file("res/1/b\\_c/2/1/stdout")) == "b/c1\n");
  // Unlike parallel, ".." stays inside the directory.
  CHECK(mirai::test::read_file(dir.file("res/1/\\../2/1/stdout")) == "..1\n");
}
