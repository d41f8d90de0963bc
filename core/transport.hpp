// Listening and dialing on URLs: ipc://, abstract://, tcp://, ws://, and over TLS tls+tcp://
// and wss:// (a listener needs a certificate and key, a dialer the certificate it trusts).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
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

// Whether `url` is a socket on this machine (ipc://, unix://, abstract://), which only this
// user's processes may use.
bool is_local_url(const std::string& url);
// Whether `url` is a TLS transport (tls+tcp://, wss://).
bool is_tls_url(const std::string& url);
// The host part of a tcp-family URL ("127.0.0.1", "node1", "::1"), or "".
std::string url_host(const std::string& url);
// Whether a listener's `host` means every interface ("", 0.0.0.0, ::, *): daemons elsewhere
// dial it by machine_name().
bool is_wildcard_host(const std::string& host);
// This machine's host name.
std::string machine_name();

// Whether a connection closed with `error` because the TLS handshake failed (the peer's
// certificate is not trusted or not for the expected name).
bool is_tls_rejection(int error);

// What a TLS listener presents: its certificate chain and key (PEM; the key may be encrypted
// with `key_passphrase`).
struct TlsServer {
  std::string cert_pem, key_pem, key_passphrase;
};
// What a TLS dialer trusts: the CA chain (PEM) that must have signed the peer's certificate,
// and the name that certificate must carry (empty: the URL's host).
struct TlsClient {
  std::string ca_pem;
  std::string server_name;
};

// A fresh private URL for daemons on this machine: abstract:// on Linux.
std::string local_url();

class Listener {
 public:
  // Binds `url`. Port 0 (tcp, ws) picks a free port; bound_url() then carries the real one.
  // On every interface (`tcp://:0`, `0.0.0.0`, `[::]`), bound_url() names this machine
  // (its host name), which daemons elsewhere can dial.
  // A TLS URL needs `tls`; other URLs ignore it.
  static Expected<std::unique_ptr<Listener>> open(const std::string& url,
                                                  const TlsServer* tls = nullptr);
  ~Listener();

  const std::string& bound_url() const { return bound_url_; }

  // Accepts connections until close(); each new one is handed to `on_accept` (an NNG thread).
  void start(std::function<void(std::shared_ptr<Connection>)> on_accept);
  // Stops accepting and waits until on_accept is no longer running. Idempotent.
  void close();
  // Connections to a local socket (ipc, abstract) from another user, hung up on at accept.
  std::uint64_t refused() const { return refused_.load(); }

 private:
  Listener() = default;
  static void accept_cb(void* arg);
  nng_stream_listener* listener_ = nullptr;
  nng_aio* accept_aio_ = nullptr;
  std::string bound_url_;
  bool local_ = false;    // ipc or abstract: only this user's processes may connect
  bool exposed_ = false;  // tcp or ws without TLS: its connections seal their frames
  std::atomic<std::uint64_t> refused_{0};
  std::function<void(std::shared_ptr<Connection>)> on_accept_;
};

// Connects to `url`, giving up after `timeout`. The message names the URL and the reason. A
// TLS URL needs `tls`: the peer's certificate, including its name, is checked in the handshake
// that the first frame sent starts, and a connection that fails the check closes with an error
// that is_tls_rejection() recognizes.
Expected<std::shared_ptr<Connection>> dial(const std::string& url,
                                           std::chrono::milliseconds timeout,
                                           const TlsClient* tls = nullptr);

}  // namespace mirai
