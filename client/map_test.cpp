// everywhere(), map() and typed call tasks, against real `mirai daemon` processes.
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "mirai/json.hpp"
#include "mirai/mirai.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

std::vector<Result> all(const Map& m) {
  auto r = m.collect();
  REQUIRE(r.ok());
  return *r;
}

std::set<std::string> daemon_pids(const Profile& p) {
  std::set<std::string> pids;
  for (const auto& d : p.status().daemons) pids.insert(std::to_string(d.pid));
  return pids;
}

// A record type with a codec of its own: a row of a table.
struct Row {
  std::string name;
  double weight = 0;
  bool operator==(const Row& o) const { return name == o.name && weight == o.weight; }
};

}  // namespace

template <>
struct mirai::Codec<Row> {
  static std::string encode(const Row& r) { return r.name + "\t" + mirai::encode(r.weight); }
  static Row decode(std::string_view bytes) {
    auto tab = bytes.find('\t');
    if (tab == std::string_view::npos) throw DecodeError("a Row needs a tab");
    return {std::string(bytes.substr(0, tab)), mirai::decode<double>(bytes.substr(tab + 1))};
  }
  static std::string name() { return "Row"; }
};

TEST_CASE("everywhere reaches each of 3 daemons exactly once, busy or not", "[everywhere]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(3));
  // Short tasks first, so that daemons hold prefetched work when everywhere() comes.
  std::vector<Future> before;
  for (int i = 0; i < 300; ++i) before.push_back(p.submit(Task::call("echo", "x")));
  Map m = p.everywhere(Task::call("pid"));
  REQUIRE(m.size() == 3);
  std::multiset<std::string> ran;
  for (const auto& r : all(m)) ran.insert(r.value);
  CHECK(std::set<std::string>(ran.begin(), ran.end()) == daemon_pids(p));
  CHECK(ran.size() == 3);
  for (auto& f : before) CHECK(f.wait().ok());
}

TEST_CASE("a shell everywhere leaves its exports and directory to later tasks of each daemon",
          "[everywhere]") {
  test::TempDir dir;
  Profile p;
  DaemonsConfig c = test::local_daemons(3);
  c.env["MIRAI_TEST_GONE"] = "still here";
  test::set_daemons(p, c);
  // One daemon is busy when the setup is sent: later tasks must still all see it.
  Future busy = p.submit(Task::sh("sleep 0.5"));
  Map setup = p.everywhere(Task::sh("mkdir -p " + dir.path() + "/$PPID && cd " + dir.path() +
                                    "/$PPID && export MIRAI_TEST_SETUP=\"done here\" && unset "
                                    "MIRAI_TEST_GONE && echo ok"));
  std::vector<Future> later;
  for (int i = 0; i < 30; ++i)
    later.push_back(
        p.submit(Task::sh("echo \"$MIRAI_TEST_SETUP|${MIRAI_TEST_GONE-unset}|$(pwd)|$PPID\"")));
  for (const auto& r : all(setup)) {
    INFO(r.describe() << r.stderr_output);
    CHECK(r.value == "ok\n");
  }
  std::set<std::string> daemons_seen;
  for (auto& f : later) {
    const Result& r = f.wait();
    REQUIRE(r.ok());
    auto bar = r.value.rfind('|');
    std::string daemon = r.value.substr(bar + 1, r.value.size() - bar - 2);
    CHECK(r.value == "done here|unset|" + dir.path() + "/" + daemon + "|" + daemon + "\n");
    daemons_seen.insert(daemon);
  }
  CHECK(daemons_seen.size() >= 1);
  CHECK(busy.wait().ok());
}

TEST_CASE("a command everywhere leaves its task env and cwd; a failed setup leaves nothing",
          "[everywhere]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(2));
  Task fail = Task::sh("export MIRAI_TEST_X=bad; cd /; exit 3");
  for (const auto& r : all(p.everywhere(fail))) CHECK(r.exit_code == 3);
  Task cmd = Task::shell({"true"});
  std::get<ShellTask>(cmd.body).env["MIRAI_TEST_X"] = "good";
  std::get<ShellTask>(cmd.body).cwd = dir.path();
  for (const auto& r : all(p.everywhere(cmd))) CHECK(r.ok());
  auto m = map(p, std::vector<int>(10), [](int) { return Task::sh("echo $MIRAI_TEST_X $(pwd)"); });
  for (const auto& r : all(m)) CHECK(r.value == "good " + dir.path() + "\n");
}

