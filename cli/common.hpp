// Helpers shared by the sub-commands: option parsing, durations, daemon start-up.
#pragma once

#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "mirai/profile.hpp"

namespace mirai::cli {

namespace po = boost::program_options;

// Parses `args` against `options` (and `positional`); prints the error with a hint on `usage`
// and returns false on bad input.
bool parse(const char* command, const Args& args, const po::options_description& options,
           const po::positional_options_description* positional, po::variables_map& vm);

// Splits at the first "--": what comes before, and the command after it.
std::pair<Args, Args> split_at_dashes(const Args& args);

// Reads a duration option (e.g. "--timeout 5s"); nullopt and a message on bad input.
std::optional<std::chrono::milliseconds> duration_option(const po::variables_map& vm,
                                                         const char* name, const char* command);

// Reads --heartbeat: 0 (none) or at least 100ms; `fallback` when not given.
std::optional<std::chrono::milliseconds> heartbeat_option(const po::variables_map& vm,
                                                          const char* command,
                                                          std::chrono::milliseconds fallback);

// Daemon settings shared by run and map: -n, --profile, --config, --dispatcher.
struct PoolOptions {
  int n = 0;
  bool n_given = false;
  std::string profile;  // empty: the config's default, else local daemons
  bool profile_given = false;
  std::string config;      // mirai.yaml to use (default: $MIRAI_CONFIG, ./mirai.yaml)
  std::string dispatcher;  // control URL of a running `mirai dispatcher` ($MIRAI_DISPATCHER)
  std::optional<std::uint32_t> seed;  // --seed: each task gets the next L'Ecuyer-CMRG stream
  std::optional<int> retries;         // --crash-retries: else the profile's (0 without one)
  // The longest expected duration of the command's tasks: a profile whose jobs end sooner is
  // refused before anything is launched.
  std::chrono::milliseconds longest_expected{0};
  // Other profiles the command's tasks name (`"profile"` in a --jsonl line).
  std::vector<std::string> also;
};
// `daemons_option`: -n/--daemons (mirai map has -j/--jobs instead, and -n is parallel's).
void add_pool_options(po::options_description& options, PoolOptions& pool, int default_n,
                      bool daemons_option = true);
// Sets up -n local daemons, or the running dispatcher's; prints the error and returns false on
// failure. Profiles from mirai.yaml go through Pool (cli/pool.hpp).
bool start_pool(const char* command, const PoolOptions& pool, Profile& profile);

int usage_error(const char* command, const std::string& message);

// Writes all of `bytes` to `fd` (retrying short writes); gives up quietly when nobody reads it.
void write_all(int fd, std::string_view bytes);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread started after it,
// and waits for them on a thread of its own, which calls `on_signal` once. Construct it before
// any other thread starts. Child processes get a clean signal mask (core/process.cpp).
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void()> on_signal);
  // The signal that arrived, or 0.
  int caught() const { return caught_.load(); }

 private:
  std::atomic<int> caught_{0};
};

// The directory, private to this user, where `mirai dispatcher` puts its control socket:
// $XDG_RUNTIME_DIR/mirai, else /tmp/mirai-<uid>. Created 0700 when missing; refused when
// another user owns it or others may write it.
Expected<std::string> runtime_dir();

}  // namespace mirai::cli
