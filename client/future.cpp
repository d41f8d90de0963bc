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

void FutureState::deliver(std::string frame, std::string tail) {
  if (resolved()) return;  // answered already (stop, timeout): a late result is dropped
  if (auto fv = proto::view_frame(frame); fv && fv->type == proto::Type::kOutput) {
    auto o = proto::decode_output(fv->body);
    if (o && on_output) (*on_output)(o->stream, o->bytes);
    return;
  }
  auto f = proto::decode_result(std::move(frame), std::move(tail));
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
  if (callbacks_.load() != nullptr) run_callbacks();
  return true;
}

void FutureState::run_callbacks() {
  Node* list = callbacks_.exchange(taken());
  if (list == taken()) return;  // claimed already
  Node* oldest = nullptr;       // reverse: they run in the order they were set
  while (list) {
    Node* next = list->next;
    list->next = oldest;
    oldest = list;
    list = next;
  }
  while (oldest) {
    std::unique_ptr<Node> node(oldest);
    oldest = node->next;
    node->fn(*result_);
  }
}

void FutureState::add_callback(std::function<void(const Result&)> fn) {
  auto node = std::make_unique<Node>(Node{std::move(fn), nullptr});
  Node* head = callbacks_.load();
  for (;;) {
    if (head == taken()) return node->fn(*result_);  // resolved and drained: run it here
    node->next = head;
    if (callbacks_.compare_exchange_weak(head, node.get())) break;
  }
  node.release();
  // Resolved meanwhile, perhaps before the resolver looked: claim the list (once, whoever).
  if (resolved()) run_callbacks();
}

FutureState::~FutureState() {
  Node* list = callbacks_.load();
  if (list == taken()) return;
  while (list) {
    Node* next = list->next;
    delete list;
    list = next;
  }
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
  state_->add_callback(std::move(continuation));
  return true;
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
  if (state_->on_stop) (*state_->on_stop)();
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
