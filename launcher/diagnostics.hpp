// Problems found in a user's file (mirai.yaml, a job template), each with its place and a hint,
// collected so that one check reports all of them.
#pragma once

#include <string>
#include <vector>

namespace mirai::launcher {

struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem concerns the whole file
  int column = 0;
  std::string message;
  std::string hint;  // what to write instead; may be empty
};

// "mirai.yaml:14:5: unknown key 'partiton' in slurm (did you mean 'partition'?)"
std::string format(const Diagnostic& d);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  // `line` and `column` are 1-based.
  void error(int line, int column, std::string message, std::string hint = "");
  // Something that may be right elsewhere (an interface this machine does not have): said, but
  // not a problem.
  void warn(int line, int column, std::string message, std::string hint = "");
  bool empty() const { return list_.empty(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  const std::string& file() const { return file_; }
  // Every problem and warning on its own line, in the order of the file.
  std::string summary() const;

 private:
  std::string file_;
  std::vector<Diagnostic> list_, warnings_;
};

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a
// likely typo.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace mirai::launcher