TEST_CASE("everywhere with min above the connected daemons waits, and the tasks after it",
          "[everywhere]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(1));
  Map setup = p.everywhere(Task::call("pid"), 2);
  REQUIRE(setup.size() == 2);
  Future after = p.submit(Task::call("echo", "after"));
  CHECK_FALSE(after.wait_for(500ms));
  CHECK(setup.resolved() == 1);
  REQUIRE(p.launch_local(1).ok());
  REQUIRE(after.wait_for(10s));
  std::set<std::string> pids;
  for (const auto& r : all(setup)) pids.insert(r.value);
  CHECK(pids == daemon_pids(p));
}

TEST_CASE("everywhere goes through a running dispatcher too", "[everywhere]") {
  test::TempDir dir;
  test::Started server(test::mirai_exe());
  std::string control = "ipc://" + dir.file("control.sock");
  server.start({"dispatcher", "--control", control, "--url-file", dir.file("urls")});
  REQUIRE(test::eventually([&] { return !test::read_file(dir.file("urls")).empty(); }));
  DaemonsConfig c = test::local_daemons(3);
  c.dispatcher_url = control;
  Profile p;
  test::set_daemons(p, c);
  std::set<std::string> pids;
  for (const auto& r : all(p.everywhere(Task::call("pid")))) pids.insert(r.value);
  CHECK(pids.size() == 3);
  CHECK(pids == daemon_pids(p));
}

TEST_CASE("everywhere needs daemons", "[everywhere]") {
  Profile p;
  Map m = p.everywhere(Task::call("pid"));
  REQUIRE(m.size() == 1);
  CHECK(m[0].wait().type == "no daemons");
}

TEST_CASE("map returns results in input order and flat decodes them", "[map]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(2));
  std::vector<int> inputs;
  for (int i = 0; i < 50; ++i) inputs.push_back(i);
  // Later elements finish first: order must still be the input's.
  Map m = map(p, inputs, [](int x) {
    return Task::sh("sleep 0.0" + std::to_string(9 - x % 10) + "; echo " + std::to_string(x * x));
  });
  auto squares = m.flat<int>();
  REQUIRE(squares.ok());
  for (int i = 0; i < 50; ++i) CHECK((*squares)[i] == i * i);
  CHECK(m.resolved() == 50);
  CHECK(m.failed().empty());
}

TEST_CASE("typed call tasks: submit<double>(\"mean\", data) and map over table rows",
          "[map][codec]") {
  Profile p;
  test::set_daemons(p, test::local_daemons(2));
  auto mean = submit<double>(p, "mean", std::vector<double>{1.5, 2.5, 3.5, 4.5});
  REQUIRE(mean.get().ok());
  CHECK(*mean.get() == 3.0);
  auto bad = submit<double>(p, "mean", std::string("abc"));  // 3 bytes: not packed doubles
  REQUIRE_FALSE(bad.get().ok());
  CHECK_THAT(bad.get().message(), Catch::Contains("mirai::DecodeError") &&
                                      Catch::Contains("not a whole number of doubles"));
  // A result that is not the type asked for.
  auto wrong = submit<double>(p, "echo", std::string("twelve"));
  CHECK_THAT(wrong.get().message(), Catch::Contains("'twelve' is not a double"));

  std::vector<Row> table = {{"a", 1.25}, {"b", -2}, {"c tab", 1e300}};
  auto rows = map(p, "echo", table).flat<Row>();
  REQUIRE(rows.ok());
  CHECK(*rows == table);
  auto strings = map(p, "echo", std::vector<std::string>{"x", "", "z z"}).flat<std::string>();
  CHECK(*strings == std::vector<std::string>{"x", "", "z z"});
  std::vector<std::string> words = {std::string("with\0nul", 8), "two"};
  CHECK(*submit<std::vector<std::string>>(p, "echo", words).get() == words);
}

