#include "core/connection.hpp"

#include <arpa/inet.h>
#include <nng/nng.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <thread>
#include <utility>

#include "core/buffer.hpp"

namespace mirai {
namespace {

constexpr std::size_t kReadBuffer = 256 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
// A connection reads into this much until its peer may send large frames (set_max_frame) and
// a read fills it or a frame comes in parts: a crowd of peers that have not authenticated, or
// of daemons that only send heartbeats and a result now and then, costs little memory (with
// 256 KiB each, 1,000 idle daemons cost their dispatcher 267 MiB).
constexpr std::size_t kSmallBuffer = 8 * 1024;
// Frames above this size are read into a buffer of their own and handed over without a copy.
constexpr std::size_t kBigFrame = 64 * 1024;
// A large frame is split (Handlers::tail_at) only when its head is no longer than this.
constexpr std::size_t kMaxSplitHead = 4096;
constexpr std::size_t kMaxFramesPerWrite = 32;
// NNG 1.5 takes at most 8 vectors in one operation: nng_aio_set_iov refuses more (NNG_EINVAL)
// and the aio keeps its previous ones. A write of more chunks goes out 8 at a time.
constexpr unsigned kMaxIov = 8;
constexpr std::size_t kCoalesceBelow = 4096;
// The largest record of small sealed frames: a zero byte, then lengths and frames.
constexpr std::uint32_t kMaxGroupRecord = 1 + kMaxFramesPerWrite * (4 + kCoalesceBelow);

// Destroys connections on a thread of its own: a connection's destructor waits for its
// callbacks, so it must never run on one of them.
class Reaper {
 public:
  static Reaper& get() {
    static Reaper* r = new Reaper;  // never destroyed: detached thread may outlive statics
    return *r;
  }
  void push(Connection* c) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(c);
    cv_.notify_one();
  }

 private:
  Reaper() {
    std::thread([this] {
      for (;;) {
        Connection* c;
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [this] { return !queue_.empty(); });
          c = queue_.front();
          queue_.pop_front();
        }
        delete c;
      }
    }).detach();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Connection*> queue_;
};

// on_close's error for a peer that fell silent (not an NNG error code).
constexpr int kLostError = 0x40000001;
// The same for a sealed frame that did not open.
constexpr int kForgedError = 0x40000002;

std::uint32_t read_le32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);  // little-endian hosts only (x86-64, aarch64)
  return v;
}

}  // namespace

std::shared_ptr<Connection> Connection::adopt(nng_stream* stream) {
  return std::shared_ptr<Connection>(new Connection(stream),
                                     [](Connection* c) { Reaper::get().push(c); });
}

Connection::Connection(nng_stream* stream) : stream_(stream) {
  nng_aio_alloc(&read_aio_, &Connection::read_cb, this);
  nng_aio_alloc(&write_aio_, &Connection::write_cb, this);
  nng_aio_alloc(&tick_aio_, &Connection::tick_cb, this);
  in_.resize(kSmallBuffer);
}

Connection::~Connection() {
  stop_io();
  nng_aio_free(tick_aio_);
  nng_aio_free(read_aio_);
  nng_aio_free(write_aio_);
  nng_stream_free(stream_);
}

bool Connection::malformed(int error) { return error == NNG_EPROTO; }

bool Connection::lost(int error) { return error == kLostError; }

bool Connection::forged(int error) { return error == kForgedError; }

void Connection::seal(const std::string& send_key, const std::string& receive_key) {
  opener_ = std::make_unique<FrameSealer>(receive_key, FrameSealer::Mode::kOpen);
  std::lock_guard<std::mutex> lock(write_mu_);
  sealer_ = std::make_unique<FrameSealer>(send_key, FrameSealer::Mode::kSeal);
}

void Connection::start(Handlers handlers, std::uint32_t max_frame) {
  handlers_ = std::move(handlers);
  max_frame_ = max_frame;
  arm_read();
}

