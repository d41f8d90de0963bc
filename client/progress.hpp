// A one-line progress bar on stderr, drawn only on a terminal.
#pragma once

#include <chrono>
#include <cstddef>

namespace mirai {

class Progress {
 public:
  Progress(std::size_t total, bool enabled);
  bool enabled() const { return enabled_; }
  void draw(std::size_t done);  // redraws at most every 100 ms
  void clear();                 // erases the bar (before other output)

 private:
  std::size_t total_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace mirai
