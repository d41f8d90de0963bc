// IBM Spectrum LSF: one `bsub < script` per array (`-J "name[1-N]"`), status from one `bjobs -a`
// call, `bkill`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "launcher/backend.hpp"

namespace mirai::launcher::lsf {

std::unique_ptr<Backend> make();

// Pure parts, tested on documented output ------------------------------------------------------
Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last);
// The job id from "Job <123> is submitted to queue <normal>.", ignoring other lines.
Expected<std::string> parse_bsub(const std::string& out);
// `bjobs -noheader -o "jobid stat exit_code jobindex delimiter='|'"` lines; ids "123[4]".
std::vector<JobStatus> parse_bjobs(const std::string& out);
JobState state_of(const std::string& lsf_state);

}  // namespace mirai::launcher::lsf
