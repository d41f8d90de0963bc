#include "dispatcher/dispatcher.hpp"

#include <algorithm>
#include <cstring>

#include <nng/nng.h>

#include "core/auth.hpp"
#include "core/seal.hpp"
#include "core/tls.hpp"
#include "mirai/duration.hpp"

namespace mirai {
namespace {

// The message of a task whose daemon died under it on every attempt its retries allowed (its
// cause is Cause::kCrashed), and of one whose daemon fell silent instead (no heartbeat: a frozen
// or unreachable node; Cause::kLost).
constexpr char kDaemonDiedMessage[] = "its daemon died while running it";
constexpr char kDaemonLostMessage[] = "its daemon stopped answering while running it";

}  // namespace

struct Dispatcher::Slot {
  std::shared_ptr<Connection> conn;
  SlotState state = SlotState::kJoining;  // moved only by advance()
  std::chrono::steady_clock::time_point accepted = std::chrono::steady_clock::now();
  std::string nonce;        // the challenge's nonce
  std::string hello_frame;  // as it came, until the proof (both proofs cover it)
  bool seal = false;        // frames after the proof are sealed (core/seal.hpp)
  bool leaving = false;     // exiting because stopped by a signal: what it ran is not at fault
  // Why it was lost, when it was: it fell silent (no heartbeat), or the scheduler said its job
  // ended (lose_daemon). Its tasks are then handled as a crash's, with this said.
  std::string lost_why;
  proto::Hello hello;
  // When it stops taking tasks (its allocation ends soon after); max() when no end is known.
  std::chrono::steady_clock::time_point stops = std::chrono::steady_clock::time_point::max();
  std::uint32_t instance = 0;
  std::deque<std::uint64_t> in_flight;  // sent, unanswered, in the order the daemon runs them
  // Tasks handed to this daemon and not given back by a recall, and results it returned.
  std::uint64_t assigned = 0, completed = 0;
  std::size_t setting_up = 0;  // copies of standing setups sent and not yet answered
  double task_us = -1;         // moving average of task time; negative: not yet measured
  bool recall_pending = false;
};

Dispatcher::Dispatcher(DispatcherOptions options) : options_(std::move(options)) {}

Expected<std::unique_ptr<Dispatcher>> Dispatcher::start(DispatcherOptions options) {
  if (options.urls.empty()) return Status::error("the dispatcher needs at least one URL");
  if (options.secret.empty()) options.secret = auth::make_secret();
  std::uint32_t seed = 0;
  if (options.seed) {
    seed = *options.seed;
  } else {
    std::string random = auth::make_nonce();
    std::memcpy(&seed, random.data(), sizeof seed);
  }
  std::unique_ptr<Dispatcher> d(new Dispatcher(std::move(options)));
  d->daemon_stream_ = RngStream::from_seed(seed);
  for (const auto& url : d->options_.urls) {
    auto l = Listener::open(url, &d->options_.tls);
    if (!l) return l.status();
    d->urls_.push_back((*l)->bound_url());
    d->listeners_.push_back(std::move(*l));
  }
  Dispatcher* self = d.get();
  nng_aio_alloc(&d->sweep_aio_, &Dispatcher::sweep_cb, self);
  nng_sleep_aio(static_cast<nng_duration>(d->sweep_every().count()), d->sweep_aio_);
  for (auto& l : d->listeners_)
    l->start([self](std::shared_ptr<Connection> c) { self->on_accept(std::move(c)); });
  return d;
}

Expected<std::unique_ptr<Dispatcher>> Dispatcher::start_first(
    DispatcherOptions options, const std::vector<std::string>& candidates, const TlsSettings& tls) {
  if (candidates.empty()) return Status::error("the dispatcher needs at least one URL");
  Status last;
  for (const auto& url : candidates) {
    options.urls = {url};
    if (is_tls_url(url)) {
      TlsSettings t = tls;  // a certificate made for this candidate's host
      if (Status s = tls::prepare(url, t); !s) return s;
      options.tls = {t.cert_pem, t.key_pem, t.key_passphrase};
      options.tls_trust = tls::trusted(t);
    }
    auto started = start(options);
    if (started) return started;
    last = started.status();
  }
  return last;
}

Dispatcher::~Dispatcher() {
  Deliveries out;
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [id, e] : tasks_)
      out.push_back({e.target, proto::encode_error_value(id, ErrorValue::kClosed)});
    tasks_.clear();
    queue_.clear();
    for (auto& [p, s] : slots_) conns.push_back(s->conn);
  }
  if (sweep_aio_) {
    nng_aio_stop(sweep_aio_);
    nng_aio_free(sweep_aio_);
  }
  for (auto& l : listeners_) l->close();
  for (auto& c : conns) c->shutdown();  // handlers see stopping_ and return
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.clear();
    slots_.clear();
  }
  deliver_all(out);
}

