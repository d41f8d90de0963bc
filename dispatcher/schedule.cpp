#include "dispatcher/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "core/buffer.hpp"
#include "core/protocol.hpp"

namespace mirai {
namespace {

// The message of a task whose daemon died under it on every attempt its retries allowed (its
// cause is Cause::kCrashed), and of one whose daemon fell silent instead (no heartbeat: a frozen
// or unreachable node; Cause::kLost).
constexpr char kDaemonDiedMessage[] = "its daemon died while running it";
constexpr char kDaemonLostMessage[] = "its daemon stopped answering while running it";

}  // namespace

Schedule::Schedule(Options options, Outbox& outbox)
    : options_(std::move(options)), outbox_(outbox) {}

std::uint64_t Schedule::submit(std::string frame, std::shared_ptr<ResultTarget> target,
                               std::uint64_t id) {
  if (id == 0) id = next_id_++;
  proto::patch_id(frame, id);
  Entry e;
  e.retries = proto::peek_retries(frame);
  e.rerun_failures = proto::peek_task_flags(frame) & proto::kTaskRerunFailures;
  e.expected_ms = static_cast<std::uint32_t>(proto::peek_expected(frame).count());
  e.frame = share_bulk(std::move(frame));
  e.target = std::move(target);
  enqueue(id, std::move(e));
  drain();
  return id;
}

std::vector<std::uint64_t> Schedule::submit_everywhere(
    const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
    std::shared_ptr<ResultTarget> later, std::uint64_t first) {
  std::vector<std::uint64_t> ids;
  auto group = std::make_shared<Group>();
  group->copies = targets.size();
  if (later) setups_.push_back({frame, group, std::move(later)});
  for (auto& target : targets) {
    std::uint64_t id = first ? first + ids.size() : next_id_++;
    ids.push_back(id);
    std::string copy = frame;
    proto::patch_id(copy, id);
    Entry e;
    e.expected_ms = static_cast<std::uint32_t>(proto::peek_expected(copy).count());
    e.frame = share_bulk(std::move(copy));
    e.target = std::move(target);
    e.rare = std::make_unique<Rare>();
    e.rare->group = group;
    enqueue(id, std::move(e));
  }
  drain();
  return ids;
}

void Schedule::enqueue(std::uint64_t id, Entry e) {
  tasks_.emplace(id, std::move(e));
  queue_.push_back(id);
  ++awaiting_;
  ++submitted_;
}

void Schedule::cancel(std::uint64_t id) {
  auto e = tasks_.find(id);
  if (e == tasks_.end()) return;  // unknown or already answered
  if (!e->second.daemon) {        // queued: it never runs (its id is skipped in the queue)
    tasks_.erase(e);
    --awaiting_;
    return;
  }
  if (!e->second.cancelled) {
    e->second.cancelled = true;
    outbox_.send(*e->second.daemon, proto::encode_id(proto::Type::kCancel, id));
  }
}

void Schedule::fail_queued(const Result& why, Deliveries& out) {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.daemon) {
      ++it;
      continue;
    }
    out.push_back({std::move(it->second.target), proto::encode_result(it->first, 0, why), {}});
    --awaiting_;
    it = tasks_.erase(it);  // its id is skipped in the queue
  }
}

void Schedule::close(Deliveries& out) {
  for (auto& [id, e] : tasks_)
    out.push_back({e.target, proto::encode_error_value(id, ErrorValue::kClosed), {}});
  tasks_.clear();
  queue_.clear();
  setups_.clear();
  for (Worker* w : ready_) w->ready = w->listed_idle = w->listed_roomy = w->listed_stacked = false;
  ready_.clear();
  idle_.clear();
  roomy_.clear();
  stacked_.clear();
  awaiting_ = executing_ = 0;
}

void Schedule::join(Worker& w) {
  w.ready = true;
  ready_.push_back(&w);
  send_setups(w);
  note(w);
  drain();
  maybe_recall();
}

bool Schedule::idle(const Worker& w) const { return w.in_flight.empty() && has_capacity(w); }

bool Schedule::roomy(const Worker& w) const {
  if (w.in_flight.empty() || !has_capacity(w)) return false;
  const std::size_t d = depth(w);
  // Tiny tasks come back in batches, and each batch's refill goes out in one write anyway.
  return w.in_flight.size() < d && (w.topping_up || tiny(w) || w.in_flight.size() <= d / 2);
}

void Schedule::note(Worker& w) {
  if (!w.listed_idle && idle(w)) {
    w.listed_idle = true;
    idle_.push_back(&w);
  } else if (!w.listed_roomy && roomy(w)) {
    w.listed_roomy = true;
    roomy_.push_back(&w);
  }
}

