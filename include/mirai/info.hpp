// What a dispatcher reports about itself: mirai's info() counters and status() rows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mirai {

// mirai's info(): counters of a profile.
struct Info {
  std::uint64_t connections = 0;  // daemons connected now
  std::uint64_t cumulative = 0;   // daemons ever connected
  std::uint64_t awaiting = 0;     // tasks queued at the dispatcher
  std::uint64_t executing = 0;    // tasks sent to a daemon and not yet answered
  std::uint64_t completed = 0;    // tasks answered or cancelled
  std::uint64_t rejected = 0;     // connections refused for a missing or wrong proof of the secret
  std::uint64_t dropped = 0;  // connections dropped for a malformed, oversized or unexpected frame
  // Tasks queued again because their daemon died while running them (Task::retries), or was
  // stopped by a signal (preemption, a scheduler's time limit), which costs no retry.
  std::uint64_t retried = 0;
};

struct DaemonStatus {
  std::uint32_t instance = 0;  // 1 for the first daemon that connected, 2 for the next, ...
  std::uint32_t pid = 0, array_index = 0;
  std::string host, job_id;
  std::string peer;            // the connection's remote address ("ipc", "10.0.0.7:41234")
  std::uint64_t assigned = 0;  // tasks handed to it (a prefetched task it gave back is not)
  std::uint64_t completed = 0;
  std::uint32_t in_flight = 0;
  // How long it still takes tasks before its job's allocation ends; 0: no end known.
  std::uint32_t time_left_ms = 0;
};

// The daemons a dispatcher launches itself for a profile (`mirai dispatcher --profile`), as its
// controller counts them.
struct LauncherStatus {
  std::string profile, launcher;
  std::uint32_t workers = 0;    // the most daemons it keeps
  std::uint32_t connected = 0;  // daemons connected now
  std::uint32_t launching = 0;  // launched, not yet connected, not ended
  std::uint32_t failed = 0;     // launched daemons whose job ended or timed out before connecting
  std::uint32_t launched = 0;   // daemons launched in all
  std::uint32_t batches = 0;    // launches (job arrays) submitted
  std::map<std::string, std::uint32_t> jobs;  // array elements by the scheduler's state
  bool paused = false;                        // it launches no more; `reason` says why
  std::string reason;
  std::string dial;   // the url its daemons are given
  std::string login;  // for a profile with `login:`: the login node whose relay listens at dial
};

// mirai's status(): info plus the URL daemons dial and one row per connected daemon.
struct ProfileStatus {
  std::string url;  // empty when no daemons are set
  Info info;
  std::vector<DaemonStatus> daemons;
  std::string tls_certificate;  // for a TLS url: the certificate (PEM) daemons must trust
  std::optional<LauncherStatus> launcher;  // set when the dispatcher launches its own daemons
};

}  // namespace mirai