void Dispatcher::deliver_all(Deliveries& out) {
  for (auto& d : out) d.target->deliver(std::move(d.frame));
  out.clear();
}

std::size_t Dispatcher::sweep_pending() {
  auto now = std::chrono::steady_clock::now();
  std::size_t pending = 0;
  for (auto& [p, s] : slots_) {
    if (!authenticating(s->state)) continue;
    if (now - s->accepted > options_.auth_timeout)
      reject(s.get());
    else
      ++pending;
  }
  return pending;
}

void Dispatcher::sweep_cb(void* arg) {
  auto* self = static_cast<Dispatcher*>(arg);
  if (nng_aio_result(self->sweep_aio_) != 0) return;  // stopped
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->stopping_) return;
    self->sweep_pending();
  }
  nng_sleep_aio(static_cast<nng_duration>(self->sweep_every().count()), self->sweep_aio_);
}

std::chrono::milliseconds Dispatcher::sweep_every() const {
  return std::clamp(options_.auth_timeout / 4, std::chrono::milliseconds(10),
                    std::chrono::milliseconds(1000));
}

void Dispatcher::on_accept(std::shared_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return conn->close();
  // Peers that connect and never prove the secret must not pile up: those past the timeout
  // go (the sweep timer does this too), and when too many still wait, the one that waited
  // longest without saying hello (else the oldest) makes room for this one: an idle flood
  // cannot keep an honest daemon out, it only pushes its own connections out.
  if (sweep_pending() >= options_.max_pending) {
    Slot* evict = nullptr;
    for (auto& [p, s] : slots_) {
      if (!authenticating(s->state)) continue;
      // The oldest of those that have not said hello first, then the oldest challenged one.
      const bool silent = s->state == SlotState::kJoining;
      const bool evict_silent = evict && evict->state == SlotState::kJoining;
      bool better = !evict || (silent && !evict_silent) ||
                    (silent == evict_silent && s->accepted < evict->accepted);
      if (better) evict = s.get();
    }
    if (evict) reject(evict);
  }
  auto slot = std::make_unique<Slot>();
  Slot* raw = slot.get();
  slot->conn = conn;
  slots_.emplace(raw, std::move(slot));
  conn->start({[this, raw](std::string f) { on_frame(raw, std::move(f)); },
               [this, raw](int error) { on_close(raw, error); }, [this] { flush_corked(); }},
              proto::kMaxHelloFrame);
}

void Dispatcher::on_frame(Slot* slot, std::string frame) {
  Deliveries out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    // The read's last frame is followed by flush_corked() (on_batch_end, or on_close).
    batching_ = true;
    struct Reset {
      bool& flag;
      ~Reset() { flag = false; }
    } reset{batching_};
    auto fv = proto::view_frame(frame);
    if (slot->state == SlotState::kDropped) return;  // closed: on_close follows
    if (authenticating(slot->state)) {
      // The first frame must be a hello, the second the proof.
      if (fv && slot->state == SlotState::kJoining && fv->type == proto::Type::kHello)
        return on_hello(slot, std::move(frame));
      if (fv && slot->state == SlotState::kChallenged && fv->type == proto::Type::kProof)
        return on_proof(slot, fv->body);
      return reject(slot);
    }
    if (fv && fv->type == proto::Type::kResult) {
      on_result(slot, std::move(frame), out);
    } else if (fv && fv->type == proto::Type::kRecalled) {
      on_recalled(slot, fv->body);
    } else if (fv && fv->type == proto::Type::kLeaving && fv->body.empty()) {
      slot->leaving = true;  // the connection closes next; drop() requeues its tasks
      unready(slot, SlotEvent::kLeaving);
    } else {
      reject(slot);  // not something a daemon sends: drop it (on_close follows)
    }
  }
  deliver_all(out);
}

