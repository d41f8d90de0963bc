// mirai launch --profile P [-n N]: start a profile's daemons (as one job array) for a running
// `mirai dispatcher`, print the job ids and where the record is kept, and return. The jobs end
// when their daemons do: when the dispatcher exits, or by their idletime or walltime.
// mirai launch --print: the command that starts a daemon by hand for the running dispatcher
// (R mirai's launch_remote() without a remote), its secret in a private file.
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pool.hpp"
#include "core/transport.hpp"
#include "launcher/launch.hpp"

namespace mirai::cli {
namespace {

// A profile attached to the running dispatcher at `control`, or nullptr when it cannot be
// reached (said on stderr).
std::unique_ptr<Profile> attach(const std::string& control) {
  auto remote = std::make_unique<Profile>();
  DaemonsConfig config;
  config.dispatcher_url = control;
  if (Status s = remote->set_daemons(config); !s) {
    std::cerr << "mirai launch: " << s.message() << "\n";
    return nullptr;
  }
  return remote;
}

// --print: one line on stdout (for `$(mirai launch --print)`), what to copy on stderr.
int print_manual_launch(const std::string& dispatcher, std::string dir) {
  if (dir.empty()) {
    auto runtime = runtime_dir();
    if (!runtime) return usage_error("launch", runtime.message());
    dir = *runtime;
  }
  auto remote = attach(dispatcher);
  if (!remote) return kExitUnavailable;
  auto manual = remote->manual_launch(dir);
  if (!manual) {
    std::cerr << "mirai launch: " << manual.message() << "\n";
    return kExitFailed;
  }
  std::cout << manual->command_line() << "\n";
  std::cerr << "mirai launch: the secret is in " << manual->secret_file
            << " (mode 0600); on another machine, copy it there with that mode"
            << (manual->certificate_file.empty()
                    ? std::string()
                    : ", and the certificate to trust, " + manual->certificate_file + ", too")
            << "\n";
  return kExitOk;
}

}  // namespace

int launch_main(const Args& args) {
  ProfileOptions chosen_options;
  std::string url, dispatcher, tls_ca_pem, secret, files;
  if (const char* env = std::getenv("MIRAI_DISPATCHER")) dispatcher = env;
  po::options_description options(
      "mirai launch --profile NAME [options]\n"
      "mirai launch --print [--dispatcher URL] [--files DIR]");
  options.add_options()("help,h", "show this help");
  add_profile_options(options, chosen_options, "launch");
  options.add_options()(
      "dispatcher", po::value(&dispatcher)->value_name("URL"),
      "control URL of the running `mirai dispatcher` (default: $MIRAI_DISPATCHER)")(
      "url", po::value(&url)->value_name("URL"),
      "the URL daemons dial (default: the one the dispatcher listens on)")(
      "print",
      "launch nothing: print the command that starts one daemon by hand for the dispatcher "
      "(R mirai's launch_remote()), its secret in a private file")(
      "files", po::value(&files)->value_name("DIR"),
      "with --print: where the secret's file goes (default: the private directory "
      "$XDG_RUNTIME_DIR/mirai or /tmp/mirai-<uid>)");
  po::variables_map vm;
  if (!parse("launch", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout << options << "\n"
              << "Examples:\n"
                 "  mirai launch -p cluster -n 50 --dispatcher URL   50 daemons for a running "
                 "dispatcher\n"
                 "  mirai launch --print --dispatcher URL            the command for a daemon "
                 "started by hand\n"
              << "Exit status: 0 launched; 1 the launch failed; 2 bad usage; 69 cannot reach the "
                 "dispatcher.\n";
    return 0;
  }
  if (vm.count("print")) {
    if (vm.count("profile") || vm.count("config") || vm.count("url") || vm.count("daemons"))
      return usage_error("launch",
                         "--print shows the command for a daemon started by hand, and takes "
                         "only --dispatcher and --files (a profile's job script: mirai render -p "
                         "NAME)");
    if (dispatcher.empty())
      return usage_error("launch",
                         "--print needs the running dispatcher: give its control URL with "
                         "--dispatcher (printed by `mirai dispatcher`) or $MIRAI_DISPATCHER");
    return print_manual_launch(dispatcher, files);
  }
  if (vm.count("files")) return usage_error("launch", "--files goes with --print");
  if (url.empty() && dispatcher.empty())
    return usage_error("launch",
                       "give the running dispatcher with --dispatcher (its control URL, "
                       "printed by `mirai dispatcher`) or the URL daemons dial with --url");
  auto chosen = choose_profile("launch", chosen_options);
  if (!chosen) return kExitUsage;
  const launcher::ProfileConfig& profile = chosen->profile;
  int n = chosen->n;
  // Jobs launched here outlive this command; a login node's relay ends with the mirai that
  // opened it, and takes its jobs along (nothing is left on the cluster).
  if (!profile.login.host.host.empty())
    return usage_error("launch", "profile '" + profile.name +
                                     "' has 'login:', whose jobs end with the mirai that "
                                     "submitted them: start `mirai dispatcher -p " +
                                     profile.name +
                                     "`, which launches through the login node for its "
                                     "backlog and keeps the relay while it runs");
  if (url.empty()) {
    auto remote = attach(dispatcher);
    if (!remote) return kExitUnavailable;
    ProfileStatus status = remote->status();
    url = status.url;
    tls_ca_pem = status.tls_certificate;
    secret = remote->secret();
  } else if (const char* env = std::getenv("MIRAI_SECRET")) {
    secret = env;
  }
  if (secret.empty())
    return usage_error("launch",
                       "the daemons need the pool's secret: give the dispatcher with "
                       "--dispatcher, which provides it (or set MIRAI_SECRET with --url)");
  if (is_tls_url(url) && tls_ca_pem.empty())
    return usage_error("launch", "daemons dialing " + url +
                                     " need the dispatcher's certificate: give the dispatcher with "
                                     "--dispatcher, which provides it");
  launcher::LaunchSpec spec = launcher::make_spec(profile, n, url);
  spec.max_array_size = chosen->backend->max_array_size(profile);
  spec.attached = false;  // the daemons serve the dispatcher after this command returns
  spec.tls_ca_pem = tls_ca_pem;
  spec.secret = secret;
  auto launch = launcher::Launch::start(std::move(chosen->backend), spec, chosen->root);
  if (!launch) {
    std::cerr << "mirai launch: " << launch.message() << "\n";
    return kExitFailed;
  }
  std::cout << "launched " << n << " daemon(s) of profile '" << profile.name << "' dialing " << url
            << "\njobs:";
  for (const auto& id : (*launch)->job_ids()) std::cout << " " << id;
  std::cout << "\nrecord: " << (*launch)->directory() << "\n";
  return 0;
}

}  // namespace mirai::cli
