// mirai.yaml: what a user writes is read as written, and every mistake is reported at its place.
#include "launcher/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "launcher/backend.hpp"
#include "launcher/launch.hpp"

using namespace mirai::launcher;

namespace {

struct Parsed {
  Config config;
  std::vector<std::string> problems;  // formatted diagnostics
};

Parsed parse(const std::string& text) {
  Diagnostics d("/proj/mirai.yaml");
  Parsed p;
  p.config = parse_config(text, "/proj/mirai.yaml", d);
  for (const auto& x : d.list()) p.problems.push_back(format(x));
  return p;
}

}  // namespace

TEST_CASE("the sketch from the design reads as written", "[config]") {
  auto p = parse(R"yaml(profiles:
  local:   { launcher: local, workers: 4 }
  cluster:
    launcher: slurm
    workers: 200
    url: tls+tcp://{interface:ib0}:0
    daemon: { idletime: 5m, walltime: 55m, maxtasks: 0 }
    slurm: { partition: short, time: "01:00:00", mem: 4G, cpus_per_task: 1, account: lab }
    prologue: [ "module load gcc/12" ]
  laptop:
    launcher: ssh
    hosts: [ "ssh://me@login.cluster.edu" ]
    tunnel: true
)yaml");
  REQUIRE(p.problems.empty());
  REQUIRE(p.config.profiles.size() == 3);
  CHECK(p.config.profiles["local"].workers == 4);
  const auto& c = p.config.profiles["cluster"];
  CHECK(c.launcher == "slurm");
  CHECK(c.workers == 200);
  CHECK(c.url == "tls+tcp://{interface:ib0}:0");
  CHECK(c.limits.idletime == std::chrono::minutes(5));
  CHECK(c.limits.walltime == std::chrono::minutes(55));
  CHECK(c.resources.at("partition").text == "short");
  CHECK(c.resources.at("time").amount == 3600);  // seconds, read once
  CHECK(c.resources.at("time").text == "3600");
  CHECK(c.resources.at("mem").amount == 4096);  // MiB
  CHECK(c.resources.at("account").text == "lab");
  CHECK(c.resources.at("account").amount == 0);
  CHECK(c.prologue == std::vector<std::string>{"module load gcc/12"});
  const auto& l = p.config.profiles["laptop"];
  REQUIRE(l.ssh.hosts.size() == 1);
  CHECK(l.ssh.hosts[0].user == "me");
  CHECK(l.ssh.hosts[0].host == "login.cluster.edu");
  CHECK(l.ssh.tunnel);
}

TEST_CASE("ssh profiles: paths on the host stay as written, and some options are refused",
          "[config]") {
  auto ok = parse(R"yaml(profiles:
  r:
    launcher: ssh
    hosts: [ node1, "me@node2:2200" ]
    workdir: sims/run 1
    log: logs/mirai.log
    ssh: { options: [ "ProxyJump=gateway", "Compression=yes" ], remote_port: 40100,
           config_file: ~/.ssh/lab_config, identity_file: keys/id_lab }
)yaml");
  REQUIRE(ok.problems.empty());
  const auto& r = ok.config.profiles["r"];
  CHECK(r.workdir == "sims/run 1");  // relative to the login directory on the host
  CHECK(r.log == "logs/mirai.log");
  CHECK(r.ssh.hosts[1].port == 2200);
  CHECK(r.ssh.options == std::vector<std::string>{"ProxyJump=gateway", "Compression=yes"});
  CHECK(r.ssh.remote_port == 40100);
  CHECK(r.ssh.config_file == std::string(std::getenv("HOME")) + "/.ssh/lab_config");
  CHECK(r.ssh.identity_file == "/proj/keys/id_lab");
  // Options as ssh reads them: any case, '=' or blanks between name and value, blanks around.
  auto spelled = parse(R"yaml(profiles:
  r:
    launcher: ssh
    hosts: [ node1 ]
    ssh: { options: [ " proxyjump = gw ", "SERVERALIVEINTERVAL 30" ] }
)yaml");
  REQUIRE(spelled.problems.empty());
  CHECK(spelled.config.profiles["r"].ssh.options ==
        std::vector<std::string>{"ProxyJump=gw", "ServerAliveInterval=30"});
  auto bad = parse(R"yaml(profiles:
  r:
    launcher: ssh
    hosts: [ node1, "ssh://node1" ]
    ssh: { options: [ "ProxyCommand=nc %h %p", "localcommand touch x", " ProxyCommand=touch X",
                      "PKCS11Provider=/tmp/evil.so", "Match exec id", "Port=22\nProxyCommand x" ] }
)yaml");
  const std::string hint =
      " (mirai.yaml takes options that run nothing here, as Name=value (ProxyJump, Port, User, "
      "IdentityFile, ...); put others (ProxyCommand, Match, PKCS11Provider, ...) in an ssh config "
      "file of your own and name it in 'config_file')";
  CHECK(bad.problems ==
        std::vector<std::string>{
            "/proj/mirai.yaml:4:12: host 'ssh://node1' is listed twice (list each host once; "
            "'workers' sets how many daemons run on the hosts)",
            "/proj/mirai.yaml:5:21: ssh option 'ProxyCommand=nc %h %p': 'ProxyCommand' is not an "
            "ssh option mirai.yaml may set" +
                hint,
            "/proj/mirai.yaml:5:21: ssh option 'localcommand touch x': 'localcommand' is not an "
            "ssh option mirai.yaml may set" +
                hint,
            "/proj/mirai.yaml:5:21: ssh option ' ProxyCommand=touch X': 'ProxyCommand' is not an "
            "ssh option mirai.yaml may set" +
                hint,
            "/proj/mirai.yaml:5:21: ssh option 'PKCS11Provider=/tmp/evil.so': 'PKCS11Provider' is "
            "not an ssh option mirai.yaml may set" +
                hint,
            "/proj/mirai.yaml:5:21: ssh option 'Match exec id': 'Match' is not an ssh option "
            "mirai.yaml may set" +
                hint,
            "/proj/mirai.yaml:5:21: ssh option 'Port=22\nProxyCommand x': it holds a control "
            "character (a newline?)" +
                hint});
}