void Connection::close() {
  if (closing_.exchange(true)) return;
  nng_stream_close(stream_);
  // NNG queues a read armed on a closed stream and never completes it. arm_read() checks
  // closing_ after arming and this cancels after setting it, so whichever runs second stops it.
  nng_aio_cancel(read_aio_);
}

std::int64_t Connection::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Connection::enable_heartbeat(std::chrono::milliseconds interval) {
  if (interval.count() <= 0 || heartbeat_.load()) return;
  interval_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  last_read_ns_ = last_sent_ns_ = now_ns();
  heartbeat_ = true;
  arm_tick();
}

void Connection::arm_tick() {
  // Due: the next heartbeat (an interval after the last frame sent) or the peer's loss (3
  // intervals after anything last arrived), whichever comes first.
  std::int64_t due = std::min(last_sent_ns_.load() + interval_ns_,
                              last_read_ns_.load() + kSilentIntervals * interval_ns_);
  std::int64_t wait_ms = (due - now_ns()) / 1000000 + 1;
  nng_sleep_aio(static_cast<nng_duration>(std::max<std::int64_t>(wait_ms, 1)), tick_aio_);
}

void Connection::tick_cb(void* arg) { static_cast<Connection*>(arg)->on_tick(); }

void Connection::on_tick() {
  if (nng_aio_result(tick_aio_) != 0 || closing_) return;  // stopped, or closed
  std::int64_t now = now_ns();
  if (now - last_read_ns_.load() >= kSilentIntervals * interval_ns_) {
    lost_ = true;
    return close();
  }
  if (now - last_sent_ns_.load() >= interval_ns_) send(std::string());  // the heartbeat
  arm_tick();
}

void Connection::stop_io() {
  close();
  nng_aio_stop(tick_aio_);
  nng_aio_stop(read_aio_);
  nng_aio_stop(write_aio_);
}

void Connection::shutdown() {
  stop_io();
  // A handler that had not started yet when the read stopped never will; report the end.
  if (handlers_.on_close && !finished_.exchange(true)) handlers_.on_close(NNG_ECLOSED);
}

std::string Connection::peer() const {
  nng_sockaddr sa;
  if (nng_stream_get_addr(stream_, NNG_OPT_REMADDR, &sa) != 0) return "?";
  char buf[64];
  switch (sa.s_family) {
    case NNG_AF_INET: {
      const auto* a = reinterpret_cast<const unsigned char*>(&sa.s_in.sa_addr);
      std::snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
                    static_cast<unsigned>(ntohs(sa.s_in.sa_port)));
      return buf;
    }
    case NNG_AF_INET6:
      return "ipv6";
    case NNG_AF_IPC:
      return "ipc";
    case NNG_AF_ABSTRACT:
      return "abstract";
    default:
      return "?";
  }
}

std::size_t Connection::queued_bytes() const {
  std::lock_guard<std::mutex> lock(write_mu_);
  return pending_bytes_;
}

void Connection::read_cb(void* arg) { static_cast<Connection*>(arg)->on_read(); }
void Connection::write_cb(void* arg) { static_cast<Connection*>(arg)->on_write(); }

