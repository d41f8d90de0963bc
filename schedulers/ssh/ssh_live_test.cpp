// Against a real sshd on 127.0.0.1 (tests/infra/sshd-up.sh, started by ctest as a fixture):
// daemons start over ssh, directly and through a tunnel, dial back, run tasks, and nothing of
// theirs is left running after.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>

#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

const std::string kSshConfig = "/tmp/mirai-ci/sshd/ssh_config";

// A mirai.yaml with the profile `remote` (3 workers on ci-sshd), `extra` appended; every
// daemon's environment carries the test's directory.
LiveLauncher ssh(const TempDir& dir, const std::string& options, const std::string& extra = "") {
  std::ofstream(dir.file("mirai.yaml"))
      << "profiles:\n"
         "  remote:\n"
         "    launcher: ssh\n"
         "    workers: 3\n"
         "    hosts: [ ci-sshd ]\n"
      << options << "    ssh: { config_file: " << kSshConfig << ", connect_timeout: 10s }\n"
      << "    daemon: { command: " << mirai_exe() << ", idletime: 2m }\n"
      << "    env: { MIRAI_TEST_TAG: " << dir.path() << " }\n"
      << "    launch_timeout: 30s\n"
      << extra;
  return launched_by_mirai(dir, "remote");
}

std::string direct() { return "    url: tcp://127.0.0.1:0\n"; }

}  // namespace

TEST_CASE("ssh: map --profile runs tasks on daemons started over ssh and leaves nothing behind",
          "[ssh][live]") {
  TempDir dir;
  auto l = ssh(dir, direct());
  CHECK(check_map_runs_in_one_array(dir, l) == "ci-sshd");
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
}

TEST_CASE("ssh: tunnelled daemons dial the host's 127.0.0.1, which leads to the dispatcher",
          "[ssh][live]") {
  TempDir dir;
  // The dispatcher listens on 127.0.0.2 only: a daemon reaches it through the tunnel or not at
  // all, and each task reports how its daemon was started and that it runs under the sshd.
  auto l = ssh(dir, "    tunnel: true\n    url: tcp://127.0.0.2:0\n");
  auto r = run(mirai_cmd(
      {"map", "-k", "--config", l.config, "-p", "remote", "-j", "2", "--no-progress", "--",
       "echo $MIRAI_CI_OWNER; tr '\\0' ' ' < /proc/$PPID/cmdline; echo # {}", ":::", "1", "2"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("/tmp/mirai-ci/sshd\n"));
  CHECK_THAT(r.out, Catch::Contains(" daemon tcp://127.0.0.1:"));
  std::string record = read_file(dir.file(".mirai/jobs/remote/1/submit.out"));
  // sshd chose the port on the host.
  CHECK_THAT(record, Catch::Matches("[^]*-R 127\\.0\\.0\\.1:0:127\\.0\\.0\\.2:[0-9]+ -- ci-sshd "
                                    "sh -c <script\\.sh>\n[^]*"));
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
}

TEST_CASE("ssh: a tunnel to this same machine works: sshd chooses the port on the host",
          "[ssh][live]") {
  TempDir dir;
  // The dispatcher's own port on 127.0.0.1 is taken on the host (by the dispatcher itself): a
  // forward of the same port would fail. sshd picks another, which the daemons dial.
  auto l = ssh(dir, "    tunnel: true\n    url: tcp://127.0.0.1:0\n");
  auto r =
      run(mirai_cmd({"map", "-k", "--config", l.config, "-p", "remote", "-j", "2", "--no-progress",
                     "--", "tr '\\0' ' ' < /proc/$PPID/cmdline; echo # {}", ":::", "1", "2"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string record = read_file(dir.file(".mirai/jobs/remote/1/submit.out"));
  std::smatch m;
  REQUIRE(
      std::regex_search(record, m, std::regex("-R 127\\.0\\.0\\.1:0:127\\.0\\.0\\.1:([0-9]+)")));
  std::string dispatcher_port = m[1];
  REQUIRE(std::regex_search(r.out, m, std::regex("daemon tcp://127\\.0\\.0\\.1:([0-9]+) ")));
  CHECK(m[1] != dispatcher_port);
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
}

TEST_CASE("ssh: launch feeds a running dispatcher and its daemons end with it", "[ssh][live]") {
  TempDir dir;
  check_launch_feeds_dispatcher(dir, ssh(dir, direct()));
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
}

TEST_CASE("ssh: daemons are spread over the hosts and status shows each one's host",
          "[ssh][live]") {
  TempDir dir;
  auto l = ssh(dir, direct());
  std::string yaml = read_file(l.config);
  yaml.replace(yaml.find("[ ci-sshd ]"), 11, "[ ci-sshd, ci-sshd-2 ]");
  std::ofstream(l.config) << yaml;
  std::string control = "ipc://" + dir.file("control.sock");
  Started procs(mirai_exe());
  pid_t dispatcher = start_dispatcher(procs, dir, control);
  auto launched = run(mirai_cmd(
      {"launch", "--config", l.config, "-p", "remote", "-n", "4", "--dispatcher", control}));
  INFO(launched.err);
  REQUIRE(launched.exit_code == 0);
  CHECK_THAT(launched.out, Catch::Contains("jobs: ci-sshd ci-sshd-2\n"));
  nlohmann::json status = status_with_daemons(control, 4);
  std::set<std::pair<std::string, int>> seen;
  for (const auto& d : status["daemons"])
    seen.insert({d["job_id"].get<std::string>(), d["array_index"].get<int>()});
  CHECK(seen == std::set<std::pair<std::string, int>>{
                    {"ci-sshd", 1}, {"ci-sshd", 2}, {"ci-sshd-2", 3}, {"ci-sshd-2", 4}});
  kill(dispatcher, SIGTERM);
  CHECK(mirai::wait_for_exit(dispatcher, 10s) >= 0);
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 20s));
}

TEST_CASE("ssh: connections that fail are reported with ssh's reason, not waited on",
          "[ssh][live]") {
  TempDir dir;
  auto l = ssh(dir, direct(), R"(  refused:
    launcher: ssh
    launch_retries: 0
    hosts: [ "127.0.0.1:1" ]
  missing:
    launcher: ssh
    launch_retries: 0
    hosts: [ ci-sshd ]
    ssh: { config_file: /tmp/mirai-ci/sshd/ssh_config }
    daemon: { command: /nonexistent/mirai }
  taken:
    launcher: ssh
    launch_retries: 0
    hosts: [ ci-sshd ]
    url: tcp://127.0.0.1:0
    tunnel: true
    ssh: { config_file: /tmp/mirai-ci/sshd/ssh_config, remote_port: 2522 }
)");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"refused",
       "job 127.0.0.1:1 daemon 1 ended before connecting: ssh ended with exit status 255: ssh: "
       "connect to host "
       "127.0.0.1 port 1: Connection refused"},
      {"missing",
       "job ci-sshd daemon 1 ended before connecting: ssh ended with exit status 127: cannot "
       "run /nonexistent/mirai"},
      // 2522 is the sshd's own port on the host: the forward cannot bind it.
      {"taken",
       "job ci-sshd daemon 1 ended before connecting: ssh ended with exit status 255: Error: "
       "remote port forwarding "
       "failed for listen port 2522"}};
  for (const auto& [profile, reason] : cases) {
    auto r = run(mirai_cmd({"map", "-k", "--config", l.config, "-p", profile, "--no-progress", "--",
                            "echo", "{}", ":::", "1"}));
    INFO(profile << ": " << r.err);
    CHECK(r.exit_code == 125);
    CHECK_THAT(r.err, Catch::Contains("is paused, with no daemon connected"));
    CHECK_THAT(r.err, Catch::Contains(reason));
  }
}

TEST_CASE("ssh: SIGTERM to map closes the connections and stops the tasks", "[ssh][live]") {
  TempDir dir;
  check_signal_cancels(dir, ssh(dir, direct()));
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 10s));
}