bool Dispatcher::advance(Slot* slot, SlotEvent event) {
  auto next = next_state(slot->state, event);
  if (!next) return false;
  slot->state = *next;
  return true;
}

void Dispatcher::reject(Slot* slot) {
  if (!advance(slot, SlotEvent::kBroke)) return;  // dropped already
  ++dropped_;
  slot->conn->close();
}

void Dispatcher::on_hello(Slot* slot, std::string frame) {
  auto hello = proto::decode_hello(std::string_view(frame).substr(1));
  if (!hello || hello->version != proto::kVersion) return reject(slot);
  slot->hello = std::move(*hello);
  slot->hello_frame = std::move(frame);
  // Sealed when either side's end of the connection is exposed: with a relay between them
  // (an ssh tunnel, a login node) each may see another transport.
  slot->seal = slot->hello.seal || slot->conn->exposed();
  if (slot->hello.time_left_ms > 0)
    slot->stops =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(slot->hello.time_left_ms);
  slot->nonce = auth::make_nonce();
  advance(slot, SlotEvent::kHello);
  slot->conn->send(
      proto::encode_challenge({slot->nonce, slot->seal,
                               auth::proof(options_.secret, auth::kDispatcherRole,
                                           slot->hello_frame, slot->nonce, slot->seal)}));
}

void Dispatcher::on_proof(Slot* slot, std::string_view body) {
  auto proof = proto::decode_proof(body);
  if (!proof) return reject(slot);
  // A daemon without the secret gets nothing; on_close counts it.
  if (!auth::same(*proof, auth::proof(options_.secret, auth::kDaemonRole, slot->hello_frame,
                                      slot->nonce, slot->seal)))
    return slot->conn->close();
  std::string().swap(slot->hello_frame);
  // Every frame from here on is sealed, both ways: the daemon's next, and the welcome.
  if (slot->seal) {
    SessionKeys keys = derive_session_keys(options_.secret, slot->hello.nonce, slot->nonce);
    slot->conn->seal(keys.to_daemon, keys.to_dispatcher);
  }
  advance(slot, SlotEvent::kProof);
  slot->instance = ++cumulative_;
  slot->conn->set_max_frame(UINT32_MAX);
  daemon_stream_ = daemon_stream_.next_stream();
  slot->conn->send(proto::encode_welcome({proto::kVersion, slot->instance,
                                          static_cast<std::uint32_t>(options_.heartbeat.count()),
                                          daemon_stream_}));
  slot->conn->enable_heartbeat(heartbeat(*slot));
  ready_.push_back(slot);
  send_setups(slot);
  if (options_.on_connected) options_.on_connected(row(*slot, std::chrono::steady_clock::now()));
  connected_cv_.notify_all();
  drain();
  maybe_recall();
}

std::chrono::milliseconds Dispatcher::heartbeat(const Slot& s) const {
  return proto::heartbeat_for(static_cast<std::uint32_t>(options_.heartbeat.count()),
                              s.hello.heartbeat_ms);
}

