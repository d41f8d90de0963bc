// Templates: placeholders, defaults, dropped lines, and no way for a value to become shell code.
#include "launcher/template.hpp"

#include <catch2/catch.hpp>

#include "launcher/shell.hpp"

using namespace mirai::launcher;

namespace {
const std::set<std::string> kKnown = {"name", "queue", "log", "daemon", "workdir", "extra"};
}

TEST_CASE("placeholders take values and defaults; unset directive lines are dropped",
          "[template]") {
  auto out = render_template(
      "#!/bin/sh\n#X -N {{ name }}\n#X -q {{queue}}\n#X -o {{ log | /dev/null }}\n"
      "cd {{ workdir }}\n{{ daemon }}\necho done\n",
      "t.sh", kKnown,
      {{"name", {"job"}}, {"workdir", {"/a b/c"}}, {"daemon", {"'mirai' daemon x\n", true}}});
  REQUIRE(out);
  CHECK(*out ==
        "#!/bin/sh\n#X -N job\n#X -o /dev/null\ncd '/a b/c'\n'mirai' daemon x\necho done\n");
}

TEST_CASE("template mistakes name the file, line and column", "[template]") {
  auto out = render_template("#X -N {{ nmae }}\n#X {{ queue\n#X -q {{ queue }} -o {{ log }}\n",
                             "my.tmpl", kKnown, {{"queue", {"q"}}});
  REQUIRE_FALSE(out);
  CHECK(out.message() ==
        "my.tmpl:1:7: unknown placeholder 'nmae' (did you mean 'name'?)\n"
        "my.tmpl:2:4: '{{' without a closing '}}'\n"
        "my.tmpl:3:22: 'log' has no value here, while other placeholders on this line do (give "
        "it a default: {{ log | value }})");
  auto block = render_template("echo {{ daemon }}\n", "t", kKnown, {{"daemon", {"x", true}}});
  REQUIRE_FALSE(block);
  CHECK_THAT(block.message(), Catch::Contains("must stand alone on its line"));
}

TEST_CASE("hostile values are quoted on shell lines and refused on directive lines", "[template]") {
  const std::vector<std::string> hostile = {"x; touch /tmp/pwned",
                                            "$(touch /tmp/pwned)",
                                            "`touch /tmp/pwned`",
                                            "a'b; touch /tmp/pwned; '",
                                            "a\ntouch /tmp/pwned",
                                            "\"; touch /tmp/pwned\"",
                                            "x --wrap=touch_/tmp/pwned",
                                            "a\\",
                                            ""};
  for (const auto& value : hostile) {
    INFO(value);
    auto shell = render_template("cd {{ workdir }}\n", "t", kKnown, {{"workdir", {value}}});
    REQUIRE(shell);
    CHECK(*shell == "cd " + shell_quote(value) + "\n");
    CHECK(shell->find('\'') == 3);  // quoted: the value starts a single-quoted word
    auto directive = render_template("#X -q {{ queue }}\n", "t", kKnown, {{"queue", {value}}});
    CHECK_FALSE(directive);
  }
}

TEST_CASE("shell_quote makes one word that sh reads back unchanged", "[template]") {
  CHECK(shell_quote("plain-word_1.2/x:y") == "plain-word_1.2/x:y");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  // Round trip through a real sh.
  for (const std::string& value :
       std::vector<std::string>{"it's $(id) `id` \"q\" \\ ; & | > <", "new\nline", "*?[a]~#!"}) {
    FILE* f = popen(("printf %s " + shell_quote(value)).c_str(), "r");
    REQUIRE(f);
    std::string got;
    char buf[256];
    while (std::size_t n = fread(buf, 1, sizeof buf, f)) got.append(buf, n);
    pclose(f);
    CHECK(got == value);
  }
}