template <typename Eligible>
Schedule::Worker* Schedule::first_of(std::deque<Worker*>& list, bool Worker::*flag,
                                     bool (Schedule::*still)(const Worker&) const,
                                     const Eligible& eligible) {
  for (auto it = list.begin(); it != list.end();) {
    Worker* w = *it;
    if (!(this->*still)(*w)) {
      w->*flag = false;
      it = list.erase(it);
    } else if (eligible(w)) {
      return w;
    } else {
      ++it;
    }
  }
  return nullptr;
}

void Schedule::stop_taking(Worker& w) {
  if (!w.ready) return;
  w.ready = false;
  ready_.erase(std::find(ready_.begin(), ready_.end(), &w));
  for (auto [list, flag] : {std::pair{&idle_, &Worker::listed_idle},
                            {&roomy_, &Worker::listed_roomy},
                            {&stacked_, &Worker::listed_stacked}})
    if (w.*flag) {
      list->erase(std::find(list->begin(), list->end(), &w));
      w.*flag = false;
    }
}

Schedule::Answer Schedule::result(Worker& w, std::string frame, Deliveries& out, std::string tail) {
  auto h = proto::peek_result(frame);
  auto it = h ? std::find(w.in_flight.begin(), w.in_flight.end(), h->id) : w.in_flight.end();
  if (it == w.in_flight.end()) return Answer::kForeign;
  // The daemon runs them in order: the next starts now.
  if (it == w.in_flight.begin() && w.in_flight.size() > 1) w.running_since = now();
  w.in_flight.erase(it);
  ++w.completed;
  double us = static_cast<double>(h->wall_us);
  w.task_us = w.task_us < 0 ? us : 0.7 * w.task_us + 0.3 * us;
  auto e = tasks_.find(h->id);
  Entry& entry = e->second;
  bool setup_failed = false;
  if (entry.setup) {
    --w.setting_up;
    setup_failed = h->kind != Result::Kind::kValue;
  }
  if (entry.rerun_failures && h->kind != Result::Kind::kValue && !entry.cancelled &&
      entry.lost < entry.retries) {
    // It failed and may run again: at the head of the queue, for a daemon it has not failed on.
    if (!entry.rare) entry.rare = std::make_unique<Rare>();
    entry.rare->failed_on.push_back(w.instance);
    ++entry.lost;
    ++retried_;
    requeue_front({h->id});
  } else {
    --executing_;
    out.push_back({std::move(entry.target), std::move(frame), std::move(tail)});
    tasks_.erase(e);
  }
  Answer answer = Answer::kTaken;
  if (setup_failed || (h->flags & proto::kResultFinal)) {
    // It failed a setup, so it cannot run this pool's tasks (nothing else was sent to it), or
    // it reached a limit and takes nothing more: what it had not started goes back to the
    // head of the queue, and it is told to go, or its exit acknowledged.
    stop_taking(w);
    requeue_front(w.in_flight);
    w.in_flight.clear();
    outbox_.send(w, proto::encode_empty(setup_failed ? proto::Type::kExit : proto::Type::kExitAck));
    answer = Answer::kExits;
  }
  note(w);
  drain();
  maybe_recall();
  return answer;
}

bool Schedule::output(const Worker& w, std::string frame, Deliveries& out) {
  auto id = proto::peek_id(frame);
  if (!id || std::find(w.in_flight.begin(), w.in_flight.end(), *id) == w.in_flight.end())
    return false;
  if (auto e = tasks_.find(*id); e != tasks_.end())
    out.push_back({e->second.target, std::move(frame), {}});
  return true;
}

bool Schedule::recalled(Worker& w, std::string_view body) {
  auto r = proto::decode_recalled(body);
  if (!r) return false;
  w.recall_pending = false;
  auto it = std::find(w.in_flight.begin(), w.in_flight.end(), r->first);
  if (!r->second || it == w.in_flight.end()) return true;  // it had started: nothing to move
  w.in_flight.erase(it);
  --w.assigned;
  requeue_front({r->first});
  note(w);
  drain();
  return true;
}

