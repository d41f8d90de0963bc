// Against a simulated multi-node Slurm (tests/infra/cluster-up.sh, started by ctest as the
// fixture `cluster`): the dispatcher runs on the login node (this namespace) and its daemons on
// compute nodes node1..node3, each a network namespace of its own with its own address and
// hostname, reaching the dispatcher over TCP on the bridge mcb0. Nodes are cut off (their link
// set down) and frozen (every process of the node SIGSTOPped) under running maps. A laptop,
// namespace mlap, reaches only the login node's sshd: its maps go through a relay there.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/launcher_live.hpp"

using namespace mirai::test;
using namespace std::chrono_literals;

namespace {

// dir/mirai.yaml with profile `c` on the cluster; `extra` lines go into the profile, `slurm`
// into its slurm: map.
LiveLauncher cluster(const TempDir& dir, const std::string& url, int workers,
                     const std::string& extra = "", const std::string& slurm = "") {
  std::ofstream(dir.file("mirai.yaml"))
      << "profiles:\n  c:\n    launcher: slurm\n    workers: " << workers << "\n    url: " << url
      << "\n    heartbeat: 1s\n    log: " << dir.file("logs/%A_%a.log")
      << "\n    daemon: { idletime: 2m }\n    slurm: { partition: debug, time: 10m" << slurm
      << " }\n"
      << extra;
  auto active = [](const std::string& id) {
    return run({"squeue", "-h", "-r", "-t", "PD,R,CG,CF,S", "-o", "%i %T", "-j", id}).out;
  };
  return {dir.file("mirai.yaml"), "c", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", active};
}

std::vector<std::string> with_args(std::vector<std::string> args, int n) {
  args.push_back(":::");
  for (int i = 1; i <= n; ++i) args.push_back(std::to_string(i));
  return args;
}

// Lines of `text`, counted.
std::map<std::string, int> counted_lines(const std::string& text) {
  std::map<std::string, int> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) ++lines[line];
  return lines;
}

// Every pid of node K's namespace (its slurmd, its jobs, their daemons and tasks).
std::vector<pid_t> node_pids(int k) {
  std::vector<pid_t> pids;
  std::istringstream in(run({"ip", "netns", "pids", "mn" + std::to_string(k)}).out);
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

// Whether Slurm takes jobs on node K again (a node that was cut off stays down* until its slurmd
// registers again); asks every 250 ms.
bool node_idle(int k) {
  std::this_thread::sleep_for(250ms);
  return run({"sinfo", "-h", "-n", "node" + std::to_string(k), "-o", "%T"}).out == "idle\n";
}

// Runs 16 tasks of `sleep 2` on 4 workers over node1 and node2 with retries 2 and does `fault`
// to node1 once its daemons run tasks, `heal` once every result is in: every task's result comes
// exactly once, and once healed no job of the run is left in the queue.
void check_survives(const TempDir& dir, const std::function<void()>& fault,
                    const std::function<void()>& heal) {
  auto l = cluster(dir, "tcp://{interface:mcb0}:0", 4,
                   "    retries: 2\n    directives: [ \"--exclude=node3\" ]\n");
  REQUIRE(eventually([] { return node_idle(1) && node_idle(2); }, 60s));
  Started procs(mirai_exe());
  std::string out = dir.file("out");
  pid_t map = procs.start(
      with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress", "--",
                 "echo $(hostname) > " + dir.file("ran.{}") + "; sleep 2; echo task-{}"},
                16),
      {}, out);
  // Once node1 runs tasks, cut it off.
  REQUIRE(eventually(
      [&] {
        for (int i = 1; i <= 16; ++i)
          if (read_file(dir.file("ran." + std::to_string(i))) == "node1\n") return true;
        return false;
      },
      30s));
  fault();
  auto cut = std::chrono::steady_clock::now();
  // Every result is in (the map then cancels its jobs and waits for them): heal the node, so
  // that its slurmd can report its jobs' end.
  CHECK(eventually([&] { return counted_lines(read_file(out)).size() == 16; }, 60s));
  INFO("16 results " << std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - cut)
                            .count()
                     << " ms after the fault");
  heal();
  int st = mirai::wait_for_exit(map, 60s);
  CHECK(eventually([] { return node_idle(1); }, 60s));
  REQUIRE(st >= 0);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  std::map<std::string, int> expected;
  for (int i = 1; i <= 16; ++i) expected["task-" + std::to_string(i)] = 1;
  CHECK(counted_lines(read_file(out)) == expected);
  std::string ids = launched_job_ids(dir, "c");
  for (int n = 2; !recorded_job_ids(dir, "c", n).empty(); ++n)
    ids += "\n" + recorded_job_ids(dir, "c", n);
  CHECK(eventually([&] { return active_of(l, ids).empty(); }, 30s));
}

}  // namespace

