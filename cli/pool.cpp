#include "cli/pool.hpp"

#include "client/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <iostream>

#include "cli/exit_codes.hpp"
#include "client/progress.hpp"
#include "launcher/registry.hpp"
#include "launcher/url.hpp"
#include "mirai/daemon.hpp"
#include "mirai/duration.hpp"

namespace mirai::cli {
namespace {

// Whether the profile's daemons are this process's children (started through the client
// library) rather than jobs.
bool in_process(const launcher::ProfileConfig& profile) {
  const launcher::BackendKind* kind = launcher::kind_of(profile);
  return kind && kind->in_process;
}

}  // namespace

std::optional<launcher::ProfileConfig> load_profile(const char* command,
                                                    const std::string& config_path,
                                                    const std::string& name, std::string& root) {
  std::string file = launcher::find_config(config_path);
  if (file.empty()) {
    std::cerr << "mirai " << command << ": no mirai.yaml here and no --config; profile '" << name
              << "' needs one (see docs/config.md)\n";
    return std::nullopt;
  }
  launcher::Diagnostics diagnostics(file);
  launcher::Config config = launcher::load_config(file, diagnostics);
  if (!diagnostics.empty()) {
    std::cerr << diagnostics.summary() << "mirai " << command << ": " << diagnostics.list().size()
              << " problem(s) in " << file << "; nothing was started\n";
    return std::nullopt;
  }
  const std::string in_process = launcher::in_process_backend();
  std::string chosen = name.empty() ? config.default_profile : name;
  if (chosen.empty()) chosen = in_process;
  auto it = config.profiles.find(chosen);
  if (it == config.profiles.end() && name.empty() && config.default_profile.empty()) {
    // No profile asked for and none named as the default: plain local daemons.
    launcher::ProfileConfig local;
    local.name = in_process;
    local.launcher = in_process;
    local.workers = 0;  // the command's own default
    root = ".";
    return local;
  }
  auto profile = launcher::profile_named(config, chosen);
  if (!profile) {
    std::cerr << "mirai " << command << ": " << profile.message() << "\n";
    return std::nullopt;
  }
  root = launcher::config_root(file);
  return std::move(*profile);
}

std::unique_ptr<launcher::Backend> backend_for(const char* command,
                                               const launcher::ProfileConfig& profile) {
  auto backend = launcher::make_backend(profile);
  if (!backend)
    std::cerr << "mirai " << command << ": launcher '" << profile.launcher
              << "' is not available in this build\n";
  return backend;
}

void add_profile_options(po::options_description& options, ProfileOptions& o, const char* verb) {
  options.add_options()("profile,p", po::value(&o.profile)->value_name("NAME"),
                        (std::string("the profile to ") + verb).c_str())(
      "config", po::value(&o.config)->value_name("FILE"),
      "the mirai.yaml to read (default: $MIRAI_CONFIG, ./mirai.yaml)")(
      "daemons,n", po::value<int>()->value_name("N")->notifier([&o](int v) {
        o.n = v;
        o.n_given = true;
      }),
      "number of daemons (default: the profile's workers)");
}

std::optional<ChosenProfile> choose_profile(const char* command, const ProfileOptions& o) {
  ChosenProfile chosen;
  auto profile = load_profile(command, o.config, o.profile, chosen.root);
  if (!profile) return std::nullopt;
  chosen.n = o.n_given ? o.n : profile->workers;
  if (chosen.n < 1) {
    usage_error(command, "-n must be at least 1");
    return std::nullopt;
  }
  chosen.backend = backend_for(command, *profile);
  if (!chosen.backend) return std::nullopt;
  chosen.profile = std::move(*profile);
  return chosen;
}

namespace {

// Refuses a task that could never run: expected to take longer than the profile's jobs last.
bool fits_time_limit(const char* command, const launcher::ProfileConfig& profile,
                     std::chrono::milliseconds expected) {
  auto t = profile.resources.find("time");
  if (t == profile.resources.end()) return true;
  // A daemon stops taking tasks a margin before its job's end.
  std::chrono::milliseconds limit = std::chrono::seconds(t->second.amount);
  if (expected <= limit - default_allocation_margin(limit)) return true;
  usage_error(command, "a task is expected to run " + format_duration(expected) +
                           ", longer than the jobs of profile '" + profile.name + "' may run (" +
                           profile.launcher + ": time: " + format_duration(limit) +
                           "): no daemon could take it");
  return false;
}

}  // namespace

std::unique_ptr<Pool> Pool::start(const char* command, const PoolOptions& options) {
  std::unique_ptr<Pool> pool(new Pool());
  pool->command_ = command;
  if (options.retries && (*options.retries < 0 || *options.retries > 255)) {
    usage_error(command, "--crash-retries must be from 0 to 255");
    return nullptr;
  }
  bool use_config = !options.dispatcher.empty()
                        ? false
                        : options.profile_given || !launcher::find_config(options.config).empty();
  if (!use_config) {
    if (!options.also.empty()) {
      usage_error(command, "a task names profile '" + options.also.front() +
                               "', but no mirai.yaml is in use (give --config or --profile)");
      return nullptr;
    }
    auto& m = pool->add_member("");
    if (!start_pool(command, options, m.own)) return nullptr;
    pool->daemons_ = options.dispatcher.empty() ? options.n : 0;
    // A running dispatcher may have no daemon now and get some later: say so while it waits.
    if (!options.dispatcher.empty()) {
      Pool* raw = pool.get();
      pool->watcher_ = std::thread([raw, url = options.dispatcher] { raw->watch_remote(url); });
    }
    return pool;
  }
  // The profile asked for, the ones the tasks name, and their backups, each once.
  std::string root;
  auto main = load_profile(command, options.config, options.profile, root);
  if (!main) return nullptr;
  if (!fits_time_limit(command, *main, options.longest_expected)) return nullptr;
  int n = options.n_given ? options.n : main->workers > 0 ? main->workers : options.n;
  if (n < 1) {
    usage_error(command, "-n must be at least 1");
    return nullptr;
  }
  main->workers = n;
  pool->daemons_ = n;
  std::deque<std::string> wanted(options.also.begin(), options.also.end());
  if (!main->backup.empty()) wanted.push_back(main->backup);
  std::vector<launcher::ProfileConfig> profiles = {std::move(*main)};
  while (!wanted.empty()) {
    std::string name = wanted.front();
    wanted.pop_front();
    if (std::any_of(profiles.begin(), profiles.end(),
                    [&](const auto& p) { return p.name == name; }))
      continue;
    std::string ignored;
    auto other = load_profile(command, options.config, name, ignored);
    if (!other) return nullptr;
    if (!other->backup.empty()) wanted.push_back(other->backup);
    profiles.push_back(std::move(*other));
  }
  // From here on an interrupt must cancel what was submitted: watch signals before any thread.
  Pool* raw = pool.get();
  bool launched =
      std::any_of(profiles.begin(), profiles.end(), [](const auto& p) { return !in_process(p); });
  if (launched)
    pool->signals_ = std::make_unique<SignalWatcher>([raw] {
      Progress::erase_shown();
      std::cerr << "mirai " << raw->command_ << ": interrupted; cancelling the launched jobs\n";
      raw->shut_down();
      _exit(kExitSignalBase + raw->signals_->caught());
    });
  for (const auto& profile : profiles) {
    Member& m = pool->add_member(profile.name);
    if (!pool->start_member(m, profile, root, options)) return nullptr;
    if (Status s = pool->group_.add(profile.name, m.profile(), profile.backup); !s) {
      std::cerr << "mirai " << command << ": " << s.message() << "\n";
      return nullptr;
    }
  }
  if (launched) pool->watcher_ = std::thread([raw] { raw->watch(); });
  return pool;
}

Pool::Member& Pool::add_member(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  members_.push_back(std::make_unique<Member>());
  members_.back()->name = name;
  return *members_.back();
}

bool Pool::start_member(Member& m, launcher::ProfileConfig profile, const std::string& root,
                        const PoolOptions& options) {
  LaunchOptions o;
  o.seed = options.seed;
  o.retries = options.retries;
  o.on_event = [command = command_](const std::string& line) {
    std::cerr << "mirai " << command << ": " << line << "\n";
  };
  auto launched = launcher::start_launched(profile, root, o);
  if (!launched) {
    std::cerr << "mirai " << command_ << ": " << launched.message() << "\n";
    return false;
  }
  launcher::Controller* c = launcher::controller_of(**launched);
  // `mirai status` shows this run's launched profile while it lasts, as it does a `mirai
  // dispatcher`'s.
  if (c)
    if (auto dir = runtime_dir()) {
      std::string socket =
          *dir + "/dispatcher-" + std::to_string(getpid()) + "-" + profile.name + ".sock";
      if ((*launched)->profile().serve_control("ipc://" + socket,
                                               [c] { return std::optional(c->status()); }))
        m.control_socket = socket;
    }
  std::lock_guard<std::mutex> lock(mutex_);
  m.launched = std::move(*launched);
  return true;
}

Expected<Future> Pool::submit(const std::string& profile, const Task& task) {
  const std::string& name = profile.empty() ? members_.front()->name : profile;
  if (name.empty()) return members_.front()->profile().submit(task);  // -n local daemons
  return group_.submit(name, task);
}

std::uint64_t Pool::completed() {
  std::uint64_t n = 0;
  for (auto& m : members_) n += m->profile().info().completed;
  return n;
}

void Pool::watch() {
  using namespace std::chrono_literals;
  std::vector<Member*> watched;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& m : members_)
      if (m->controller()) watched.push_back(m.get());
  }
  while (!stop_.load() && !watched.empty()) {
    std::this_thread::sleep_for(100ms);
    if (give_up_.load()) {
      members_.front()->profile().reset();
      return;
    }
    for (auto it = watched.begin(); it != watched.end();) {
      std::string why = (*it)->controller()->failure();
      if (why.empty()) {
        ++it;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failure_.empty()) failure_ = why;
      }
      // Pending tasks of that profile now resolve with an error, which ends the command.
      (*it)->profile().reset();
      it = watched.erase(it);
    }
  }
}

