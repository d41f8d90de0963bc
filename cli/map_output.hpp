// How `mirai map` writes its tasks' output: tagged lines, --results files, and (--line-buffer,
// --ungroup) output as it comes.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cli/common.hpp"
#include "cli/parallel_args.hpp"
#include "client/progress.hpp"
#include "mirai/result.hpp"

namespace mirai::cli {

// `text` with `tag` before each of its lines.
std::string tagged(const std::string& text, const std::string& tag);

// Where --results puts a job's files: DIR/1/<value 1>/2/<value 2>/..., each value escaped as
// parallel does (\ as \\, / as \_; an empty one adds no directory). Unlike parallel, "." and
// ".." are escaped too, so a job never writes outside DIR.
std::string results_path(const std::string& dir, const parallel::Job& job);
// Writes the task's stdout, stderr and seq under `path` (made as needed).
Status write_results(const std::string& path, std::uint64_t seq, const Result& r);

// --line-buffer and --ungroup: the tasks' output written as it comes, from the threads that
// receive it: whole lines with their tag (--line-buffer), or bytes as they are (--ungroup).
// With -k only the first unfinished task in input order is live; the others keep theirs until
// it is their turn. What a task wrote to stdout is counted for the joblog.
class LiveOutput {
 public:
  LiveOutput(std::vector<std::string> tags, bool whole_lines, bool keep_order)
      : tags_(std::move(tags)), jobs_(tags_.size()), whole_lines_(whole_lines) {
    for (auto& j : jobs_) j.live = !keep_order || !whole_lines;
    if (!jobs_.empty()) jobs_.front().live = true;
  }
  void add(std::size_t i, int stream, std::string_view bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    Job& j = jobs_[i];
    int k = stream == 1 ? 0 : 1;
    if (stream == 1) j.received += bytes.size();
    if (!whole_lines_) {
      Progress::erase_shown();
      return write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, bytes);
    }
    j.pending[k].append(bytes);
    if (j.live) emit(i, k, false);
  }
  // Task `i` ended: what it holds is written, a last line without its newline as it is (as
  // parallel does).
  void finish(std::size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_[i].live = true;
    for (int k : {0, 1}) emit(i, k, true);
  }
  // With -k, task `i` is now the first unfinished one: what it holds so far is written.
  void make_live(std::size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    if (i >= jobs_.size()) return;
    jobs_[i].live = true;
    for (int k : {0, 1}) emit(i, k, false);
  }
  std::size_t received(std::size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return jobs_[i].received;
  }

 private:
  struct Job {
    std::string pending[2];
    std::size_t received = 0;
    bool live = false;
  };
  // Writes job `i`'s complete lines on stream `k` (all of it with `all`).
  void emit(std::size_t i, int k, bool all) {
    std::string& p = jobs_[i].pending[k];
    std::size_t end = all ? p.size() : p.rfind('\n') + 1;  // npos + 1 == 0: no whole line
    if (end == 0) return;
    std::string text = tagged(p.substr(0, end), tags_[i]);
    p.erase(0, end);
    Progress::erase_shown();
    write_all(k == 0 ? STDOUT_FILENO : STDERR_FILENO, text);
  }
  std::mutex mu_;
  std::vector<std::string> tags_;
  std::vector<Job> jobs_;
  bool whole_lines_;
};

}  // namespace mirai::cli