TEST_CASE("every mistake is reported with line, column and a hint", "[config]") {
  auto p = parse(R"yaml(profiles:
  a:
    launcher: slurm
    workers: many
    slurm: { partiton: short, time: "1 hour", mem: lots }
    daemon: { idletime: 5 minutes }
    workers: 3
  b:
    launcher: slurmm
  c:
    workers: 2
  d:
    launcher: sge
    slurm: { partition: x }
)yaml");
  std::vector<std::string> expected = {
      "/proj/mirai.yaml:7:5: duplicate key 'workers' in profile 'a' (it was first given on line 4)",
      "/proj/mirai.yaml:4:14: 'workers' must be a whole number from 1 to 100000, not 'many'",
      "/proj/mirai.yaml:5:14: unknown key 'partiton' in slurm (did you mean 'partition'?)",
      "/proj/mirai.yaml:5:37: 'slurm: time': '1 hour' is not a time (write it like 55m, 2h30m, "
      "01:00:00 or 1-12:00:00)",
      "/proj/mirai.yaml:5:52: 'slurm: mem': 'lots' is not a size (write it like 4G, 512M or 4096 "
      "(megabytes))",
      "/proj/mirai.yaml:6:25: 'idletime': invalid duration '5 minutes': '5' has no unit (write it "
      "like 300ms, 5s, 2m, 1h or 1h30m)",
      "/proj/mirai.yaml:9:15: unknown launcher 'slurmm' (did you mean 'slurm'?)",
      "/proj/mirai.yaml:10:3: profile 'c' has no 'launcher' (add launcher: with one of local, lsf, "
      "pbs, sge, slurm, ssh)",
      "/proj/mirai.yaml:14:5: the 'slurm' map belongs to launcher slurm, but this profile's "
      "launcher is sge (rename it to 'sge' or change the launcher)"};
  CHECK(p.problems == expected);
  CHECK(p.config.profiles.empty());  // no profile with a problem is returned
}

TEST_CASE("the top level, YAML syntax and the default profile are checked", "[config]") {
  CHECK(parse("profiles: [a, b]\n").problems ==
        std::vector<std::string>{"/proj/mirai.yaml:1:11: 'profiles' must be a mapping from profile "
                                 "names to their settings"});
  CHECK(parse("profile:\n  a: {launcher: local}\n").problems ==
        std::vector<std::string>{
            "/proj/mirai.yaml:1:1: unknown key 'profile' in the top level (did you mean "
            "'profiles'?)",
            "/proj/mirai.yaml:1:1: no 'profiles' key (add profiles: with at least one profile)"});
  auto broken = parse("profiles:\n  a: {launcher: local\n");
  REQUIRE(broken.problems.size() == 1);
  CHECK_THAT(broken.problems[0],
             Catch::StartsWith("/proj/mirai.yaml:3:1:") && Catch::Contains("not valid YAML"));
  CHECK(parse("default: gpu\nprofiles:\n  cpu: {launcher: local}\n").problems ==
        std::vector<std::string>{"/proj/mirai.yaml:1:10: 'default' names no profile: 'gpu'"});
  auto ok = parse("default: cpu\nprofiles:\n  cpu: {launcher: local}\n");
  CHECK(ok.problems.empty());
  CHECK(ok.config.default_profile == "cpu");
}

