// A one-line progress bar on stderr, drawn only on a terminal, never wider than it.
#pragma once

#include <chrono>
#include <cstddef>

namespace mirai {

class Progress {
 public:
  Progress(std::size_t total, bool enabled);
  bool enabled() const { return enabled_; }
  void draw(std::size_t done);  // redraws at most every 100 ms
  // Whether draw() would redraw now: enabled, and 100 ms since the last drawing (what it is
  // given may then be worth asking for: a running dispatcher's count is a round trip).
  bool due() const;
  void clear();  // erases the bar (before other output)
  // Erases whatever bar is on the terminal; async-signal-safe (for a signal handler or the
  // thread that handles a signal before the process ends). Enabled bars erase themselves on
  // SIGINT, SIGTERM and SIGHUP when nothing else handles those.
  static void erase_shown();

 private:
  std::size_t total_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace mirai