void Schedule::remove(Worker& w, bool blameless, const std::string& lost_why, Deliveries& out) {
  stop_taking(w);
  if (!w.in_flight.empty()) {
    // The daemon runs its tasks in order: the first was running; the others never started.
    std::uint64_t running = w.in_flight.front();
    Entry& e = tasks_.at(running);
    if (e.setup) {  // a standing setup for this daemon only: it goes with it
      w.in_flight.pop_front();
      tasks_.erase(running);
      --executing_;
    } else if (!e.cancelled && (blameless || e.lost < e.retries)) {
      if (!blameless) ++e.lost;
      ++retried_;
    } else {
      w.in_flight.pop_front();
      Result r = lost_why.empty()
                     ? Result::failure(Cause::kCrashed, kDaemonDiedMessage)
                     : Result::failure(Cause::kLost, kDaemonLostMessage + (" (" + lost_why + ")"));
      if (e.retries > 0)
        r.message += ", on all " + std::to_string(e.lost + 1) +
                     " attempts (retries: " + std::to_string(e.retries) + ")";
      out.push_back({std::move(e.target), proto::encode_result(running, 0, r), {}});
      tasks_.erase(running);
      --executing_;
    }
    requeue_front(w.in_flight);
    w.in_flight.clear();
  }
  drain();
}

void Schedule::requeue_front(const std::deque<std::uint64_t>& ids) {
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto e = tasks_.find(*it);
    --executing_;
    // Its caller has its answer already, or it was a setup for that daemon only: it need not
    // run.
    if (e->second.cancelled || e->second.setup) {
      tasks_.erase(e);
      continue;
    }
    if (Group* g = e->second.grouped()) {  // that daemon never ran its copy
      auto& took = g->took;
      took.erase(std::remove(took.begin(), took.end(), e->second.daemon->instance), took.end());
    }
    e->second.daemon = nullptr;
    queue_.push_front(*it);
    ++awaiting_;
  }
}

bool Schedule::has_capacity(const Worker& w) const {
  return w.ready && w.setting_up == 0 && (w.maxtasks == 0 || w.assigned < w.maxtasks);
}

void Schedule::send_setups(Worker& w) {
  for (const Setup& setup : setups_) {
    // A copy of the unit still waiting goes to this daemon by the queue.
    if (setup.group->took.size() < setup.group->copies) continue;
    if (w.maxtasks > 0 && w.assigned >= w.maxtasks) break;
    std::uint64_t id = next_id_++;
    std::string frame = setup.frame;
    proto::patch_id(frame, id);
    Entry e;
    e.frame = share_bulk(std::move(frame));
    e.target = setup.later;
    e.setup = true;
    e.daemon = &w;
    Entry& placed = tasks_.emplace(id, std::move(e)).first->second;
    ++submitted_;
    ++executing_;
    ++w.assigned;
    ++w.setting_up;
    if (w.in_flight.empty()) w.running_since = now();
    w.in_flight.push_back(id);
    note_stacked(w);
    outbox_.send_task(w, placed.frame);
  }
}

std::size_t Schedule::depth(const Worker& w) const {
  if (w.task_us < 0 || options_.max_prefetch <= 1) return 1;
  // The one it runs, and behind it as many as fit in the window: the next is there when the
  // running one ends, so the daemon does not wait a round trip for it.
  double fit = 1 + std::floor(static_cast<double>(options_.prefetch_window.count()) /
                              std::max(w.task_us, 1.0));
  return static_cast<std::size_t>(std::min(fit, static_cast<double>(options_.max_prefetch)));
}

void Schedule::note_stacked(Worker& w) {
  if (!w.listed_stacked && w.in_flight.size() >= 2) {
    w.listed_stacked = true;
    stacked_.push_back(&w);
  }
}

bool Schedule::tiny(const Worker& w) { return w.task_us >= 0 && w.task_us < kTinyTaskUs; }

bool Schedule::held_up(const Worker& w, Clock::time_point now) {
  return now - w.running_since > kHeldUp;
}

bool Schedule::fits(const Worker& w, const Entry& e, Clock::time_point now) {
  return e.expected_ms == 0 || (w.stops > now && w.stops - now >= e.expected());
}

