#include "core/transport.hpp"

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <unistd.h>

#include <optional>
#include <random>

namespace mirai {
namespace {

bool is_tcp_family(const std::string& scheme) {
  return scheme == "tcp" || scheme == "tcp4" || scheme == "tcp6" || scheme == "ws" ||
         scheme == "ws4" || scheme == "ws6";
}

std::string scheme_of(const std::string& url) {
  auto p = url.find("://");
  return p == std::string::npos ? std::string() : url.substr(0, p);
}

// Where the host and the port of `url` are: the host runs from `start` to `colon` (the
// authority's last ':'), the port from there to `end`. None when the URL has no port.
struct HostPort {
  std::size_t start, colon, end;
};
std::optional<HostPort> host_port(const std::string& url) {
  auto start = url.find("://") + 3;
  auto end = url.find('/', start);
  if (end == std::string::npos) end = url.size();
  auto colon = url.rfind(':', end);
  if (colon == std::string::npos || colon < start) return std::nullopt;
  return HostPort{start, colon, end};
}

// Replaces the port of `url` with `port`.
std::string with_port(const std::string& url, int port) {
  auto at = host_port(url);
  if (!at) return url;
  return url.substr(0, at->colon + 1) + std::to_string(port) + url.substr(at->end);
}

// A listener on every interface is dialled by this machine's name: that is the URL daemons are
// given (and what a generated certificate names, core/tls.cpp).
std::string dialable(const std::string& url) {
  auto at = host_port(url);
  if (!at || !is_wildcard_host(url_host(url))) return url;
  return url.substr(0, at->start) + machine_name() + url.substr(at->colon);
}

// An NNG TLS configuration, freed on scope exit (listeners and dialers keep their own reference).
struct TlsConfig {
  nng_tls_config* cfg = nullptr;
  ~TlsConfig() {
    if (cfg) nng_tls_config_free(cfg);
  }
};

void unlimited_receive(nng_stream_listener* l) {
  nng_stream_listener_set_size(l, NNG_OPT_RECVMAXSZ, 0);  // ws only; others ignore it
  // Frames are written whole and coalesced by Connection: Nagle's algorithm only delays them.
  nng_stream_listener_set_bool(l, NNG_OPT_TCP_NODELAY, true);  // tcp family; others ignore it
}

}  // namespace

Status check_url(const std::string& url) {
  std::string scheme = scheme_of(url);
  if (scheme.empty())
    return Status::error("invalid URL '" + url +
                         "': expected scheme://address, e.g. tcp://127.0.0.1:0, ipc:///tmp/x.sock "
                         "or abstract://name");
  if (!(is_tcp_family(scheme) || is_tls_url(url) || scheme == "ipc" || scheme == "unix" ||
        scheme == "abstract"))
    return Status::error("URL '" + url + "': unsupported scheme '" + scheme +
                         "' (use tcp://, ws://, tls+tcp://, wss://, ipc:// or abstract://)");
  nng_url* parsed = nullptr;
  if (nng_url_parse(&parsed, url.c_str()) != 0) return Status::error("invalid URL '" + url + "'");
  bool missing_port =
      (is_tcp_family(scheme) || is_tls_url(url)) && (parsed->u_port == nullptr || !*parsed->u_port);
  nng_url_free(parsed);
  if (missing_port)
    return Status::error("URL '" + url + "' has no port; add one, or :0 for any free port");
  return {};
}

bool is_wildcard_host(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "*";
}

std::string machine_name() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

bool is_local_url(const std::string& url) {
  std::string scheme = scheme_of(url);
  return scheme == "ipc" || scheme == "unix" || scheme == "abstract";
}

bool is_tls_url(const std::string& url) {
  std::string scheme = scheme_of(url);
  return scheme == "tls+tcp" || scheme == "tls+tcp4" || scheme == "tls+tcp6" || scheme == "wss" ||
         scheme == "wss4" || scheme == "wss6";
}

std::string url_host(const std::string& url) {
  nng_url* parsed = nullptr;
  if (nng_url_parse(&parsed, url.c_str()) != 0) return "";
  std::string host = parsed->u_hostname ? parsed->u_hostname : "";
  nng_url_free(parsed);
  return host;
}

bool is_tls_rejection(int error) { return error == NNG_ECRYPTO || error == NNG_EPEERAUTH; }

std::string local_url() {
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "abstract://mirai-%d-%08x%08x", static_cast<int>(getpid()), rd(),
                rd());
  return buf;
}