TEST_CASE("flat fails on mixed types and stops the rest", "[map][codec]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(1));
  using nlohmann::json;
  std::vector<json> values = {1, 2.5, "three", 4};
  auto m = map(p, "echo", values);
  auto flat = m.flat<json>();
  REQUIRE_FALSE(flat.ok());
  CHECK(flat.message() ==
        "element 2 (of 0..3) failed: cannot flatten values of differing types: element 0 is "
        "number, this one string");
  // Same type: fine; and a value that is not JSON is named.
  CHECK(map(p, "echo", std::vector<json>{1, 2.5, -3}).flat<json>().ok());
  auto notjson = map(p, std::vector<std::string>{"[1]", "{"}, [](const std::string& s) {
                   return Task::call("echo", s);
                 }).flat<json>();
  CHECK_THAT(notjson.message(), Catch::Contains("element 1") && Catch::Contains("not JSON"));

  // A failure stops what was not resolved yet: the slow tasks after it never finish.
  std::vector<int> inputs = {0, 1, 2, 3};
  auto stopped = map(p, inputs, [&](int x) {
    if (x == 0) return Task::call("fail", "broken input");
    return Task::sh("sleep 5; touch " + dir.file(std::to_string(x)));
  });
  auto r = stopped.flat<std::string>();
  CHECK_THAT(r.message(),
             Catch::StartsWith("element 0 (of 0..3) failed: ") && Catch::Contains("broken input"));
  for (int i = 1; i < 4; ++i) CHECK(stopped[i].wait().code() == 20);
  CHECK(p.submit(Task::call("echo", "free")).wait().value == "free");
}

TEST_CASE("collect with stop names the failed element; failed elements re-run alone", "[map]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(2));
  // Elements 3 and 7 fail the first time (their marker is missing) and work the second.
  std::vector<int> inputs;
  for (int i = 0; i < 10; ++i) inputs.push_back(i);
  Map m = map(p, inputs, [&](int x) {
    std::string marker = dir.file("ran-" + std::to_string(x));
    std::string body = "echo " + std::to_string(x) + " >> " + dir.file("log") + "; ";
    if (x == 3 || x == 7)
      body += "test -f " + marker + " || { touch " + marker + "; echo no >&2; exit 1; }; ";
    return Task::sh(body + "echo " + std::to_string(x));
  });
  auto results = all(m);
  CHECK(m.failed() == std::vector<std::size_t>{3, 7});
  CHECK(results[3].exit_code == 1);
  CHECK(results[4].value == "4\n");
  auto stopped = m.collect({true, false});
  CHECK_THAT(stopped.message(),
             Catch::StartsWith("element 3 (of 0..9) failed: ") && Catch::Contains("no"));

  CHECK(m.rerun_failed() == 2);
  auto again = m.flat<int>();
  REQUIRE(again.ok());
  for (int i = 0; i < 10; ++i) CHECK((*again)[i] == i);
  // Only the failed ones ran twice: 12 runs in all.
  std::string log = test::read_file(dir.file("log"));
  CHECK(std::count(log.begin(), log.end(), '\n') == 12);
}

TEST_CASE("typed functions and everywhere in synchronous mode", "[map][sync]") {
  FunctionRegistry fns;
  add_builtin_functions(fns);
  fns.add<std::vector<double>, double>("twice", [](const double& x) {
    return std::vector<double>{x, x};
  });
  Profile p;
  DaemonsConfig c;
  c.sync = true;
  c.functions = &fns;
  test::set_daemons(p, c);
  CHECK(*submit<std::vector<double>>(p, "twice", 0.1).get() == std::vector<double>{0.1, 0.1});
  auto setup = p.everywhere(Task::sh("export MIRAI_TEST_SYNC=1"));
  CHECK(all(setup).at(0).ok());
  CHECK(p.submit(Task::sh("echo $MIRAI_TEST_SYNC")).wait().value == "1\n");
  CHECK(getenv("MIRAI_TEST_SYNC") == nullptr);  // the calling program is not changed
}

