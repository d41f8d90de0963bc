// Slurm: one `sbatch --parsable` per array of at most MaxArraySize-1 daemons, status from
// `squeue` (and `sacct` once a job has left the queue), `scancel`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "launcher/backend.hpp"

namespace mirai::launcher::slurm {

std::unique_ptr<Backend> make();

// Pure parts, tested on captured output -------------------------------------------------------
Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last);
// The job id from `sbatch --parsable` output ("123" or "123;cluster"), ignoring other lines
// that site wrappers print.
Expected<std::string> parse_sbatch(const std::string& out);
// `squeue -h -r -t all -o %i|%T|%r` lines.
std::vector<JobStatus> parse_squeue(const std::string& out);
// `sacct -X -n -P -o JobID,State,ExitCode` lines.
std::vector<JobStatus> parse_sacct(const std::string& out);
// MaxArraySize from `scontrol show config`; 0 when absent.
int parse_max_array_size(const std::string& out);
JobState state_of(const std::string& slurm_state);

}  // namespace mirai::launcher::slurm