TEST_CASE("cluster: a map's daemons on three other hosts dial the login node over tcp",
          "[cluster]") {
  TempDir dir;
  // Two cpus per node, two per job: one daemon on each node.
  auto l = cluster(dir, "tcp://{interface:mcb0}:0", 3, "", ", cpus_per_task: 2");
  Started procs(mirai_exe());
  std::string out = dir.file("out");
  pid_t map = procs.start(with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress",
                                     "--", "sleep 2; echo {} $(hostname)"},
                                    6),
                          {{"XDG_RUNTIME_DIR", dir.path()}}, out);
  // mirai status shows each daemon's node.
  nlohmann::json status = status_with_daemons(
      "ipc://" + dir.path() + "/mirai/dispatcher-" + std::to_string(map) + "-c.sock", 3);
  std::set<std::string> hosts;
  for (const auto& d : status["daemons"]) {
    hosts.insert(d["host"].get<std::string>());
    CHECK_THAT(d["peer"].get<std::string>(), Catch::StartsWith("172.30.77.1"));
  }
  CHECK(hosts == std::set<std::string>{"node1", "node2", "node3"});
  CHECK_THAT(status["url"].get<std::string>(), Catch::StartsWith("tcp://172.30.77.1:"));
  int st = mirai::wait_for_exit(map, 60s);
  REQUIRE(st >= 0);
  CHECK(WEXITSTATUS(st) == 0);
  std::set<std::string> ran;
  std::istringstream lines(read_file(out));
  for (std::string line; std::getline(lines, line);) ran.insert(line.substr(line.find(' ') + 1));
  CHECK(ran == std::set<std::string>{"node1", "node2", "node3"});
}

TEST_CASE("cluster: output streams from daemons on compute nodes while their tasks run",
          "[cluster]") {
  TempDir dir;
  // Plain tcp between the nodes and the login node: the output frames go sealed.
  auto l = cluster(dir, "tcp://{interface:mcb0}:0", 2, "", ", cpus_per_task: 2");
  Started procs(mirai_exe());
  std::string out = dir.file("out"), gate = dir.file("gate");
  pid_t map = procs.start(with_args({"map", "--config", l.config, "-p", "c", "--no-progress",
                                     "--line-buffer", "--tag", "--",
                                     "echo started $(hostname); while [ ! -e " + gate +
                                         " ]; do sleep 0.1; done; echo done {}"},
                                    2),
                          {{"XDG_RUNTIME_DIR", dir.path()}}, out);
  // Each task's first line is here while it waits for the gate, from a node, not the login node.
  REQUIRE(eventually(
      [&] {
        std::string text = read_file(out);
        return text.find("1\tstarted node") != std::string::npos &&
               text.find("2\tstarted node") != std::string::npos;
      },
      60s));
  CHECK(read_file(out).find("done") == std::string::npos);
  std::ofstream(gate) << "";
  int st = mirai::wait_for_exit(map, 60s);
  REQUIRE(st >= 0);
  CHECK(WEXITSTATUS(st) == 0);
  std::string text = read_file(out);
  CHECK(text.find("1\tdone 1\n") != std::string::npos);
  CHECK(text.find("2\tdone 2\n") != std::string::npos);
  std::string id = launched_job_ids(dir, "c");
  CHECK(eventually([&] { return active_of(l, id).empty(); }, 20s));
}

