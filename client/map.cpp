#include "mirai/map.hpp"

#include <unistd.h>

#include <chrono>

#include "client/progress.hpp"
#include "mirai/profile.hpp"

namespace mirai {

class Map::Waiter {
 public:
  Waiter(std::size_t total, bool enabled) : bar_(total, enabled) {}
  ~Waiter() { bar_.clear(); }
  Progress& bar() { return bar_; }

 private:
  Progress bar_;
};

Map::Map(Profile* profile, std::vector<Task> tasks, std::vector<Future> futures)
    : profile_(profile), tasks_(std::move(tasks)), futures_(std::move(futures)) {}

std::size_t Map::resolved() const {
  std::size_t n = 0;
  for (const auto& f : futures_) n += !f.unresolved();
  return n;
}

std::shared_ptr<Map::Waiter> Map::start_waiting(bool progress) const {
  return std::make_shared<Waiter>(size(), progress && isatty(2));
}

const Result& Map::wait(std::size_t i, Waiter* waiter) const {
  if (waiter && waiter->bar().enabled()) {
    while (!futures_[i].wait_for(std::chrono::milliseconds(200))) waiter->bar().draw(resolved());
    waiter->bar().draw(resolved());
  }
  return futures_[i].wait();
}

Status Map::failure_at(std::size_t i, const std::string& what) const {
  stop();
  return Status::error("element " + std::to_string(i) + " (of 0.." + std::to_string(size() - 1) +
                       ") failed: " + what);
}

Expected<std::vector<Result>> Map::collect(Collect how) const {
  std::vector<Result> out;
  out.reserve(size());
  auto waiter = start_waiting(how.progress);
  for (std::size_t i = 0; i < size(); ++i) {
    const Result& r = wait(i, waiter.get());
    if (how.stop && !r.ok()) {
      std::string what = r.describe();
      if (!r.stderr_output.empty()) what += "\n" + r.stderr_tail(1000);
      return failure_at(i, what);
    }
    out.push_back(r);
  }
  return out;
}

void Map::stop() const {
  for (const auto& f : futures_) {
    Future copy = f;  // stop() is not const: it changes the task, not which task this is
    copy.stop();
  }
}

std::vector<std::size_t> Map::failed() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < size(); ++i)
    if (!futures_[i].unresolved() && !futures_[i].wait().ok()) out.push_back(i);
  return out;
}

std::size_t Map::rerun_failed() {
  std::size_t sent = 0;
  if (!profile_ || tasks_.size() != futures_.size()) return 0;  // everywhere(): not re-runnable
  for (std::size_t i : failed()) {
    futures_[i] = profile_->submit(tasks_[i]);
    ++sent;
  }
  return sent;
}

}  // namespace mirai
