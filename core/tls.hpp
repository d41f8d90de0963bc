// TLS material for tls+tcp:// and wss://: a single-use self-signed certificate made in memory
// (the key never leaves this process), and checks of user-supplied PEM before NNG sees it.
#pragma once

#include <string>
#include <vector>

#include "mirai/status.hpp"

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

// Whether `pem` holds at least one certificate that parses; the message says what is wrong.
Status check_certificates(const std::string& pem);
// Whether `key_pem` is a private key that `passphrase` (empty: none) opens and that belongs to
// the first certificate of `cert_pem`.
Status check_key(const std::string& cert_pem, const std::string& key_pem,
                 const std::string& passphrase);

}  // namespace mirai::tls