TEST_CASE("cluster: over tls+tcp the generated certificate names the login node's address",
          "[cluster]") {
  TempDir dir;
  auto l = cluster(dir, "tls+tcp://{interface:mcb0}:0", 2, "");
  auto r = run(mirai_cmd(with_args(
      {"map", "-k", "--config", l.config, "-p", "c", "--no-progress", "--", "echo {} $(hostname)"},
      4)));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n)
    CHECK_THAT(line, Catch::Matches("[1-4] node[1-3]"));
  CHECK(n == 4);
  std::string id = launched_job_ids(dir, "c");
  CHECK(eventually([&] { return active_of(l, id).empty(); }, 20s));
}

TEST_CASE("cluster: a node cut off mid-run: every task once, and no job left once it heals",
          "[cluster][slow]") {
  TempDir dir;
  check_survives(
      dir,
      [] {
        run({"ip", "link", "set", "mv1", "down"});
      },
      [] {
        run({"ip", "link", "set", "mv1", "up"});
      });
}

TEST_CASE("cluster: a node frozen mid-run: every task once, and no job left once it thaws",
          "[cluster][slow]") {
  TempDir dir;
  std::vector<pid_t> frozen;
  check_survives(
      dir,
      [&] {
        frozen = node_pids(1);
        for (pid_t p : frozen) kill(p, SIGSTOP);
      },
      [&] {
        for (pid_t p : frozen) kill(p, SIGCONT);
      });
}

TEST_CASE("cluster: a frozen dispatcher: every daemon exits within 3 heartbeats and a second",
          "[cluster]") {
  TempDir dir;
  auto l = cluster(dir, "tcp://{interface:mcb0}:0", 2, "");
  Started procs(mirai_exe());
  pid_t map = procs.start(with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress",
                                     "--", "echo $PPID > " + dir.file("d.{}") + "; exec sleep 60"},
                                    2));
  std::vector<pid_t> daemons;
  REQUIRE(eventually(
      [&] {
        daemons.clear();
        for (int i = 1; i <= 2; ++i) {
          std::string pid = read_file(dir.file("d." + std::to_string(i)));
          if (pid.empty() || pid.back() != '\n') return false;
          daemons.push_back(std::stoi(pid));
        }
        return true;
      },
      30s));
  std::string id = launched_job_ids(dir, "c");
  kill(map, SIGSTOP);
  CHECK(all_gone(daemons, 3s + 1s + 500ms));  // 3 intervals of 1 s, a second, and slack
  // Their jobs end with them.
  CHECK(eventually([&] { return active_of(l, id).empty(); }, 20s));
  kill(map, SIGKILL);
}

TEST_CASE("cluster: the scheduler's word loses a cut-off node's daemons before heartbeats would",
          "[cluster][slow]") {
  TempDir dir;
  // Heartbeats of a minute would take 3 minutes; Slurm marks the node down and requeues its
  // jobs within about 30 s (SlurmdTimeout 10 s), and the controller takes its word.
  auto l = cluster(dir, "tcp://{interface:mcb0}:0", 2,
                   "    heartbeat: 60s\n    retries: 1\n    interval: 1s\n"
                   "    directives: [ \"--exclude=node3\" ]\n");
  auto conf = read_file(l.config);
  conf.erase(conf.find("    heartbeat: 1s\n"), 18);
  std::ofstream(l.config) << conf;
  REQUIRE(eventually([] { return node_idle(1) && node_idle(2); }, 60s));
  Started procs(mirai_exe());
  std::string out = dir.file("out");
  auto start = std::chrono::steady_clock::now();
  pid_t map = procs.start(
      with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress", "--",
                 "echo $(hostname) > " + dir.file("ran.{}") + "; sleep 5; echo task-{}"},
                2),
      {}, out);
  // Both daemons run on node1 (two cpus): cut it off once a task runs there.
  REQUIRE(eventually([&] { return read_file(dir.file("ran.1")) == "node1\n"; }, 30s));
  run({"ip", "link", "set", "mv1", "down"});
  int st = mirai::wait_for_exit(map, 150s);
  run({"ip", "link", "set", "mv1", "up"});
  REQUIRE(st >= 0);
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(counted_lines(read_file(out)) == std::map<std::string, int>{{"task-1", 1}, {"task-2", 1}});
  CHECK(std::chrono::steady_clock::now() - start < 120s);
  CHECK(eventually([] { return node_idle(1); }, 60s));
}

