#include "launcher/command.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/process.hpp"
#include "launcher/shell.hpp"

namespace mirai::launcher {

Expected<CommandOutput> run_command(const std::vector<std::string>& argv, const std::string& input,
                                    std::chrono::milliseconds timeout) {
  SpawnOptions options;
  options.argv = argv;
  options.in = SpawnOptions::Stdio::kPipe;
  options.out = SpawnOptions::Stdio::kPipe;
  options.err = SpawnOptions::Stdio::kPipe;
  std::mutex mutex;
  std::condition_variable cv;
  pid_t running = -1;
  bool finished = false, timed_out = false;
  std::thread watchdog;
  auto output = run_captured(
      options, input,
      [&](pid_t pid) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          running = pid;
        }
        watchdog = std::thread([&] {
          std::unique_lock<std::mutex> lock(mutex);
          if (!cv.wait_for(lock, timeout, [&] { return finished; })) {
            timed_out = true;
            kill(-running, SIGKILL);
          }
        });
      },
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        finished = true;
        cv.notify_all();
      });
  if (watchdog.joinable()) watchdog.join();
  if (!output) return Status::error("cannot run `" + shell_join(argv) + "`: " + output.message());
  if (timed_out)
    return Status::error("`" + shell_join(argv) + "` did not finish within " +
                         std::to_string(timeout.count() / 1000) + "s and was killed");
  CommandOutput result;
  int ws = output->wait_status;
  result.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  result.out = std::move(output->out);
  result.err = std::move(output->err);
  return result;
}

std::string output_tail(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
  return text;
}

std::string describe_failure(const std::vector<std::string>& argv, const CommandOutput& output) {
  std::string err = output_tail(output.err);
  if (err.empty()) err = "(nothing on stderr)";
  return "`" + shell_join(argv) + "` exited with " + std::to_string(output.exit_code) + ": " + err;
}

Expected<CommandOutput> run_checked(const std::vector<std::string>& argv, const std::string& input,
                                    std::chrono::milliseconds timeout) {
  return local_commands().checked(argv, input, timeout);
}

Expected<CommandOutput> CommandRunner::checked(const std::vector<std::string>& argv,
                                               const std::string& input,
                                               std::chrono::milliseconds timeout) const {
  auto output = run(argv, input, timeout);
  if (!output) return output;
  if (output->exit_code != 0) return Status::error(describe_failure(argv, *output));
  return output;
}

const CommandRunner& local_commands() {
  struct Local final : CommandRunner {
    Expected<CommandOutput> run(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout) const override {
      return run_command(argv, input, timeout);
    }
  };
  static const Local local;
  return local;
}

}  // namespace mirai::launcher
