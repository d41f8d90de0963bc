// mirai map [options] -- CMD ARGS ::: A B C
// Runs CMD once per argument ({} in CMD/ARGS is replaced by the argument; without {} the
// argument is appended) on local daemons and prints the results in input order.
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pool.hpp"
#include "cli/report.hpp"
#include "client/progress.hpp"
#include "mirai/duration.hpp"

namespace mirai::cli {
namespace {

using nlohmann::json;

struct Job {
  Task task;
  std::string label;    // the argument, or the task spec's "id"
  json id;              // --jsonl: echoed back when given
  std::string profile;  // --jsonl: the profile that runs it; "": the command's
};

std::vector<std::string> substitute(const Args& command, const std::string& arg) {
  bool placeholder = false;
  std::vector<std::string> out;
  for (const auto& word : command) {
    std::string w;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (word.compare(i, 2, "{}") == 0) {
        w += arg;
        ++i;
        placeholder = true;
      } else {
        w += word[i];
      }
    }
    out.push_back(std::move(w));
  }
  if (!placeholder) out.push_back(arg);
  return out;
}

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

}  // namespace

int map_main(const Args& all) {
  auto [args, command] = split_at_dashes(all);
  PoolOptions pool;
  std::string args_file;
  std::vector<std::string> setup;
  po::options_description options("mirai map [options] -- CMD ARGS ::: A B C");
  options.add_options()("help,h", "show this help")("timeout,t", po::value<std::string>(),
                                                    "stop each task after this long")(
      "expected", po::value<std::string>()->value_name("D"),
      "each task is expected to run this long: no daemon whose job ends sooner gets it")(
      "stop-on-error", "at the first failed task (in input order), stop the rest")(
      "json", "print a JSON array of results instead of the tasks' output")(
      "jsonl", "read task specs as JSON lines (stdin or --args-file); print results likewise")(
      "args-file,a", po::value(&args_file),
      "read arguments, one per line, from this file (- for "
      "stdin)")("progress", "show the progress bar even when stderr is not a terminal")(
      "no-progress", "never show a progress bar")(
      "everywhere,e", po::value(&setup),
      "run this shell script once on every daemon before any task (repeatable, in order); what "
      "it exports and the directory it ends in stay for the tasks");
  add_pool_options(options, pool, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  po::variables_map vm;
  if (!parse("map", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  auto timeout = duration_option(vm, "timeout", "map");
  auto expected = duration_option(vm, "expected", "map");
  if (!timeout || !expected) return kExitUsage;
  bool jsonl = vm.count("jsonl"), as_json = vm.count("json"),
       stop_on_error = vm.count("stop-on-error");
  if (jsonl && as_json) return usage_error("map", "--json and --jsonl exclude each other");
  if (vm.count("progress") && vm.count("no-progress"))
    return usage_error("map", "--progress and --no-progress exclude each other");
  for (const auto& script : setup)
    if (script.find_first_not_of(" \t\n") == std::string::npos)
      return usage_error("map", "--everywhere needs a shell script, not an empty one");

  // Collect the jobs first: bad input stops everything before anything runs.
  std::vector<Job> jobs;
  Args cmd, inline_args;
  bool separator = false;
  for (const auto& w : command) {
    if (w == ":::" && !separator) {
      separator = true;
      continue;
    }
    (separator ? inline_args : cmd).push_back(w);
  }
  if (jsonl) {
    if (!cmd.empty() || separator)
      return usage_error("map", "with --jsonl each line is a whole task; give no command");
    std::vector<std::string> lines;
    std::string source = args_file.empty() ? "-" : args_file;
    if (!read_lines(source, lines)) return usage_error("map", "cannot read '" + source + "'");
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
      auto job = job_from_json(lines[i]);
      if (!job)
        return usage_error("map", (source == "-" ? "stdin" : source) + ":" + std::to_string(i + 1) +
                                      ": " + job.message());
      if (job->task.timeout.count() == 0) job->task.timeout = *timeout;
      if (job->task.expected.count() == 0) job->task.expected = *expected;
      jobs.push_back(std::move(*job));
    }
  } else {
    if (cmd.empty())
      return usage_error("map", "no command given (write: mirai map -- CMD {} ::: A B)");
    std::vector<std::string> values = inline_args;
    if (!args_file.empty() && !read_lines(args_file, values))
      return usage_error("map", "cannot read '" + args_file + "'");
    if (!separator && args_file.empty())
      return usage_error("map", "no arguments: add '::: A B C' after the command, or --args-file");
    for (const auto& v : values) {
      Job job{Task::shell(substitute(cmd, v)), v, {}, {}};
      job.task.timeout = *timeout;
      job.task.expected = *expected;
      jobs.push_back(std::move(job));
    }
  }
  if (jobs.empty()) return 0;
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
  std::vector<Future> futures;
  futures.reserve(jobs.size());
  for (auto& job : jobs) {
    auto f = daemons->submit(job.profile, job.task);
    if (!f) return usage_error("map", f.message()), kExitCannotRun;
    futures.push_back(std::move(*f));
  }

  Progress progress(jobs.size(), vm.count("progress") || (isatty(2) && !vm.count("no-progress")));
  std::size_t failed = 0, first_failed = kNoIndex;
  if (as_json) std::cout << "[";
  for (std::size_t i = 0; i < futures.size(); ++i) {
    while (progress.enabled() && !futures[i].wait_for(std::chrono::milliseconds(200)))
      if (progress.due()) progress.draw(daemons->completed());
    const Result& r = futures[i].wait();
    progress.clear();
    if (!r.ok()) {
      if (std::string why = daemons->failure(); !why.empty()) {
        std::cerr << "mirai map: " << why << "\n";
        return kExitCannotRun;
      }
    }
    if (jsonl || as_json) {
      json j = result_json(r);
      j["index"] = i;
      if (jsonl && !jobs[i].id.is_null()) j["id"] = jobs[i].id;
      if (!jsonl) j["arg"] = jobs[i].label;
      std::cout << (as_json ? (i ? ",\n" : "\n") : "") << dump(j) << (jsonl ? "\n" : "");
    } else {
      std::cout << r.value;
      std::cerr << r.stderr_output;
    }
    std::cout.flush();
    if (!r.ok()) {
      ++failed;
      if (first_failed == kNoIndex) first_failed = i;
      if (!as_json && !jsonl)
        std::cerr << "mirai map: task " << i + 1 << " (" << jobs[i].label
                  << "): " << failure_text(r, *timeout) << "\n";
      if (stop_on_error) {
        for (std::size_t k = futures.size(); k-- > i + 1;) futures[k].stop();
        if (as_json) std::cout << "\n]\n";
        std::cerr << "mirai map: stopped at the first failure (task " << i + 1 << " of "
                  << futures.size() << ")\n";
        return kExitFailed;
      }
    }
    // Asked only when it would be drawn: the count is a status query (a round trip to a
    // running dispatcher), once per task it cost more than the task.
    if (progress.due()) progress.draw(daemons->completed());
  }
  progress.clear();
  if (as_json) std::cout << "\n]\n";
  if (failed > 0) {
    std::cerr << "mirai map: " << failed << " of " << futures.size()
              << " tasks failed (first: task " << first_failed + 1 << ", "
              << jobs[first_failed].label << ")\n";
    return kExitFailed;
  }
  return 0;
}

}  // namespace mirai::cli