namespace {

// The ssh config the cluster's script wrote for the laptop (`Host login`), beside its slurm.conf.
std::string laptop_ssh_config() {
  std::string conf = std::getenv("SLURM_CONF");
  std::string dir = conf.substr(0, conf.rfind("/etc/"));
  return dir + "/ssh/ssh_config";
}

// dir/mirai.yaml with profile `c` on the cluster, reached from the laptop through the login node.
// Its daemon command is a link to mirai in dir, so that every process of the run (the laptop's
// ssh, the relay, the daemons) holds dir in its command line. One daemon a node (two cpus each),
// node3 left out.
LiveLauncher from_laptop(const TempDir& dir, int workers,
                         const std::string& url = "tcp://{interface:mcb0}:0") {
  mkdir(dir.file("bin").c_str(), 0755);
  REQUIRE(symlink(mirai_exe().c_str(), dir.file("bin/mirai").c_str()) == 0);
  std::ofstream(dir.file("mirai.yaml"))
      << "profiles:\n  c:\n    launcher: slurm\n    workers: " << workers << "\n    url: " << url
      << "\n    heartbeat: 1s\n    log: " << dir.file("logs/%A_%a.log")
      << "\n    daemon: { command: " << dir.file("bin/mirai")
      << ", idletime: 2m }\n    login: { host: login, config_file: " << laptop_ssh_config()
      << " }\n    slurm: { partition: debug, time: 10m, cpus_per_task: 2 }\n"
      << "    directives: [ \"--exclude=node3\" ]\n";
  auto active = [](const std::string& id) {
    return run({"squeue", "-h", "-r", "-t", "PD,R,CG,CF,S", "-o", "%i %T", "-j", id}).out;
  };
  return {dir.file("mirai.yaml"), "c", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", active};
}

// `mirai ARGS` started in the laptop's namespace (nsenter execs it: the pid is mirai's), with
// TMPDIR and XDG_RUNTIME_DIR in dir.
pid_t on_laptop(Started& laptop, const TempDir& dir, const std::vector<std::string>& args,
                const std::string& out = "") {
  std::vector<std::string> argv = {"--net=/run/netns/mlap", mirai_exe()};
  argv.insert(argv.end(), args.begin(), args.end());
  return laptop.start(argv, {{"TMPDIR", dir.path()}, {"XDG_RUNTIME_DIR", dir.path()}}, out);
}

// The run's processes outside the laptop: the relay, the daemons and their tasks.
std::vector<pid_t> on_cluster(const TempDir& dir) {
  struct stat laptop {};
  REQUIRE(stat("/run/netns/mlap", &laptop) == 0);
  std::vector<pid_t> out;
  for (pid_t p : processes_with(dir.path())) {
    struct stat net {};
    if (stat(("/proc/" + std::to_string(p) + "/ns/net").c_str(), &net) == 0 &&
        net.st_ino != laptop.st_ino)
      out.push_back(p);
  }
  return out;
}

// The relay's pid, once it runs (0 when it did not start within `timeout`).
pid_t relay_of(const TempDir& dir, std::chrono::milliseconds timeout) {
  pid_t relay = 0;
  eventually(
      [&] {
        for (pid_t p : on_cluster(dir))
          if (read_file("/proc/" + std::to_string(p) + "/cmdline")
                  .find(std::string("relay\0--listen", 14)) != std::string::npos)
            relay = p;
        return relay != 0;
      },
      timeout);
  return relay;
}

// Nothing of the run is left: no job of it in Slurm's queue and no process on the cluster.
bool nothing_left(const LiveLauncher& l, const TempDir& dir, const std::string& ids) {
  return active_of(l, ids).empty() && on_cluster(dir).empty();
}

std::string pids_text(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t p : pids)
    out += std::to_string(p) + " " + read_file("/proc/" + std::to_string(p) + "/comm");
  return out;
}

// Starts 4 tasks of two minutes from the laptop and waits until one runs on a compute node.
pid_t start_long_run(Started& laptop, const LiveLauncher& l, const TempDir& dir) {
  REQUIRE(eventually([] { return node_idle(1) && node_idle(2); }, 60s));
  pid_t map = on_laptop(laptop, dir,
                        with_args({"map", "--config", l.config, "-p", "c", "--no-progress", "--",
                                   "echo $(hostname) > " + dir.file("ran.{}") + "; sleep 120"},
                                  4));
  REQUIRE(eventually([&] { return !read_file(dir.file("ran.1")).empty(); }, 60s));
  return map;
}

}  // namespace

