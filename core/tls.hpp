// TLS material for tls+tcp:// and wss://: a single-use self-signed certificate made in memory
// (the key never leaves this process), and checks of user-supplied PEM before NNG sees it.
#pragma once

#include <string>
#include <vector>

#include "mirai/status.hpp"
#include "mirai/tls.hpp"

namespace mirai::tls {

// A certificate (PEM) and its private key (PEM, unencrypted, in memory only).
struct Identity {
  std::string cert_pem;
  std::string key_pem;
};

// A fresh EC P-256 key and a self-signed certificate for `names` (host names or IP addresses;
// the first is also the common name), valid from a day ago for a year. It is its own CA:
// daemons trust exactly it.
Expected<Identity> self_signed(const std::vector<std::string>& names);

// Makes `settings` ready to serve `url` (tls+tcp:// or wss://): checks a configured certificate,
// key, passphrase and CA, or fills in a single-use certificate for the URL's host (for a
// wildcard address: this machine's name, localhost, 127.0.0.1 and ::1).
Status prepare(const std::string& url, TlsSettings& settings);
// What daemons must trust: the CA when one is set, else the certificate.
inline const std::string& trusted(const TlsSettings& s) {
  return s.ca_pem.empty() ? s.cert_pem : s.ca_pem;
}

// Where TLS material comes from: files, and the passphrase from a file (its first line) or an
// environment variable, never from a command-line argument. Paths are used as given.
struct TlsFiles {
  std::string cert, key, passphrase_file, passphrase_env, ca;
  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};
// Reads them into settings (not checked yet: prepare() does that); the message names the file.
Expected<TlsSettings> load(const TlsFiles& files);

// Whether `pem` holds at least one certificate that parses; the message says what is wrong.
Status check_certificates(const std::string& pem);
// Whether `key_pem` is a private key that `passphrase` (empty: none) opens and that belongs to
// the first certificate of `cert_pem`.
Status check_key(const std::string& cert_pem, const std::string& key_pem,
                 const std::string& passphrase);

}  // namespace mirai::tls
