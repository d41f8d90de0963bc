#include <condition_variable>
#include <mutex>

#include "client/future_state.hpp"
#include "client/profile_core.hpp"
#include "core/protocol.hpp"

namespace mirai {
namespace detail {
namespace {

// One wake-up channel for every future: a resolver notifies only when someone waits on that
// future or a race() is in progress, so resolving costs no system call otherwise.
struct Notifier {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> racers{0};
};

Notifier& notifier() {
  static Notifier* n = new Notifier;  // never destroyed: futures may resolve during exit
  return *n;
}

}  // namespace

void FutureState::deliver(std::string frame) {
  if (resolved()) return;  // answered already (stop, timeout): a late result is dropped
  auto f = proto::decode_result(std::move(frame));
  if (!f) {
    Result r;
    r.kind = Result::Kind::kError;
    r.type = "malformed result";
    r.message = "the daemon sent a result that could not be decoded";
    resolve(std::move(r));
    return;
  }
  resolve(std::move(f->result));
}

bool FutureState::resolve(Result r) {
  std::uint8_t expected = kPending;
  if (!state_.compare_exchange_strong(expected, kResolving)) return false;
  result_ = std::make_unique<Result>(std::move(r));
  hold.reset();  // the task no longer counts against the bounded queue
  state_.store(kResolved);
  Notifier& n = notifier();
  if (waited_.load() || n.racers.load() > 0) {
    std::lock_guard<std::mutex> lock(n.mu);
    n.cv.notify_all();
  }
  if (callback_.load() != nullptr) run_callback();
  return true;
}

void FutureState::run_callback() {
  std::unique_ptr<Callback> fn(callback_.exchange(taken()));
  if (fn.get() == taken() || !fn) {
    fn.release();  // not ours to run (or free)
    return;
  }
  (*fn)(*result_);
}

bool FutureState::set_callback(std::function<void(const Result&)> fn) {
  auto* owned = new Callback(std::move(fn));
  Callback* expected = nullptr;
  if (!callback_.compare_exchange_strong(expected, owned)) {
    delete owned;  // a continuation was set before (and may have run): one per future
    return false;
  }
  if (resolved()) run_callback();
  return true;
}

FutureState::~FutureState() {
  Callback* fn = callback_.load();
  if (fn != nullptr && fn != taken()) delete fn;
}

BudgetHold::~BudgetHold() {
  {
    std::lock_guard<std::mutex> lock(budget->mu);
    budget->used -= bytes;
  }
  budget->cv.notify_all();
}

bool FutureState::wait_until(const std::chrono::steady_clock::time_point* deadline) {
  if (resolved()) return true;
  Notifier& n = notifier();
  std::unique_lock<std::mutex> lock(n.mu);
  waited_.store(true);
  while (!resolved()) {
    if (!deadline) {
      n.cv.wait(lock);
    } else if (n.cv.wait_until(lock, *deadline) == std::cv_status::timeout) {
      return resolved();
    }
  }
  return true;
}

}  // namespace detail

bool Future::unresolved() const { return !state_->resolved(); }

bool Future::then(std::function<void(const Result&)> continuation) {
  return state_->set_callback(std::move(continuation));
}

const Result& Future::wait() const& {
  state_->wait_until(nullptr);
  return state_->result();
}

Result Future::wait() && {
  state_->wait_until(nullptr);
  // Other holders of the state (the dispatcher, a timeout timer) only ever try to resolve it,
  // which fails once resolved; they never read the result.
  if (state_.use_count() == 1) return state_->take_result();
  return state_->result();
}

bool Future::wait_for(std::chrono::milliseconds d) const {
  auto deadline = std::chrono::steady_clock::now() + d;
  return state_->wait_until(&deadline);
}

bool Future::stop() {
  if (!state_->resolve(Result::error_value_result(ErrorValue::kCanceled))) return false;
  if (auto core = state_->core.lock()) core->cancel(state_->id);
  if (state_->on_stop) state_->on_stop();
  return true;
}

std::uint64_t Future::id() const { return state_->id; }

std::size_t race(const std::vector<Future>& futures) {
  if (futures.empty()) return kNoIndex;
  auto scan = [&]() -> std::size_t {
    for (std::size_t i = 0; i < futures.size(); ++i)
      if (!futures[i].unresolved()) return i;
    return kNoIndex;
  };
  if (std::size_t i = scan(); i != kNoIndex) return i;
  auto& n = detail::notifier();
  n.racers.fetch_add(1);
  std::unique_lock<std::mutex> lock(n.mu);
  std::size_t found;
  while ((found = scan()) == kNoIndex) n.cv.wait(lock);
  lock.unlock();
  n.racers.fetch_sub(1);
  return found;
}

void wait_all(const std::vector<Future>& futures) {
  for (const auto& f : futures) f.wait();
}

}  // namespace mirai