void Dispatcher::on_result(Slot* slot, std::string frame, Deliveries& out) {
  auto h = proto::peek_result(frame);
  auto it =
      h ? std::find(slot->in_flight.begin(), slot->in_flight.end(), h->id) : slot->in_flight.end();
  if (it == slot->in_flight.end()) return reject(slot);  // not a task it was given
  slot->in_flight.erase(it);
  --executing_;
  ++slot->completed;
  double us = static_cast<double>(h->wall_us);
  slot->task_us = slot->task_us < 0 ? us : 0.7 * slot->task_us + 0.3 * us;
  auto e = tasks_.find(h->id);
  bool setup_failed = false;
  if (e->second.setup) {
    --slot->setting_up;
    setup_failed = h->kind != Result::Kind::kValue;
  }
  out.push_back({std::move(e->second.target), std::move(frame)});
  tasks_.erase(e);
  if (setup_failed) {
    // It cannot run this pool's tasks: nothing else was sent to it; it goes.
    unready(slot);
    requeue_front(slot->in_flight);
    slot->in_flight.clear();
    slot->conn->send(proto::encode_empty(proto::Type::kExit));
  } else if (h->flags & proto::kResultFinal) {
    // The daemon reached a limit and takes nothing more: what it had not started goes back to
    // the head of the queue, and the ack lets it exit.
    unready(slot);
    requeue_front(slot->in_flight);
    slot->in_flight.clear();
    slot->conn->send(proto::encode_empty(proto::Type::kExitAck));
  }
  drain();
  maybe_recall();
}

void Dispatcher::on_recalled(Slot* slot, std::string_view body) {
  auto r = proto::decode_recalled(body);
  if (!r) return reject(slot);
  slot->recall_pending = false;
  auto it = std::find(slot->in_flight.begin(), slot->in_flight.end(), r->first);
  if (!r->second || it == slot->in_flight.end()) return;  // it had started: nothing to move
  slot->in_flight.erase(it);
  --slot->assigned;
  requeue_front({r->first});
  drain();
}

void Dispatcher::on_close(Slot* slot, int error) {
  Deliveries out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (Connection::malformed(error) || Connection::forged(error)) {
      ++dropped_;  // a zero or oversized length, or a sealed frame that did not open
    } else if (Connection::lost(error)) {
      slot->lost_why = "nothing from it for " +
                       format_duration(Connection::kSilentIntervals * heartbeat(*slot)) +
                       ": a frozen or unreachable node";
    } else if (slot->state == SlotState::kChallenged) {
      ++rejected_;  // it left, or was sent away, without proving it holds the secret
    }
    drop(slot, out);
    slots_.erase(slot);
    drain();
  }
  deliver_all(out);
  flush_corked();  // what frames of its last read assigned
}

void Dispatcher::flush_corked() {
  // The thread that corked a connection always flushes after it (the end of its read), so a
  // read that corked nothing need not take the lock to find that out.
  if (!any_corked_.load(std::memory_order_relaxed)) return;
  std::vector<std::shared_ptr<Connection>> corked;
  {
    std::lock_guard<std::mutex> lock(mu_);
    corked.swap(corked_);
    any_corked_.store(false, std::memory_order_relaxed);
  }
  for (auto& c : corked) c->uncork();
}

void Dispatcher::unready(Slot* slot, SlotEvent why) {
  advance(slot, why);
  auto r = std::find(ready_.begin(), ready_.end(), slot);
  if (r != ready_.end()) ready_.erase(r);
}

void Dispatcher::drop(Slot* slot, Deliveries& out) {
  auto r = std::find(ready_.begin(), ready_.end(), slot);
  if (r != ready_.end()) ready_.erase(r);
  if (slot->in_flight.empty()) return;
  // The daemon runs its tasks in order: the first was running; the others never started and go
  // back to the queue. The running one goes back too when the daemon was stopped by a signal
  // (not its fault) or it has retries left; else it is lost (19).
  std::uint64_t running = slot->in_flight.front();
  Entry& e = tasks_.at(running);
  if (e.setup) {  // a standing setup for this daemon only: it goes with it
    slot->in_flight.pop_front();
    tasks_.erase(running);
    --executing_;
  } else if (!e.cancelled && (slot->leaving || e.lost < e.retries)) {
    if (!slot->leaving) ++e.lost;
    ++retried_;
  } else {
    slot->in_flight.pop_front();
    Result r =
        slot->lost_why.empty()
            ? Result::failure(Cause::kCrashed, kDaemonDiedMessage)
            : Result::failure(Cause::kLost, kDaemonLostMessage + (" (" + slot->lost_why + ")"));
    if (e.retries > 0)
      r.message += ", on all " + std::to_string(e.lost + 1) +
                   " attempts (retries: " + std::to_string(e.retries) + ")";
    out.push_back({std::move(e.target), proto::encode_result(running, 0, r)});
    tasks_.erase(running);
    --executing_;
  }
  requeue_front(slot->in_flight);
  slot->in_flight.clear();
}

