// PBS: PBS Pro / OpenPBS (`-J 1-N`, PBS_ARRAY_INDEX) and Torque (`-t 1-N`, PBS_ARRAYID), chosen
// by the `flavour` resource. One `qsub` per array, status from `qstat -f -t` (with `-x` on Pro
// for finished jobs), `qdel`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "launcher/backend.hpp"

namespace mirai::launcher::pbs {

std::unique_ptr<Backend> make(const ProfileConfig& profile);

// Pure parts, tested on captured output -------------------------------------------------------
Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last);
// The job id qsub printed ("123[].server", "123.server"), ignoring other lines that site
// wrappers print.
Expected<std::string> parse_qsub(const std::string& out);
// `qstat -f` blocks ("Job Id: ..." then "key = value" lines): one entry per subjob, and per
// plain job; an array's own entry only when it has no subjob entries.
std::vector<JobStatus> parse_qstat_full(const std::string& out);
JobState state_of(const std::string& pbs_state);

}  // namespace mirai::launcher::pbs
