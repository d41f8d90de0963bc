#include "cli/common.hpp"

#include <iostream>

#include "mirai/duration.hpp"

namespace mirai::cli {

int usage_error(const char* command, const std::string& message) {
  std::cerr << "mirai " << command << ": " << message << "\n"
            << "Try 'mirai " << command << " --help'.\n";
  return 2;
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

void add_pool_options(po::options_description& options, PoolOptions& pool, int default_n) {
  options.add_options()("profile,p", po::value(&pool.profile)->default_value("local"),
                        "compute profile (only 'local' until mirai.yaml support lands)")(
      "daemons,n", po::value(&pool.n)->default_value(default_n), "number of local daemons");
}

bool start_pool(const char* command, const PoolOptions& pool, Profile& profile) {
  if (pool.profile != "local") {
    usage_error(command, "unknown profile '" + pool.profile +
                             "': without a mirai.yaml the only profile is 'local'");
    return false;
  }
  if (pool.n < 1) {
    usage_error(command, "-n must be at least 1");
    return false;
  }
  DaemonsConfig config;
  config.n = pool.n;
  if (Status s = profile.set_daemons(config); !s) {
    std::cerr << "mirai " << command << ": cannot start daemons: " << s.message() << "\n";
    return false;
  }
  return true;
}

}  // namespace mirai::cli
