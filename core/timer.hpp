// Runs callbacks at deadlines on one thread of its own (task timeouts).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace mirai {

class Timer {
 public:
  using Clock = std::chrono::steady_clock;
  Timer();
  ~Timer();  // stop()
  // Runs `f` on the timer thread at `when` (unless stopped first).
  void at(Clock::time_point when, std::function<void()> f);
  // Drops pending callbacks and joins the thread; a running callback finishes first.
  void stop();

 private:
  struct Item {
    Clock::time_point when;
    std::uint64_t seq;
    std::function<void()> f;
    bool operator>(const Item& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> items_;  // GUARDED_BY(mu_)
  std::uint64_t seq_ = 0;                                                   // GUARDED_BY(mu_)
  bool stopped_ = false;                                                    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace mirai
