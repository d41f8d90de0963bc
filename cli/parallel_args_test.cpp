// The parts of parallel's grammar that no output shows: when a line is exec'd without a shell.
#include "cli/parallel_args.hpp"

#include <catch2/catch.hpp>

using namespace mirai::cli::parallel;

TEST_CASE("a command line runs without a shell only when the shell would do no more than exec",
          "[cli][parallel]") {
  using W = Words;
  CHECK(simple_command("true") == W{"true"});
  CHECK(simple_command("gzip -k 'a b.csv'") == W{"gzip", "-k", "a b.csv"});
  CHECK(simple_command("./fit --seed=3 x") == W{"./fit", "--seed=3", "x"});
  CHECK(simple_command("cat 'it'\"'\"'s'") == W{"cat", "it's"});
  CHECK(simple_command("touch ''") == W{"touch", ""});
  CHECK(simple_command("grep 'a\nb' f") == W{"grep", "a\nb", "f"});
  // What the shell would change, or does itself.
  for (const char* line : {"echo hi", "printf x", "cd /tmp", "exit 3", "A=1 prog", "ls *.c",
                           "prog $HOME", "a | b", "a; b", "prog > out", "~/bin/x", "prog \"a\"",
                           "'unclosed", "", "  ", ": x", "time prog", "prog \\n"})
    CHECK_FALSE(simple_command(line));
  // A quoted shell word is a program name, not the builtin.
  CHECK(simple_command("'echo' hi") == W{"echo", "hi"});
}

TEST_CASE("mirai map's -j takes parallel's forms", "[cli][parallel]") {
  CHECK(*parse_jobs("4", 2, 9) == 4);
  CHECK(*parse_jobs("+1", 2, 9) == 3);
  CHECK(*parse_jobs("-1", 2, 9) == 1);
  CHECK(*parse_jobs("-5", 2, 9) == 1);
  CHECK(*parse_jobs("150%", 2, 9) == 3);
  CHECK(*parse_jobs("0", 2, 9) == 9);
  for (const char* bad : {"", "x", "+", "1.5", "+2%", "%", "9999999"})
    CHECK_FALSE(parse_jobs(bad, 2, 9));
}