TEST_CASE("hostile values are refused where they would reach a command line", "[config]") {
  auto p = parse(R"yaml(profiles:
  e:
    launcher: ssh
    hosts: [ "-oProxyCommand=touch /tmp/pwned", "me@host;rm" ]
    env: { "A B": 1, OK: "$(rm -rf /)" }
    ssh: { options: [ "-F /etc/passwd" ] }
  f:
    launcher: slurm
    log: "/tmp/x'; rm -rf ~"
    slurm: { partition: "short --wrap=id", gpus: "-1", account: "lab\nrm -rf /" }
  g:
    launcher: pbs
    prologue: "a\u0000b"
)yaml");
  std::vector<std::string> expected = {
      "/proj/mirai.yaml:4:12: in '-oProxyCommand=touch /tmp/pwned': host '-oProxyCommand=touch "
      "/tmp/pwned': it starts with '-' (write it like ssh://user@host:22)",
      "/proj/mirai.yaml:4:12: in 'me@host;rm': host 'host;rm': it holds ';' (names may hold "
      "letters, digits and . _ - + @ : , = % /) (write it like ssh://user@host:22)",
      "/proj/mirai.yaml:5:12: environment variable name 'A B': it holds ' ' (use letters, digits "
      "and _)",
      "/proj/mirai.yaml:6:21: ssh option '-F /etc/passwd': '-F' is not an ssh option mirai.yaml "
      "may set (mirai.yaml takes options that run nothing here, as Name=value (ProxyJump, Port, "
      "User, IdentityFile, ...); put others (ProxyCommand, Match, PKCS11Provider, ...) in an ssh "
      "config file of your own and name it in 'config_file')",
      "/proj/mirai.yaml:9:10: 'log' path '/tmp/x'; rm -rf ~' cannot be used: it holds the "
      "character ' (schedulers read it from a directive line; choose a path without spaces or "
      "quotes)",
      "/proj/mirai.yaml:10:25: 'slurm: partition' value 'short --wrap=id': it holds ' ' (names "
      "may hold letters, digits and . _ - + @ : , = % /)",
      "/proj/mirai.yaml:10:50: 'slurm: gpus' value '-1': it starts with '-'",
      "/proj/mirai.yaml:10:65: 'slurm: account' value 'lab\nrm -rf /': it holds '\n' (names may "
      "hold letters, digits and . _ - + @ : , = % /)",
      "/proj/mirai.yaml:13:15: a line of 'prologue': it holds a control character (give each "
      "line as its own list entry)"};
  CHECK(p.problems == expected);
  // An environment value on two lines would put its second at column 0 of the job script,
  // where SGE reads `#$` directives.
  auto env = parse("profiles:\n  a: {launcher: sge, env: {X: \"ok\\n#$ -S /tmp/evil\"}}\n");
  CHECK(env.problems ==
        std::vector<std::string>{"/proj/mirai.yaml:2:31: environment variable values cannot hold a "
                                 "newline or a NUL byte (each value goes on one line of the job "
                                 "script)"});
  // A value that is only text, such as an environment value, is kept as written and quoted later.
  CHECK(
      parse("profiles:\n  a: {launcher: local, env: {X: \"$(id)\"}}\n").config.profiles["a"].env ==
      std::vector<std::pair<std::string, std::string>>{{"X", "$(id)"}});
}

