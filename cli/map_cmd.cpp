// mirai map [options] CMD ARGS ::: A B C, with GNU parallel's grammar (cli/parallel_args.hpp):
// runs CMD once per argument on the pool's daemons and prints each job's output as it ends (-k:
// in input order), with parallel's --joblog, --resume, --results, --halt, --retries, --tag and
// exit status.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "cli/joblog.hpp"
#include "cli/map_output.hpp"
#include "cli/map_rules.hpp"
#include "cli/parallel_args.hpp"
#include "cli/pool.hpp"
#include "cli/report.hpp"
#include "client/progress.hpp"
#include "mirai/duration.hpp"

namespace mirai::cli {
namespace {

using nlohmann::json;

struct Job {
  Task task;
  std::string label;      // the argument, or the task spec's "id"
  json id;                // --jsonl: echoed back when given
  std::string profile;    // --jsonl: the profile that runs it; "": the command's
  std::uint64_t seq = 0;  // {#}: 1-based in input order (a resumed run skips some)
  std::string command;    // the shell line, as --dry-run and the joblog show it
  parallel::Job args;     // its records, for --tag, --tagstring and --results
};

// How deeply arrays and objects nest in the JSON text `line` (strings skipped).
int nesting(const std::string& line) {
  int depth = 0, most = 0;
  bool in_string = false, escaped = false;
  for (char c : line) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      most = std::max(most, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return most;
}

// Deeper lines are refused before they are parsed: a value nested 100,000 deep would exhaust
// the stack of the code that copies and prints it.
constexpr int kMaxNesting = 64;

// One --jsonl line: {"argv": [...]} | {"sh": "..."} | {"call": "name", "payload": "..."},
// with optional "env", "cwd", "stdin", "timeout", "expected", "profile" and "id".
Expected<Job> job_from_json(const std::string& line) {
  if (nesting(line) > kMaxNesting)
    return Status::error("it nests arrays and objects more than " + std::to_string(kMaxNesting) +
                         " deep");
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::error("not a JSON object");
  Job job;
  auto str = [&](const char* key) -> Expected<std::string> {
    if (!j.contains(key)) return std::string();
    if (!j[key].is_string()) return Status::error(std::string("\"") + key + "\" must be a string");
    return j[key].get<std::string>();
  };
  int kinds = j.contains("argv") + j.contains("sh") + j.contains("call");
  if (kinds != 1) return Status::error("give exactly one of \"argv\", \"sh\" or \"call\"");
  if (j.contains("call")) {
    auto name = str("call");
    auto payload = str("payload");
    if (!name) return name.status();
    if (!payload) return payload.status();
    job.task = Task::call(*name, *payload);
  } else {
    ShellTask sh;
    if (j.contains("argv")) {
      if (!j["argv"].is_array() || j["argv"].empty())
        return Status::error("\"argv\" must be a non-empty array of strings");
      for (const auto& a : j["argv"]) {
        if (!a.is_string()) return Status::error("\"argv\" must be a non-empty array of strings");
        sh.argv.push_back(a.get<std::string>());
      }
    } else {
      auto script = str("sh");
      if (!script) return script.status();
      sh.script = *script;
    }
    if (j.contains("env")) {
      if (!j["env"].is_object()) return Status::error("\"env\" must be an object of strings");
      for (const auto& [k, v] : j["env"].items()) {
        if (!v.is_string()) return Status::error("\"env\" must be an object of strings");
        sh.env[k] = v.get<std::string>();
      }
    }
    auto cwd = str("cwd");
    auto input = str("stdin");
    if (!cwd) return cwd.status();
    if (!input) return input.status();
    sh.cwd = *cwd;
    sh.stdin_data = *input;
    job.task.body = std::move(sh);
  }
  for (auto [key, field] :
       {std::pair{"timeout", &job.task.timeout}, std::pair{"expected", &job.task.expected}}) {
    auto text = str(key);
    if (!text) return text.status();
    if (text->empty()) continue;
    auto d = parse_duration(*text);
    if (!d) return Status::error(std::string("\"") + key + "\": " + d.message());
    *field = *d;
  }
  auto profile = str("profile");
  if (!profile) return profile.status();
  job.profile = *profile;
  if (j.contains("id")) {
    job.id = j["id"];
    job.label = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
  }
  return job;
}

bool read_lines(const std::string& path, std::vector<std::string>& lines) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) return false;
    in = &file;
  }
  for (std::string line; std::getline(*in, line);) lines.push_back(line);
  return true;
}

