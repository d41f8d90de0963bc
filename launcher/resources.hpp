// The resources of a backend's own section of a profile (`slurm:`, `sge:`, ...): the types of
// value its keys hold (each backend declares its keys, launcher/registry.hpp), and the sizes
// and times they hold. docs/config.md says what each key becomes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mirai::launcher {

// A key of a backend's section and what it holds.
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

// A resource's value, read once by the config reader: the text a job script is given (times
// in whole seconds and sizes in whole MiB, as normalized) and, for times, sizes and counts, the
// number itself, so that no backend parses it again.
struct Resource {
  Resource() = default;
  Resource(std::string text) : text(std::move(text)) {}  // NOLINT: a name or a word
  Resource(const char* text) : text(text) {}             // NOLINT
  Resource(long long amount) : text(std::to_string(amount)), amount(amount) {}  // NOLINT
  std::string text;
  long long amount = 0;  // kTime: seconds; kSize: MiB; kCount: the count; else 0
};
using Resources = std::map<std::string, Resource>;
// Parses "4G", "512M", "1.5T", "4096" (MB) into MiB.
std::optional<long long> parse_size_mib(const std::string& text);
// Parses "1h30m", "55m", "01:00:00", "2-00:00:00", "30:00" into seconds.
std::optional<long long> parse_time_seconds(const std::string& text);

}  // namespace mirai::launcher
