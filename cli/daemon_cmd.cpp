// mirai daemon URL [options]: dial a dispatcher and run its tasks until a limit or the end of
// the connection. Exit codes: 0 connection ended, 1 idletime, 2 walltime, 3 maxtasks;
// 64 bad usage, 69 the dispatcher could not be reached, 128+N stopped by signal N.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "core/auth.hpp"
#include "mirai/daemon.hpp"

namespace mirai::cli {
namespace {

void silence_output() {
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null < 0) return;
  dup2(null, 1);
  dup2(null, 2);
  close(null);
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The scheduler's job id and array index, when the daemon runs inside a job.
void detect_job(DaemonOptions& o) {
  // MIRAI_JOB_*: set by the ssh and local launchers.
  for (const char* id : {"MIRAI_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID", "JOB_ID",
                         "PBS_ARRAY_ID", "PBS_JOBID", "LSB_JOBID"})
    if (o.job_id.empty()) o.job_id = env(id);
  // A Torque subjob's PBS_JOBID is "12[3].server"; report its array "12[].server", as submitted.
  auto open = o.job_id.find('['), close = o.job_id.find(']');
  if (open != std::string::npos && close != std::string::npos && close > open + 1)
    o.job_id.erase(open + 1, close - open - 1);
  for (const char* idx : {"MIRAI_JOB_INDEX", "SLURM_ARRAY_TASK_ID", "SGE_TASK_ID",
                          "PBS_ARRAY_INDEX", "PBS_ARRAYID", "LSB_JOBINDEX"}) {
    std::string v = env(idx);
    if (o.array_index == 0 && !v.empty() && v.find_first_not_of("0123456789") == std::string::npos)
      o.array_index = static_cast<std::uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
  }
}

// Seconds since 1970 in an environment variable, when it holds one.
std::optional<std::chrono::system_clock::time_point> epoch_env(const char* name) {
  std::string v = env(name);
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(v)));
}

// When the scheduler ends this job: Slurm (23.02 and later) says so; else the job's time limit
// after the job script's start, or after now.
std::optional<std::chrono::system_clock::time_point> allocation_end(
    std::chrono::milliseconds limit) {
  if (auto end = epoch_env("SLURM_JOB_END_TIME")) return end;
  if (limit.count() <= 0) return std::nullopt;
  auto now = std::chrono::system_clock::now();
  auto start = epoch_env("MIRAI_JOB_START").value_or(now);
  return std::min(start, now) + limit;
}

}  // namespace

