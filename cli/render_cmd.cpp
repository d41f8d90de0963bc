// mirai render --profile P [-n N]: print the job script(s) and the submit command a launch
// would use, without submitting anything.
#include <iostream>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pool.hpp"
#include "launcher/launch.hpp"
#include "launcher/shell.hpp"
#include "launcher/url.hpp"

namespace mirai::cli {

int render_main(const Args& args) {
  ProfileOptions chosen_options;
  std::string url;
  po::options_description options("mirai render --profile NAME [options]");
  options.add_options()("help,h", "show this help");
  add_profile_options(options, chosen_options, "render");
  options.add_options()(
      "url", po::value(&url)->value_name("URL"),
      "the URL daemons dial (default: the profile's url; a port 0 is chosen at launch)");
  po::variables_map vm;
  if (!parse("render", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout
        << options << "\n"
        << "Examples:\n"
           "  mirai render -p cluster -n 100     the job script and submit command, not submitted\n"
        << "Exit status: 0 rendered; 1 it cannot be rendered; 2 bad usage.\n";
    return 0;
  }
  auto chosen = choose_profile("render", chosen_options);
  if (!chosen) return kExitUsage;
  const launcher::ProfileConfig& profile = chosen->profile;
  auto& backend = chosen->backend;
  const bool login = !profile.login.host.host.empty();
  if (url.empty() && login) {
    // Resolved on the login node by its relay, at launch.
    url = launcher::listen_url_template(profile);
    std::cout << "# on the login node " << profile.login.host.host
              << ", through ssh; its relay listens on " << url
              << " (resolved there) and that address is the url below\n";
  } else if (url.empty()) {
    url = launcher::listen_url_template(profile);
    if (url.empty()) url = "abstract://<chosen at launch>";
    if (auto t = launcher::parse_url_template(url)) {
      if (auto resolved = launcher::resolve_url(*t)) url = resolved->front();
    }
  }
  launcher::LaunchSpec spec = launcher::make_spec(profile, chosen->n, url);
  if (login && spec.workdir.empty())  // at launch, the home directory the relay reports
    spec.workdir = "<home directory on " + profile.login.host.host + ">";
  spec.max_array_size = backend->max_array_size(profile);
  auto submissions = backend->render(spec);
  if (!submissions) {
    std::cerr << "mirai render: " << submissions.message() << "\n";
    return kExitFailed;
  }
  for (const auto& s : *submissions) {
    std::cout << "# daemons " << s.first << "-" << s.last << ": "
              << launcher::shown_command(s, "script") << "\n"
              << s.script;
  }
  return 0;
}

}  // namespace mirai::cli