TEST_CASE("login: takes the ssh settings, keeps paths as on the login node, refuses the rest",
          "[config]") {
  auto ok = parse(R"yaml(profiles:
  c:
    launcher: slurm
    workdir: proj/run 1
    log: logs/%j.log
    daemon: { command: "bin/mirai; not a shell" }
    login: { host: "ssh://me@login.cluster.org:2222", identity_file: ~/.ssh/id_lab,
             options: [ "ProxyJump=gw" ], connect_timeout: 20s }
  d:
    launcher: sge
    login: { host: login, user: me, port: 2200, config_file: ssh/config }
)yaml");
  REQUIRE(ok.problems.empty());
  const auto& c = ok.config.profiles["c"];
  CHECK(c.login.host.user == "me");
  CHECK(c.login.host.host == "login.cluster.org");
  CHECK(c.login.host.port == 2222);
  CHECK(c.login.ssh.identity_file == std::string(std::getenv("HOME")) + "/.ssh/id_lab");
  CHECK(c.login.ssh.options == std::vector<std::string>{"ProxyJump=gw"});
  CHECK(c.login.ssh.connect_timeout == std::chrono::seconds(20));
  // Paths on the login node and the compute nodes: as written, not made absolute here.
  CHECK(c.workdir == "proj/run 1");
  CHECK(c.log == "logs/%j.log");
  const auto& d = ok.config.profiles["d"];
  CHECK(d.login.host.user == "me");
  CHECK(d.login.host.port == 2200);
  CHECK(d.login.ssh.config_file == "/proj/ssh/config");  // a file here, for ssh here
  auto bad = parse(R"yaml(profiles:
  l:
    launcher: slurm
    login: { host: "-oProxyCommand=touch /tmp/pwned", user: "me;rm", port: 99999,
             options: [ "ProxyCommand=touch /tmp/pwned" ], config_file: "-F", bogus: 1 }
  m:
    launcher: ssh
    hosts: [ a ]
    login: { host: login }
  n:
    launcher: pbs
    login: { user: me }
  o:
    launcher: lsf
    login: "login.cluster.org"
  p:
    launcher: slurm
    login: { host: "me@login;touch /tmp/pwned" }
)yaml");
  std::vector<std::string> expected = {
      "/proj/mirai.yaml:5:79: unknown key 'bogus' in login (known keys: host, user, port, "
      "identity_file, config_file, options, connect_timeout)",
      "/proj/mirai.yaml:4:20: login host '-oProxyCommand=touch /tmp/pwned': it starts with '-' "
      "(write it like login.cluster.org, user@login.cluster.org or ssh://user@host:22)",
      "/proj/mirai.yaml:4:61: login user 'me;rm': it holds ';' (names may hold letters, digits "
      "and . _ - + @ : , = % /)",
      "/proj/mirai.yaml:4:76: 'port' must be a whole number from 1 to 65535, not '99999'",
      "/proj/mirai.yaml:5:23: ssh option 'ProxyCommand=touch /tmp/pwned': 'ProxyCommand' is not "
      "an ssh option mirai.yaml may set (mirai.yaml takes options that run nothing here, as "
      "Name=value (ProxyJump, Port, User, IdentityFile, ...); put others (ProxyCommand, Match, "
      "PKCS11Provider, ...) in an ssh config file of your own and name it in 'config_file')",
      "/proj/mirai.yaml:5:73: 'config_file' must be a file path",
      "/proj/mirai.yaml:9:12: 'login' only applies to launcher lsf, pbs, sge, slurm, not ssh (for "
      "daemons on hosts you name, use launcher ssh with 'hosts')",
      "/proj/mirai.yaml:12:12: 'login' needs a 'host' (login: { host: login.cluster.org })",
      "/proj/mirai.yaml:15:12: login must be a mapping of keys to values",
      "/proj/mirai.yaml:18:20: login host 'login;touch /tmp/pwned': it holds ';' (names may hold "
      "letters, digits and . _ - + @ : , = % /) (write it like login.cluster.org, "
      "user@login.cluster.org or ssh://user@host:22)"};
  CHECK(bad.problems == expected);
}

TEST_CASE("sizes and times are read in the forms schedulers use", "[config]") {
  CHECK(parse_size_mib("4G") == 4096);
  CHECK(parse_size_mib("4GB") == 4096);
  CHECK(parse_size_mib("4GiB") == 4096);
  CHECK(parse_size_mib("512M") == 512);
  CHECK(parse_size_mib("4096") == 4096);
  CHECK(parse_size_mib("1.5T") == 1572864);
  CHECK(parse_size_mib("1024K") == 1);
  CHECK_FALSE(parse_size_mib("lots"));
  CHECK_FALSE(parse_size_mib("4X"));
  CHECK_FALSE(parse_size_mib("0"));
  CHECK(parse_time_seconds("55m") == 3300);
  CHECK(parse_time_seconds("1h30m") == 5400);
  CHECK(parse_time_seconds("01:00:00") == 3600);
  CHECK(parse_time_seconds("30:00") == 1800);
  CHECK(parse_time_seconds("2-12:00:00") == 216000);
  CHECK_FALSE(parse_time_seconds("1:75:00"));
  CHECK_FALSE(parse_time_seconds("1 hour"));
  CHECK_FALSE(parse_time_seconds("60"));
  CHECK_FALSE(parse_time_seconds("00:00:00"));
}