void Dispatcher::requeue_front(const std::deque<std::uint64_t>& ids) {
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto e = tasks_.find(*it);
    --executing_;
    // Its caller has its answer already, or it was a setup for that daemon only: it need not
    // run.
    if (e->second.cancelled || e->second.setup) {
      tasks_.erase(e);
      continue;
    }
    if (Group* g = e->second.group.get()) {  // that daemon never ran its copy
      auto& took = g->took;
      took.erase(std::remove(took.begin(), took.end(), e->second.daemon->instance), took.end());
    }
    e->second.daemon = nullptr;
    queue_.push_front(*it);
    ++awaiting_;
  }
}

bool Dispatcher::has_capacity(const Slot& s) const {
  return s.state == SlotState::kReady && s.setting_up == 0 &&
         (s.hello.maxtasks == 0 || s.assigned < s.hello.maxtasks);
}

void Dispatcher::send_setups(Slot* s) {
  for (const Setup& setup : setups_) {
    // A copy of the unit still waiting goes to this daemon by the queue.
    if (setup.group->took.size() < setup.group->copies) continue;
    if (s->hello.maxtasks > 0 && s->assigned >= s->hello.maxtasks) break;
    std::uint64_t id = next_id_++;
    std::string frame = setup.frame;
    proto::patch_id(frame, id);
    Entry e;
    e.frame = std::make_shared<const std::string>(std::move(frame));
    e.target = setup.later;
    e.setup = true;
    e.daemon = s;
    Entry& placed = tasks_.emplace(id, std::move(e)).first->second;
    ++submitted_;
    ++executing_;
    ++s->assigned;
    ++s->setting_up;
    s->in_flight.push_back(id);
    s->conn->send(placed.frame);
  }
}

std::size_t Dispatcher::depth(const Slot& s) const {
  if (s.task_us < 0 || options_.max_prefetch <= 1) return 1;
  double fit = static_cast<double>(options_.prefetch_window.count()) / std::max(s.task_us, 1.0);
  return static_cast<std::size_t>(std::clamp(fit, 1.0, static_cast<double>(options_.max_prefetch)));
}

bool Dispatcher::fits(const Slot& s, const Entry& e, std::chrono::steady_clock::time_point now) {
  return e.expected.count() == 0 || (s.stops > now && s.stops - now >= e.expected);
}

Dispatcher::Slot* Dispatcher::pick(const Entry& e) {
  std::size_t n = ready_.size();
  if (n == 0) return nullptr;
  bool round_robin = options_.policy == DispatcherOptions::Policy::kRoundRobin;
  const Group* group = e.group.get();
  auto now = e.expected.count() > 0 ? std::chrono::steady_clock::now()
                                    : std::chrono::steady_clock::time_point();
  auto eligible = [group, &e, now](const Slot* s) {
    return fits(*s, e, now) && (!group || std::find(group->took.begin(), group->took.end(),
                                                    s->instance) == group->took.end());
  };
  for (std::size_t k = 0; k < n; ++k) {
    Slot* s = ready_[(rotor_ + k) % n];
    if (has_capacity(*s) && eligible(s) && (round_robin || s->in_flight.empty())) {
      rotor_ = (rotor_ + k + 1) % n;
      return s;
    }
  }
  if (round_robin) return nullptr;
  // Nobody idle: prefetch to the least loaded daemon whose recent tasks were short.
  Slot* best = nullptr;
  for (Slot* s : ready_)
    if (has_capacity(*s) && eligible(s) && s->in_flight.size() < depth(*s) &&
        (!best || s->in_flight.size() < best->in_flight.size()))
      best = s;
  return best;
}

