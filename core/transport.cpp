#include "core/transport.hpp"

#include <nng/nng.h>
#include <unistd.h>

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

// Replaces the port of `url` (the part after the authority's last ':') with `port`.
std::string with_port(const std::string& url, int port) {
  auto start = url.find("://") + 3;
  auto end = url.find('/', start);
  if (end == std::string::npos) end = url.size();
  auto colon = url.rfind(':', end);
  if (colon == std::string::npos || colon < start) return url;
  return url.substr(0, colon + 1) + std::to_string(port) + url.substr(end);
}

void unlimited_receive(nng_stream_listener* l) {
  nng_stream_listener_set_size(l, NNG_OPT_RECVMAXSZ, 0);  // ws only; others ignore it
}

}  // namespace

Status check_url(const std::string& url) {
  std::string scheme = scheme_of(url);
  if (scheme.empty())
    return Status::error("invalid URL '" + url +
                         "': expected scheme://address, e.g. tcp://127.0.0.1:0, ipc:///tmp/x.sock "
                         "or abstract://name");
  if (scheme == "tls+tcp" || scheme == "wss")
    return Status::error("URL '" + url +
                         "': TLS transports (tls+tcp://, wss://) are not available "
                         "yet; use tcp://, ws://, ipc:// or abstract://");
  if (!(is_tcp_family(scheme) || scheme == "ipc" || scheme == "unix" || scheme == "abstract"))
    return Status::error("URL '" + url + "': unsupported scheme '" + scheme +
                         "' (use tcp://, ws://, ipc:// or abstract://)");
  nng_url* parsed = nullptr;
  if (nng_url_parse(&parsed, url.c_str()) != 0) return Status::error("invalid URL '" + url + "'");
  bool missing_port = is_tcp_family(scheme) && (parsed->u_port == nullptr || !*parsed->u_port);
  nng_url_free(parsed);
  if (missing_port)
    return Status::error("URL '" + url + "' has no port; add one, or :0 for any free port");
  return {};
}

std::string local_url() {
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "abstract://mirai-%d-%08x%08x", static_cast<int>(getpid()), rd(),
                rd());
  return buf;
}

Expected<std::unique_ptr<Listener>> Listener::open(const std::string& url) {
  if (Status s = check_url(url); !s) return s;
  std::unique_ptr<Listener> l(new Listener);
  int rv = nng_stream_listener_alloc(&l->listener_, url.c_str());
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
  if (is_tcp_family(scheme)) {
    int port = 0;
    if (nng_stream_listener_get_int(l->listener_, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
      l->bound_url_ = with_port(url, port);
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
    self->on_accept_(Connection::adopt(stream));
  }
  // Other errors (a peer that vanished mid-handshake, out of files) affect that peer only.
  nng_stream_listener_accept(self->listener_, self->accept_aio_);
}

Expected<std::shared_ptr<Connection>> dial(const std::string& url,
                                           std::chrono::milliseconds timeout) {
  if (Status s = check_url(url); !s) return s;
  nng_stream_dialer* d = nullptr;
  int rv = nng_stream_dialer_alloc(&d, url.c_str());
  if (rv != 0) return Status::error("cannot dial " + url + ": " + nng_strerror(rv));
  nng_stream_dialer_set_size(d, NNG_OPT_RECVMAXSZ, 0);
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
  return Connection::adopt(stream);
}

}  // namespace mirai
