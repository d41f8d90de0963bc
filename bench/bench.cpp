// Benchmarks. Each mode prints `name value unit` lines; bench/run runs them all side by side.
//   mirai_bench floors       plain pipe and bare NNG req/rep round trips (this machine's floor)
//   mirai_bench latency      no-op call round trip through the dispatcher, and direct
//   mirai_bench throughput   100,000 no-op calls submitted at once, 1 and 2 daemons
//   mirai_bench memory       host memory per queued task (100,000 queued)
//   mirai_bench startup      until 2 local daemons are connected; `mirai --version` run to its
//                            end ($MIRAI_EXE), against /bin/true
//   mirai_bench payload      a 100 MB round trip, and its floor: 100 MB each way over a
//                            unix socket pair between two processes; medians of 9 rounds
//   mirai_bench transports   per transport (ipc, tcp, tls+tcp, ws): the no-op round trip, and
//                            4,000 tasks of ~0.1 ms (`sleep 0ms`) and 50,000 no-ops on 1 and 4
//                            daemons, in 7 rounds; each rate's ratio to ipc, paired by round
//   mirai_bench shell N      N `true` commands through 2 daemons (library)
//   mirai_bench typed        map() of typed calls against raw ones; packed against text vectors;
//                            everywhere() on 4 daemons
//   mirai_bench aead         AES-256-GCM against ChaCha20-Poly1305, in Mbed TLS 2.28 and in
//                            OpenSSL 3: sealing and opening a 64-byte and a 1 MiB frame (the
//                            choice for sealing every frame on plain tcp)
//   mirai_bench seal         connections over tcp on loopback, sealed against plain, and over
//                            a unix socket: the round trip of a 64-byte and of a 1 MiB frame
//                            (what sealing adds to a tcp round trip, and what tcp itself does)
//   mirai_bench scale MIRAI [TASKS [DAEMONS...]]
//                            for each count of daemons (4 when none): a `mirai dispatcher`
//                            process, the time to connect that many, then 200,000 no-op calls
//                            through them: the rate and the dispatcher's CPU per task
//   mirai_bench heartbeat MIRAI [DAEMONS]
//                            CPU of a `mirai dispatcher` process with 200 idle daemons connected,
//                            with heartbeats (every 5 s, the default) and without; the no-op
//                            round trip with and without them
//   mirai_bench load MIRAI [TASKS [DAEMONS]]
//                            a `mirai dispatcher` process with 1,000,000 no-op calls queued, then
//                            200 daemons connected to drain them, against 2 daemons: its memory
//                            and CPU per task
#include <malloc.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench.hpp"
#include "mirai/mirai.hpp"

using namespace mirai;