TEST_CASE("cluster: from the laptop, a map runs on compute nodes through the login node's relay",
          "[cluster]") {
  TempDir dir;
  auto l = from_laptop(dir, 2);
  REQUIRE(eventually([] { return node_idle(1) && node_idle(2); }, 60s));
  Started laptop("nsenter");
  std::string out = dir.file("out");
  auto start = std::chrono::steady_clock::now();
  pid_t map = on_laptop(laptop, dir,
                        with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress",
                                   "--", "sleep 1; echo {} $(hostname)"},
                                  8),
                        out);
  // mirai status on the laptop: the jobs' daemons on the compute nodes, dialling the relay.
  nlohmann::json status = status_with_daemons(
      "ipc://" + dir.path() + "/mirai/dispatcher-" + std::to_string(map) + "-c.sock", 2);
  std::set<std::string> hosts;
  for (const auto& d : status["daemons"]) hosts.insert(d["host"].get<std::string>());
  CHECK(hosts == std::set<std::string>{"node1", "node2"});
  CHECK(status["launcher"]["login"] == "login");
  CHECK_THAT(status["launcher"]["dial"].get<std::string>(),
             Catch::StartsWith("tcp://172.30.77.1:"));
  int st = mirai::wait_for_exit(map, 120s);
  INFO("the map took " << std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count()
                       << " ms");
  REQUIRE(st >= 0);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  // In input order, from both nodes.
  std::istringstream lines(read_file(out));
  std::set<std::string> ran;
  int i = 0;
  for (std::string line; std::getline(lines, line);) {
    CHECK(line.substr(0, line.find(' ')) == std::to_string(++i));
    ran.insert(line.substr(line.find(' ') + 1));
  }
  CHECK(i == 8);
  CHECK(ran == std::set<std::string>{"node1", "node2"});
  // Its jobs were submitted on the login node, and nothing of the run is left anywhere.
  std::string ids = launched_job_ids(dir, "c");
  CHECK(eventually([&] { return nothing_left(l, dir, ids); }, 30s));
  INFO("left: " << pids_text(processes_with(dir.path())));
  CHECK(processes_with(dir.path()).empty());
  CHECK(run({"sh", "-c", "ls " + dir.path() + " | grep -c '^mirai-login-'"}).out == "0\n");
}

