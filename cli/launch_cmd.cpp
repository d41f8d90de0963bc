// mirai launch --profile P [-n N]: start a profile's daemons (as one job array) for a running
// `mirai dispatcher`, print the job ids and where the record is kept, and return. The jobs end
// when their daemons do: when the dispatcher exits, or by their idletime or walltime.
#include <cstdlib>
#include <iostream>

#include "cli/common.hpp"
#include "cli/pool.hpp"
#include "launcher/launch.hpp"

namespace mirai::cli {

int launch_main(const Args& args) {
  std::string config_path, profile_name, url, dispatcher;
  int n = 0;
  if (const char* env = std::getenv("MIRAI_DISPATCHER")) dispatcher = env;
  po::options_description options("mirai launch --profile NAME [options]");
  options.add_options()("help,h", "show this help")(
      "profile,p", po::value(&profile_name)->value_name("NAME"), "the profile to launch")(
      "config", po::value(&config_path)->value_name("FILE"),
      "the mirai.yaml to read (default: $MIRAI_CONFIG, ./mirai.yaml)")(
      "daemons,n", po::value(&n)->value_name("N"),
      "number of daemons (default: the profile's workers)")(
      "dispatcher", po::value(&dispatcher)->value_name("URL"),
      "control URL of the running `mirai dispatcher` (default: $MIRAI_DISPATCHER)")(
      "url", po::value(&url)->value_name("URL"),
      "the URL daemons dial (default: the one the dispatcher listens on)");
  po::variables_map vm;
  if (!parse("launch", args, options, nullptr, vm)) return 2;
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  if (url.empty() && dispatcher.empty())
    return usage_error("launch",
                       "give the running dispatcher with --dispatcher (its control URL, "
                       "printed by `mirai dispatcher`) or the URL daemons dial with --url");
  std::string root;
  auto profile = load_profile("launch", config_path, profile_name, root);
  if (!profile) return 2;
  if (!vm.count("daemons")) n = profile->workers;
  if (n < 1) return usage_error("launch", "-n must be at least 1");
  auto backend = launcher::make_backend(profile->launcher);
  if (!backend) {
    std::cerr << "mirai launch: launcher '" << profile->launcher
              << "' is not available in this build\n";
    return 2;
  }
  if (url.empty()) {
    Profile remote;
    DaemonsConfig config;
    config.dispatcher_url = dispatcher;
    if (Status s = remote.set_daemons(config); !s) {
      std::cerr << "mirai launch: " << s.message() << "\n";
      return 69;
    }
    url = remote.status().url;
  }
  launcher::LaunchSpec spec = launcher::make_spec(*profile, n, url);
  spec.max_array_size = backend->max_array_size(*profile);
  auto launch = launcher::Launch::start(std::move(backend), spec, root);
  if (!launch) {
    std::cerr << "mirai launch: " << launch.message() << "\n";
    return 1;
  }
  std::cout << "launched " << n << " daemon(s) of profile '" << profile->name << "' dialing " << url
            << "\njobs:";
  for (const auto& id : (*launch)->job_ids()) std::cout << " " << id;
  std::cout << "\nrecord: " << (*launch)->directory() << "\n";
  return 0;
}

}  // namespace mirai::cli