Schedule::Worker* Schedule::pick(const Entry& e) {
  if (ready_.empty()) return nullptr;
  const Group* group = e.grouped();
  auto now = e.expected_ms > 0 ? this->now() : Clock::time_point();
  // After failures: none of the daemons it failed on while another takes tasks (GNU parallel's
  // --retries: another computer, or the same ones when there are no others).
  const bool avoid =
      e.rare && !e.rare->failed_on.empty() &&
      std::any_of(ready_.begin(), ready_.end(), [&e](const Worker* w) { return !e.failed_on(*w); });
  auto eligible = [group, &e, now, avoid](const Worker* w) {
    return fits(*w, e, now) && !(avoid && e.failed_on(*w)) &&
           (!group ||
            std::find(group->took.begin(), group->took.end(), w->instance) == group->took.end());
  };
  if (options_.round_robin) {
    std::size_t n = ready_.size();
    for (std::size_t k = 0; k < n; ++k) {
      Worker* w = ready_[(rotor_ + k) % n];
      if (has_capacity(*w) && eligible(w)) {
        rotor_ = (rotor_ + k + 1) % n;
        return w;
      }
    }
    return nullptr;
  }
  // The daemon idle longest; else, prefetching, the one that made room longest ago. That one
  // comes first when its tasks are tiny: one write carries several, and the daemons woken are
  // few (with a long queue every daemon still fills up).
  Worker* roomy = first_of(roomy_, &Worker::listed_roomy, &Schedule::roomy, eligible);
  // Not one held up by a long task, when an idle daemon can take this one instead (the clock
  // is read only then).
  if (roomy && !group && tiny(*roomy) && (idle_.empty() || !held_up(*roomy, this->now())))
    return roomy;
  if (Worker* w = first_of(idle_, &Worker::listed_idle, &Schedule::idle, eligible)) return w;
  return roomy;
}

void Schedule::assign(Worker& w, std::uint64_t id, Entry& e) {
  e.daemon = &w;
  if (Group* g = e.grouped()) g->took.push_back(w.instance);
  if (w.in_flight.empty()) w.running_since = now();
  w.in_flight.push_back(id);
  w.topping_up = w.in_flight.size() < depth(w);
  ++w.assigned;
  --awaiting_;
  ++executing_;
  note(w);  // it may take more
  note_stacked(w);
  outbox_.send_task(w, e.frame);
}

void Schedule::drain() {
  while (awaiting_ > 0) {
    auto e = tasks_.end();
    while (!queue_.empty()) {  // skip ids of tasks cancelled while queued
      e = tasks_.find(queue_.front());
      if (e != tasks_.end() && !e->second.daemon) break;
      queue_.pop_front();
    }
    if (queue_.empty()) return;
    // A copy of an everywhere() task waits for a daemon without one, and the queue with it.
    // A task no daemon has time for lets a later one that fits go first.
    Worker* w = pick(e->second);
    if (!w) {
      const Entry& head = e->second;
      if ((head.expected_ms > 0 || head.rare) && !head.grouped() && assign_lookahead()) continue;
      return;
    }
    queue_.pop_front();
    assign(*w, e->first, e->second);
  }
}

bool Schedule::assign_lookahead() {
  std::size_t n = std::min(queue_.size(), kLookahead);
  for (std::size_t k = 1; k < n; ++k) {
    auto e = tasks_.find(queue_[k]);
    if (e == tasks_.end() || e->second.daemon) continue;  // cancelled; skipped later
    if (e->second.grouped()) return false;                // an everywhere() unit: nothing passes it
    if (Worker* w = pick(e->second)) {
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(k));
      assign(*w, e->first, e->second);
      return true;
    }
  }
  return false;
}

void Schedule::maybe_recall() {
  // An idle daemon and an empty queue while another daemon holds prefetched tasks: ask for the
  // newest of them back, so that it runs now on the idle one.
  if (options_.round_robin || awaiting_ > 0) return;
  auto idle_one = [this](const auto& eligible) {
    return first_of(idle_, &Worker::listed_idle, &Schedule::idle, eligible);
  };
  if (!idle_one([](const Worker*) { return true; })) return;
  // Never a copy of an everywhere() task, nor one no idle daemon has time left for: it would
  // only go back to where it was.
  auto now = this->now();
  auto movable = [&](const Worker* w) {
    const Entry& e = tasks_.at(w->in_flight.back());
    return !e.grouped() && !e.setup && (e.expected_ms == 0 || idle_one([&e, now](const Worker* i) {
                                          return fits(*i, e, now);
                                        }));
  };
  Worker* victim = nullptr;
  for (auto it = stacked_.begin(); it != stacked_.end();) {
    Worker* w = *it;
    if (w->in_flight.size() < 2) {
      w->listed_stacked = false;
      it = stacked_.erase(it);
      continue;
    }
    if (!w->recall_pending && (!tiny(*w) || held_up(*w, now)) && movable(w) &&
        (!victim || w->in_flight.size() > victim->in_flight.size()))
      victim = w;
    ++it;
  }
  if (!victim) return;
  victim->recall_pending = true;
  outbox_.send(*victim, proto::encode_id(proto::Type::kRecall, victim->in_flight.back()));
}

}  // namespace mirai