namespace bench {

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

void report(const char* name, double value, const char* unit) {
  std::printf("%s %.1f %s\n", name, value, unit);
  std::fflush(stdout);
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::string ipc_url(const char* tag) {
  return "ipc:///tmp/mirai-bench-" + std::to_string(getpid()) + "-" + tag + ".sock";
}

void must(const Status& s) {
  if (!s) {
    std::fprintf(stderr, "bench: %s\n", s.message().c_str());
    std::exit(1);
  }
}

void start(Profile& p, int n, bool dispatcher, const std::string& url) {
  DaemonsConfig c;
  c.n = n;
  c.dispatcher = dispatcher;
  c.url = url;
  must(p.set_daemons(c));
}

}  // namespace bench

namespace {

using namespace bench;

void floors() {
  constexpr int kRounds = 20000;
  {  // a pipe round trip between two processes
    int ab[2], ba[2];
    if (pipe(ab) || pipe(ba)) return;
    pid_t child = fork();
    if (child == 0) {
      close(ab[1]);  // else the read below never sees EOF
      close(ba[0]);
      char c;
      while (read(ab[0], &c, 1) == 1) (void)!write(ba[1], &c, 1);
      _exit(0);
    }
    close(ab[0]);
    close(ba[1]);
    std::vector<double> v;
    char c = 'x';
    for (int i = 0; i < kRounds; ++i) {
      auto t0 = Clock::now();
      (void)!write(ab[1], &c, 1);
      (void)!read(ba[0], &c, 1);
      v.push_back(us_since(t0));
    }
    close(ab[1]);
    waitpid(child, nullptr, 0);
    report("floor.pipe_pingpong.median", percentile(v, 0.5), "us");
  }
  {  // a bare NNG req/rep round trip over ipc: fork before this process touches NNG
    std::string url = ipc_url("floor");
    pid_t child = fork();
    if (child == 0) {
      nng_socket s;
      nng_rep0_open(&s);
      nng_listen(s, url.c_str(), nullptr, 0);
      for (;;) {
        nng_msg* m;
        if (nng_recvmsg(s, &m, 0) != 0) _exit(0);
        nng_sendmsg(s, m, 0);
      }
    }
    nng_socket s;
    nng_req0_open(&s);
    nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    while (nng_dial(s, url.c_str(), nullptr, 0) != 0) usleep(10000);
    std::vector<double> v;
    char buf[64] = {0};
    for (int i = 0; i < kRounds; ++i) {
      auto t0 = Clock::now();
      nng_send(s, buf, sizeof buf, 0);
      char* out;
      size_t n;
      nng_recv(s, &out, &n, NNG_FLAG_ALLOC);
      nng_free(out, n);
      v.push_back(us_since(t0));
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    nng_close(s);
    report("floor.nng_reqrep.ipc.median", percentile(v, 0.5), "us");
  }
}

// `n` timed round trips of a no-op call task (after 1000 untimed ones), in microseconds.
std::vector<double> round_trips(Profile& p, int n) {
  for (int i = 0; i < 1000; ++i) p.submit(Task::call("noop")).wait();
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    p.submit(Task::call("noop")).wait();
    v.push_back(us_since(t0));
  }
  return v;
}

void latency() {
  for (bool dispatcher : {true, false}) {
    Profile p;
    start(p, 1, dispatcher, ipc_url(dispatcher ? "lat-d" : "lat-r"));
    std::vector<double> v = round_trips(p, 10000);
    if (dispatcher) {
      report("latency.dispatcher.ipc.median", percentile(v, 0.5), "us");
      report("latency.dispatcher.ipc.p99", percentile(v, 0.99), "us");
    } else {
      report("latency.direct.ipc.median", percentile(v, 0.5), "us");
    }
  }
}

void throughput() {
  constexpr int kTasks = 100000;
  for (int n : {1, 2}) {
    Profile p;
    start(p, n, true);
    std::vector<Future> fs;
    fs.reserve(kTasks);
    auto t0 = Clock::now();
    for (int i = 0; i < kTasks; ++i) fs.push_back(p.submit(Task::call("noop")));
    for (auto& f : fs) f.wait();
    double secs = us_since(t0) / 1e6;
    report(n == 1 ? "throughput.dispatcher.d1" : "throughput.dispatcher.d2", kTasks / secs,
           "tasks/s");
  }
}

// A queued no-op call's payload, its encoded frame: type byte, id, kind, timeout, and the name
// and payload strings with their lengths.
constexpr double kNoopFrameBytes = 1 + 8 + 1 + 4 + 4 + 4 + 4;

void memory() {
  constexpr int kTasks = 100000;
  Profile p;
  DaemonsConfig c;  // listening, no daemons: everything stays queued
  c.url = ipc_url("mem");
  if (!p.set_daemons(c)) std::exit(1);
  Task task = Task::call("noop");
  std::vector<Future> fs;
  fs.reserve(kTasks);  // the caller's own vector is not the library's cost
  malloc_trim(0);
  auto before = mallinfo2().uordblks;
  for (int i = 0; i < kTasks; ++i) fs.push_back(p.submit(task));
  auto after = mallinfo2().uordblks;
  report("memory.per_queued_task", static_cast<double>(after - before) / kTasks - kNoopFrameBytes,
         "bytes");
}

// The wall time of running `argv` to its end, in ms: the median of `n` runs.
double exec_ms(const std::vector<const char*>& argv, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      execv(argv[0], const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::exit(1);
    v.push_back(us_since(t0) / 1000);
  }
  return percentile(v, 0.5);
}

void startup() {
  // What every daemon's start costs before it dials: the mirai binary's exec, against a
  // program that does nothing.
  if (const char* exe = std::getenv("MIRAI_EXE")) {
    report("floor.exec.true", exec_ms({"/bin/true", nullptr}, 200), "ms");
    report("start.mirai_version", exec_ms({exe, "--version", nullptr}, 200), "ms");
  }
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) {
    Profile p;
    auto t0 = Clock::now();
    start(p, 2, true);
    v.push_back(us_since(t0) / 1000);
  }
  report("startup.local.d2", percentile(v, 0.5), "ms");
}

// Writes all of `n` bytes of `buf` to `fd`; false on an error.
bool write_all(int fd, const char* buf, std::size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, buf, n);
    if (k <= 0) return false;
    buf += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}