void Connection::arm_read() {
  nng_iov iov;
  if (big_mode_) {
    iov.iov_buf = big_.data() + big_filled_;
    iov.iov_len = big_.size() - big_filled_;
  } else {
    if (begin_ == end_) begin_ = end_ = 0;
    if (in_.size() < kReadBuffer && max_frame_ > kSmallBuffer / 2 && (filled_ || end_ > begin_))
      in_.resize(kReadBuffer);
    if (in_.size() - end_ < std::min(kReadChunk, in_.size() / 2)) {
      // compact: a partial frame is < kBigFrame + 4 (before set_max_frame, < kSmallBuffer / 2)
      std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    iov.iov_buf = in_.data() + end_;
    iov.iov_len = in_.size() - end_;
  }
  asked_ = iov.iov_len;
  nng_aio_set_iov(read_aio_, 1, &iov);
  nng_stream_recv(stream_, read_aio_);
  if (closing_) nng_aio_cancel(read_aio_);  // closed meanwhile: see close()
}

void Connection::on_read() {
  int rv = nng_aio_result(read_aio_);
  // The peer went away in the middle of a frame: a truncated frame, reported as malformed.
  if (rv != 0 && !closing_ && (big_mode_ || end_ > begin_)) return finish(NNG_EPROTO);
  if (rv != 0) return finish(rv);
  if (closing_) return finish(NNG_ECLOSED);
  if (heartbeat_.load(std::memory_order_relaxed))
    last_read_ns_.store(now_ns(), std::memory_order_relaxed);
  std::size_t n = nng_aio_count(read_aio_);
  filled_ = n == asked_;
  if (big_mode_) {
    big_filled_ += n;
    if (big_filled_ == big_.size()) {
      big_mode_ = false;
      std::string frame = std::move(big_);
      big_.clear();
      if (opener_) {
        int error = opener_->open(frame.data(), frame.size(), frame.data()) ? 0 : kForgedError;
        if (error == 0) {
          frame.resize(frame.size() - kSealTagBytes);
          error = deliver_record(std::move(frame));
        }
        if (error != 0) {
          close();
          return finish(error);
        }
      } else if (split_) {
        handlers_.on_split(std::move(head_), std::move(frame));
      } else {
        handlers_.on_frame(std::move(frame));
      }
    }
  } else {
    end_ += n;
  }
  if (!big_mode_) {
    if (int error = parse_frames(); error != 0) {
      close();
      return finish(error);
    }
  }
  if (closing_) return finish(NNG_ECLOSED);
  if (handlers_.on_batch_end) handlers_.on_batch_end();
  arm_read();
}

int Connection::parse_frames() {
  while (end_ - begin_ >= 4) {
    std::uint32_t len = read_le32(in_.data() + begin_);
    // Sealed, a record carries its tag; a heartbeat alone is an empty record.
    const std::uint32_t overhead = opener_ ? kSealTagBytes : 0;
    if (len == 0 && heartbeat_ && !opener_) {  // a heartbeat: it counted as a read already
      begin_ += 4;
      continue;
    }
    // A record of small frames may be larger than one frame may be (before the welcome).
    const std::uint32_t limit =
        opener_ ? std::max<std::uint32_t>(max_frame_, kMaxGroupRecord) : max_frame_.load();
    if (len == 0 || len < overhead || len - overhead > limit) return NNG_EPROTO;
    std::size_t have = end_ - begin_ - 4;
    if (have >= len) {
      const char* at = in_.data() + begin_ + 4;
      if (opener_) {
        std::string record(len - overhead, '\0');
        if (!opener_->open(at, len, record.data())) return kForgedError;
        begin_ += 4 + len;
        if (int error = deliver_record(std::move(record)); error != 0) return error;
      } else {
        begin_ += 4 + len;
        handlers_.on_frame(std::string(at, len));
      }
      if (closing_) return 0;
      continue;
    }
    if (len > kBigFrame) {
      const char* at = in_.data() + begin_ + 4;
      std::size_t head = 0;
      if (handlers_.tail_at && !opener_) {
        auto split = handlers_.tail_at(std::string_view(at, have), len);
        if (!split && have < kMaxSplitHead) break;  // the rest of its head first
        head = split.value_or(0);
      }
      split_ = head > 0;
      if (split_) head_.assign(at, head);
      big_ = take_bulk(len - head);
      std::memcpy(big_.data(), at + head, have - head);
      big_filled_ = have - head;
      big_mode_ = true;
      begin_ = end_ = 0;
    }
    break;
  }
  return 0;
}

int Connection::deliver_record(std::string record) {
  if (record.empty()) return heartbeat_ ? 0 : NNG_EPROTO;  // a heartbeat alone
  if (record[0] != 0) {  // one frame (a frame's type byte is never 0)
    if (record.size() > max_frame_) return NNG_EPROTO;
    handlers_.on_frame(std::move(record));
    return 0;
  }
  for (std::size_t at = 1; at < record.size() && !closing_;) {
    if (record.size() - at < 4) return NNG_EPROTO;
    std::uint32_t len = read_le32(record.data() + at);
    at += 4;
    if (len > record.size() - at || len > max_frame_) return NNG_EPROTO;
    if (len == 0 && !heartbeat_) return NNG_EPROTO;
    if (len > 0) handlers_.on_frame(record.substr(at, len));  // else a heartbeat
    at += len;
  }
  return 0;
}

void Connection::finish(int error) {
  if (lost_) error = kLostError;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    write_closed_ = true;
    pending_.clear();
    pending_bytes_ = 0;
  }
  if (handlers_.on_close && !finished_.exchange(true)) handlers_.on_close(error);
}