TEST_CASE("ssh: daemons and tasks stop when the mirai that launched them is killed",
          "[ssh][live]") {
  TempDir dir;
  // The dispatcher on 127.0.0.2: 127.0.0.1 is the host's end of the tunnel, on this machine.
  auto l = ssh(dir, "    tunnel: true\n    url: tcp://127.0.0.2:0\n");
  Started procs(mirai_exe());
  pid_t map = procs.start({"map", "-k", "--config", l.config, "-p", "remote", "-j", "2", "--",
                           "echo $$ > " + dir.file("{}.pid") + "; exec sleep 60", ":::", "a", "b"});
  pid_t a = wait_pid(dir, "a.pid");
  pid_t b = wait_pid(dir, "b.pid");
  kill(map, SIGKILL);  // no chance to cancel anything: the closed ssh stdin has to do it
  CHECK(mirai::wait_for_exit(map, 10s) >= 0);
  CHECK(eventually([&] { return !process_alive(a) && !process_alive(b); }, 15s));
  CHECK(eventually([&] { return processes_with(dir.path()).empty(); }, 15s));
}

TEST_CASE("ssh: TLS through the tunnel, with only the certificate on the way", "[ssh][live][tls]") {
  TempDir dir;
  auto l = ssh(dir, "    tunnel: true\n    url: tls+tcp://127.0.0.2:0\n");
  auto r = run(mirai_cmd({"map", "-k", "--config", l.config, "-p", "remote", "-j", "2",
                          "--no-progress", "--",
                          "tr '\\0' ' ' < /proc/$PPID/cmdline; echo; "
                          "echo $MIRAI_TLS_SERVER_NAME; tr '\\0' '\\n' < /proc/$PPID/environ # {}",
                          ":::", "1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // The daemon dialled the tunnel's end over TLS and checked the dispatcher's own name.
  CHECK_THAT(r.out, Catch::Contains(" daemon tls+tcp://127.0.0.1:"));
  CHECK_THAT(r.out, Catch::Contains("\n127.0.0.2\n"));
  CHECK_THAT(r.out, Catch::Contains("MIRAI_TLS_CA=-----BEGIN CERTIFICATE-----"));
  CHECK(r.out.find("PRIVATE KEY") == std::string::npos);
  // Nothing the launch wrote holds a private key.
  for (const char* f : {"script.sh", "submit.out", "output.log", "job_ids"})
    CHECK(read_file(dir.file(std::string(".mirai/jobs/remote/1/") + f)).find("PRIVATE KEY") ==
          std::string::npos);
  CHECK_THAT(read_file(dir.file(".mirai/jobs/remote/1/script.sh")),
             Catch::Contains("export MIRAI_TLS_SERVER_NAME=127.0.0.2\n"));
}

TEST_CASE("ssh: the secret reaches the daemons on stdin, never on a command line", "[ssh][live]") {
  TempDir dir;
  check_secret_stays_private(dir, ssh(dir, direct()));
  std::string script = read_file(dir.file(".mirai/jobs/remote/1/script.sh"));
  CHECK(script.find("MIRAI_SECRET=") == std::string::npos);  // read from stdin instead
}
