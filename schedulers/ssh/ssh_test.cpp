// ssh and local: the rendered commands and script (golden files), how daemons are spread over
// hosts, the tunnel's forward, and hostile values.
#include "schedulers/ssh/ssh.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "launcher/config.hpp"
#include "launcher/process_jobs.hpp"
#include "launcher/shell.hpp"
#include "schedulers/local/local.hpp"
#include "tests/support/launch_specs.hpp"
#include "tests/support/support.hpp"

using namespace mirai::launcher;

namespace {

SshHost host(const std::string& user, const std::string& name, int port = 0) {
  return {user, name, port, name};
}

LaunchSpec ssh_spec(bool tunnel) {
  LaunchSpec spec = mirai::test::full_spec("ssh", "remote", 5);
  spec.workdir = "projects/my sims";
  spec.profile.log = "logs/mirai daemons.log";
  SshSettings& s = spec.profile.ssh;
  s.hosts = {host("me", "login1.example.org", 2200), host("", "node7")};
  s.tunnel = tunnel;
  s.config_file = "/home/me/.ssh/cluster_config";
  s.identity_file = "/home/me/.ssh/id_cluster";
  s.options = {"ProxyJump=gateway.example.org"};
  return spec;
}

}  // namespace

TEST_CASE("ssh renders one connection per host with the golden script", "[ssh]") {
  auto subs = ssh::make()->render(ssh_spec(true));
  REQUIRE(subs);
  REQUIRE(subs->size() == 2);
  const Submission& first = (*subs)[0];
  CHECK(first.id == "me@login1.example.org:2200");
  CHECK(first.first == 1);
  CHECK(first.last == 3);
  CHECK((*subs)[1].id == "node7");
  CHECK((*subs)[1].first == 4);
  CHECK((*subs)[1].last == 5);
  // sshd chooses the tunnel's port on the host, and ssh reports it (at LogLevel INFO, which
  // comes before the user's options so that it holds).
  CHECK(shown_command(first, "script.sh") ==
        "ssh -T -o BatchMode=yes -o ExitOnForwardFailure=yes -o ConnectTimeout=10 -o "
        "LogLevel=INFO -F /home/me/.ssh/cluster_config -i /home/me/.ssh/id_cluster -o "
        "ProxyJump=gateway.example.org -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o "
        "LogLevel=ERROR -p 2200 -l me -R 127.0.0.1:0:10.0.0.1:5555 -- login1.example.org "
        "sh -c <script.sh>");
  // The host's shell gets the script as one quoted word.
  CHECK(first.argv.back().rfind("sh -c '#!/bin/sh\n", 0) == 0);
  CHECK(mirai::test::matches_golden("ssh-tunnel.sh", first.script));
  // The daemons dial the tunnel's end on the host, at the port read from stdin.
  CHECK_THAT(first.script, Catch::Contains("daemon \"$MIRAI_DAEMON_URL\" --idletime 5m"));
  auto fixed = ssh_spec(true);
  fixed.profile.ssh.remote_port = 40100;
  auto pinned = ssh::make()->render(fixed);
  REQUIRE(pinned);
  CHECK_THAT((*pinned)[0].script, Catch::Contains("daemon tcp://127.0.0.1:40100 --idletime 5m"));
  CHECK_FALSE((*pinned)[0].tunnel_port);

  auto direct = ssh::make()->render(ssh_spec(false));
  REQUIRE(direct);
  CHECK_THAT((*direct)[1].script, Catch::Contains("daemon tcp://10.0.0.1:5555 "));
  CHECK(std::find((*direct)[1].argv.begin(), (*direct)[1].argv.end(), "-R") ==
        (*direct)[1].argv.end());
  auto minimal = mirai::test::minimal_spec("ssh");
  minimal.workdir = "";
  minimal.profile.ssh.hosts = {host("", "h")};
  auto min = ssh::make()->render(minimal);
  REQUIRE(min);
  CHECK(mirai::test::matches_golden("ssh-minimal.sh", (*min)[0].script));
}

TEST_CASE("ssh spreads daemons evenly over hosts", "[ssh]") {
  using Spread = std::vector<std::pair<std::size_t, int>>;
  CHECK(ssh::spread(5, 2) == Spread{{0, 3}, {1, 2}});
  CHECK(ssh::spread(6, 3) == Spread{{0, 2}, {1, 2}, {2, 2}});
  CHECK(ssh::spread(2, 4) == Spread{{0, 1}, {1, 1}});  // hosts without a daemon get no ssh
  CHECK(ssh::spread(3, 0).empty());
}

