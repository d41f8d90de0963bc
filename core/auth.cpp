#include "core/auth.hpp"

#include <mbedtls/md.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace mirai::auth {

namespace {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t k = getrandom(out.data() + got, n - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
    got += static_cast<std::size_t>(k);
  }
  return out;
}

}  // namespace

std::string make_secret() {
  static const char kHex[] = "0123456789abcdef";
  std::string raw = random_bytes(32), hex;
  for (unsigned char c : raw) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

std::string make_nonce() { return random_bytes(kNonceBytes); }

std::string proof(const std::string& secret, const char* role, std::string_view hello,
                  std::string_view dispatcher_nonce, bool seal) {
  const mbedtls_md_info_t* sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
  mbedtls_md_context_t ctx;
  mbedtls_md_init(&ctx);
  unsigned char mac[32];
  // Each part is preceded by its length, so no two different lists of parts hash alike.
  auto part = [&](std::string_view data) {
    std::size_t n = data.size();
    unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                            static_cast<unsigned char>(n >> 16),
                            static_cast<unsigned char>(n >> 24)};
    mbedtls_md_hmac_update(&ctx, len, sizeof len);
    mbedtls_md_hmac_update(&ctx, reinterpret_cast<const unsigned char*>(data.data()), n);
  };
  mbedtls_md_setup(&ctx, sha256, 1);
  mbedtls_md_hmac_starts(&ctx, reinterpret_cast<const unsigned char*>(secret.data()),
                         secret.size());
  part(role);
  part(hello);
  part(dispatcher_nonce);
  part(seal ? std::string_view("\1", 1) : std::string_view("\0", 1));
  mbedtls_md_hmac_finish(&ctx, mac);
  mbedtls_md_free(&ctx);
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

bool same(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Expected<std::string> read_secret_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Status::error("cannot read the secret file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::error("the secret file " + path + " is not a file");
  if (st.st_mode & 077)
    return Status::error("the secret file " + path +
                         " may be read by others; make it private: chmod 600 " + path);
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  if (!in && !in.eof()) return Status::error("cannot read the secret file " + path);
  while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.empty()) return Status::error("the secret file " + path + " is empty");
  return secret;
}

}  // namespace mirai::auth