TEST_CASE("cluster: the laptop's mirai killed mid-run: the relay cancels its jobs and ends",
          "[cluster]") {
  TempDir dir;
  auto l = from_laptop(dir, 2);
  Started laptop("nsenter");
  pid_t map = start_long_run(laptop, l, dir);
  std::string ids = launched_job_ids(dir, "c");
  REQUIRE(!active_of(l, ids).empty());
  REQUIRE(relay_of(dir, 10s) != 0);
  kill(map, SIGKILL);
  REQUIRE(mirai::wait_for_exit(map, 10s) >= 0);
  auto killed = std::chrono::steady_clock::now();
  CHECK(eventually([&] { return nothing_left(l, dir, ids); }, 30s));
  INFO("left on the cluster: " << pids_text(on_cluster(dir)) << "; jobs: " << active_of(l, ids));
  INFO("after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - killed)
                       .count()
                << " ms");
  CHECK(on_cluster(dir).empty());
}

TEST_CASE(
    "cluster: the laptop's link cut mid-run: the relay cancels its jobs, and once healed a run "
    "works",
    "[cluster][slow]") {
  TempDir dir;
  auto l = from_laptop(dir, 2);
  Started laptop("nsenter");
  pid_t map = start_long_run(laptop, l, dir);
  std::string ids = launched_job_ids(dir, "c");
  REQUIRE(relay_of(dir, 10s) != 0);
  run({"ip", "link", "set", "mlap0", "down"});
  auto cut = std::chrono::steady_clock::now();
  // 3 heartbeats of 1 s without a word from the laptop, then the jobs are cancelled.
  bool cancelled = eventually([&] { return nothing_left(l, dir, ids); }, 30s);
  auto took = std::chrono::steady_clock::now() - cut;
  run({"ip", "link", "set", "mlap0", "up"});
  CHECK(cancelled);
  INFO("left on the cluster: " << pids_text(on_cluster(dir)) << "; jobs: " << active_of(l, ids));
  INFO("cancelled after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms");
  CHECK(on_cluster(dir).empty());
  // The laptop's map learns it has lost the cluster, and ends, saying so.
  int st = mirai::wait_for_exit(map, 150s);
  REQUIRE(st >= 0);
  CHECK(WEXITSTATUS(st) != 0);
  // A new run over the healed link works.
  std::string out = dir.file("again");
  pid_t again = on_laptop(laptop, dir,
                          with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress",
                                     "--", "echo again-{}"},
                                    2),
                          out);
  int again_st = mirai::wait_for_exit(again, 120s);
  REQUIRE(again_st >= 0);
  CHECK(WEXITSTATUS(again_st) == 0);
  CHECK(read_file(out) == "again-1\nagain-2\n");
}

TEST_CASE("cluster: the relay carries sealed or TLS frames: a task's marker is in no byte it reads",
          "[cluster]") {
  const std::string url = GENERATE(std::string("tcp://{interface:mcb0}:0"),
                                   std::string("tls+tcp://{interface:mcb0}:0"));
  INFO(url);
  TempDir dir;
  auto l = from_laptop(dir, 1, url);
  REQUIRE(eventually([] { return node_idle(1) && node_idle(2); }, 60s));
  // The marker is in the task's command and in its output, never in a script or an argument.
  const std::string marker = "marker-" + std::to_string(getpid()) + "-e1f2";
  std::string out = dir.file("out");
  Started laptop("nsenter");
  pid_t map = on_laptop(laptop, dir,
                        with_args({"map", "-k", "--config", l.config, "-p", "c", "--no-progress",
                                   "--", "sleep 1; echo " + marker + "-{}"},
                                  3),
                        out);
  pid_t relay = relay_of(dir, 20s);
  REQUIRE(relay != 0);
  // Every byte the relay reads or writes, in hex, from before its first daemon connects.
  Started tracer("strace");
  pid_t strace =
      tracer.start({"-f", "-qq", "-xx", "-s", "1000000", "-o", dir.file("capture"), "-e",
                    "trace=accept4,read,write,sendto,recvfrom", "-p", std::to_string(relay)});
  int st = mirai::wait_for_exit(map, 120s);
  kill(strace, SIGINT);
  mirai::wait_for_exit(strace, 10s);
  REQUIRE(st >= 0);
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(read_file(out) == marker + "-1\n" + marker + "-2\n" + marker + "-3\n");
  std::string capture = read_file(dir.file("capture"));
  auto hex = [](const std::string& text) {
    std::string out;
    char buf[5];
    for (unsigned char c : text) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    return out;
  };
  // The capture began before the daemon's connection and holds its bytes and the laptop's
  // plain control lines (a heartbeat each second while the tasks run: a marker would show).
  CHECK(capture.find("accept4(") != std::string::npos);
  CHECK(capture.find(hex("{\"op\":\"heartbeat\"}")) != std::string::npos);
  CHECK(capture.size() > 10000);
  CHECK(capture.find(hex(marker)) == std::string::npos);
  CHECK(capture.find(hex("marker-")) == std::string::npos);
}

