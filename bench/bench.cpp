// Benchmarks. Each mode prints `name value unit` lines; bench/run runs them all side by side.
//   mirai_bench floors       plain pipe and bare NNG req/rep round trips (this machine's floor)
//   mirai_bench latency      no-op call round trip through the dispatcher, and direct
//   mirai_bench throughput   100,000 no-op calls submitted at once, 1 and 2 daemons
//   mirai_bench memory       host memory per queued task (100,000 queued)
//   mirai_bench startup      until 2 local daemons are connected
//   mirai_bench payload      a 100 MB round trip
//   mirai_bench transports   per transport (ipc, tcp, tls+tcp, ws): the no-op round trip, and
//                            4,000 tasks of ~0.1 ms (`sleep 0ms`) and 20,000 no-ops on 1 and 4
//                            daemons
//   mirai_bench shell N      N `true` commands through 2 daemons (library)
//   mirai_bench typed        map() of typed calls against raw ones; packed against text vectors;
//                            everywhere() on 4 daemons
//   mirai_bench aead         AES-256-GCM against ChaCha20-Poly1305, in Mbed TLS 2.28 and in
//                            OpenSSL 3: sealing and opening a 64-byte and a 1 MiB frame (the
//                            choice for sealing every frame on plain tcp)
//   mirai_bench seal         connections over tcp on loopback, sealed against plain, and over
//                            a unix socket: the round trip of a 64-byte and of a 1 MiB frame
//                            (what sealing adds to a tcp round trip, and what tcp itself does)
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
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <openssl/evp.h>

#include "core/seal.hpp"
#include "core/transport.hpp"
#include "mirai/mirai.hpp"

using namespace mirai;
using Clock = std::chrono::steady_clock;

namespace {

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

void start(Profile& p, int n, bool dispatcher, const std::string& url = {}) {
  DaemonsConfig c;
  c.n = n;
  c.dispatcher = dispatcher;
  c.url = url;
  Status s = p.set_daemons(c);
  if (!s) {
    std::fprintf(stderr, "bench: %s\n", s.message().c_str());
    std::exit(1);
  }
}

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
  // The payload is the encoded task: type byte, id, kind, timeout, name and payload strings.
  double payload = 1 + 8 + 1 + 4 + 4 + 4 + 4;
  report("memory.per_queued_task", static_cast<double>(after - before) / kTasks - payload, "bytes");
}

void startup() {
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) {
    Profile p;
    auto t0 = Clock::now();
    start(p, 2, true);
    v.push_back(us_since(t0) / 1000);
  }
  report("startup.local.d2", percentile(v, 0.5), "ms");
}

void payload() {
  Profile p;
  start(p, 1, true, ipc_url("payload"));
  constexpr std::size_t kBytes = 100 * 1000 * 1000;
  const Task task = Task::call("echo", std::string(kBytes, 'p'));
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) {
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

// Every transport side by side: the no-op round trip, and the rate of 4,000 no-op tasks and of
// 4,000 tasks of about 0.1 ms (the `sleep` function's own wait) on 1 and 4 daemons.
void transports() {
  // No-op rows run long enough (20,000 tasks) to be more than their ramp-up.
  constexpr int kShortTasks = 4000, kNoopTasks = 20000;
  const std::vector<std::pair<std::string, std::string>> urls = {{"ipc", ipc_url("transports")},
                                                                 {"tcp", "tcp://127.0.0.1:0"},
                                                                 {"tls", "tls+tcp://127.0.0.1:0"},
                                                                 {"ws", "ws://127.0.0.1:0/mirai"}};
  {
    // The round trips: a profile on each transport at once, taken in turns, so that each sees
    // the same machine (measured one after the other, drift alone moved ratios by 10 %).
    std::vector<std::unique_ptr<Profile>> ps;
    for (const auto& [name, url] : urls) {
      ps.push_back(std::make_unique<Profile>());
      start(*ps.back(), 1, true, url);
      for (int i = 0; i < 1000; ++i) ps.back()->submit(Task::call("noop")).wait();
    }
    std::vector<std::vector<double>> us(ps.size());
    for (int i = 0; i < 5000; ++i)
      for (std::size_t k = 0; k < ps.size(); ++k) {
        auto t0 = Clock::now();
        ps[k]->submit(Task::call("noop")).wait();
        us[k].push_back(us_since(t0));
      }
    for (std::size_t k = 0; k < ps.size(); ++k)
      report(("transport." + urls[k].first + ".latency.median").c_str(), percentile(us[k], 0.5),
             "us");
  }
  // The task rates: three rounds, each over every transport in turn; the median of the three.
  std::map<std::string, std::vector<double>> rates;
  std::vector<std::string> order;
  for (int round = 0; round < 3; ++round)
    for (const auto& [name, url] : urls)
      for (int n : {1, 4}) {
        Profile p;
        start(p, n, true, url);
        for (const auto& [kind, payload] :
             {std::pair<std::string, std::string>{"noop", ""}, {"short", "0ms"}}) {
          const int tasks = kind == "noop" ? kNoopTasks : kShortTasks;
          std::vector<Future> fs;
          fs.reserve(tasks);
          auto t0 = Clock::now();
          for (int i = 0; i < tasks; ++i)
            fs.push_back(
                p.submit(kind == "noop" ? Task::call("noop") : Task::call("sleep", payload)));
          for (auto& f : fs)
            if (!f.wait().ok()) std::exit(1);
          std::string row = "transport." + name + "." + kind + ".d" + std::to_string(n);
          if (round == 0) order.push_back(row);
          rates[row].push_back(tasks / (us_since(t0) / 1e6));
        }
      }
  for (const auto& row : order) report(row.c_str(), percentile(rates[row], 0.5), "tasks/s");
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
    if (Status st = client.set_daemons(c); !st) {
      std::fprintf(stderr, "bench: %s\n", st.message().c_str());
      std::exit(1);
    }
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
    out("dispatcher.bytes_per_queued_task", (queued.rss - idle.rss) / tasks, "bytes");

    Profile workers;
    DaemonsConfig w;
    w.dispatcher_url = control;
    w.n = daemons;
    auto t1 = Clock::now();
    if (Status st = workers.set_daemons(w); !st) {
      std::fprintf(stderr, "bench: %s\n", st.message().c_str());
      std::exit(1);
    }
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
    if (Status st = workers.set_daemons(w); !st) {
      std::fprintf(stderr, "bench: %s\n", st.message().c_str());
      std::exit(1);
    }
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
    if (Status st = p->set_daemons(c); !st) {
      std::fprintf(stderr, "bench: %s\n", st.message().c_str());
      std::exit(1);
    }
  }
  for (int round = 0; round < 5; ++round) {
    auto a = round_trips(with, 4000), b = round_trips(without, 4000);
    on.insert(on.end(), a.begin(), a.end());
    off.insert(off.end(), b.begin(), b.end());
  }
  report("heartbeat.on.latency.median", percentile(on, 0.5), "us");
  report("heartbeat.off.latency.median", percentile(off, 0.5), "us");
}

