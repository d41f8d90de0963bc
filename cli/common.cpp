#include "cli/common.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/exit_codes.hpp"
#include "core/file.hpp"
#include "launcher/diagnostics.hpp"
#include "mirai/duration.hpp"

namespace mirai::cli {

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed pipe: nobody reads it
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

int usage_error(const char* command, const std::string& message) {
  std::cerr << "mirai " << command << ": " << message << "\n"
            << "Try 'mirai " << command << " --help'.\n";
  return kExitUsage;
}

bool parse(const char* command, const Args& args, const po::options_description& options,
           const po::positional_options_description* positional, po::variables_map& vm) {
  try {
    po::command_line_parser parser(args);
    parser.options(options).style(po::command_line_style::default_style &
                                  ~po::command_line_style::allow_guessing);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
    return true;
  } catch (const po::unknown_option& e) {
    // A typo gets the option it is nearest to, as an unknown command does.
    std::vector<std::string> names;
    for (const auto& o : options.options())
      if (!o->long_name().empty()) names.push_back("--" + o->long_name());
    std::string name = e.get_option_name();
    std::string guess = name.rfind("--", 0) == 0 ? launcher::nearest(name, names) : "";
    usage_error(command,
                std::string(e.what()) + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
    return false;
  } catch (const po::error& e) {
    usage_error(command, e.what());
    return false;
  }
}

std::pair<Args, Args> split_at_dashes(const Args& args) {
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--")
      return {Args(args.begin(), args.begin() + static_cast<long>(i)),
              Args(args.begin() + static_cast<long>(i) + 1, args.end())};
  return {args, {}};
}

std::optional<std::chrono::milliseconds> duration_option(const po::variables_map& vm,
                                                         const char* name, const char* command) {
  if (!vm.count(name)) return std::chrono::milliseconds(0);
  auto d = parse_duration(vm[name].as<std::string>());
  if (!d) {
    usage_error(command, std::string("--") + name + ": " + d.message());
    return std::nullopt;
  }
  return *d;
}

std::optional<std::chrono::milliseconds> heartbeat_option(const po::variables_map& vm,
                                                          const char* command,
                                                          std::chrono::milliseconds fallback) {
  if (!vm.count("heartbeat")) return fallback;
  auto d = duration_option(vm, "heartbeat", command);
  if (d && d->count() > 0 && *d < std::chrono::milliseconds(100)) {
    usage_error(command, "--heartbeat must be 0 (none) or at least 100ms");
    return std::nullopt;
  }
  return d;
}

void add_pool_options(po::options_description& options, PoolOptions& pool, int default_n,
                      bool daemons_option) {
  pool.n = default_n;
  if (const char* env = std::getenv("MIRAI_DISPATCHER")) pool.dispatcher = env;
  options.add_options()(
      "profile,p",
      po::value<std::string>()->value_name("NAME")->notifier([&pool](const std::string& v) {
        pool.profile = v;
        pool.profile_given = true;
      }),
      "compute profile from mirai.yaml (default: $MIRAI_PROFILE, its 'default', else local "
      "daemons)")("config", po::value(&pool.config)->value_name("FILE"),
                  "the mirai.yaml to read (default: $MIRAI_CONFIG, else the first mirai.yaml "
                  "up to the project's root)");
  if (daemons_option)
    options.add_options()("daemons,n", po::value<int>()->value_name("N")->notifier([&pool](int v) {
      pool.n = v;
      pool.n_given = true;
    }),
                          ("number of daemons (default: the profile's workers, else " +
                           std::to_string(default_n) + "; 0 with --dispatcher)")
                              .c_str());
  options.add_options()("dispatcher", po::value(&pool.dispatcher)->value_name("URL"),
                        "use the running `mirai dispatcher` with this control URL and its daemons "
                        "(default: $MIRAI_DISPATCHER)")(
      "seed", po::value<std::uint32_t>()->value_name("N")->notifier([&pool](std::uint32_t v) {
        pool.seed = v;
      }),
      "give each task the next L'Ecuyer-CMRG stream from seed N, in input order, as "
      "MIRAI_STREAM (R's .Random.seed): the same results whatever the number of daemons")(
      "crash-retries",
      po::value<int>()->value_name("K")->notifier([&pool](int v) { pool.retries = v; }),
      "queue a task again, up to K times (0 to 255), when its daemon dies while running it "
      "(default: the profile's retries, else 0)");
}

bool start_pool(const char* command, const PoolOptions& pool, Profile& profile) {
  if (!pool.dispatcher.empty() && pool.profile_given) {
    usage_error(command, "--dispatcher and --profile exclude each other");
    return false;
  }
  DaemonsConfig config;
  config.n = pool.n;
  config.seed = pool.seed;
  config.retries = static_cast<std::uint8_t>(pool.retries.value_or(0));
  if (!pool.dispatcher.empty()) {
    config.dispatcher_url = pool.dispatcher;
    config.n = pool.n_given ? pool.n : 0;
    if (config.n < 0) {
      usage_error(command, "-n must be 0 or more");
      return false;
    }
  } else if (pool.n < 1) {
    usage_error(command, "-n must be at least 1");
    return false;
  }
  if (Status s = profile.set_daemons(config); !s) {
    std::cerr << "mirai " << command << ": cannot start daemons: " << s.message() << "\n";
    return false;
  }
  return true;
}

SignalWatcher::SignalWatcher(std::function<void()> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([this, set, on_signal = std::move(on_signal)] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    caught_.store(sig);
    on_signal();
  }).detach();
}

Expected<std::string> runtime_dir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = xdg && *xdg ? std::string(xdg) + "/mirai"
                                : "/tmp/mirai-" + std::to_string(static_cast<long>(getuid()));
  if (Status s = make_private_directory(dir); !s)
    return Status::error(s.message() + ", or set XDG_RUNTIME_DIR to a private directory");
  return dir;
}

}  // namespace mirai::cli