TEST_CASE("URLs may name an interface, this host and a port range", "[config]") {
  auto p = parse(R"yaml(profiles:
  a: { launcher: slurm, url: "tcp://{interface:lo}:5000-5002" }
  b: { launcher: slurm, url: "tcp://{hostname}:0" }
  c: { launcher: slurm, url: "tcp://{iface:ib0}:0" }
  d: { launcher: slurm, url: "tcp://host:9-1" }
  e: { launcher: slurm, url: "http://host:80" }
)yaml");
  REQUIRE(p.problems.size() == 3);
  CHECK_THAT(p.problems[0], Catch::Contains("4:30: 'url': unknown placeholder '{iface:ib0}'"));
  CHECK_THAT(p.problems[1], Catch::Contains("5:30: 'url': port range '9-1'"));
  CHECK_THAT(p.problems[2], Catch::Contains("6:30: 'url': unknown scheme 'http'"));
}

TEST_CASE("every example mirai.yaml is free of problems and renders", "[config]") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(MIRAI_TEST_SOURCE_DIR) +
                                                               "/examples/config")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    std::string file = entry.path().string();
    Diagnostics d(file);
    Config c = load_config(file, d);
    INFO(file << "\n" << d.summary());
    CHECK(d.empty());
    CHECK(!c.profiles.empty());
    for (const auto& [name, profile] : c.profiles) {
      auto backend = make_backend(profile);
      if (!backend) continue;  // local, and launchers not built yet
      auto rendered = backend->render(make_spec(profile, 2, "tcp://127.0.0.1:5555"));
      INFO(name << ": " << (rendered ? "" : rendered.message()));
      CHECK(rendered);
    }
  }
  CHECK(files >= 3);
}

TEST_CASE("tls: files for a TLS url, checked together", "[config][tls]") {
  auto ok = parse(R"yaml(profiles:
  t:
    launcher: slurm
    url: tls+tcp://{hostname}:0
    tls: { cert: certs/host.pem, key: certs/host.key, passphrase_env: MIRAI_KEY_PASS, ca: ca.pem }
  plain:
    launcher: local
    url: wss://127.0.0.1:0/mirai
)yaml");
  REQUIRE(ok.problems.empty());
  const auto& t = ok.config.profiles["t"].tls;
  CHECK(t.cert == "/proj/certs/host.pem");
  CHECK(t.key == "/proj/certs/host.key");
  CHECK(t.passphrase_env == "MIRAI_KEY_PASS");
  CHECK(t.ca == "/proj/ca.pem");
  CHECK(ok.config.profiles["plain"].tls.empty());
  auto bad = parse(R"yaml(profiles:
  a:
    launcher: local
    url: tcp://127.0.0.1:0
    tls: { cert: c.pem, key: k.pem }
  b:
    launcher: local
    url: tls+tcp://127.0.0.1:0
    tls: { cert: c.pem, passphrase: hunter2 }
  c:
    launcher: local
    url: tls+tcp://127.0.0.1:0
    tls: { cert: c.pem, key: k.pem, passphrase_env: "A B", passphrase_file: p }
)yaml");
  CHECK(bad.problems ==
        std::vector<std::string>{
            "/proj/mirai.yaml:5:5: 'tls' applies to a tls+tcp:// or wss:// url only (set url: "
            "tls+tcp://{hostname}:0, or remove 'tls')",
            "/proj/mirai.yaml:9:25: unknown key 'passphrase' in tls (known keys: cert, key, "
            "passphrase_file, passphrase_env, ca)",
            "/proj/mirai.yaml:9:5: 'tls' needs both 'cert' and 'key', or neither (without them a "
            "single-use certificate is made for each run)",
            "/proj/mirai.yaml:13:53: 'tls: passphrase_env' must name an environment variable: it "
            "holds ' ' (use letters, digits and _)"});
}

