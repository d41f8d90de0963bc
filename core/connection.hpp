// A framed, full-duplex connection over an NNG byte stream (ipc, abstract, tcp, ws, tls+tcp,
// wss). Frames are "u32 length + bytes" on the wire and "bytes" (type + body) to the user.
//
// Threading: handlers run on NNG's callback threads, one at a time per connection (reads are
// sequential). send() and close() may be called from any thread, handlers included.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/seal.hpp"

struct nng_aio;
struct nng_stream;

namespace mirai {

class Connection {
 public:
  struct Handlers {
    // A complete frame arrived.
    std::function<void(std::string frame)> on_frame;
    // The connection ended (peer closed, I/O error, malformed length, or close()). Called once,
    // after the last on_frame. `error` is an NNG error code.
    std::function<void(int error)> on_close;
    // Optional: every frame of one read was handed to on_frame (more may follow later). Not
    // called when the read ended the connection (on_close is).
    std::function<void()> on_batch_end = nullptr;
    // Optional, both or neither: where a large frame splits (from its first bytes and its
    // length: the size of its head; nullopt: more bytes needed to say; 0: it is not split), and
    // the frame in those two parts, each read into a buffer of its own, so that a large last
    // field (a payload, a result's value) is the tail as it is and never moved. Not on sealed
    // connections, whose records are opened whole.
    std::function<std::optional<std::size_t>(std::string_view prefix, std::size_t length)> tail_at =
        nullptr;
    std::function<void(std::string head, std::string tail)> on_split = nullptr;
  };

  // Takes ownership of `stream`. The returned pointer's deleter destroys the connection on a
  // background thread, so the last reference may be dropped inside a handler.
  static std::shared_ptr<Connection> adopt(nng_stream* stream);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Whether on_close's `error` says the peer sent a malformed length (zero without heartbeats,
  // or over the limit) or went away in the middle of a frame.
  static bool malformed(int error);
  // Whether on_close's `error` says the peer fell silent: nothing arrived for kSilentIntervals
  // heartbeat intervals.
  static bool lost(int error);
  // Whether on_close's `error` says a sealed frame did not open: injected, replayed, reordered,
  // altered or cut short on its way.
  static bool forged(int error);

  // A peer silent this many heartbeat intervals is lost.
  static constexpr int kSilentIntervals = 3;

  // Starts reading. Frames longer than `max_frame` bytes close the connection.
  void start(Handlers handlers, std::uint32_t max_frame);
  void set_max_frame(std::uint32_t max_frame) { max_frame_ = max_frame; }

  // Heartbeats, both ways: from now on an empty frame (length 0) goes out whenever nothing else
  // was sent for `interval`, empty frames that arrive are taken as heartbeats (they never reach
  // on_frame), and the connection closes as lost() when nothing at all arrived for
  // kSilentIntervals intervals. While traffic flows nothing extra is sent. Call once; both
  // peers must use the same interval. A zero interval does nothing.
  void enable_heartbeat(std::chrono::milliseconds interval);

  // Sealed frames, both ways (core/seal.hpp): from now on every frame sent (heartbeats too) is
  // sealed with `send_key`, and every frame that arrives must open with `receive_key`, or the
  // connection closes as forged(). Call once, from this connection's on_frame handler and
  // after the last plain frame was queued: the next frame read is the peer's first sealed one.
  void seal(const std::string& send_key, const std::string& receive_key);
  // Whether this connection crosses a network without TLS (tcp://, ws://): its frames must be
  // sealed after the handshake. Set by the listener or dialer that made it.
  bool exposed() const { return exposed_; }
  void set_exposed(bool exposed) { exposed_ = exposed; }

  // Queues a frame for sending; frames are written in order, several per system call when
  // they queue up. Dropped silently once the connection is closed.
  void send(std::string frame);
  // The same for a frame the caller keeps (the dispatcher keeps tasks until they are answered).
  void send(std::shared_ptr<const std::string> frame);
  // The same for a frame in two parts, written back to back without joining them (a large
  // payload after its header).
  void send(std::string head, std::string tail);

  // Corked, frames queue up and nothing is written until uncork(), which writes them together:
  // a sender about to queue several frames, under a lock of its own, makes one system call
  // and makes it after releasing the lock. cork() returns false when already corked.
  bool cork();
  void uncork();

