// An on-path attacker for the tests: a TCP relay on 127.0.0.1 between a daemon and its
// dispatcher that passes frames through (u32 length + bytes, as on the wire), keeps a copy of
// every byte, and on its first connection can tamper with one frame.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace mirai::test {

class Relay {
 public:
  enum class Direction {
    kToDispatcher,  // frame 0 is the hello, 1 the proof, then results and heartbeats
    kToDaemon,      // frame 0 is the challenge, 1 the welcome, then tasks and heartbeats
  };
  enum class Action {
    kNone,
    kInject,    // sends `payload` (whole frames, lengths included) before the frame
    kReplay,    // sends the frame twice
    kFlip,      // flips one bit in the middle of the frame
    kReorder,   // holds the frame back and sends it after the next one
    kCutShort,  // sends the first half of the frame, then hangs up both sides
  };
  struct Tamper {
    Direction direction = Direction::kToDaemon;
    int frame = 0;  // counted from 0 in that direction
    Action action = Action::kNone;
    std::string payload;
  };

  // Listens on 127.0.0.1 (a free port) and relays each connection to 127.0.0.1:`target_port`.
  Relay(int target_port, Tamper tamper);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  int port() const { return port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  // Whether the tamper was carried out.
  bool tampered() const { return tampered_.load(); }
  // Every byte that went through, both ways.
  std::string captured() const;

 private:
  void serve();
  void relay(int daemon_fd, int dispatcher_fd, bool tamper);

  int target_port_;
  Tamper tamper_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> tampered_{false};
  mutable std::mutex mu_;
  std::string captured_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace mirai::test