TEST_CASE("the controller's keys: interval, launch_retries, retries", "[config]") {
  auto ok = parse(R"yaml(profiles:
  a: { launcher: slurm, interval: 5s, launch_retries: 0, retries: 3 }
  b: { launcher: slurm }
)yaml");
  REQUIRE(ok.problems.empty());
  CHECK(ok.config.profiles["a"].interval == std::chrono::seconds(5));
  CHECK(ok.config.profiles["a"].launch_retries == 0);
  CHECK(ok.config.profiles["a"].retries == 3);
  CHECK(ok.config.profiles["b"].interval == std::chrono::seconds(2));
  CHECK(ok.config.profiles["b"].launch_retries == 2);
  auto bad = parse(R"yaml(profiles:
  a: { launcher: slurm, interval: 10ms, launch_retries: -1 }
)yaml");
  std::vector<std::string> expected = {
      "/proj/mirai.yaml:2:35: 'interval' must be at least 100ms (it is how often the controller "
      "asks the scheduler about its jobs)",
      "/proj/mirai.yaml:2:57: 'launch_retries' must be a whole number from 0 to 100, not '-1'"};
  CHECK(bad.problems == expected);
}

TEST_CASE("backup names another profile, and chains of backups end", "[config]") {
  auto ok = parse(R"yaml(profiles:
  small: { launcher: slurm, retries: 1, backup: big }
  big: { launcher: slurm, slurm: { mem: 64G }, backup: huge }
  huge: { launcher: slurm }
)yaml");
  REQUIRE(ok.problems.empty());
  CHECK(ok.config.profiles["small"].backup == "big");
  CHECK(ok.config.profiles["huge"].backup == "");
  auto bad = parse(R"yaml(profiles:
  a: { launcher: slurm, backup: b }
  b: { launcher: slurm, backup: a }
  c: { launcher: slurm, backup: nobody }
  d: { launcher: slurm, backup: d }
)yaml");
  std::vector<std::string> expected = {
      "/proj/mirai.yaml:2:33: the backups of profile 'a' come back to it: a -> b -> a",
      "/proj/mirai.yaml:3:33: the backups of profile 'b' come back to it: b -> a -> b",
      "/proj/mirai.yaml:4:33: 'backup' names no profile: 'nobody'",
      "/proj/mirai.yaml:5:33: profile 'd' cannot be its own backup (name a profile with more "
      "resources, which takes a task after its daemon died here on every attempt)"};
  CHECK(bad.problems == expected);
}