// Seals (encrypts and tags) and opens (checks and decrypts) a frame of `bytes` with each AEAD
// that Mbed TLS 2.28 and OpenSSL 3 offer, a 96-bit counter nonce, 4 bytes of associated data
// and a 16-byte tag, as the per-frame layer does: the measurement it chose by.
void aead() {
  unsigned char key[32] = {1}, tag[16], aad[4] = {1, 2, 3, 4};
  unsigned char nonce[12] = {0};
  for (std::size_t bytes : {std::size_t(64), std::size_t(1) << 20}) {
    std::vector<unsigned char> in(bytes, 'x'), out(bytes), back(bytes);
    const int rounds = bytes == 64 ? 200000 : 200;
    const std::string size = bytes == 64 ? "64B" : "1MiB";
    {
      mbedtls_gcm_context gcm;
      mbedtls_gcm_init(&gcm);
      mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, bytes, nonce, sizeof nonce, aad,
                                  sizeof aad, in.data(), out.data(), sizeof tag, tag);
        if (mbedtls_gcm_auth_decrypt(&gcm, bytes, nonce, sizeof nonce, aad, sizeof aad, tag,
                                     sizeof tag, out.data(), back.data()) != 0)
          std::exit(1);
      }
      report(("aead.mbedtls.aes256gcm." + size + ".seal_open").c_str(), us_since(t0) / rounds,
             "us");
      mbedtls_gcm_free(&gcm);
    }
    {
      mbedtls_chachapoly_context cp;
      mbedtls_chachapoly_init(&cp);
      mbedtls_chachapoly_setkey(&cp, key);
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        mbedtls_chachapoly_encrypt_and_tag(&cp, bytes, nonce, aad, sizeof aad, in.data(),
                                           out.data(), tag);
        if (mbedtls_chachapoly_auth_decrypt(&cp, bytes, nonce, aad, sizeof aad, tag, out.data(),
                                            back.data()) != 0)
          std::exit(1);
      }
      report(("aead.mbedtls.chacha20poly1305." + size + ".seal_open").c_str(),
             us_since(t0) / rounds, "us");
      mbedtls_chachapoly_free(&cp);
    }
    for (auto [name, cipher] : {std::pair{"aes256gcm", EVP_aes_256_gcm()},
                                std::pair{"chacha20poly1305", EVP_chacha20_poly1305()}}) {
      EVP_CIPHER_CTX* e = EVP_CIPHER_CTX_new();
      EVP_CIPHER_CTX* d = EVP_CIPHER_CTX_new();
      EVP_EncryptInit_ex(e, cipher, nullptr, key, nullptr);
      EVP_DecryptInit_ex(d, cipher, nullptr, key, nullptr);
      const int n = static_cast<int>(bytes);
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        int len = 0;
        EVP_EncryptInit_ex(e, nullptr, nullptr, nullptr, nonce);
        EVP_EncryptUpdate(e, nullptr, &len, aad, sizeof aad);
        EVP_EncryptUpdate(e, out.data(), &len, in.data(), n);
        EVP_EncryptFinal_ex(e, out.data() + len, &len);
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, sizeof tag, tag);
        EVP_DecryptInit_ex(d, nullptr, nullptr, nullptr, nonce);
        EVP_DecryptUpdate(d, nullptr, &len, aad, sizeof aad);
        EVP_DecryptUpdate(d, back.data(), &len, out.data(), n);
        EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, sizeof tag, tag);
        if (EVP_DecryptFinal_ex(d, back.data() + len, &len) != 1) std::exit(1);
      }
      report(("aead.openssl." + std::string(name) + "." + size + ".seal_open").c_str(),
             us_since(t0) / rounds, "us");
      EVP_CIPHER_CTX_free(e);
      EVP_CIPHER_CTX_free(d);
    }
  }
}

