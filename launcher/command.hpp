// Running the scheduler's commands (sbatch, qstat, ssh, ...): argv only, never a shell, with a
// time limit, and failures described with the command, its exit code and its stderr.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mirai/status.hpp"

namespace mirai::launcher {

struct CommandOutput {
  int exit_code = 0;  // 128+N when killed by signal N
  std::string out, err;
};

// Runs `argv` with `input` on its stdin and waits up to `timeout`, then kills its process group.
// Fails only when the program cannot be started or ran out of time; a non-zero exit is a value.
Expected<CommandOutput> run_command(const std::vector<std::string>& argv, const std::string& input,
                                    std::chrono::milliseconds timeout);

// "`sbatch --parsable` exited with 1: sbatch: error: invalid partition specified: x"
std::string describe_failure(const std::vector<std::string>& argv, const CommandOutput& output);
// What a command printed, for a message: without its trailing newlines and blanks, and only its
// last 2,000 bytes.
std::string output_tail(std::string text);

// Runs the command and turns a non-zero exit into an error (describe_failure).
Expected<CommandOutput> run_checked(const std::vector<std::string>& argv, const std::string& input,
                                    std::chrono::milliseconds timeout);

// Where a backend's scheduler commands run: on this machine (run_command), or on a cluster's
// login node through the relay there (launcher/login_link.hpp). The same argv either way.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual Expected<CommandOutput> run(const std::vector<std::string>& argv,
                                      const std::string& input,
                                      std::chrono::milliseconds timeout) const = 0;
  // Runs and turns a non-zero exit into an error (describe_failure).
  Expected<CommandOutput> checked(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout) const;
};
// This machine.
const CommandRunner& local_commands();

}  // namespace mirai::launcher
