// Daemon authentication: each pool has a secret, and a daemon and its dispatcher prove to each
// other that they hold it, by challenge and response, before any task moves. The secret itself
// never crosses the wire (docs/protocol.md, docs/security.md).
#pragma once

#include <string>

#include "mirai/status.hpp"

namespace mirai::auth {

inline constexpr std::size_t kNonceBytes = 32;

// A fresh secret: 64 hex digits from a cryptographic random source.
std::string make_secret();
// kNonceBytes fresh random bytes.
std::string make_nonce();

// HMAC-SHA256 over (role, first, second) under `secret`: what one side sends to prove it holds
// the secret, bound to both sides' nonces and to its role, so a proof cannot be replayed or
// reflected back.
std::string proof(const std::string& secret, const char* role, const std::string& first,
                  const std::string& second);
inline constexpr const char* kDaemonRole = "mirai daemon v1";
inline constexpr const char* kDispatcherRole = "mirai dispatcher v1";

// Compares without leaking where the first difference is.
bool same(const std::string& a, const std::string& b);

// Reads a secret from `path`, which must be a regular file that only its owner can read or
// write (like ssh's private keys); the first line is the secret.
Expected<std::string> read_secret_file(const std::string& path);

}  // namespace mirai::auth