bool read_all(int fd, char* buf, std::size_t n) {
  while (n > 0) {
    ssize_t k = read(fd, buf, n);
    if (k <= 0) return false;
    buf += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

// Rounds of the payload mode, the floor's and mirai's; each reports its median. On these
// virtual machines one round in four or five takes 2-3 times as long as the others (memory
// that is new to the process, which the host has to back first), both with and without mirai.
constexpr int kPayloadRounds = 9;

// The floor for a payload's round trip: two processes passing `bytes` each way over a unix
// socket pair, no framing, no copy beyond the kernel's. MB/s as the payload mode counts them
// (the payload's size over the round trip's time).
double payload_floor(std::size_t bytes) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) std::exit(1);
  std::string buf(bytes, 'p');
  pid_t child = fork();
  if (child == 0) {  // the peer: reads the whole payload, then sends it back
    close(sv[0]);
    for (;;) {
      if (!read_all(sv[1], buf.data(), buf.size())) _exit(0);
      if (!write_all(sv[1], buf.data(), buf.size())) _exit(1);
    }
  }
  close(sv[1]);
  std::vector<double> v;
  for (int i = 0; i < kPayloadRounds; ++i) {
    auto t0 = Clock::now();
    if (!write_all(sv[0], buf.data(), buf.size()) || !read_all(sv[0], buf.data(), buf.size()))
      std::exit(1);
    v.push_back(static_cast<double>(bytes) / 1e6 / (us_since(t0) / 1e6));
  }
  close(sv[0]);
  waitpid(child, nullptr, 0);
  return percentile(v, 0.5);
}

void payload() {
  report("floor.payload.100MB", payload_floor(100 * 1000 * 1000), "MB/s");
  Profile p;
  start(p, 1, true, ipc_url("payload"));
  constexpr std::size_t kBytes = 100 * 1000 * 1000;
  const Task task = Task::call("echo", std::string(kBytes, 'p'));
  std::vector<double> v;
  for (int i = 0; i < kPayloadRounds; ++i) {
    auto t0 = Clock::now();
    Result r = p.submit(task).wait();
    double secs = us_since(t0) / 1e6;
    if (r.value.size() != kBytes) std::exit(1);
    v.push_back(100.0 / secs);
  }
  report("payload.100MB.roundtrip", percentile(v, 0.5), "MB/s");
}

void shell(int n) {
  Profile p;
  start(p, 2, true);
  auto t0 = Clock::now();
  std::vector<Future> fs;
  for (int i = 0; i < n; ++i) fs.push_back(p.submit(Task::shell({"true", std::to_string(i)})));
  for (auto& f : fs)
    if (!f.wait().ok()) std::exit(1);
  report("shell.mirai_lib.d2", n / (us_since(t0) / 1e6), "tasks/s");
}

