#include "core/seal.hpp"

#include <mbedtls/chachapoly.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

#include <cstring>
#include <limits>
#include <stdexcept>

#include "core/buffer.hpp"

namespace mirai {
namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string derive(const std::string& secret, const std::string& salt, std::string_view label) {
  std::string key(kSealKeyBytes, '\0');
  if (mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), bytes(salt), salt.size(),
                   bytes(secret), secret.size(), bytes(label), label.size(),
                   reinterpret_cast<unsigned char*>(key.data()), key.size()) != 0)
    throw std::runtime_error("HKDF-SHA256 failed");
  return key;
}

}  // namespace

SessionKeys derive_session_keys(const std::string& secret, const std::string& daemon_nonce,
                                const std::string& dispatcher_nonce) {
  std::string salt = daemon_nonce + dispatcher_nonce;
  return {derive(secret, salt, "mirai v2 daemon to dispatcher"),
          derive(secret, salt, "mirai v2 dispatcher to daemon")};
}

struct FrameSealer::Cipher {
  mbedtls_chachapoly_context ctx;
  Cipher() { mbedtls_chachapoly_init(&ctx); }
  ~Cipher() { mbedtls_chachapoly_free(&ctx); }
};

FrameSealer::FrameSealer(std::string_view key) : cipher_(std::make_unique<Cipher>()) {
  if (key.size() != kSealKeyBytes || mbedtls_chachapoly_setkey(&cipher_->ctx, bytes(key)) != 0)
    throw std::invalid_argument("a frame key is 32 bytes");
}

FrameSealer::~FrameSealer() = default;

namespace {

// The nonce of frame number `count`: 4 zero bytes, then the count (little-endian). Each key
// serves one direction of one connection, so a count never repeats under a key.
void make_nonce(std::uint64_t count, unsigned char nonce[12]) {
  std::memset(nonce, 0, 12);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<unsigned char>(count >> (8 * i));
}

void le32(std::size_t n, unsigned char out[4]) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(n >> (8 * i));
}

}  // namespace

std::string FrameSealer::seal(std::string_view head, std::string_view tail) {
  // 2^64 frames never happen; if they did, a repeated nonce would give the key away.
  if (count_ == std::numeric_limits<std::uint64_t>::max())
    throw std::runtime_error("frame counter exhausted");
  const std::size_t n = head.size() + tail.size();
  std::string out;
  reserve_bulk(out, n + kSealTagBytes);
  out.resize(n + kSealTagBytes);
  unsigned char nonce[12], length[4];
  make_nonce(count_++, nonce);
  le32(n + kSealTagBytes, length);
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  mbedtls_chachapoly_context* ctx = &cipher_->ctx;
  mbedtls_chachapoly_starts(ctx, nonce, MBEDTLS_CHACHAPOLY_ENCRYPT);
  mbedtls_chachapoly_update_aad(ctx, length, sizeof length);
  mbedtls_chachapoly_update(ctx, head.size(), bytes(head), dst);
  mbedtls_chachapoly_update(ctx, tail.size(), bytes(tail), dst + head.size());
  mbedtls_chachapoly_finish(ctx, dst + n);
  return out;
}

bool FrameSealer::open(const char* sealed, std::size_t n, char* out) {
  if (n < kSealTagBytes || count_ == std::numeric_limits<std::uint64_t>::max()) return false;
  unsigned char nonce[12], length[4];
  make_nonce(count_, nonce);
  le32(n, length);
  const std::size_t body = n - kSealTagBytes;
  const auto* src = reinterpret_cast<const unsigned char*>(sealed);
  if (mbedtls_chachapoly_auth_decrypt(&cipher_->ctx, body, nonce, length, sizeof length, src + body,
                                      src, reinterpret_cast<unsigned char*>(out)) != 0)
    return false;
  ++count_;
  return true;
}

}  // namespace mirai