  // Waits until every queued frame is written (true), the connection fails, or `timeout`
  // passes. Must not be called from this connection's own handlers.
  bool flush(std::chrono::milliseconds timeout);

  // Closes the stream; pending operations fail and on_close follows. Does not wait.
  void close();

  // Closes and waits until no handler of this connection is running or will run. Must not be
  // called from this connection's own handlers.
  void shutdown();

  // The peer's address as text, for status displays ("ipc", "127.0.0.1:5555", ...).
  std::string peer() const;

  // Bytes currently queued and not yet written.
  std::size_t queued_bytes() const;

 private:
  explicit Connection(nng_stream* stream);
  static void read_cb(void* arg);
  static void write_cb(void* arg);
  static void tick_cb(void* arg);
  void on_tick();
  void on_read();
  void on_write();
  void arm_read();
  // Hands the frames of an opened record to on_frame: one frame, or (first byte 0) several,
  // each after its length. Non-zero: malformed.
  int deliver_record(std::string record);
  int parse_frames();  // non-zero: malformed (NNG_EPROTO) or forged input; the error to close with
  void queue(std::shared_ptr<const std::string> head, std::shared_ptr<const std::string> tail);
  // Takes pending frames into the write (writing_ set); REQUIRES: write_mu_. The caller then
  // releases the lock and calls send_chunks(): the write's completion (on an NNG thread) takes
  // the lock, and would wait for it if the send were made under it.
  void start_write_locked();
  void send_chunks();  // the write's chunks from where it stands; only while writing_
  void stop_io();
  void finish(int error);

  nng_stream* stream_;
  nng_aio* read_aio_ = nullptr;
  nng_aio* write_aio_ = nullptr;
  Handlers handlers_;
  std::atomic<std::uint32_t> max_frame_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> finished_{false};
  bool exposed_ = false;
  std::unique_ptr<FrameSealer> opener_;  // read side only: touched by the read callback

  // Heartbeats: when the last completed read and the last queued frame happened (steady clock,
  // in ns; kept only with heartbeats on). The timer fires when the next heartbeat or the loss
  // of the peer is due, not on a fixed tick: about once an interval on a quiet connection.
  static std::int64_t now_ns();
  void arm_tick();
  nng_aio* tick_aio_ = nullptr;
  std::atomic<bool> heartbeat_{false};
  std::atomic<bool> lost_{false};
  std::atomic<std::int64_t> last_read_ns_{0}, last_sent_ns_{0};
  std::int64_t interval_ns_ = 0;  // set once, before the first tick

  // Read state: touched only by the read callback (reads are sequential).
  std::string in_;
  std::size_t begin_ = 0, end_ = 0;
  std::size_t asked_ = 0;  // bytes the read in progress may bring
  bool filled_ = false;    // the last read brought all it could: more is likely waiting
  std::string big_;        // a large frame being read straight into its own buffer (or its tail)
  std::size_t big_filled_ = 0;
  bool big_mode_ = false;
  std::string head_;  // split (tail_at): the large frame's head, read before its tail
  bool split_ = false;

  // Write state.
  mutable std::mutex write_mu_;
  std::condition_variable written_cv_;  // signalled when a write ends with nothing queued
  struct Outgoing {
    std::shared_ptr<const std::string> head, tail;  // tail may be null
    bool sealed = false;                            // queued after seal()
  };
  std::deque<Outgoing> pending_;         // GUARDED_BY(write_mu_)
  std::size_t pending_bytes_ = 0;        // GUARDED_BY(write_mu_)
  bool writing_ = false;                 // GUARDED_BY(write_mu_)
  bool write_closed_ = false;            // GUARDED_BY(write_mu_)
  bool corked_ = false;                  // GUARDED_BY(write_mu_)
  std::unique_ptr<FrameSealer> sealer_;  // GUARDED_BY(write_mu_)
  // Owned by the write in progress (writing_ == true).
  std::vector<std::shared_ptr<const std::string>> batch_;
  std::vector<std::uint32_t> lengths_;
  std::vector<std::pair<const char*, std::size_t>> chunks_;
  std::size_t chunk_index_ = 0, chunk_offset_ = 0;
};

}  // namespace mirai