// The same no-op round trip and start-up over tcp and over tls+tcp, side by side: what TLS
// (with the single-use certificate) and the secret's handshake cost.
void tls() {
  for (const char* scheme : {"tcp", "tls+tcp"}) {
    const std::string url = std::string(scheme) + "://127.0.0.1:0";
    std::vector<double> up;
    for (int i = 0; i < 5; ++i) {
      Profile p;
      auto t0 = Clock::now();
      start(p, 2, true, url);
      up.push_back(us_since(t0) / 1000);
    }
    Profile p;
    start(p, 1, true, url);
    std::vector<double> v = round_trips(p, 5000);
    const std::string name = scheme == std::string("tcp") ? "tcp" : "tls";
    report(("latency.dispatcher." + name + ".median").c_str(), percentile(v, 0.5), "us");
    report(("startup." + name + ".d2").c_str(), percentile(up, 0.5), "ms");
  }
}

// What the typed layer costs: the same 20,000 calls as raw bytes and through codecs and
// map().flat(); a vector of 1M doubles packed against decimal text; everywhere() on 4 daemons.
void typed() {
  constexpr int kCalls = 20000;
  Profile p;
  start(p, 2, true);
  {
    std::string raw = encode(std::vector<double>(16, 1.0));
    auto t0 = Clock::now();
    std::vector<Future> fs;
    for (int i = 0; i < kCalls; ++i) fs.push_back(p.submit(Task::call("sum", raw)));
    for (auto& f : fs)
      if (f.wait().value != "16") std::exit(1);
    report("typed.raw_calls.d2", kCalls / (us_since(t0) / 1e6), "tasks/s");
  }
  {
    std::vector<std::vector<double>> inputs(kCalls, std::vector<double>(16, 1.0));
    auto t0 = Clock::now();
    auto sums = map(p, "sum", inputs).flat<double>();
    if (!sums || sums->back() != 16) std::exit(1);
    report("typed.map_flat.d2", kCalls / (us_since(t0) / 1e6), "tasks/s");
  }
  {
    std::vector<double> v(1000000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 1.0 / static_cast<double>(i + 1);
    auto t0 = Clock::now();
    if (decode<std::vector<double>>(encode(v)) != v) std::exit(1);
    report("codec.vector_1M.packed", us_since(t0) / 1000, "ms");
    t0 = Clock::now();
    std::string text;
    for (double x : v) text += encode(x) + " ";
    std::vector<double> back;
    for (std::size_t at = 0, sp; (sp = text.find(' ', at)) != std::string::npos; at = sp + 1)
      back.push_back(decode<double>(std::string_view(text).substr(at, sp - at)));
    if (back != v) std::exit(1);
    report("codec.vector_1M.text", us_since(t0) / 1000, "ms");
  }
  Profile four;
  start(four, 4, true);
  std::vector<double> v;
  for (int i = 0; i < 50; ++i) {
    auto t0 = Clock::now();
    if (!four.everywhere(Task::call("noop")).collect()) std::exit(1);
    v.push_back(us_since(t0));
  }
  report("everywhere.call.d4.median", percentile(v, 0.5), "us");
}

// What /proc says of process `pid`: resident and peak resident memory in bytes, and CPU seconds
// (user + system).
struct ProcessUse {
  double rss = 0, peak = 0, cpu = 0;
};
ProcessUse process_use(pid_t pid) {
  ProcessUse u;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss = std::stod(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) u.peak = std::stod(line.substr(6)) * 1024;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int k = 3; k <= 15 && fields >> field; ++k)
    if (k == 14 || k == 15) ticks += std::stod(field);  // utime, stime
  u.cpu = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  return u;
}