void Dispatcher::assign(Slot* s, std::uint64_t id, Entry& e) {
  e.daemon = s;
  if (e.group) e.group->took.push_back(s->instance);
  s->in_flight.push_back(id);
  ++s->assigned;
  --awaiting_;
  ++executing_;
  if (batching_ && s->conn->cork()) {
    corked_.push_back(s->conn);
    any_corked_.store(true, std::memory_order_relaxed);
  }
  s->conn->send(e.frame);
}

void Dispatcher::drain() {
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
    Slot* s = pick(e->second);
    if (!s) {
      if (e->second.expected.count() > 0 && !e->second.group && assign_lookahead()) continue;
      return;
    }
    queue_.pop_front();
    assign(s, e->first, e->second);
  }
}

bool Dispatcher::assign_lookahead() {
  std::size_t n = std::min(queue_.size(), kLookahead);
  for (std::size_t k = 1; k < n; ++k) {
    auto e = tasks_.find(queue_[k]);
    if (e == tasks_.end() || e->second.daemon) continue;  // cancelled; skipped later
    if (e->second.group) return false;                    // an everywhere() unit: nothing passes it
    if (Slot* s = pick(e->second)) {
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(k));
      assign(s, e->first, e->second);
      return true;
    }
  }
  return false;
}

void Dispatcher::maybe_recall() {
  // An idle daemon and an empty queue while another daemon holds prefetched tasks: ask for the
  // newest of them back, so that it runs now on the idle one.
  if (options_.policy != DispatcherOptions::Policy::kFifo || awaiting_ > 0) return;
  std::vector<const Slot*> idle;
  for (Slot* s : ready_)
    if (s->in_flight.empty() && has_capacity(*s)) idle.push_back(s);
  if (idle.empty()) return;
  // Never a copy of an everywhere() task, nor one no idle daemon has time left for: it would
  // only go back to where it was.
  auto now = std::chrono::steady_clock::now();
  auto movable = [&](const Slot* s) {
    const Entry& e = tasks_.at(s->in_flight.back());
    return !e.group && !e.setup &&
           std::any_of(idle.begin(), idle.end(), [&](const Slot* i) { return fits(*i, e, now); });
  };
  Slot* victim = nullptr;
  for (Slot* s : ready_)
    if (s->in_flight.size() >= 2 && !s->recall_pending && movable(s) &&
        (!victim || s->in_flight.size() > victim->in_flight.size()))
      victim = s;
  if (!victim) return;
  victim->recall_pending = true;
  victim->conn->send(proto::encode_id(proto::Type::kRecall, victim->in_flight.back()));
}

std::uint64_t Dispatcher::submit(std::string frame, std::shared_ptr<ResultTarget> target) {
  std::unique_lock<std::mutex> lock(mu_);
  std::uint64_t id = next_id_++;
  if (stopping_) {
    lock.unlock();
    target->deliver(proto::encode_error_value(id, ErrorValue::kClosed));
    return id;
  }
  proto::patch_id(frame, id);
  Entry e;
  e.retries = proto::peek_retries(frame);
  e.expected = proto::peek_expected(frame);
  e.frame = std::make_shared<const std::string>(std::move(frame));
  e.target = std::move(target);
  enqueue(id, std::move(e));
  drain();
  return id;
}

std::vector<std::uint64_t> Dispatcher::submit_everywhere(
    const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
    std::shared_ptr<ResultTarget> later) {
  std::vector<std::uint64_t> ids;
  Deliveries closed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto group = std::make_shared<Group>();
    group->copies = targets.size();
    if (later && !stopping_) setups_.push_back({frame, group, std::move(later)});
    for (auto& target : targets) {
      std::uint64_t id = next_id_++;
      ids.push_back(id);
      if (stopping_) {
        closed.push_back({std::move(target), proto::encode_error_value(id, ErrorValue::kClosed)});
        continue;
      }
      std::string copy = frame;
      proto::patch_id(copy, id);
      Entry e;
      e.expected = proto::peek_expected(copy);
      e.frame = std::make_shared<const std::string>(std::move(copy));
      e.target = std::move(target);
      e.group = group;
      enqueue(id, std::move(e));
    }
    drain();
  }
  deliver_all(closed);
  return ids;
}

