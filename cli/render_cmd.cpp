// mirai render --profile P [-n N]: print the job script(s) and the submit command a launch
// would use, without submitting anything.
#include <iostream>

#include "cli/common.hpp"
#include "cli/pool.hpp"
#include "launcher/launch.hpp"
#include "launcher/shell.hpp"
#include "launcher/url.hpp"

namespace mirai::cli {

int render_main(const Args& args) {
  std::string config_path, profile_name, url;
  int n = 0;
  po::options_description options("mirai render --profile NAME [options]");
  options.add_options()("help,h", "show this help")(
      "profile,p", po::value(&profile_name)->value_name("NAME"), "the profile to render")(
      "config", po::value(&config_path)->value_name("FILE"),
      "the mirai.yaml to read (default: $MIRAI_CONFIG, ./mirai.yaml)")(
      "daemons,n", po::value(&n)->value_name("N"),
      "number of daemons (default: the profile's workers)")(
      "url", po::value(&url)->value_name("URL"),
      "the URL daemons dial (default: the profile's url; a port 0 is chosen at launch)");
  po::variables_map vm;
  if (!parse("render", args, options, nullptr, vm)) return 2;
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  std::string root;
  auto profile = load_profile("render", config_path, profile_name, root);
  if (!profile) return 2;
  if (!vm.count("daemons")) n = profile->workers;
  if (n < 1) return usage_error("render", "-n must be at least 1");
  auto backend = launcher::make_backend(profile->launcher);
  if (!backend) {
    std::cerr << "mirai render: launcher '" << profile->launcher
              << "' is not available in this build\n";
    return 2;
  }
  if (url.empty()) {
    url = launcher::listen_url_template(*profile);
    if (url.empty()) url = "abstract://<chosen at launch>";
    if (auto t = launcher::parse_url_template(url)) {
      if (auto resolved = launcher::resolve_url(*t)) url = resolved->front();
    }
  }
  launcher::LaunchSpec spec = launcher::make_spec(*profile, n, url);
  spec.max_array_size = backend->max_array_size(*profile);
  auto submissions = backend->render(spec);
  if (!submissions) {
    std::cerr << "mirai render: " << submissions.message() << "\n";
    return 1;
  }
  for (const auto& s : *submissions) {
    std::cout << "# daemons " << s.first << "-" << s.last << ": " << launcher::shell_join(s.argv)
              << (s.script.empty() ? "" : " < script") << "\n"
              << s.script;
  }
  return 0;
}

}  // namespace mirai::cli
