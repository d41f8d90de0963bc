// The resources of the scheduler maps in mirai.yaml (`slurm:`, `sge:`, `pbs:`, `lsf:`): which keys
// each accepts, and the sizes and times they hold. docs/config.md says what each key becomes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mirai::launcher {

// A resource key of a scheduler map (`slurm:`, `sge:`, `pbs:`, `lsf:`) and what it holds.
enum class ResourceType {
  kName,     // partition, queue, account: see name_problem()
  kTime,     // "1h30m", "55m" or "[D-]HH:MM:SS"; stored as whole seconds
  kSize,     // "4G", "512M", "4096" (MB); stored as whole MiB
  kCount,    // a whole number of at least 1
  kWord,     // one directive-safe word (gpus "a100:2", a constraint)
  kFlavour,  // pbs only: "pro" or "torque"
};
struct ResourceKey {
  const char* name;
  ResourceType type;
};
// The keys a backend's resource map accepts; empty for local and ssh.
const std::vector<ResourceKey>& resource_keys(const std::string& launcher);

// Why `log` cannot be the `log:` path of a profile with this launcher, or "": one word that is
// safe in a directive line; for sge it may hold SGE's own $JOB_ID, $TASK_ID, $JOB_NAME,
// $HOSTNAME, $USER and $HOME (SGE expands them; no shell reads the line).
std::string log_problem(const std::string& launcher, const std::string& log);

// Parses "4G", "512M", "1.5T", "4096" (MB) into MiB.
std::optional<long long> parse_size_mib(const std::string& text);
// Parses "1h30m", "55m", "01:00:00", "2-00:00:00", "30:00" into seconds.
std::optional<long long> parse_time_seconds(const std::string& text);

}  // namespace mirai::launcher
