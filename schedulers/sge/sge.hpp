// Grid Engine (SGE, Son of Grid Engine, Univa/Altair GE): one `qsub -terse` per array, status
// from `qstat -xml -g d` (and `qacct` once a job has left the queue), `qdel`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "launcher/backend.hpp"

namespace mirai::launcher::sge {

std::unique_ptr<Backend> make();

// Pure parts, tested on captured output -------------------------------------------------------
Expected<TemplateValues> script_values(const LaunchSpec& spec, int first, int last);
// The job id from `qsub -terse` output ("123" or, for an array, "123.1-4:1"), ignoring other
// lines that site wrappers print.
Expected<std::string> parse_qsub(const std::string& out);
// `qstat -xml -g d`: one entry per array task, id "JOB.TASK" (or "JOB" outside arrays).
std::vector<JobStatus> parse_qstat_xml(const std::string& xml);
// The "error reason" lines of `qstat -j JOB`, joined; "" when there are none.
std::string parse_error_reason(const std::string& out);
// `qacct -j JOB`: one entry per task that ended.
std::vector<JobStatus> parse_qacct(const std::string& out);
// max_aj_tasks from `qconf -sconf`; 0 when absent or unlimited.
int parse_max_aj_tasks(const std::string& out);
JobState state_of(const std::string& sge_state);

}  // namespace mirai::launcher::sge