TEST_CASE("codecs round-trip numbers exactly and reject what is not one", "[codec]") {
  for (double x : {0.1, -2.0, 1e-300, 123456789.125, 5e-324}) CHECK(decode<double>(encode(x)) == x);
  CHECK(decode<std::int64_t>(encode(INT64_MIN)) == INT64_MIN);
  CHECK(decode<int>("42\n") == 42);  // a shell command's output
  CHECK(decode<bool>(encode(true)));
  CHECK_THROWS_WITH(decode<int>("4x"), "'4x' is not a int32");
  CHECK_THROWS_WITH(decode<std::uint8_t>("300"), "'300' is out of range for a uint8");
  CHECK_THROWS_AS(decode<std::vector<std::string>>(std::string("\xff\xff\xff\x7f", 4)),
                  DecodeError);
  std::vector<float> f = {1.5f, -0.0f, 3e38f};
  CHECK(decode<std::vector<float>>(encode(f)) == f);
  CHECK(encode(std::vector<double>{1.0}).size() == 8);
}

TEST_CASE("without a dispatcher everywhere still reaches each daemon once", "[everywhere]") {
  Profile p;
  DaemonsConfig c = test::local_daemons(3);
  c.dispatcher = false;
  test::set_daemons(p, c);
  std::multiset<std::string> ran;
  for (const auto& r : all(p.everywhere(Task::call("pid")))) ran.insert(r.value);
  CHECK(ran.size() == 3);
  CHECK(std::set<std::string>(ran.begin(), ran.end()) == daemon_pids(p));
}

TEST_CASE("a custom daemon's typed function over a map", "[map][codec]") {
  Profile p;
  DaemonsConfig c = test::local_daemons(2);
  c.daemon_command = test::custom_daemon_exe();
  test::set_daemons(p, c);
  std::vector<std::vector<double>> inputs = {{1, 2, 3}, {}, {0.5, 0.25}};
  auto sums = map(p, "cumsum", inputs).flat<std::vector<double>>();
  REQUIRE(sums.ok());
  CHECK(*sums == std::vector<std::vector<double>>{{1, 3, 6}, {}, {0.5, 0.75}});
}

TEST_CASE("a call everywhere sets daemon state that later tasks see", "[everywhere]") {
  Profile p;
  DaemonsConfig c = test::local_daemons(3);
  c.daemon_command = test::custom_daemon_exe();
  test::set_daemons(p, c);
  CHECK(p.submit(Task::call("recall", "model")).wait().is_evaluation_error());
  for (const auto& r : all(p.everywhere(Task::call("remember", "model=m1")))) CHECK(r.ok());
  auto m = map(p, std::vector<int>(30), [](int) { return Task::call("recall", "model"); });
  auto models = m.flat<std::string>();
  REQUIRE(models.ok());
  CHECK(*models == std::vector<std::string>(30, "m1"));
}

TEST_CASE("a standing setup runs first on daemons that connect later", "[everywhere]") {
  test::TempDir dir;
  Profile p;
  test::set_daemons(p, test::local_daemons(1));
  std::atomic<int> later_ok{0}, later_failed{0};
  // It fails where the marker exists: on daemons that connect after the marker is made.
  std::string marker = dir.file("marker");
  Map m =
      p.everywhere(Task::sh("[ -e " + marker + " ] && exit 3; export TAG=set; cd " + dir.path()), 1,
                   [&](const Result& r) { ++(r.ok() ? later_ok : later_failed); });
  REQUIRE(m.size() == 1);
  REQUIRE(m[0].wait().ok());
  REQUIRE(p.launch_local(2).ok());
  CHECK(test::eventually([&] { return later_ok.load() == 2; }));
  // Every daemon runs its tasks in the setup's environment.
  std::vector<Future> fs;
  for (int i = 0; i < 9; ++i) fs.push_back(p.submit(Task::sh("sleep 0.2; echo $TAG $PWD $PPID")));
  std::set<std::string> daemons;
  for (auto& f : fs) {
    std::string out = f.wait().value;
    CHECK(out.rfind("set " + dir.path() + " ", 0) == 0);
    daemons.insert(out.substr(out.rfind(' ') + 1));
  }
  CHECK(daemons.size() == 3);
  // A daemon whose setup fails takes nothing and is sent away.
  std::ofstream(marker) << "x";
  REQUIRE(p.launch_local(1).ok());
  CHECK(test::eventually([&] { return later_failed.load() == 1; }));
  CHECK(test::eventually([&] { return p.info().connections == 3; }));
  for (int i = 0; i < 6; ++i) CHECK(p.submit(Task::sh("echo $TAG")).wait().value == "set\n");
  CHECK(p.info().cumulative == 4);
}
