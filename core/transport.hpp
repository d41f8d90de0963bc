// Listening and dialing on URLs: ipc://, abstract://, tcp://, ws:// (tls+tcp:// and wss://
// need TLS material and are refused until it is configured).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/connection.hpp"
#include "mirai/status.hpp"

struct nng_aio;
struct nng_stream_listener;

namespace mirai {

// Checks that `url` names a transport we support and is well formed; the message says what to
// write instead.
Status check_url(const std::string& url);

// A fresh private URL for daemons on this machine: abstract:// on Linux.
std::string local_url();

class Listener {
 public:
  // Binds `url`. Port 0 (tcp, ws) picks a free port; bound_url() then carries the real one.
  static Expected<std::unique_ptr<Listener>> open(const std::string& url);
  ~Listener();

  const std::string& bound_url() const { return bound_url_; }

  // Accepts connections until close(); each new one is handed to `on_accept` (an NNG thread).
  void start(std::function<void(std::shared_ptr<Connection>)> on_accept);
  // Stops accepting and waits until on_accept is no longer running. Idempotent.
  void close();

 private:
  Listener() = default;
  static void accept_cb(void* arg);
  nng_stream_listener* listener_ = nullptr;
  nng_aio* accept_aio_ = nullptr;
  std::string bound_url_;
  std::function<void(std::shared_ptr<Connection>)> on_accept_;
};

// Connects to `url`, giving up after `timeout`. The message names the URL and the reason.
Expected<std::shared_ptr<Connection>> dial(const std::string& url,
                                           std::chrono::milliseconds timeout);

}  // namespace mirai