void Connection::send(std::string frame) { send(share_bulk(std::move(frame))); }

void Connection::send(std::shared_ptr<const std::string> frame) {
  queue(std::move(frame), nullptr);
}

void Connection::send(std::string head, std::string tail) {
  if (tail.empty()) return send(std::move(head));
  queue(std::make_shared<const std::string>(std::move(head)), share_bulk(std::move(tail)));
}

void Connection::queue(std::shared_ptr<const std::string> head,
                       std::shared_ptr<const std::string> tail) {
  std::unique_lock<std::mutex> lock(write_mu_);
  if (write_closed_) return;
  if (heartbeat_.load(std::memory_order_relaxed))
    last_sent_ns_.store(now_ns(), std::memory_order_relaxed);
  pending_bytes_ += head->size() + (tail ? tail->size() : 0) + 4;
  pending_.push_back({std::move(head), std::move(tail), sealer_ != nullptr});
  if (writing_ || corked_) return;
  start_write_locked();
  lock.unlock();
  send_chunks();
}

bool Connection::cork() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return !std::exchange(corked_, true);
}

void Connection::uncork() {
  std::unique_lock<std::mutex> lock(write_mu_);
  corked_ = false;
  if (writing_ || write_closed_ || pending_.empty()) return;
  start_write_locked();
  lock.unlock();
  send_chunks();
}

