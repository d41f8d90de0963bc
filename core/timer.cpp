#include "core/timer.hpp"

namespace mirai {

Timer::Timer() : thread_([this] { loop(); }) {}

Timer::~Timer() { stop(); }

void Timer::at(Clock::time_point when, std::function<void()> f) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  bool earliest = items_.empty() || when < items_.top().when;
  items_.push(Item{when, seq_++, std::move(f)});
  if (earliest) cv_.notify_one();
}

void Timer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    items_ = {};
    cv_.notify_one();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Timer::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopped_) {
    if (items_.empty()) {
      cv_.wait(lock);
      continue;
    }
    if (Clock::now() < items_.top().when) {
      cv_.wait_until(lock, items_.top().when);
      continue;
    }
    auto f = std::move(const_cast<Item&>(items_.top()).f);
    items_.pop();
    lock.unlock();
    f();
    lock.lock();
  }
}

}  // namespace mirai
