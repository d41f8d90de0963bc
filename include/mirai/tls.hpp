// TLS settings for a dispatcher that listens on tls+tcp:// or wss:// (core layer: the transport
// uses them; a profile holds them in DaemonsConfig::tls).
#pragma once

#include <string>

namespace mirai {

// TLS for a tls+tcp:// or wss:// url. With no certificate, set_daemons makes a single-use
// self-signed one for the URL's host, in memory: its key is never written anywhere, and daemons
// are given only the certificate, which they require the dispatcher to present.
struct TlsSettings {
  std::string cert_pem;        // the dispatcher's certificate chain (PEM)
  std::string key_pem;         // its private key (PEM), encrypted when key_passphrase is set
  std::string key_passphrase;  // opens key_pem
  std::string ca_pem;          // what daemons trust (the CA that signed cert_pem); "": cert_pem
};

}  // namespace mirai