void Connection::start_write_locked() {
  writing_ = true;
  batch_.clear();
  lengths_.clear();
  chunks_.clear();
  // Reserved up front: chunks_ points into batch_ and lengths_.
  batch_.reserve(3 * kMaxFramesPerWrite);
  lengths_.reserve(kMaxFramesPerWrite);
  // Small frames are copied, length first, into one buffer; a larger frame goes out as its own
  // chunks after a 4-byte length chunk, without a copy.
  auto size_of = [](const Outgoing& f) { return f.head->size() + (f.tail ? f.tail->size() : 0); };
  auto tail_of = [](const Outgoing& f) {
    return f.tail ? std::string_view(*f.tail) : std::string_view();
  };
  auto append_framed = [&](std::string& to, const Outgoing& f) {
    auto len = static_cast<std::uint32_t>(size_of(f));
    to.append(reinterpret_cast<const char*>(&len), 4);
    to.append(*f.head);
    to.append(tail_of(f));
  };
  std::string small;
  auto flush_small = [&] {
    if (small.empty()) return;
    batch_.push_back(std::make_shared<const std::string>(std::move(small)));
    small.clear();
    chunks_.emplace_back(batch_.back()->data(), batch_.back()->size());
  };
  auto add_chunk = [&](std::shared_ptr<const std::string> part) {
    batch_.push_back(std::move(part));
    chunks_.emplace_back(batch_.back()->data(), batch_.back()->size());
  };
  // Sealed (frames queued after seal()), they go out as records: small frames together in one
  // record that starts with a zero byte and gives each its length (one alone is a record of
  // its own), a larger one in a record of its own; each record has its length, then its sealed
  // bytes (docs/protocol.md).
  auto add_record = [&](std::string sealed) {
    lengths_.push_back(static_cast<std::uint32_t>(sealed.size()));
    chunks_.emplace_back(reinterpret_cast<const char*>(&lengths_.back()), 4);
    add_chunk(share_bulk(std::move(sealed)));
  };
  std::size_t grouped = 0;  // small sealed frames waiting for their record
  Outgoing first{};         // the first of them
  std::string group;        // with two or more: the record's content
  auto add_to_group = [&](Outgoing f) {
    if (grouped++ == 0) return void(first = std::move(f));
    if (grouped == 2) {
      group.assign(1, '\0');
      append_framed(group, first);
    }
    append_framed(group, f);
  };
  auto flush_group = [&] {
    if (grouped == 1) add_record(sealer_->seal(*first.head, tail_of(first)));
    if (grouped > 1) add_record(sealer_->seal(group));
    grouped = 0;
    first = {};
  };
  for (std::size_t k = 0; k < kMaxFramesPerWrite && !pending_.empty(); ++k) {
    Outgoing f = std::move(pending_.front());
    pending_.pop_front();
    std::size_t size = size_of(f);
    pending_bytes_ -= size + 4;
    if (f.sealed) {
      flush_small();
      if (size < kCoalesceBelow) {
        add_to_group(std::move(f));
      } else {
        flush_group();
        add_record(sealer_->seal(*f.head, tail_of(f)));
      }
    } else if (size < kCoalesceBelow) {
      append_framed(small, f);
    } else {
      flush_small();
      lengths_.push_back(static_cast<std::uint32_t>(size));
      chunks_.emplace_back(reinterpret_cast<const char*>(&lengths_.back()), 4);
      add_chunk(std::move(f.head));
      if (f.tail) add_chunk(std::move(f.tail));
    }
  }
  flush_group();
  flush_small();
  chunk_index_ = 0;
  chunk_offset_ = 0;
}

void Connection::send_chunks() {
  nng_iov iov[kMaxIov];
  unsigned k = 0;
  for (std::size_t i = chunk_index_; i < chunks_.size() && k < kMaxIov; ++i) {
    std::size_t off = i == chunk_index_ ? chunk_offset_ : 0;
    iov[k++] = nng_iov{const_cast<char*>(chunks_[i].first) + off, chunks_[i].second - off};
  }
  nng_aio_set_iov(write_aio_, k, iov);  // k <= kMaxIov: cannot fail
  nng_stream_send(stream_, write_aio_);
}

void Connection::on_write() {
  int rv = nng_aio_result(write_aio_);
  if (rv != 0) {
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      writing_ = false;
      write_closed_ = true;
      pending_.clear();
      pending_bytes_ = 0;
    }
    written_cv_.notify_all();
    return close();  // the read side reports the end
  }
  // Skip what was written; resend the rest after a partial write.
  std::size_t n = nng_aio_count(write_aio_);
  while (n > 0 && chunk_index_ < chunks_.size()) {
    std::size_t left = chunks_[chunk_index_].second - chunk_offset_;
    if (n >= left) {
      n -= left;
      ++chunk_index_;
      chunk_offset_ = 0;
    } else {
      chunk_offset_ += n;
      n = 0;
    }
  }
  if (chunk_index_ < chunks_.size()) return send_chunks();
  std::unique_lock<std::mutex> lock(write_mu_);
  if (!pending_.empty() && !write_closed_ && !corked_) {
    start_write_locked();
    lock.unlock();
    send_chunks();
  } else {
    writing_ = false;
    batch_.clear();
    written_cv_.notify_all();
  }
}

bool Connection::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(write_mu_);
  return written_cv_.wait_for(lock, timeout, [this] {
    return write_closed_ || (!writing_ && pending_.empty());
  }) && !write_closed_;
}

}  // namespace mirai
