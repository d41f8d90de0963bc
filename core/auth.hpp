// Daemon authentication: each pool has a secret, and a daemon and its dispatcher prove to each
// other that they hold it, by challenge and response, before any task moves. The secret itself
// never crosses the wire (docs/protocol.md, docs/security.md).
#pragma once

#include <string>
#include <string_view>

#include "mirai/status.hpp"

namespace mirai::auth {

inline constexpr std::size_t kNonceBytes = 32;

// A fresh secret: 64 hex digits from a cryptographic random source.
std::string make_secret();
// kNonceBytes fresh random bytes.
std::string make_nonce();

// HMAC-SHA256 under `secret` of the role, the daemon's hello frame as it was sent (its nonce
// among its fields), the dispatcher's nonce and whether frames are sealed from then on: what one
// side sends to prove it holds the secret. Bound to both nonces and to its role, a proof cannot
// be replayed or reflected back; bound to the hello and the seal flag, it fails when anything
// was changed on the way (a heartbeat turned off, sealing stripped).
std::string proof(const std::string& secret, const char* role, std::string_view hello,
                  std::string_view dispatcher_nonce, bool seal);
inline constexpr const char* kDaemonRole = "mirai daemon v2";
inline constexpr const char* kDispatcherRole = "mirai dispatcher v2";

// Compares without leaking where the first difference is.
bool same(const std::string& a, const std::string& b);

// Reads a secret from `path`, which must be a regular file that only its owner can read or
// write (like ssh's private keys); the first line is the secret.
Expected<std::string> read_secret_file(const std::string& path);

}  // namespace mirai::auth
