#include "cli/joblog.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace mirai::cli {
namespace {

constexpr const char* kHeader =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  // The command (the last field) may hold tabs of its own.
  while (out.size() < 8) {
    std::size_t tab = line.find('\t', start);
    if (tab == std::string::npos) break;
    out.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
  out.push_back(line.substr(start));
  return out;
}

bool integer(const std::string& text, long long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

}  // namespace

Expected<std::map<std::uint64_t, LoggedJob>> read_joblog(std::string path) {
  if (!path.empty() && path.front() == '+') path.erase(0, 1);
  std::map<std::uint64_t, LoggedJob> jobs;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return jobs;
    return Status::error("cannot read the joblog '" + path + "': " + std::strerror(errno));
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line == kHeader || line.empty()) continue;
    auto f = fields(line);
    long long seq = 0, exitval = 0, signal = 0;
    if (f.size() != 9 || !integer(f[0], seq) || seq < 1 || !integer(f[6], exitval) ||
        !integer(f[7], signal))
      return Status::error(path + ":" + std::to_string(number) +
                           ": not a joblog line (Seq, Host, Starttime, JobRuntime, Send, Receive, "
                           "Exitval, Signal, Command, separated by tabs)");
    jobs[static_cast<std::uint64_t>(seq)] =
        LoggedJob{static_cast<int>(exitval), static_cast<int>(signal), f[8]};
  }
  return jobs;
}

Expected<Joblog> Joblog::open(std::string path, bool append) {
  if (!path.empty() && path.front() == '+') {
    path.erase(0, 1);
    append = true;
  }
  struct stat st {};
  bool has_content = append && stat(path.c_str(), &st) == 0 && st.st_size > 0;
  std::FILE* file = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file)
    return Status::error("cannot write the joblog '" + path + "': " + std::strerror(errno));
  Joblog log(file, path);
  if (!has_content && (std::fprintf(file, "%s\n", kHeader) < 0 || std::fflush(file) != 0))
    return Status::error("cannot write the joblog '" + path + "': " + std::strerror(errno));
  return log;
}

Joblog::~Joblog() {
  if (file_) std::fclose(file_);
}

Status Joblog::write(std::uint64_t seq, double start, double runtime, std::size_t received,
                     int exitval, int signal, const std::string& command) {
  // Host ':' is parallel's for a job run here; Send is what went to its stdin (nothing).
  if (std::fprintf(file_, "%llu\t:\t%.3f\t%10.3f\t0\t%zu\t%d\t%d\t%s\n",
                   static_cast<unsigned long long>(seq), start, runtime, received, exitval, signal,
                   command.c_str()) < 0 ||
      std::fflush(file_) != 0)
    return Status::error("cannot write the joblog '" + path_ + "': " + std::strerror(errno));
  return {};
}

std::pair<int, int> joblog_status(const Result& r) {
  if (r.ok()) return {0, 0};
  if (r.kind == Result::Kind::kError && r.signal == 0 && r.exit_code > 0) return {r.exit_code, 0};
  return {-1, r.signal};
}

}  // namespace mirai::cli