Expected<std::unique_ptr<Listener>> Listener::open(const std::string& url, const TlsServer* tls) {
  if (Status s = check_url(url); !s) return s;
  const bool secure = is_tls_url(url);
  if (secure && (!tls || tls->cert_pem.empty() || tls->key_pem.empty()))
    return Status::error("cannot listen on " + url + ": a TLS URL needs a certificate and key");
  std::unique_ptr<Listener> l(new Listener);
  int rv = nng_stream_listener_alloc(&l->listener_, url.c_str());
  TlsConfig config;
  if (rv == 0 && secure) {
    rv = nng_tls_config_alloc(&config.cfg, NNG_TLS_MODE_SERVER);
    if (rv == 0)
      rv = nng_tls_config_own_cert(
          config.cfg, tls->cert_pem.c_str(), tls->key_pem.c_str(),
          tls->key_passphrase.empty() ? nullptr : tls->key_passphrase.c_str());
    if (rv == NNG_ECRYPTO)
      return Status::error("cannot listen on " + url +
                           ": the certificate or key is not valid PEM, or the passphrase is wrong");
    if (rv == 0) rv = nng_stream_listener_set_ptr(l->listener_, NNG_OPT_TLS_CONFIG, config.cfg);
  }
  if (rv == 0) {
    unlimited_receive(l->listener_);
    rv = nng_stream_listener_listen(l->listener_);
  }
  if (rv != 0)
    return Status::error("cannot listen on " + url + ": " + nng_strerror(rv) +
                         (rv == NNG_EADDRINUSE ? " (another process holds it; pick another port "
                                                 "or :0)"
                                               : ""));
  l->bound_url_ = url;
  std::string scheme = scheme_of(url);
  l->local_ = is_local_url(url);
  l->exposed_ = is_tcp_family(scheme);  // plain tcp or ws: sealed frames
  if (is_tcp_family(scheme) || secure) {
    int port = 0;
    if (nng_stream_listener_get_int(l->listener_, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
      l->bound_url_ = with_port(url, port);
    l->bound_url_ = dialable(l->bound_url_);
  } else if (scheme == "abstract" && url == "abstract://") {
    nng_sockaddr sa;
    if (nng_stream_listener_get_addr(l->listener_, NNG_OPT_LOCADDR, &sa) == 0)
      l->bound_url_ =
          "abstract://" +
          std::string(reinterpret_cast<const char*>(sa.s_abstract.sa_name), sa.s_abstract.sa_len);
  }
  nng_aio_alloc(&l->accept_aio_, &Listener::accept_cb, l.get());
  return l;
}

Listener::~Listener() {
  close();
  nng_aio_free(accept_aio_);
  nng_stream_listener_free(listener_);
}

void Listener::start(std::function<void(std::shared_ptr<Connection>)> on_accept) {
  on_accept_ = std::move(on_accept);
  nng_stream_listener_accept(listener_, accept_aio_);
}

void Listener::close() {
  nng_stream_listener_close(listener_);
  nng_aio_stop(accept_aio_);
}

void Listener::accept_cb(void* arg) {
  auto* self = static_cast<Listener*>(arg);
  int rv = nng_aio_result(self->accept_aio_);
  if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
  if (rv == 0) {
    auto* stream = static_cast<nng_stream*>(nng_aio_get_output(self->accept_aio_, 0));
    // A local socket (ipc, abstract) is this user's alone: anyone else is hung up on at once,
    // before a byte is read, so others can neither use nor clog it. Abstract sockets have no
    // file permissions to do this.
    std::uint64_t uid = 0;
    if (self->local_ && (nng_stream_get_uint64(stream, NNG_OPT_IPC_PEER_UID, &uid) != 0 ||
                         uid != static_cast<std::uint64_t>(geteuid()))) {
      ++self->refused_;
      nng_stream_close(stream);
      nng_stream_free(stream);
    } else {
      auto conn = Connection::adopt(stream);
      conn->set_exposed(self->exposed_);
      self->on_accept_(std::move(conn));
    }
  }
  // Other errors (a peer that vanished mid-handshake, out of files) affect that peer only.
  nng_stream_listener_accept(self->listener_, self->accept_aio_);
}

Expected<std::shared_ptr<Connection>> dial(const std::string& url,
                                           std::chrono::milliseconds timeout,
                                           const TlsClient* tls) {
  if (Status s = check_url(url); !s) return s;
  const bool secure = is_tls_url(url);
  if (secure && (!tls || tls->ca_pem.empty()))
    return Status::error("cannot connect to " + url +
                         ": a TLS URL needs the dispatcher's certificate to verify it (give it "
                         "with --tls-ca FILE or the MIRAI_TLS_CA variable)");
  const std::string name = secure && !tls->server_name.empty() ? tls->server_name : url_host(url);
  nng_stream_dialer* d = nullptr;
  int rv = nng_stream_dialer_alloc(&d, url.c_str());
  if (rv != 0) return Status::error("cannot dial " + url + ": " + nng_strerror(rv));
  TlsConfig config;
  if (secure) {
    rv = nng_tls_config_alloc(&config.cfg, NNG_TLS_MODE_CLIENT);
    if (rv == 0) rv = nng_tls_config_ca_chain(config.cfg, tls->ca_pem.c_str(), nullptr);
    // NNG 1.5 checks the name only when it is set explicitly.
    if (rv == 0) rv = nng_tls_config_server_name(config.cfg, name.c_str());
    if (rv == 0) rv = nng_tls_config_auth_mode(config.cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    if (rv == 0) rv = nng_stream_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, config.cfg);
    if (rv != 0) {
      nng_stream_dialer_free(d);
      return Status::error("cannot dial " + url + ": the trusted certificate is not valid PEM (" +
                           nng_strerror(rv) + ")");
    }
  }
  nng_stream_dialer_set_size(d, NNG_OPT_RECVMAXSZ, 0);
  nng_stream_dialer_set_bool(d, NNG_OPT_TCP_NODELAY, true);
  nng_aio* aio = nullptr;
  nng_aio_alloc(&aio, nullptr, nullptr);
  nng_aio_set_timeout(aio, static_cast<nng_duration>(timeout.count()));
  nng_stream_dialer_dial(d, aio);
  nng_aio_wait(aio);
  rv = nng_aio_result(aio);
  nng_stream* stream = rv == 0 ? static_cast<nng_stream*>(nng_aio_get_output(aio, 0)) : nullptr;
  nng_aio_free(aio);
  nng_stream_dialer_free(d);
  if (rv != 0) return Status::error("cannot connect to " + url + ": " + nng_strerror(rv));
  auto conn = Connection::adopt(stream);
  conn->set_exposed(is_tcp_family(scheme_of(url)));
  return conn;
}

}  // namespace mirai
