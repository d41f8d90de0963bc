// mirai relay --listen URL: what a laptop starts on a cluster's login node for a profile with
// `login:` (launcher/relay.hpp). Not for people to run: it talks JSON lines on stdin and stdout.
#include <iostream>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "launcher/relay.hpp"

namespace mirai::cli {

int relay_main(const Args& args) {
  launcher::RelayOptions o;
  po::options_description options("mirai relay --listen URL [options]");
  options.add_options()("help,h", "show this help")(
      "listen", po::value(&o.listen)->value_name("URL"),
      "where the daemons dial it: tcp://HOST:PORT, HOST may be {interface:NAME} or {hostname}, "
      "PORT 0 or a range")("heartbeat", po::value<std::string>()->value_name("D"),
                           "the laptop writes a line at least this often (default 5s; 0: "
                           "never); it is gone after 3 intervals without one")(
      "dir", po::value(&o.parent_dir)->value_name("DIR"),
      "where its private directory goes (default: $TMPDIR, else /tmp)");
  po::variables_map vm;
  if (!parse("relay", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout << options << "\n"
              << "The relay that `mirai map/run/launch -p PROFILE` starts over ssh on a "
                 "scheduler's login node when the profile has `login:`. It listens for the "
                 "daemons of the profile's jobs and carries their connections, unread, to the "
                 "dispatcher through the ssh connection; it runs the scheduler's commands it is "
                 "sent, and cancels the run's jobs when the ssh connection ends.\n"
              << "Exit status: 0 after its laptop went; 1 it could not listen; 2 bad usage.\n";
    return 0;
  }
  if (o.listen.empty()) return usage_error("relay", "--listen URL is required");
  if (auto d = heartbeat_option(vm, "relay", o.heartbeat); d)
    o.heartbeat = *d;
  else
    return kExitUsage;
  return launcher::run_relay(o, 0, 1);
}

}  // namespace mirai::cli