TEST_CASE("ssh tunnels bind the host's 127.0.0.1 and keep the URL's scheme and path", "[ssh]") {
  // Without a remote port sshd chooses one, which the script reads on its stdin.
  auto t = ssh::tunnel_for("tcp://127.0.0.2:4000", 0);
  REQUIRE(t);
  CHECK(t->dynamic);
  CHECK(t->forward == "127.0.0.1:0:127.0.0.2:4000");
  CHECK(t->daemon_url == std::string("tcp://127.0.0.1:") + kTunnelPort);
  auto remote = ssh::tunnel_for("ws://10.1.2.3:4000/mirai", 40100);
  REQUIRE(remote);
  CHECK_FALSE(remote->dynamic);
  CHECK(remote->forward == "127.0.0.1:40100:10.1.2.3:4000");
  CHECK(remote->daemon_url == "ws://127.0.0.1:40100/mirai");
  // The script asks for the port, and only a port, before it starts any daemon.
  auto spec = ssh_spec(true);
  spec.profile.ssh.tunnel = true;
  spec.url = "tcp://127.0.0.2:4000";
  auto dynamic = ssh::make()->render(spec);
  REQUIRE(dynamic);
  const auto& d = dynamic->front();
  CHECK(d.tunnel_port);
  CHECK(std::find(d.argv.begin(), d.argv.end(), "127.0.0.1:0:127.0.0.2:4000") != d.argv.end());
  CHECK(std::find(d.argv.begin(), d.argv.end(), "LogLevel=INFO") != d.argv.end());
  CHECK_THAT(d.script, Catch::Contains("IFS= read -r MIRAI_TUNNEL_PORT ||"));
  CHECK_THAT(d.script, Catch::Contains("*[!0-9]*) echo bad tunnel port"));
  CHECK_THAT(d.script,
             Catch::Contains("MIRAI_DAEMON_URL=tcp://127.0.0.1:\"$MIRAI_TUNNEL_PORT\"''\n"));
  CHECK_THAT(d.script, Catch::Contains("mirai daemon \"$MIRAI_DAEMON_URL\" --idletime"));
  auto socket = ssh::tunnel_for("ipc:///tmp/x.sock", 0);
  REQUIRE_FALSE(socket);
  spec = ssh_spec(true);
  spec.url = "abstract://mirai-1";
  auto subs = ssh::make()->render(spec);
  REQUIRE_FALSE(subs);
}

TEST_CASE("ssh and local scripts quote every value", "[ssh][local]") {
  for (const char* hostile : {"$(touch /tmp/pwned)", "`id`", "a'b\"c", "x; rm -rf ~", "l\nx"}) {
    auto spec = ssh_spec(false);
    spec.workdir = hostile;
    spec.profile.log = std::string("logs/") + hostile;
    spec.profile.env = {{"V", hostile}};
    spec.command = std::string("/opt/") + hostile;
    auto subs = ssh::make()->render(spec);
    REQUIRE(subs);
    const std::string& script = (*subs)[0].script;
    const std::string quoted = shell_quote(hostile);
    CHECK_THAT(script, Catch::Contains("cd " + quoted + " || exit 1\n"));
    CHECK_THAT(script, Catch::Contains("export V=" + quoted + "\n"));
    CHECK_THAT(script, Catch::Contains(" >>" + shell_quote(std::string("logs/") + hostile)));
    CHECK_THAT(script,
               Catch::Contains("command -v " + shell_quote(std::string("/opt/") + hostile)));
    // What the host's shell reads is `sh -c` and the script as one word.
    CHECK((*subs)[0].argv.back() == "sh -c " + shell_quote(script));
    auto local = local::make()->render(spec);
    REQUIRE(local);
    CHECK((*local)[0].argv == std::vector<std::string>{"/bin/sh", "-c", (*local)[0].script});
  }
}

TEST_CASE("local renders one shell for all daemons, stopped with its stdin", "[local]") {
  auto spec = mirai::test::full_spec("local", "here", 4);
  auto subs = local::make()->render(spec);
  REQUIRE(subs);
  REQUIRE(subs->size() == 1);
  CHECK((*subs)[0].id == "local");
  CHECK((*subs)[0].last == 4);
  CHECK(mirai::test::matches_golden("local.sh", (*subs)[0].script));
  spec.attached = false;  // mirai launch: the daemons outlive the command
  auto detached = local::make()->render(spec);
  REQUIRE(detached);
  CHECK((*detached)[0].script.find("exec 3<&0") == std::string::npos);
  CHECK_FALSE((*detached)[0].attached);
}