// A pair of Connections over tcp on loopback, one echoing what the other sends; sealed, the
// pair switches to sealed frames as a daemon and its dispatcher do.
class EchoPair {
 public:
  explicit EchoPair(bool sealed, const std::string& url = "tcp://127.0.0.1:0") {
    const SessionKeys keys =
        derive_session_keys(std::string(64, 's'), std::string(32, 'd'), std::string(32, 'D'));
    auto l = Listener::open(url);
    if (!l) std::exit(1);
    listener_ = std::move(*l);
    listener_->start([this, sealed, keys](std::shared_ptr<Connection> c) {
      std::lock_guard<std::mutex> lock(mu_);
      accepted_ = c;
      Connection* raw = c.get();
      c->start({[raw, sealed, keys](std::string f) {
                  if (f == "proof" && sealed) raw->seal(keys.to_daemon, keys.to_dispatcher);
                  raw->send(std::move(f));  // echoes everything
                },
                [](int) {}},
               UINT32_MAX);
    });
    auto conn = dial(listener_->bound_url(), std::chrono::seconds(5));
    if (!conn) std::exit(1);
    conn_ = *conn;
    // On the echoed "hello" (in its read handler) the dialer sends its last plain frame,
    // "proof", and seals; the other side seals on reading "proof", so the echo of "proof" is
    // the first sealed frame.
    Connection* raw = conn_.get();
    conn_->start({[this, raw, sealed, keys](std::string f) {
                    if (f == "hello" && sealed) {
                      raw->send("proof");
                      raw->seal(keys.to_dispatcher, keys.to_daemon);
                    }
                    std::lock_guard<std::mutex> lock(mu_);
                    ++replies_;
                    cv_.notify_all();
                  },
                  [](int) {}},
                 UINT32_MAX);
    round_trip("hello", sealed ? 2 : 1);
  }
  ~EchoPair() {
    conn_->shutdown();
    listener_->close();
    std::lock_guard<std::mutex> lock(mu_);
    if (accepted_) accepted_->shutdown();
  }
  // Sends `frame` and waits for `answers` frames back; returns the time taken in µs.
  double round_trip(std::string frame, std::size_t answers = 1) {
    auto t0 = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    std::size_t want = replies_ + answers;
    lock.unlock();
    conn_->send(std::move(frame));
    lock.lock();
    cv_.wait(lock, [&] { return replies_ >= want; });
    return us_since(t0);
  }

 private:
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<Connection> conn_, accepted_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t replies_ = 0;
};

// Round trips of one frame over tcp on loopback, plain and sealed, and over a unix socket,
// taken in turns so that all see the same machine: the cost of sealing on its own, and of tcp
// against ipc, apart from tasks and the dispatcher.
void seal() {
  EchoPair plain(false), sealed(true), local(false, local_url());
  for (std::size_t bytes : {std::size_t(64), std::size_t(1) << 20}) {
    const int rounds = bytes == 64 ? 20000 : 200;
    const std::string frame(bytes, 'x');
    for (int i = 0; i < rounds / 10; ++i) plain.round_trip(frame), sealed.round_trip(frame);
    std::vector<double> p, s, l;
    p.reserve(rounds);
    s.reserve(rounds);
    l.reserve(rounds);
    for (int i = 0; i < rounds; ++i) {
      p.push_back(plain.round_trip(frame));
      s.push_back(sealed.round_trip(frame));
      l.push_back(local.round_trip(frame));
    }
    const std::string size = bytes == 64 ? "64B" : "1MiB";
    report(("seal.tcp.plain." + size + ".rtt.median").c_str(), percentile(p, 0.5), "us");
    report(("seal.tcp.sealed." + size + ".rtt.median").c_str(), percentile(s, 0.5), "us");
    report(("seal.ipc.plain." + size + ".rtt.median").c_str(), percentile(l, 0.5), "us");
  }
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
        "load MIRAI [TASKS [DAEMONS]]|heartbeat MIRAI [DAEMONS]|aead|seal\n");
    return 2;
  }
  return 0;
}
