#include "dispatcher/dispatcher.hpp"

#include <algorithm>
#include <cstring>

#include <nng/nng.h>

#include "core/auth.hpp"
#include "core/seal.hpp"
#include "core/tls.hpp"
#include "mirai/duration.hpp"

namespace mirai {
// A daemon's connection: its handshake, and what the schedule knows of it (Schedule::Worker).
struct Dispatcher::Slot : Schedule::Worker {
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
};

namespace {
Schedule::Options schedule_options(const DispatcherOptions& o) {
  Schedule::Options s;
  s.round_robin = o.policy == DispatcherOptions::Policy::kRoundRobin;
  s.max_prefetch = o.max_prefetch;
  s.prefetch_window = o.prefetch_window;
  return s;
}
}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options)
    : options_(std::move(options)), schedule_(schedule_options(options_), *this) {}

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
    schedule_.close(out);
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
    slots_.clear();
  }
  deliver_all(out);
}

void Dispatcher::deliver_all(Deliveries& out) {
  for (auto& d : out) d.target->deliver(std::move(d.frame), std::move(d.tail));
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
    self->schedule_.tick();
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
  Connection::Handlers handlers{[this, raw](std::string f) { on_frame(raw, std::move(f)); },
                                [this, raw](int error) { on_close(raw, error); },
                                [this] { flush_corked(); }};
  // A large result's value is read into a buffer of its own, which becomes the Result's.
  handlers.tail_at = proto::tail_at;
  handlers.on_split = [this, raw](std::string head, std::string tail) {
    on_frame(raw, std::move(head), std::move(tail));
  };
  conn->start(std::move(handlers), proto::kMaxHelloFrame);
}

void Dispatcher::on_frame(Slot* slot, std::string frame, std::string tail) {
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
    if (!tail.empty() && !(fv && fv->type == proto::Type::kResult)) return reject(slot);
    if (fv && fv->type == proto::Type::kResult) {
      Schedule::Answer a = schedule_.result(*slot, std::move(frame), out, std::move(tail));
      if (a == Schedule::Answer::kForeign) return reject(slot);
      if (a == Schedule::Answer::kExits) advance(slot, SlotEvent::kFinal);
    } else if (fv && fv->type == proto::Type::kOutput) {
      // Output of a task it runs, for the task's target; of anything else, a broken peer.
      if (!proto::decode_output(fv->body) || !schedule_.output(*slot, std::move(frame), out))
        return reject(slot);
    } else if (fv && fv->type == proto::Type::kRecalled) {
      if (!schedule_.recalled(*slot, fv->body)) return reject(slot);
    } else if (fv && fv->type == proto::Type::kLeaving && fv->body.empty()) {
      slot->leaving = true;  // the connection closes next; its tasks go back then
      advance(slot, SlotEvent::kLeaving);
      schedule_.stop_taking(*slot);
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
  schedule_.stop_taking(*slot);  // what it holds goes back when the connection is closed
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
  slot->maxtasks = slot->hello.maxtasks;
  if (slot->hello.time_left_ms > 0)
    slot->stops = schedule_.now() + std::chrono::milliseconds(slot->hello.time_left_ms);
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
  schedule_.join(*slot);
  if (options_.on_connected) options_.on_connected(row(*slot, std::chrono::steady_clock::now()));
  connected_cv_.notify_all();
}

std::chrono::milliseconds Dispatcher::heartbeat(const Slot& s) const {
  return proto::heartbeat_for(static_cast<std::uint32_t>(options_.heartbeat.count()),
                              s.hello.heartbeat_ms);
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
    schedule_.remove(*slot, slot->leaving, slot->lost_why, out);
    slots_.erase(slot);
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

void Dispatcher::send_task(Schedule::Worker& w, const std::shared_ptr<const std::string>& frame) {
  auto& conn = static_cast<Slot&>(w).conn;
  if (batching_ && conn->cork()) {
    corked_.push_back(conn);
    any_corked_.store(true, std::memory_order_relaxed);
  }
  conn->send(frame);
}

void Dispatcher::send(Schedule::Worker& w, std::string frame) {
  static_cast<Slot&>(w).conn->send(std::move(frame));
}

std::uint64_t Dispatcher::submit(std::string frame, std::shared_ptr<ResultTarget> target) {
  return submit_with(0, std::move(frame), std::move(target));
}

std::vector<std::uint64_t> Dispatcher::submit_everywhere(
    const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
    std::shared_ptr<ResultTarget> later) {
  return everywhere_with(0, frame, std::move(targets), std::move(later));
}

std::uint64_t Dispatcher::reserve_ids(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  return schedule_.reserve_ids(n);
}

void Dispatcher::submit_as(std::uint64_t id, std::string frame,
                           std::shared_ptr<ResultTarget> target) {
  submit_with(id, std::move(frame), std::move(target));
}

void Dispatcher::submit_everywhere_as(std::uint64_t first, const std::string& frame,
                                      std::vector<std::shared_ptr<ResultTarget>> targets) {
  everywhere_with(first, frame, std::move(targets), nullptr);
}

std::uint64_t Dispatcher::submit_with(std::uint64_t id, std::string frame,
                                      std::shared_ptr<ResultTarget> target) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!stopping_) return schedule_.submit(std::move(frame), std::move(target), id);
  if (id == 0) id = schedule_.unused_id();
  lock.unlock();
  target->deliver(proto::encode_error_value(id, ErrorValue::kClosed), {});
  return id;
}

std::vector<std::uint64_t> Dispatcher::everywhere_with(
    std::uint64_t first, const std::string& frame,
    std::vector<std::shared_ptr<ResultTarget>> targets, std::shared_ptr<ResultTarget> later) {
  std::vector<std::uint64_t> ids;
  Deliveries closed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_)
      return schedule_.submit_everywhere(frame, std::move(targets), std::move(later), first);
    for (auto& target : targets) {
      ids.push_back(first ? first + ids.size() : schedule_.unused_id());
      closed.push_back(
          {std::move(target), proto::encode_error_value(ids.back(), ErrorValue::kClosed), {}});
    }
  }
  deliver_all(closed);
  return ids;
}

void Dispatcher::cancel(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  schedule_.cancel(id);
}

void Dispatcher::lose_daemon(const std::string& job_id, std::uint32_t index,
                             const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [p, s] : slots_) {
    if (!joined(s->state) || !s->lost_why.empty() || s->hello.job_id != job_id ||
        s->hello.array_index != index)
      continue;
    s->lost_why = why.empty() ? "lost by its launcher" : why;
    schedule_.stop_taking(*s);
    s->conn->close();  // on_close requeues its tasks
  }
}

void Dispatcher::fail_queued(const std::string& why) {
  Deliveries out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    schedule_.fail_queued(Result::failure(Cause::kRefused, why), out);
  }
  deliver_all(out);
}

Info Dispatcher::info() const {
  std::lock_guard<std::mutex> lock(mu_);
  return info_locked();
}

Info Dispatcher::info_locked() const {
  Info i;
  i.connections = schedule_.ready().size();
  i.cumulative = cumulative_;
  i.awaiting = schedule_.awaiting();
  i.executing = schedule_.executing();
  i.completed = schedule_.submitted() - i.awaiting - i.executing;
  i.rejected = rejected_;
  i.dropped = dropped_;
  for (const auto& l : listeners_) i.dropped += l->refused();  // other users, on a local socket
  i.retried = schedule_.retried();
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
  for (Schedule::Worker* w : schedule_.ready()) send(*w, proto::encode_empty(proto::Type::kExit));
}

}  // namespace mirai