constexpr int kLaterSetupFailures = 3;

// --everywhere: the script once on every daemon the pool starts (all of them: a launched
// profile's daemons are waited for), before any task, and first on every daemon that connects
// later (one launched to scale up or to replace another). 0 when it succeeded everywhere.
int run_everywhere(Pool& pool, const std::string& script) {
  // Daemons launched to replace one whose setup failed would fail it too: after a few in a row
  // the run ends instead of launching forever.
  auto failures = std::make_shared<std::atomic<int>>(0);
  auto later = [&pool, failures](const Result& r) {
    // A daemon that died or was lost meanwhile is not the script's fault.
    if (r.cause == Cause::kCrashed || r.cause == Cause::kLost) return;
    if (r.ok()) {
      failures->store(0);
      return;
    }
    std::string why = "--everywhere failed on a daemon that connected later: " + r.describe();
    std::cerr << r.stderr_output << "mirai map: " << why << "; it takes no task\n";
    if (failures->fetch_add(1) + 1 == kLaterSetupFailures)
      pool.fail(why + " (on " + std::to_string(kLaterSetupFailures) + " daemons in a row)");
  };
  Map m =
      pool.profile().everywhere(Task::sh(script), static_cast<std::size_t>(pool.daemons()), later);
  int code = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const Result& r = m[i].wait();
    std::cerr << r.stderr_output;
    if (r.ok()) continue;
    if (std::string why = pool.failure(); !why.empty()) {
      std::cerr << "mirai map: " << why << "\n";
      return kExitCannotRun;
    }
    std::cerr << "mirai map: --everywhere failed on a daemon (" << i + 1 << " of " << m.size()
              << "): " << r.describe() << "\n";
    code = 1;
  }
  if (code != 0) std::cerr << "mirai map: no task was run\n";
  return code;
}

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Results as their tasks resolve, in the order they do (filled on network threads).
struct Arrivals {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::size_t> done;
};

}  // namespace