int daemon_main(const Args& args) {
  DaemonOptions o;
  po::options_description options("mirai daemon URL [options]");
  options.add_options()("help,h", "show this help")("url", po::value(&o.url), "dispatcher URL")(
      "asyncdial", po::bool_switch(&o.asyncdial), "keep retrying the first dial")(
      "autoexit", "exit when the connection ends (the default)")(
      "no-autoexit", "stay alive and dial again when the connection ends")(
      "idletime", po::value<std::string>(), "exit (code 1) after this long without a task")(
      "walltime", po::value<std::string>(), "exit (code 2) once this much time has passed")(
      "maxtasks", po::value(&o.maxtasks), "exit (code 3) after this many tasks")(
      "allocation", po::value<std::string>()->value_name("D"),
      "its job's time limit: the job ends D after $MIRAI_JOB_START (seconds since 1970, set "
      "by the job script), else after the daemon's start; $SLURM_JOB_END_TIME wins. The daemon "
      "takes no task that declares a longer expected duration than it has left")(
      "allocation-margin", po::value<std::string>()->value_name("D"),
      "stop taking tasks this long before the allocation ends (default: a twentieth of it, at "
      "most 1m), and exit (code 2)")(
      "output", "keep the daemon's stdout and stderr (default: discard them once connected)")(
      "dial-timeout", po::value<std::string>(), "give up a dial attempt after this long")(
      "join-timeout", po::value<std::string>()->value_name("D"),
      "keep trying to join for this long when the dispatcher refuses or cuts off the first "
      "attempts (a crowd of daemons joining at once; default: try once)")(
      "heartbeat", po::value<std::string>()->value_name("D"),
      "heartbeats with the dispatcher when the connection is quiet this long (default 5s; the "
      "dispatcher's, when shorter, wins; 0: none). A dispatcher silent for 3 intervals is "
      "lost: the running task is killed and the daemon exits (or dials again)")(
      "job-id", po::value(&o.job_id), "job id reported to status (default: from the scheduler)")(
      "tls-ca", po::value<std::string>()->value_name("FILE"),
      "for tls+tcp:// and wss://: the dispatcher's certificate, or the CA that signed it "
      "(default: the PEM text in $MIRAI_TLS_CA)")(
      "secret-file", po::value<std::string>()->value_name("FILE"),
      "the pool's secret, from a file only you can read (default: $MIRAI_SECRET)")(
      "tls-server-name", po::value(&o.tls_server_name)->value_name("NAME"),
      "the name the dispatcher's certificate must carry (default: $MIRAI_TLS_SERVER_NAME, else "
      "the URL's host)");
  po::positional_options_description positional;
  positional.add("url", 1);
  po::variables_map vm;
  if (!parse("daemon", args, options, &positional, vm)) return kExitDaemonUsage;
  if (vm.count("help")) {
    std::cout << options << "\n"
              << "Examples:\n"
                 "  mirai daemon tcp://10.0.0.1:5555 --secret-file s    dial a dispatcher with the "
                 "pool's secret\n"
                 "  mirai daemon abstract://pool --idletime 5m --maxtasks 100\n"
              << "Exit status: 0 the dispatcher ended the connection; 1 --idletime, 2 --walltime, "
                 "3 --maxtasks; 64 bad usage; 69 cannot reach or authenticate the dispatcher; "
                 "128+N signal N.\n";
    return 0;
  }
  if (o.url.empty()) return usage_error("daemon", "missing the dispatcher URL"), kExitDaemonUsage;
  if (vm.count("autoexit") && vm.count("no-autoexit"))
    return usage_error("daemon", "--autoexit and --no-autoexit contradict each other"),
           kExitDaemonUsage;
  o.autoexit = !vm.count("no-autoexit");
  auto idle = duration_option(vm, "idletime", "daemon");
  auto wall = duration_option(vm, "walltime", "daemon");
  auto dial_timeout = duration_option(vm, "dial-timeout", "daemon");
  auto allocation = duration_option(vm, "allocation", "daemon");
  auto margin = duration_option(vm, "allocation-margin", "daemon");
  auto heartbeat = heartbeat_option(vm, "daemon", o.heartbeat);
  auto join = duration_option(vm, "join-timeout", "daemon");
  if (!idle || !wall || !dial_timeout || !allocation || !margin || !heartbeat || !join)
    return kExitDaemonUsage;
  o.join_timeout = *join;
  o.heartbeat = *heartbeat;
  if (vm.count("allocation-margin")) o.allocation_margin = *margin;
  o.allocation_end = allocation_end(*allocation);
  o.idletime = *idle;
  o.walltime = *wall;
  if (dial_timeout->count() > 0) o.dial_timeout = *dial_timeout;
  if (vm.count("tls-ca")) {
    std::ifstream in(vm["tls-ca"].as<std::string>());
    std::stringstream pem;
    if (!(in && pem << in.rdbuf()))
      return usage_error("daemon", "cannot read --tls-ca " + vm["tls-ca"].as<std::string>()),
             kExitDaemonUsage;
    o.tls_ca_pem = pem.str();
  } else if (const char* env = std::getenv("MIRAI_TLS_CA")) {
    o.tls_ca_pem = env;
  }
  if (vm.count("secret-file")) {
    auto secret = auth::read_secret_file(vm["secret-file"].as<std::string>());
    if (!secret) return usage_error("daemon", secret.message()), kExitDaemonUsage;
    o.secret = *secret;
  }
  if (const char* env = std::getenv("MIRAI_TLS_SERVER_NAME"); env && o.tls_server_name.empty())
    o.tls_server_name = env;
  detect_job(o);
  if (!vm.count("output")) o.on_connected = silence_output;

  // SIGTERM (scancel, qdel, a walltime warning), SIGINT and SIGHUP stop the running task's
  // process group along with the daemon.
  SignalWatcher signals(stop_daemons);
  FunctionRegistry functions;
  add_builtin_functions(functions);
  auto code = run_daemon(o, functions);
  if (int sig = signals.caught()) return kExitSignalBase + sig;
  if (!code) {
    std::cerr << "mirai daemon: " << code.message() << "\n";
    return kExitUnavailable;
  }
  return *code;
}

}  // namespace mirai::cli
