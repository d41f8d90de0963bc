// GNU parallel's --joblog file: a TAB-separated header, then a line per finished job, which
// --resume, --resume-failed and --retry-failed read back.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "mirai/result.hpp"
#include "mirai/status.hpp"

namespace mirai::cli {

// What a joblog says of one job (its last line when the job ran more than once).
struct LoggedJob {
  int exitval = 0;
  int signal = 0;
  std::string command;
  bool failed() const { return exitval != 0 || signal != 0; }
};

// The jobs of the joblog at `path` ("+PATH" as for Joblog::open), by sequence number; none when
// the file does not exist. A line that is not a joblog line is an error naming the file and line.
Expected<std::map<std::uint64_t, LoggedJob>> read_joblog(std::string path);

class Joblog {
 public:
  // Opens `path` ("+PATH" or `append`: keeps what is there); writes the header unless it
  // appends to a file that has one.
  static Expected<Joblog> open(std::string path, bool append);
  Joblog(Joblog&& other) noexcept : file_(other.file_), path_(std::move(other.path_)) {
    other.file_ = nullptr;
  }
  Joblog(const Joblog&) = delete;
  ~Joblog();

  // One line for a finished job: its start (seconds since the epoch), its run time, the bytes of
  // its output, exit value and signal, and the command.
  Status write(std::uint64_t seq, double start, double runtime, std::size_t received, int exitval,
               int signal, const std::string& command);

 private:
  Joblog(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

// The joblog's exit value and signal for a result, as parallel logs them: -1 for a job killed
// by its timeout or lost with its daemon.
std::pair<int, int> joblog_status(const Result& r);

}  // namespace mirai::cli