int map_main(const Args& all) {
  PoolOptions pool;
  std::vector<std::string> setup, arg_files;
  std::string jobs_text, colsep, tagstring, joblog_path, results_dir, halt_text, timeout_text;
  int max_args = 1, retries = 1;
  po::options_description options(
      "mirai map [options] CMD [ARGS] ::: A B C   (GNU parallel's syntax; see `man mirai`)");
  options.add_options()("help,h", "show this help")(
      "jobs,j", po::value(&jobs_text)->value_name("N"),
      "daemons to start: N, +N or -N cores, N% of the cores, 0 for one a task up to 256 "
      "(default: the profile's workers, else the number of cores)")(
      "max-args,n", po::value(&max_args)->value_name("N"), "up to N arguments a task")(
      ",X", "as many arguments a task as fit, the word around {} repeated for each")(
      ",m", "as many arguments a task as fit, side by side")(
      "keep-order,k", "print the tasks' output in input order (default: as each ends)")(
      "arg-file,a", po::value(&arg_files)->value_name("FILE"),
      "read arguments from FILE, one a line (- for stdin; repeatable: their product)")(
      "null,0", "arguments end in NUL, not newline")(
      "colsep", po::value(&colsep)->value_name("REGEX"),
      "split each argument into columns {1} {2} ... at this regular expression")(
      "quote,q", "quote the command too: its words reach the program as they are, no shell")(
      "tag", "put the arguments and a tab before each line of output")(
      "tagstring", po::value(&tagstring)->value_name("STR"),
      "put STR (with replacement strings) and a tab before each line of output")(
      "dry-run", "print each command line, run nothing")(
      "joblog", po::value(&joblog_path)->value_name("FILE"),
      "log each finished task to FILE in parallel's columns (+FILE appends)")(
      "resume", "skip the tasks the --joblog already has")(
      "resume-failed", "skip the tasks the --joblog has as done; run those it has as failed")(
      "retry-failed", "run again the failed tasks of the --joblog, by their logged command")(
      "results", po::value(&results_dir)->value_name("DIR"),
      "save each task's stdout, stderr and seq under DIR/1/<arg 1>/2/<arg 2>/..., instead of "
      "printing them")(
      "halt", po::value(&halt_text)->value_name("RULE"),
      "stop early: now|soon,fail|success|done=N or =N% (now kills the running tasks, soon "
      "waits for them)")("stop-on-error", "the same as --halt now,fail=1")(
      "timeout", po::value(&timeout_text)->value_name("D"),
      "stop each task after this long (seconds, 1m30s, or N% of the median run time of the "
      "tasks that succeeded); it counts as failed")(
      "retries", po::value(&retries)->value_name("N"),
      "run a failing task up to N times in all; its last output is shown")(
      "expected", po::value<std::string>()->value_name("D"),
      "each task is expected to run this long: no daemon whose job ends sooner gets it")(
      "json", "print a JSON array of results instead of the tasks' output")(
      "jsonl", "read task specs as JSON lines (stdin or --arg-file); print results likewise")(
      "line-buffer", "print each task's output a whole line at a time as it comes")(
      "ungroup,u", "print each task's output as it comes, bytes as they are")(
      "bar", "show the progress bar even when stderr is not a terminal")(
      "progress", "the same as --bar")("eta", "the same as --bar")("no-progress",
                                                                   "never show a progress bar")(
      "everywhere,e", po::value(&setup),
      "run this shell script once on every daemon before any task (repeatable, in order); what "
      "it exports and the directory it ends in stay for the tasks");
  add_pool_options(options, pool, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), false);
  po::options_description hidden;
  hidden.add_options()("args-file", po::value(&arg_files), "");
  po::options_description parsed;
  parsed.add(options).add(hidden);
  auto [args, command] = split_options(all, parsed);
  po::variables_map vm;
  if (!parse("map", args, parsed, nullptr, vm)) return kExitMapUsage;
  if (vm.count("help")) {
    std::cout << options << "\n"
              << "Examples:\n"
                 "  mirai map -j 8 ./fit --seed {} ::: 1 2 3      three tasks on 8 daemons\n"
                 "  mirai map gzip -k {} ::: *.csv               {}: the argument, quoted\n"
                 "  mirai map 'sort {} | uniq -c > {.}.count' ::: *.txt   one string: a shell "
                 "line\n"
                 "  mirai map -p cluster echo {1}-{2} ::: a b ::: 1 2   on a profile's daemons\n"
                 "  seq 100 | mirai map --joblog log ./sim {}    arguments from stdin\n"
                 "Exit status: 0 all succeeded; 1-100 how many failed; 101 more; 255 bad usage; "
                 "125 no daemon could run the tasks.\n";
    return 0;
  }
  auto usage = [](const std::string& message) {
    usage_error("map", message);
    return kExitMapUsage;
  };
  std::chrono::milliseconds timeout{0};
  double timeout_percent = 0;  // --timeout N%: of the median run time of successful tasks
  if (!timeout_text.empty()) {
    auto t = parse_timeout(timeout_text, timeout_percent);
    if (!t) return usage(t.message());
    timeout = *t;
  }
  auto expected = duration_option(vm, "expected", "map");
  if (!expected) return kExitMapUsage;
  bool jsonl = vm.count("jsonl"), as_json = vm.count("json"), dry_run = vm.count("dry-run");
  bool keep_order = vm.count("keep-order") || jsonl || as_json;
  if (jsonl && as_json) return usage("--json and --jsonl exclude each other");
  const bool line_buffer = vm.count("line-buffer"), ungroup = vm.count("ungroup");
  if (line_buffer && ungroup) return usage("--line-buffer and --ungroup exclude each other");
  if ((line_buffer || ungroup) && (jsonl || as_json))
    return usage("--line-buffer and --ungroup print the output as it comes, not as JSON");
  bool want_bar = vm.count("bar") || vm.count("progress") || vm.count("eta");
  if (want_bar && vm.count("no-progress"))
    return usage("--bar (--progress, --eta) and --no-progress exclude each other");
  for (const auto& script : setup)
    if (script.find_first_not_of(" \t\n") == std::string::npos)
      return usage("--everywhere needs a shell script, not an empty one");
  if (vm.count("-X") && vm.count("-m")) return usage("-X and -m exclude each other");
  if (vm.count("max-args") && (vm.count("-X") || vm.count("-m")))
    return usage("-n and -X / -m exclude each other");
  if (max_args < 1) return usage("-n/--max-args must be at least 1");
  if (retries < 0 || retries > 256) return usage("--retries must be from 0 to 256");
  retries = std::max(retries, 1);
  Halt halt;
  if (!halt_text.empty() && vm.count("stop-on-error"))
    return usage("--halt and --stop-on-error exclude each other");
  if (vm.count("stop-on-error")) halt_text = "now,fail=1";
  if (!halt_text.empty()) {
    auto h = parse_halt(halt_text);
    if (!h) return usage(h.message());
    halt = *h;
  }
  int resumes = vm.count("resume") + vm.count("resume-failed") + vm.count("retry-failed");
  if (resumes > 1) return usage("--resume, --resume-failed and --retry-failed exclude each other");
  if (resumes && joblog_path.empty())
    return usage("--resume, --resume-failed and --retry-failed need --joblog FILE");
  const int cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));

  // Collect the jobs first: bad input stops everything before anything runs.
  std::vector<Job> jobs;
  const std::string shell = job_shell();
  if (jsonl) {
    if (!command.empty()) return usage("with --jsonl each line is a whole task; give no command");
    if (arg_files.size() > 1) return usage("--jsonl reads one file");
    std::vector<std::string> lines;
    std::string source = arg_files.empty() ? "-" : arg_files.front();
    if (!read_lines(source, lines)) return usage("cannot read '" + source + "'");
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
      auto job = job_from_json(lines[i]);
      if (!job)
        return usage((source == "-" ? "stdin" : source) + ":" + std::to_string(i + 1) + ": " +
                     job.message());
      if (job->task.timeout.count() == 0) job->task.timeout = timeout;
      if (job->task.expected.count() == 0) job->task.expected = *expected;
      job->seq = jobs.size() + 1;
      jobs.push_back(std::move(*job));
    }
  } else {
    std::map<std::uint64_t, LoggedJob> logged;
    if (resumes) {
      auto log = read_joblog(joblog_path);
      if (!log) return usage(log.message());
      logged = std::move(*log);
    }
    auto add = [&](std::uint64_t seq, std::string line, parallel::Job args, std::string label) {
      Job job{task_for(line, shell), std::move(label), {}, {}, seq,
              std::move(line),       std::move(args)};
      auto& env = std::get<ShellTask>(job.task.body).env;
      env["PARALLEL_SEQ"] = env["MIRAI_TASK_ID"] = std::to_string(seq);
      env["PARALLEL_PID"] = std::to_string(getpid());
      job.task.timeout = timeout;
      job.task.expected = *expected;
      jobs.push_back(std::move(job));
    };
    if (vm.count("retry-failed")) {
      // The log's commands, not the arguments: parallel reruns what it ran.
      for (const auto& [seq, entry] : logged)
        if (entry.failed()) add(seq, entry.command, parallel::Job{{{}}, seq, {}}, entry.command);
    } else {
      parallel::InputOptions input{arg_files, static_cast<bool>(vm.count("null")), colsep,
                                   &std::cin};
      auto line = parallel::read_command_line(command, input);
      if (!line) return usage(line.message());
      auto records = parallel::combine(line->sources, colsep);
      if (!records) return usage(records.message());
      auto multiple = vm.count("-X")   ? parallel::Multiple::kContext
                      : vm.count("-m") ? parallel::Multiple::kInline
                                       : parallel::Multiple::kNo;
      int slots = pool.n;
      if (!jobs_text.empty()) {
        auto j = parallel::parse_jobs(jobs_text, cores, one_a_task(records->size()));
        if (!j) return usage(j.message());
        slots = *j;
      }
      auto groups = parallel::group(std::move(*records), multiple, max_args, slots);
      auto tmpl = parallel::parse_template(line->command);
      parallel::ComposeOptions compose{multiple, static_cast<bool>(vm.count("quote"))};
      for (std::size_t k = 0; k < groups.size(); ++k) {
        std::uint64_t seq = k + 1;
        if (auto it = logged.find(seq);
            it != logged.end() && (vm.count("resume") || !it->second.failed()))
          continue;
        parallel::Job args{std::move(groups[k]), seq, "\"$PARALLEL_JOBSLOT\""};
        std::string label;
        for (const auto& record : args.records)
          for (const auto& v : record) label += (label.empty() ? "" : " ") + v;
        // A dry run shows {%} as the slot parallel would give; a real one leaves it to the daemon.
        if (dry_run)
          args.slot = std::to_string(k % static_cast<std::size_t>(std::max(slots, 1)) + 1);
        // No command: the arguments are the command lines (`mirai map ::: 'echo a' 'echo b'`).
        std::string text = line->command.empty() ? label : parallel::compose(tmpl, args, compose);
        if (dry_run) {
          std::cout << text << "\n";
          continue;
        }
        add(seq, std::move(text), std::move(args), std::move(label));
      }
      if (dry_run) return 0;
    }
  }
  if (!jobs_text.empty()) {
    auto j = parallel::parse_jobs(jobs_text, cores, one_a_task(jobs.size()));
    if (!j) return usage(j.message());
    pool.n = *j;
    pool.n_given = true;
  }
  std::optional<Joblog> joblog;
  if (!joblog_path.empty() && !jsonl) {
    auto log = Joblog::open(joblog_path, resumes > 0);
    if (!log) return usage(log.message());
    joblog.emplace(std::move(*log));
  }
  if (jobs.empty()) return 0;
  // --retries: the dispatcher runs a failing task again, on another daemon while there is one;
  // the attempts it makes for a dead daemon (--crash-retries) come out of the same count.
  if (retries > 1)
    for (auto& job : jobs) {
      job.task.retries = static_cast<std::uint8_t>(std::max(retries - 1, pool.retries.value_or(0)));
      job.task.retry_failures = true;
    }
  for (const auto& job : jobs)
    pool.longest_expected = std::max(pool.longest_expected, job.task.expected);
  for (const auto& job : jobs)
    if (!job.profile.empty() &&
        std::find(pool.also.begin(), pool.also.end(), job.profile) == pool.also.end())
      pool.also.push_back(job.profile);

  auto daemons = Pool::start("map", pool);
  if (!daemons) return kExitCannotRun;
  for (const auto& script : setup)
    if (int code = run_everywhere(*daemons, script); code != 0) return code;

  // With --halt no task may start after the rule is met, as with parallel's job slots: only as
  // many are handed out as there are daemons to run them (none waits at a daemon behind another,
  // to start before its result is seen). With --timeout N% each task's timeout is set when it
  // is handed out, from the run times known by then: two a daemon keep them busy.
  const std::size_t pool_daemons = static_cast<std::size_t>(std::max(daemons->daemons(), 1));
  const std::size_t window = halt.when != Halt::When::kNever && daemons->daemons() > 0
                                 ? pool_daemons
                             : timeout_percent > 0 ? 2 * pool_daemons
                                                   : jobs.size();
  std::vector<std::uint64_t> succeeded_us;  // sorted: the run times of the tasks that succeeded
  // --tag, --tagstring: what goes before each line of a task's output; "" for none.
  std::vector<std::string> tags(jobs.size());
  if (!tagstring.empty() || vm.count("tag")) {
    auto tmpl = parallel::parse_template({tagstring});
    for (std::size_t i = 0; i < jobs.size(); ++i)
      tags[i] =
          (tagstring.empty() ? jobs[i].label : parallel::expand_plain(tmpl, jobs[i].args)) + "\t";
  }
  // The output as it comes (--line-buffer, --ungroup): each task streams it to `live`.
  std::unique_ptr<LiveOutput> live;
  // --results saves the output instead of printing it (as parallel): nothing to stream then.
  if ((line_buffer || ungroup) && results_dir.empty()) {
    live = std::make_unique<LiveOutput>(tags, line_buffer, keep_order);
    for (std::size_t i = 0; i < jobs.size(); ++i)
      jobs[i].task.on_output = [out = live.get(), i](int stream, std::string_view bytes) {
        out->add(i, stream, bytes);
      };
  }
  auto arrivals = std::make_shared<Arrivals>();
  std::vector<Future> futures(jobs.size());
  std::size_t next = 0, in_flight = 0;
  auto submit = [&](std::size_t i) -> bool {
    if (timeout_percent > 0 && !succeeded_us.empty()) {
      double median_us = static_cast<double>(succeeded_us[succeeded_us.size() / 2]);
      jobs[i].task.timeout = std::chrono::milliseconds(
          std::max<long long>(1, std::llround(median_us * timeout_percent / 100 / 1000)));
    }
    auto f = daemons->submit(jobs[i].profile, jobs[i].task);
    if (!f) {
      std::cerr << "mirai map: " << f.message() << "\n";
      return false;
    }
    futures[i] = std::move(*f);
    ++in_flight;
    futures[i].then([arrivals, i](const Result&) {
      std::lock_guard<std::mutex> lock(arrivals->mutex);
      arrivals->done.push_back(i);
      arrivals->ready.notify_one();
    });
    return true;
  };
  bool halted = false;
  auto submit_more = [&] {
    while (!halted && next < jobs.size() && in_flight < window)
      if (!submit(next++)) return false;
    return true;
  };
  if (!submit_more()) return kExitCannotRun;

  Progress progress(jobs.size(), want_bar || (isatty(2) && !vm.count("no-progress")));
  std::size_t failed = 0, succeeded = 0, finished = 0;
  std::optional<int> halt_status;  // fail=1: the exit status of the task that halted the run
  std::vector<std::optional<Result>> held(keep_order ? jobs.size() : 0);
  std::size_t next_shown = 0;
  bool first_json = true;
  // A task that --halt now stopped: neither shown, logged nor counted, as parallel does.
  auto stopped_by_halt = [&](const Result& r) { return halted && r.cause == Cause::kCancelled; };
  auto show = [&](std::size_t i, const Result& r) {
    if (stopped_by_halt(r)) return;
    if (jsonl || as_json) {
      json j = result_json(r);
      j["index"] = i;
      if (jsonl && !jobs[i].id.is_null()) j["id"] = jobs[i].id;
      if (!jsonl) j["arg"] = jobs[i].label;
      std::cout << (as_json ? (first_json ? "\n" : ",\n") : "") << dump(j) << (jsonl ? "\n" : "");
      first_json = false;
    } else {
      if (live) live->finish(i);
      // With --results the output goes to its files only, as in parallel.
      if (results_dir.empty()) {
        std::cout << tagged(r.value, tags[i]);
        std::cout.flush();
        std::cerr << tagged(r.stderr_output, tags[i]);
      }
      if (!r.ok())
        std::cerr << "mirai map: task " << jobs[i].seq << " (" << jobs[i].label
                  << "): " << failure_text(r, jobs[i].task.timeout) << "\n";
    }
    std::cout.flush();
  };
  if (as_json) std::cout << "[";
  while (in_flight > 0) {
    std::size_t i;
    {
      std::unique_lock<std::mutex> lock(arrivals->mutex);
      while (arrivals->done.empty()) {
        if (progress.due()) {
          lock.unlock();
          progress.draw(daemons->completed());
          lock.lock();
          continue;
        }
        arrivals->ready.wait_for(lock, std::chrono::milliseconds(100));
      }
      i = arrivals->done.front();
      arrivals->done.pop_front();
    }
    --in_flight;
    Result r = futures[i].wait();
    if (!r.ok()) {
      if (std::string why = daemons->failure(); !why.empty()) {
        progress.clear();
        std::cerr << "mirai map: " << why << "\n";
        return kExitCannotRun;
      }
    }
    const bool ok = r.ok(), stopped = stopped_by_halt(r);
    if (!stopped) {
      ++finished;
      (ok ? succeeded : failed) += 1;
      if (ok && timeout_percent > 0)
        succeeded_us.insert(std::upper_bound(succeeded_us.begin(), succeeded_us.end(), r.wall_us),
                            r.wall_us);
    }
    progress.clear();
    if (joblog && !stopped) {
      auto [exitval, signal] = joblog_status(r);
      double runtime = static_cast<double>(r.wall_us) / 1e6;
      std::size_t received = r.value.size() + (live ? live->received(i) : 0);
      if (auto s = joblog->write(jobs[i].seq, epoch_seconds() - runtime, runtime, received, exitval,
                                 signal, jobs[i].command);
          !s) {
        std::cerr << "mirai map: " << s.message() << "\n";
        return kExitCannotRun;
      }
    }
    if (!results_dir.empty() && !jobs[i].args.records.empty()) {
      if (auto s = write_results(results_path(results_dir, jobs[i].args), jobs[i].seq, r); !s) {
        std::cerr << "mirai map: " << s.message() << "\n";
        return kExitCannotRun;
      }
    }
    if (keep_order) {
      held[i] = std::move(r);
      for (; next_shown < jobs.size() && held[next_shown]; ++next_shown) {
        show(next_shown, *held[next_shown]);
        held[next_shown].reset();
      }
      if (live) live->make_live(next_shown);
    } else {
      show(i, r);
    }
    if (halt.when != Halt::When::kNever && !halted) {
      std::size_t count = halt.why == Halt::Why::kFail      ? failed
                          : halt.why == Halt::Why::kSuccess ? succeeded
                                                            : finished;
      bool counted = halt.why == Halt::Why::kDone || (halt.why == Halt::Why::kFail) == !ok;
      bool met = halt.percent ? 100.0 * count >= halt.count * jobs.size() : count >= halt.count;
      if (counted && met) {
        halted = true;
        if (halt.why == Halt::Why::kFail && !halt.percent && halt.count == 1)
          halt_status = exit_status(futures[i].wait());
        std::cerr << "mirai map: halting (--halt " << halt_text << ") after task " << jobs[i].seq
                  << ": " << jobs[i].command << "\n";
        if (halt.when == Halt::When::kNow)
          for (auto& f : futures)
            if (f.valid()) f.stop();
      }
    }
    if (!submit_more()) return kExitCannotRun;
    if (progress.due()) progress.draw(daemons->completed());
  }
  for (; keep_order && next_shown < jobs.size(); ++next_shown)
    if (held[next_shown]) show(next_shown, *held[next_shown]);
  progress.clear();
  if (as_json) std::cout << "\n]\n";
  if (halted && halt.why == Halt::Why::kSuccess) return 0;
  if (halt_status) return *halt_status;
  if (failed > 0)
    std::cerr << "mirai map: " << failed << " of " << jobs.size() << " tasks failed\n";
  if (halt.percent && halt.why == Halt::Why::kFail)
    return static_cast<int>(std::ceil(100.0 * failed / jobs.size()));
  return static_cast<int>(std::min<std::size_t>(failed, kExitMostFailedCounted));
}

}  // namespace mirai::cli
