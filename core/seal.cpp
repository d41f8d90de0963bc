#include "core/seal.hpp"

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <openssl/evp.h>

#include <algorithm>
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

// OpenSSL's EVP interface: the cipher is keyed once, each frame only sets its nonce.
struct FrameSealer::Cipher {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~Cipher() { EVP_CIPHER_CTX_free(ctx); }
};

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

// EVP takes lengths as int: a frame (up to 4 GiB) goes through in pieces.
constexpr std::size_t kPiece = std::size_t{1} << 30;

// EVP_EncryptUpdate or EVP_DecryptUpdate over `n` bytes, in pieces.
using Update = int (*)(EVP_CIPHER_CTX*, unsigned char*, int*, const unsigned char*, int);
bool update(Update step, EVP_CIPHER_CTX* ctx, const unsigned char* in, std::size_t n,
            unsigned char* out) {
  for (std::size_t done = 0; done < n;) {
    int len = static_cast<int>(std::min(kPiece, n - done)), wrote = 0;
    if (step(ctx, out + done, &wrote, in + done, len) != 1 || wrote != len) return false;
    done += static_cast<std::size_t>(len);
  }
  return true;
}

}  // namespace

FrameSealer::FrameSealer(std::string_view key, Mode mode) : cipher_(std::make_unique<Cipher>()) {
  if (key.size() != kSealKeyBytes || !cipher_->ctx)
    throw std::invalid_argument("a frame key is 32 bytes");
  int ok = mode == Mode::kSeal
               ? EVP_EncryptInit_ex(cipher_->ctx, EVP_aes_256_gcm(), nullptr, bytes(key), nullptr)
               : EVP_DecryptInit_ex(cipher_->ctx, EVP_aes_256_gcm(), nullptr, bytes(key), nullptr);
  if (ok != 1) throw std::runtime_error("cannot set up AES-256-GCM");
}

FrameSealer::~FrameSealer() = default;

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
  EVP_CIPHER_CTX* ctx = cipher_->ctx;
  int wrote = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &wrote, length, sizeof length) != 1 ||
      !update(EVP_EncryptUpdate, ctx, bytes(head), head.size(), dst) ||
      !update(EVP_EncryptUpdate, ctx, bytes(tail), tail.size(), dst + head.size()) ||
      EVP_EncryptFinal_ex(ctx, dst + n, &wrote) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kSealTagBytes, dst + n) != 1)
    throw std::runtime_error("AES-256-GCM sealing failed");
  return out;
}

bool FrameSealer::open(const char* sealed, std::size_t n, char* out) {
  if (n < kSealTagBytes || count_ == std::numeric_limits<std::uint64_t>::max()) return false;
  unsigned char nonce[12], length[4], tag[kSealTagBytes];
  make_nonce(count_, nonce);
  le32(n, length);
  const std::size_t body = n - kSealTagBytes;
  const auto* src = reinterpret_cast<const unsigned char*>(sealed);
  std::memcpy(tag, src + body, kSealTagBytes);  // `out` may be `sealed`: keep the tag apart
  EVP_CIPHER_CTX* ctx = cipher_->ctx;
  int wrote = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &wrote, length, sizeof length) != 1 ||
      !update(EVP_DecryptUpdate, ctx, src, body, reinterpret_cast<unsigned char*>(out)) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kSealTagBytes, tag) != 1 ||
      EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out) + body, &wrote) != 1)
    return false;
  ++count_;
  return true;
}

}  // namespace mirai