TEST_CASE("cluster: from the laptop, a daemon command the login node lacks: an error naming both",
          "[cluster]") {
  TempDir dir;
  auto l = from_laptop(dir, 1);
  // A command that a shell would split: it reaches the login node as one quoted word.
  std::string conf = read_file(l.config);
  std::string bin = dir.file("bin/mirai");
  conf.replace(conf.find(bin), bin.size(), "\"/opt/none/mirai; touch " + dir.file("pwned") + "\"");
  std::ofstream(l.config) << conf;
  auto r = run({"nsenter", "--net=/run/netns/mlap", mirai_exe(), "map", "--config", l.config, "-p",
                "c", "--", "echo", ":::", "1"});
  CHECK(r.exit_code == 125);
  CHECK_THAT(r.err, Catch::Contains("cannot start the relay on login"));
  CHECK_THAT(r.err, Catch::Contains("/opt/none/mirai; touch " + dir.file("pwned") +
                                    ": No such file or directory"));
  CHECK_THAT(r.err, Catch::Contains("'daemon: command' must name mirai on the login node"));
  CHECK(access(dir.file("pwned").c_str(), F_OK) != 0);
  CHECK(run({"sh", "-c", "squeue -h -n mirai-c | wc -l"}).out == "0\n");
}

TEST_CASE("cluster: from the laptop, mirai dispatcher -p launches through the login node",
          "[cluster]") {
  TempDir dir;
  auto l = from_laptop(dir, 2);
  REQUIRE(eventually([] { return node_idle(1) && node_idle(2); }, 60s));
  Started laptop("nsenter");
  pid_t dispatcher = on_laptop(
      laptop, dir, {"dispatcher", "--config", l.config, "-p", "c", "--url-file", dir.file("urls")});
  REQUIRE(eventually(
      [&] { return read_file(dir.file("urls")).find("relay ") != std::string::npos; }, 30s));
  std::string control, relay;
  std::istringstream urls(read_file(dir.file("urls")));
  for (std::string word, value; urls >> word >> value;) {
    if (word == "control") control = value;
    if (word == "relay") relay = value;
    std::getline(urls, word);
  }
  CHECK_THAT(relay, Catch::StartsWith("tcp://172.30.77.1:"));
  // A client on the laptop: its tasks run on the compute nodes, in order.
  auto r = run({"nsenter", "--net=/run/netns/mlap", mirai_exe(), "map", "-k", "--dispatcher",
                control, "--", "echo {} $(hostname)", ":::", "1", "2", "3", "4"});
  CHECK(r.exit_code == 0);
  std::istringstream lines(r.out);
  int i = 0;
  for (std::string line; std::getline(lines, line);) {
    CHECK(line.substr(0, line.find(' ')) == std::to_string(++i));
    CHECK_THAT(line.substr(line.find(' ') + 1), Catch::Matches("node[12]"));
  }
  CHECK(i == 4);
  std::string ids = launched_job_ids(dir, "c");
  // Stopped, it cancels its jobs through the relay, which then ends.
  kill(dispatcher, SIGTERM);
  int st = mirai::wait_for_exit(dispatcher, 60s);
  REQUIRE(st >= 0);
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(eventually([&] { return nothing_left(l, dir, ids); }, 30s));
  INFO("left: " << pids_text(processes_with(dir.path())));
  CHECK(processes_with(dir.path()).empty());
}