void Dispatcher::enqueue(std::uint64_t id, Entry e) {
  tasks_.emplace(id, std::move(e));
  queue_.push_back(id);
  ++awaiting_;
  ++submitted_;
}

void Dispatcher::cancel(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = tasks_.find(id);
  if (e == tasks_.end()) return;  // unknown or already answered
  if (!e->second.daemon) {        // queued: it never runs (its id is skipped in the queue)
    tasks_.erase(e);
    --awaiting_;
    return;
  }
  if (!e->second.cancelled) {
    e->second.cancelled = true;
    e->second.daemon->conn->send(proto::encode_id(proto::Type::kCancel, id));
  }
}

void Dispatcher::lose_daemon(const std::string& job_id, std::uint32_t index,
                             const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [p, s] : slots_) {
    if (!joined(s->state) || !s->lost_why.empty() || s->hello.job_id != job_id ||
        s->hello.array_index != index)
      continue;
    s->lost_why = why.empty() ? "lost by its launcher" : why;
    s->conn->close();  // on_close requeues its tasks
  }
}

void Dispatcher::fail_queued(const std::string& why) {
  Deliveries out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Result r = Result::failure(Cause::kRefused, why);
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (it->second.daemon) {
        ++it;
        continue;
      }
      out.push_back({std::move(it->second.target), proto::encode_result(it->first, 0, r)});
      --awaiting_;
      it = tasks_.erase(it);  // its id is skipped in the queue
    }
  }
  deliver_all(out);
}

Info Dispatcher::info() const {
  std::lock_guard<std::mutex> lock(mu_);
  return info_locked();
}

Info Dispatcher::info_locked() const {
  Info i;
  i.connections = ready_.size();
  i.cumulative = cumulative_;
  i.awaiting = awaiting_;
  i.executing = executing_;
  i.completed = submitted_ - awaiting_ - executing_;
  i.rejected = rejected_;
  i.dropped = dropped_;
  for (const auto& l : listeners_) i.dropped += l->refused();  // other users, on a local socket
  i.retried = retried_;
  return i;
}

DaemonStatus Dispatcher::row(const Slot& s, std::chrono::steady_clock::time_point now) const {
  DaemonStatus r;
  r.instance = s.instance;
  r.pid = s.hello.pid;
  r.host = s.hello.host;
  r.job_id = s.hello.job_id;
  r.array_index = s.hello.array_index;
  r.peer = s.conn->peer();
  r.assigned = s.assigned;
  r.completed = s.completed;
  r.in_flight = static_cast<std::uint32_t>(s.in_flight.size());
  if (s.stops != std::chrono::steady_clock::time_point::max())
    r.time_left_ms = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(s.stops - now).count(), 1,
        UINT32_MAX));
  return r;
}

std::vector<DaemonStatus> Dispatcher::daemons_locked() const {
  std::vector<DaemonStatus> rows;
  auto now = std::chrono::steady_clock::now();
  for (const auto& [p, s] : slots_)
    if (joined(s->state)) rows.push_back(row(*s, now));
  std::sort(rows.begin(), rows.end(),
            [](const DaemonStatus& a, const DaemonStatus& b) { return a.instance < b.instance; });
  return rows;
}

Expected<ProfileStatus> Dispatcher::status() const {
  ProfileStatus s;
  s.url = url();
  s.tls_certificate = options_.tls_trust;
  std::lock_guard<std::mutex> lock(mu_);  // counters and rows from the same moment
  s.info = info_locked();
  s.daemons = daemons_locked();
  return s;
}

bool Dispatcher::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout,
                                      const std::function<bool()>& keep_waiting) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (cumulative_ < n) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (keep_waiting) {
      lock.unlock();
      bool go_on = keep_waiting();
      lock.lock();
      if (!go_on) return cumulative_ >= n;
    }
    connected_cv_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(
                                     deadline - now, std::chrono::milliseconds(100)));
  }
  return true;
}

void Dispatcher::exit_all() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Slot* s : ready_) s->conn->send(proto::encode_empty(proto::Type::kExit));
}

}  // namespace mirai