void Pool::watch_remote(const std::string& url) {
  using namespace std::chrono_literals;
  auto quiet_since = std::chrono::steady_clock::now();
  auto next_notice = quiet_since + kWaitingNotice;
  while (!stop_.load()) {
    std::this_thread::sleep_for(500ms);
    Info i = members_.front()->profile().info();
    auto now = std::chrono::steady_clock::now();
    if (i.connections > 0 || i.awaiting == 0) {
      quiet_since = now;
      next_notice = now + kWaitingNotice;
    } else if (now >= next_notice) {
      std::cerr << "mirai " << command_ << ": waiting: " << i.awaiting << " task"
                << (i.awaiting == 1 ? "" : "s") << " queued and no daemon connected to the "
                << "dispatcher at " << url << " for "
                << std::chrono::duration_cast<std::chrono::seconds>(now - quiet_since).count()
                << " s (start some: mirai launch --dispatcher " << url << ", or mirai daemon)\n";
      next_notice = now + 6 * kWaitingNotice;
    }
  }
}

void Pool::fail(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.empty()) failure_ = why;
  }
  give_up_.store(true);
}

std::string Pool::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_.empty()) return failure_;
  for (const auto& m : members_)
    if (std::string why = m->profile().failure(); !why.empty())
      return m->name.empty() ? why : "profile '" + m->name + "': " + why;
  return "";
}

void Pool::shut_down() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& m : members_) {
    if (m->launched)
      if (Status s = m->launched->shutdown(kJobsGoneTimeout); !s)
        std::cerr << "mirai " << command_ << ": cancelling the launched jobs of profile '"
                  << m->name << "': " << s.message() << "\n";
    if (!m->control_socket.empty()) unlink(m->control_socket.c_str());
  }
}

Pool::~Pool() {
  stop_.store(true);
  if (watcher_.joinable()) watcher_.join();
  shut_down();
  // The profiles go first: callbacks of their dispatchers (a standing setup's) may call fail().
  members_.clear();
}

}  // namespace mirai::cli