TEST_CASE("backends: a backend defined by its commands, and every mistake in one", "[config]") {
  const std::string dir = std::filesystem::temp_directory_path() / "mirai-backends-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/job.sh") << "#!/bin/sh\n#X --array={{ array }}\n{{ directives }}\n"
                                    "{{ env }}\n{{ daemon }}\n";
  auto parse_in = [&](const std::string& text) {
    Diagnostics d(dir + "/mirai.yaml");
    Parsed p;
    p.config = parse_config(text, dir + "/mirai.yaml", d);
    for (const auto& x : d.list()) p.problems.push_back(format(x));
    return p;
  };
  const std::string good =
      "backends:\n"
      "  mine:\n"
      "    template: job.sh\n"
      "    directive: \"#X\"\n"
      "    submit: [xsub]\n"
      "    job_id: 'job ([0-9]+)'\n"
      "    status: [xstat, '--jobs={ids}']\n"
      "    status_line: '^(\\S+) (\\S+)'\n"
      "    states: { Q: pending, R: running }\n"
      "    cancel: [xdel, '{ids}']\n"
      "    element: '{job}.{index}'\n"
      "profiles:\n"
      "  p:\n"
      "    launcher: mine\n"
      "    workers: 2\n"
      "    directives: [ \"--fast\" ]\n";
  auto ok = parse_in(good);
  INFO(ok.problems.size());
  REQUIRE(ok.problems.empty());
  const ProfileConfig& p = ok.config.profiles.at("p");
  REQUIRE(p.backend);
  CHECK(kind_of(p)->name == "mine");
  CHECK(find_backend("mine") == nullptr);  // the file's own: not registered for the process
  auto backend = make_backend(p);
  REQUIRE(backend);
  LaunchSpec spec = make_spec(p, 2, "tcp://10.0.0.1:5555");
  auto subs = backend->render(spec);
  REQUIRE(subs);
  CHECK_THAT((*subs)[0].script, Catch::Contains("#X --array=1-2\n#X --fast\n") &&
                                    Catch::Contains(" daemon tcp://10.0.0.1:5555"));
  CHECK((*subs)[0].argv == std::vector<std::string>{"xsub"});
  int first = 0, last = 0;
  CHECK(backend->element_range("42", "42.7", first, last));
  CHECK(first == 7);
  CHECK_FALSE(backend->element_range("42", "42_7", first, last));
  // Without a `directive` prefix, a profile's `directives:` cannot be written: said at render.
  std::string no_prefix = good;
  no_prefix.replace(no_prefix.find("    directive: \"#X\"\n"), 20, "");
  auto bare = parse_in(no_prefix);
  REQUIRE(bare.problems.empty());
  auto refused = make_backend(bare.config.profiles.at("p"))
                     ->render(make_spec(bare.config.profiles.at("p"), 2, "tcp://10.0.0.1:5555"));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.message(), Catch::Contains("launcher mine takes no 'directives'"));

  auto bad = parse_in(
      "backends:\n"
      "  slurm: { }\n"                // 2: a built-in's name
      "  b:\n"                        // 3: no submit, no cancel
      "    template: nosuch.sh\n"     // 4
      "    job_id: '([0-9]+'\n"       // 5: not a regex
      "    status: xstat\n"           // 6: not a list
      "    status_line: '^(\\S+)'\n"  // 7: one group
      "    states: { Q: queued }\n"   // 8: not a state
      "    element: '{job}'\n"        // 9: no {index}
      "profiles:\n"
      "  p: { launcher: b }\n");   // 11: b has problems
  std::vector<std::string> lines;  // "LINE:COLUMN: ..." after the file's path
  for (const auto& problem : bad.problems) lines.push_back(problem.substr(dir.size() + 12));
  for (const auto& l : lines) UNSCOPED_INFO(l);
  CHECK_THAT(lines[0], Catch::StartsWith("2:3: backend 'slurm' has the name of a built-in"));
  CHECK(lines.size() == 10);  // each below, and nothing else
  auto has = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  CHECK(has("3:3: backend 'b' has no 'submit'"));
  CHECK(has("3:3: backend 'b' has no 'cancel'"));
  CHECK(has("4:15: cannot read the template " + dir + "/nosuch.sh"));
  CHECK(has("5:13: 'job_id' is not a regular expression"));
  CHECK(has("6:13: 'status' must be a list of words, the program first"));
  CHECK(has("7:18: 'status_line' needs 2 group(s) in parentheses"));
  CHECK(has("8:18: 'queued' is not a state"));
  CHECK(has("9:14: 'element' must hold {index}"));
  CHECK(has("11:18: launcher 'b' is defined under 'backends', with the problems reported there"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("slurm: mem, mem_per_cpu and mem_per_gpu exclude each other", "[config]") {
  auto both = parse(
      "profiles:\n"
      "  c:\n"
      "    launcher: slurm\n"
      "    slurm: { mem_per_cpu: 2G, time: 10m, mem: 4G, mem_per_gpu: 8G }\n");
  CHECK(both.problems ==
        std::vector<std::string>{
            "/proj/mirai.yaml:4:42: 'slurm: mem' and 'mem_per_cpu' exclude each other: slurm "
            "refuses a job with both (keep one of mem, mem_per_cpu, mem_per_gpu)",
            "/proj/mirai.yaml:4:51: 'slurm: mem_per_gpu' and 'mem_per_cpu' exclude each other: "
            "slurm refuses a job with both (keep one of mem, mem_per_cpu, mem_per_gpu)"});
  auto one = parse("profiles:\n  c: { launcher: slurm, slurm: { mem_per_gpu: 8G } }\n");
  REQUIRE(one.problems.empty());
  CHECK(one.config.profiles.at("c").resources.at("mem_per_gpu").amount == 8192);
}

TEST_CASE(
    "mirai.yaml is found from a subdirectory of the project, then in the user's config; "
    "MIRAI_PROFILE picks the default",
    "[config]") {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("mirai-find-" + std::to_string(getpid()));
  fs::create_directories(root / "project/.git");
  fs::create_directories(root / "project/src/deep");
  fs::create_directories(root / "home/.config/mirai");
  fs::path before = fs::current_path();
  const char* old_home = std::getenv("HOME");
  std::string saved_home = old_home ? old_home : "";
  unsetenv("MIRAI_CONFIG");
  unsetenv("XDG_CONFIG_HOME");
  setenv("HOME", (root / "home").c_str(), 1);
  std::ofstream(root / "project/mirai.yaml")
      << "default: a\nprofiles:\n  a: {launcher: local}\n  b: {launcher: local}\n";

  fs::current_path(root / "project/src/deep");
  CHECK(find_config("") == (root / "project/mirai.yaml").string());
  fs::current_path(root / "project");
  CHECK(find_config("") == "mirai.yaml");
  CHECK(find_config("given.yaml") == "given.yaml");

  // Above the project's root (.git) nothing is looked for; then the user's own file.
  fs::remove(root / "project/mirai.yaml");
  std::ofstream(root / "mirai.yaml") << "profiles:\n  x: {launcher: local}\n";
  fs::current_path(root / "project/src");
  CHECK(find_config("").empty());
  std::ofstream(root / "home/.config/mirai/mirai.yaml") << "profiles:\n  u: {launcher: local}\n";
  CHECK(find_config("") == (root / "home/.config/mirai/mirai.yaml").string());
  CHECK(config_root(find_config("")) == (root / "project/src").string());  // runs recorded here
  setenv("XDG_CONFIG_HOME", (root / "xdg").c_str(), 1);
  CHECK(find_config("").empty());
  unsetenv("XDG_CONFIG_HOME");

  // Read from a file, $MIRAI_PROFILE overrides its default.
  auto with_env = [](const std::string& text) {
    Diagnostics d("/proj/mirai.yaml");
    Parsed p;
    p.config = parse_config(text, "/proj/mirai.yaml", d);
    apply_profile_env(p.config, d);
    for (const auto& x : d.list()) p.problems.push_back(format(x));
    return p;
  };
  setenv("MIRAI_PROFILE", "b", 1);
  auto picked = with_env("default: a\nprofiles:\n  a: {launcher: local}\n  b: {launcher: local}\n");
  CHECK(picked.problems.empty());
  CHECK(picked.config.default_profile == "b");
  setenv("MIRAI_PROFILE", "bb", 1);
  auto wrong = with_env("profiles:\n  a: {launcher: local}\n  b: {launcher: local}\n");
  CHECK(wrong.problems == std::vector<std::string>{"/proj/mirai.yaml: $MIRAI_PROFILE names no "
                                                   "profile: 'bb' (did you mean 'b'?)"});
  unsetenv("MIRAI_PROFILE");

  fs::current_path(before);
  if (old_home) setenv("HOME", saved_home.c_str(), 1);
  fs::remove_all(root);
}

TEST_CASE(
    "config check says tab for a tab, checks a profile of an unknown launcher, warns of a "
    "missing interface and lists problems in file order",
    "[config]") {
  auto tabs = parse("profiles:\n\tlocal:\n    launcher: local\n  b:\n \t  x: 1\n");
  CHECK(tabs.problems ==
        std::vector<std::string>{"/proj/mirai.yaml:2:1: a tab in the indentation: YAML indents "
                                 "with spaces only (replace the tab with spaces)",
                                 "/proj/mirai.yaml:5:2: a tab in the indentation: YAML indents "
                                 "with spaces only (replace the tab with spaces)"});
  // A tab inside a value is the value's own.
  CHECK(parse("profiles:\n  a:\n    launcher: local\n    env: { X: \"a\tb\" }\n").problems.empty());

  Diagnostics u("/proj/mirai.yaml");
  parse_config(
      "profiles:\n  b:\n    launcher: nosuch\n    workers: -1\n    slurm: { mem: 1G }\n"
      "    idletime: 5m\n",
      "/proj/mirai.yaml", u);
  CHECK(u.list().size() == 3);
  std::istringstream lines(u.summary());  // in the file's order
  std::vector<std::string> unknown;
  for (std::string line; std::getline(lines, line);) unknown.push_back(line);
  REQUIRE(unknown.size() == 3);
  CHECK_THAT(unknown[0], Catch::Contains(":3:15: unknown launcher 'nosuch'"));
  CHECK_THAT(unknown[1], Catch::Contains(":4:14: 'workers' must be a whole number"));
  CHECK_THAT(unknown[2], Catch::Contains(":6:5: unknown key 'idletime'"));

  Diagnostics d("/proj/mirai.yaml");
  parse_config(
      "profiles:\n  a:\n    launcher: slurm\n    workers: 0\n    url: tcp://{interface:nosuch0}:0\n"
      "  b:\n    launcher: slurm\n    url: tcp://{interface:lo}:0\n    workers: 0\n",
      "/proj/mirai.yaml", d);
  REQUIRE(d.warnings().size() == 1);  // lo is on every machine
  CHECK_THAT(format(d.warnings()[0]),
             Catch::StartsWith("/proj/mirai.yaml:5:10: warning: 'url': this machine has no network "
                               "interface 'nosuch0'"));
  CHECK(d.list().size() == 2);  // the two workers: 0, and the warning is not one of them
  std::string summary = d.summary();
  auto at = [&](const char* text) { return summary.find(text); };
  CHECK(at(":4:") < at(":5:10: warning"));
  CHECK(at(":5:10: warning") < at(":9:"));
}
