// The `mirai` sub-commands. Each takes the arguments after its name and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace mirai::cli {

using Args = std::vector<std::string>;

int daemon_main(const Args& args);
int run_main(const Args& args);
int map_main(const Args& args);
int dispatcher_main(const Args& args);
int status_main(const Args& args);
int launch_main(const Args& args);
int render_main(const Args& args);
int config_main(const Args& args);
int relay_main(const Args& args);

struct Command {
  const char* name;
  const char* summary;
  int (*main)(const Args& args);
};
const std::vector<Command>& commands();

}  // namespace mirai::cli