// `mirai dispatcher` in a process of its own; its control URL.
pid_t start_dispatcher(const std::string& mirai, const std::string& tag, std::string& control,
                       const std::string& heartbeat = "5s") {
  control = ipc_url(tag.c_str());
  std::string url_file = "/tmp/mirai-bench-" + std::to_string(getpid()) + "-" + tag + ".urls";
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(mirai.c_str(), mirai.c_str(), "dispatcher", "--control", control.c_str(), "--url-file",
          url_file.c_str(), "--heartbeat", heartbeat.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && access(url_file.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  unlink(url_file.c_str());
  return pid;
}

// Queues `tasks` no-op calls at a dispatcher process with no daemon, then connects `daemons`
// local daemons and waits until every task is answered. Reports under "load.d<daemons>.".
void load_run(const std::string& mirai, int tasks, int daemons) {
  std::string control;
  pid_t dispatcher = start_dispatcher(mirai, "load" + std::to_string(daemons), control);
  std::string name = "load.d" + std::to_string(daemons) + ".";
  auto out = [&](const std::string& what, double value, const char* unit) {
    report((name + what).c_str(), value, unit);
  };
  {
    Profile client;
    DaemonsConfig c;
    c.dispatcher_url = control;
    must(client.set_daemons(c));
    ProcessUse idle = process_use(dispatcher);
    std::vector<Future> fs;
    fs.reserve(static_cast<std::size_t>(tasks));
    auto t0 = Clock::now();
    for (int i = 0; i < tasks; ++i) fs.push_back(client.submit(Task::call("noop")));
    while (client.info().awaiting < static_cast<std::uint64_t>(tasks))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    out("queue", tasks / (us_since(t0) / 1e6), "tasks/s");
    ProcessUse queued = process_use(dispatcher);
    out("dispatcher.rss_queued", queued.rss / 1048576, "MiB");
    // Beyond the encoded task, as `memory` counts (its frame: 26 bytes for a no-op call).
    out("dispatcher.bytes_per_queued_task", (queued.rss - idle.rss) / tasks - kNoopFrameBytes,
        "bytes");

    Profile workers;
    DaemonsConfig w;
    w.dispatcher_url = control;
    w.n = daemons;
    auto t1 = Clock::now();
    must(workers.set_daemons(w));
    out("connect", us_since(t1) / 1000, "ms");
    // From here on: the tasks not answered while the daemons were connecting.
    ProcessUse connected = process_use(dispatcher);
    auto t2 = Clock::now();
    double left = static_cast<double>(tasks - client.info().completed);
    for (auto& f : fs) f.wait();
    double secs = us_since(t2) / 1e6;
    ProcessUse done = process_use(dispatcher);
    out("drain", left / secs, "tasks/s");
    out("dispatcher.cpu_per_task", (done.cpu - connected.cpu) * 1e6 / left, "us");
    out("dispatcher.cpu_share", (done.cpu - connected.cpu) / secs * 100, "%");
    out("dispatcher.rss_peak", done.peak / 1048576, "MiB");
  }
  kill(dispatcher, SIGTERM);
  waitpid(dispatcher, nullptr, 0);
}

// A dispatcher process with `daemons` idle daemons connected, heartbeats every `heartbeat` ("0":
// none): the CPU it spends per second of idleness. Reports heartbeat.<name>.idle_cpu.
void idle_cpu(const std::string& mirai, int daemons, const std::string& heartbeat,
              const std::string& name) {
  std::string control;
  pid_t dispatcher = start_dispatcher(mirai, "hb" + name, control, heartbeat);
  {
    Profile workers;
    DaemonsConfig w;
    w.dispatcher_url = control;
    w.n = daemons;
    must(workers.set_daemons(w));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the connections settle
    ProcessUse before = process_use(dispatcher);
    auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(12));
    ProcessUse after = process_use(dispatcher);
    double secs = us_since(t0) / 1e6;
    report(("heartbeat." + name + ".d" + std::to_string(daemons) + ".idle_cpu").c_str(),
           (after.cpu - before.cpu) * 1e3 / secs, "ms/s");
  }
  kill(dispatcher, SIGTERM);
  waitpid(dispatcher, nullptr, 0);
}

void heartbeat(const std::string& mirai, int daemons) {
  idle_cpu(mirai, daemons, "5s", "on");
  idle_cpu(mirai, daemons, "0", "off");
  // The round trip, heartbeats on and off, interleaved in rounds so that noise hits both.
  std::vector<double> on, off;
  Profile with, without;
  for (auto [p, hb] : {std::pair<Profile*, int>{&with, 5000}, {&without, 0}}) {
    DaemonsConfig c;
    c.n = 1;
    c.heartbeat = std::chrono::milliseconds(hb);
    must(p->set_daemons(c));
  }
  for (int round = 0; round < 5; ++round) {
    auto a = round_trips(with, 4000), b = round_trips(without, 4000);
    on.insert(on.end(), a.begin(), a.end());
    off.insert(off.end(), b.begin(), b.end());
  }
  report("heartbeat.on.latency.median", percentile(on, 0.5), "us");
  report("heartbeat.off.latency.median", percentile(off, 0.5), "us");
}

// A `mirai dispatcher` process with `daemons` local daemons connected first (timed, with nothing
// queued; and the dispatcher's memory then), then `tasks` no-op calls from a client through it:
// the rate and the dispatcher's CPU per task. Reports under "scale.d<daemons>.".
void scale_run(const std::string& mirai, int tasks, int daemons) {
  std::string control;
  pid_t dispatcher = start_dispatcher(mirai, "scale" + std::to_string(daemons), control);
  std::string name = "scale.d" + std::to_string(daemons) + ".";
  auto out = [&](const std::string& what, double value, const char* unit) {
    report((name + what).c_str(), value, unit);
  };
  {
    Profile workers;
    DaemonsConfig w;
    w.dispatcher_url = control;
    w.n = daemons;
    auto t0 = Clock::now();
    must(workers.set_daemons(w));
    out("connect", us_since(t0) / 1000, "ms");
    Profile client;
    DaemonsConfig c;
    c.dispatcher_url = control;
    must(client.set_daemons(c));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the connections settle
    std::vector<Future> fs;
    fs.reserve(static_cast<std::size_t>(tasks));
    ProcessUse before = process_use(dispatcher);
    // What the connected, idle daemons cost the dispatcher (its buffers, its slots).
    out("dispatcher.rss_connected", before.rss / 1048576, "MiB");
    auto t1 = Clock::now();
    for (int i = 0; i < tasks; ++i) fs.push_back(client.submit(Task::call("noop")));
    for (auto& f : fs) f.wait();
    double secs = us_since(t1) / 1e6;
    ProcessUse after = process_use(dispatcher);
    out("rate", tasks / secs, "tasks/s");
    out("dispatcher.cpu_per_task", (after.cpu - before.cpu) * 1e6 / tasks, "us");
  }
  kill(dispatcher, SIGTERM);
  waitpid(dispatcher, nullptr, 0);
}

void load(const std::string& mirai, int tasks, int daemons) {
  load_run(mirai, tasks, 2);
  load_run(mirai, tasks, daemons);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "floors")
    floors();
  else if (mode == "latency")
    latency();
  else if (mode == "throughput")
    throughput();
  else if (mode == "memory")
    memory();
  else if (mode == "startup")
    startup();
  else if (mode == "payload")
    payload();
  else if (mode == "tls")
    tls();
  else if (mode == "typed")
    typed();
  else if (mode == "transports")
    transports();
  else if (mode == "load" && argc > 2)
    load(argv[2], argc > 3 ? std::atoi(argv[3]) : 1000000, argc > 4 ? std::atoi(argv[4]) : 200);
  else if (mode == "scale" && argc > 2)
    for (int i = 4; i < std::max(argc, 5); ++i)
      scale_run(argv[2], argc > 3 ? std::atoi(argv[3]) : 200000, argc > i ? std::atoi(argv[i]) : 4);
  else if (mode == "aead")
    aead();
  else if (mode == "seal")
    seal();
  else if (mode == "heartbeat" && argc > 2)
    heartbeat(argv[2], argc > 3 ? std::atoi(argv[3]) : 200);
  else if (mode == "shell")
    shell(argc > 2 ? std::atoi(argv[2]) : 2000);
  else {
    std::fprintf(
        stderr,
        "usage: mirai_bench floors|latency|throughput|memory|startup|payload|tls|typed|transports|"
        "shell N|"
        "load MIRAI [TASKS [DAEMONS]]|scale MIRAI [TASKS [DAEMONS...]]|heartbeat MIRAI "
        "[DAEMONS]|aead|seal\n");
    return 2;
  }
  return 0;
}
