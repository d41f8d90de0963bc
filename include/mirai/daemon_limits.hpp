// The options every daemon of a profile is started with (`mirai daemon`'s): daemon layer, used
// by a profile (DaemonsConfig::limits) and by the one place that writes a daemon's command line.
#pragma once

#include <chrono>
#include <cstdint>

namespace mirai {

// Arguments given to every daemon this profile launches (mirai daemon's options).
struct DaemonLimits {
  std::chrono::milliseconds idletime{0};  // 0: none
  std::chrono::milliseconds walltime{0};  // 0: none
  std::uint32_t maxtasks = 0;             // 0: none
  bool autoexit = true;
  bool asyncdial = false;
  bool output = false;  // keep the daemon's own stdout/stderr
};

}  // namespace mirai
