// mirai config check [--config FILE]: report every problem in mirai.yaml, and render each
// profile's job script once to catch template and value problems, without submitting anything.
#include <iostream>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "launcher/config.hpp"
#include "launcher/launch.hpp"

namespace mirai::cli {

int config_main(const Args& all) {
  if (all.empty() || (all[0] != "check" && all[0] != "--help" && all[0] != "-h"))
    return usage_error("config", "expected a sub-command: mirai config check [--config FILE]");
  Args args(all.begin() + 1, all.end());
  std::string config_path;
  po::options_description options("mirai config check [options]");
  options.add_options()("help,h", "show this help")(
      "config", po::value(&config_path)->value_name("FILE"),
      "the mirai.yaml to check (default: $MIRAI_CONFIG, ./mirai.yaml)");
  po::variables_map vm;
  if (!parse("config", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help") || all[0] != "check") {
    std::cout << options << "\n"
              << "Examples:\n"
                 "  mirai config check                 every problem in mirai.yaml, located, with "
                 "a hint\n"
                 "  mirai config check --config x.yaml\n"
              << "Exit status: 0 no problems; 1 problems found; 2 bad usage.\n";
    return 0;
  }
  std::string file = launcher::find_config(config_path);
  if (file.empty()) {
    std::cerr << "mirai config: no mirai.yaml here; give one with --config FILE\n";
    return kExitUsage;
  }
  launcher::Diagnostics diagnostics(file);
  launcher::Config config = launcher::load_config(file, diagnostics);
  std::size_t problems = diagnostics.list().size();
  std::cerr << diagnostics.summary();
  for (const auto& [name, profile] : config.profiles) {
    auto backend = launcher::make_backend(profile);
    if (!backend) continue;
    std::string url = launcher::listen_url_template(profile);
    auto rendered =
        backend->render(launcher::make_spec(profile, 2, url.empty() ? "abstract://check" : url));
    if (!rendered) {
      std::cerr << file << ":" << profile.line << ": profile '" << name
                << "' cannot be rendered: " << rendered.message() << "\n";
      ++problems;
    }
  }
  if (problems > 0) {
    std::cerr << file << ": " << problems << " problem(s)\n";
    return kExitFailed;
  }
  std::cout << file << ": " << config.profiles.size() << " profile(s), no problems:";
  for (const auto& [name, profile] : config.profiles)
    std::cout << " " << name << " (" << profile.launcher << ")";
  std::cout << "\n";
  return 0;
}

}  // namespace mirai::cli
