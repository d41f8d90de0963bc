#include "core/tls.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/transport.hpp"

namespace mirai::tls {

namespace {

std::string mbed_error(int rv) {
  char buf[160];
  mbedtls_strerror(rv, buf, sizeof buf);
  return buf;
}

// DER: a tag, its length, then the bytes.
std::string der(unsigned char tag, const std::string& body) {
  std::string out(1, static_cast<char>(tag));
  std::size_t n = body.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else if (n < 0x100) {
    out += '\x81';
    out += static_cast<char>(n);
  } else {
    out += '\x82';
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  return out + body;
}

// UTC time `offset` seconds from now as YYYYMMDDHHMMSS.
std::string utc(long long offset) {
  std::time_t t = std::time(nullptr) + static_cast<std::time_t>(offset);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

// The mbed TLS state one generation needs, freed in one place.
struct Mbed {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_pk_context key;
  mbedtls_x509write_cert crt;
  mbedtls_mpi serial;
  Mbed() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);
  }
  ~Mbed() {
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);  // zeroizes the private key
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
};

}  // namespace

Expected<Identity> self_signed(const std::vector<std::string>& names) {
  if (names.empty() || names[0].empty())
    return Status::error("a certificate needs the host name or address daemons dial");
  for (const auto& n : names)
    if (n.size() > 253 || n.find_first_of(",=+<>#;\\\"") != std::string::npos)
      return Status::error("'" + n + "' cannot be a certificate name");
  Mbed m;
  auto fail = [](const char* what, int rv) {
    return Status::error(std::string("cannot make a TLS certificate: ") + what + ": " +
                         mbed_error(rv));
  };
  static const char kPers[] = "mirai self-signed";
  int rv = mbedtls_ctr_drbg_seed(&m.drbg, mbedtls_entropy_func, &m.entropy,
                                 reinterpret_cast<const unsigned char*>(kPers), sizeof kPers - 1);
  if (rv != 0) return fail("seeding the random generator", rv);
  if ((rv = mbedtls_pk_setup(&m.key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
      (rv = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(m.key),
                                mbedtls_ctr_drbg_random, &m.drbg)) != 0)
    return fail("generating the key", rv);

  unsigned char serial[16];
  if ((rv = mbedtls_ctr_drbg_random(&m.drbg, serial, sizeof serial)) != 0)
    return fail("drawing a serial number", rv);
  serial[0] &= 0x7f;  // a positive INTEGER
  mbedtls_mpi_read_binary(&m.serial, serial, sizeof serial);
  const std::string subject = "CN=" + names[0] + ",O=mirai";
  mbedtls_x509write_crt_set_version(&m.crt, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&m.crt, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&m.crt, &m.key);
  mbedtls_x509write_crt_set_issuer_key(&m.crt, &m.key);
  // A SubjectAltName of dNSName entries: mbed TLS 2.28 matches the server name (also an IP
  // address, as text) against these. It has no writer for the extension, so it is encoded here.
  std::string general_names;
  for (const auto& n : names) general_names += der(0x82, n);
  const std::string san = der(0x30, general_names);
  if ((rv = mbedtls_x509write_crt_set_subject_name(&m.crt, subject.c_str())) != 0 ||
      (rv = mbedtls_x509write_crt_set_issuer_name(&m.crt, subject.c_str())) != 0 ||
      (rv = mbedtls_x509write_crt_set_serial(&m.crt, &m.serial)) != 0 ||
      (rv = mbedtls_x509write_crt_set_validity(&m.crt, utc(-86400).c_str(),
                                               utc(366LL * 86400).c_str())) != 0 ||
      (rv = mbedtls_x509write_crt_set_basic_constraints(&m.crt, 1, 0)) != 0 ||
      (rv = mbedtls_x509write_crt_set_subject_key_identifier(&m.crt)) != 0 ||
      (rv = mbedtls_x509write_crt_set_authority_key_identifier(&m.crt)) != 0 ||
      (rv = mbedtls_x509write_crt_set_key_usage(
           &m.crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_CERT_SIGN)) != 0 ||
      (rv = mbedtls_x509write_crt_set_extension(
           &m.crt, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
           reinterpret_cast<const unsigned char*>(san.data()), san.size())) != 0)
    return fail("filling in the certificate", rv);

  Identity id;
  std::string buf(4096, '\0');
  auto* out = reinterpret_cast<unsigned char*>(buf.data());
  if ((rv = mbedtls_x509write_crt_pem(&m.crt, out, buf.size(), mbedtls_ctr_drbg_random, &m.drbg)) !=
      0)
    return fail("writing the certificate", rv);
  id.cert_pem = buf.c_str();
  if ((rv = mbedtls_pk_write_key_pem(&m.key, out, buf.size())) != 0)
    return fail("writing the key", rv);
  id.key_pem = buf.c_str();
  mbedtls_platform_zeroize(buf.data(), buf.size());
  return id;
}

Status prepare(const std::string& url, TlsSettings& t) {
  if (t.cert_pem.empty() != t.key_pem.empty())
    return Status::error(
        "TLS needs both a certificate and its key, or neither (then a "
        "single-use certificate is made)");
  if (!t.cert_pem.empty()) {
    if (Status s = check_key(t.cert_pem, t.key_pem, t.key_passphrase); !s)
      return Status::error("the TLS certificate and key cannot be used: " + s.message());
    if (!t.ca_pem.empty())
      if (Status s = check_certificates(t.ca_pem); !s)
        return Status::error("the TLS CA chain cannot be used: " + s.message());
    return {};
  }
  // Daemons check the name they dial; a wildcard address is dialled by this machine's name.
  std::string host = url_host(url);
  std::vector<std::string> names = {host};
  if (is_wildcard_host(host)) names = {machine_name(), "localhost", "127.0.0.1", "::1"};
  auto id = self_signed(names);
  if (!id) return id.status();
  t.cert_pem = std::move(id->cert_pem);
  t.key_pem = std::move(id->key_pem);
  t.key_passphrase.clear();
  t.ca_pem.clear();
  return {};
}

Expected<TlsSettings> load(const TlsFiles& f) {
  auto read = [](const std::string& path, const char* what, std::string& out) -> Status {
    if (path.empty()) return {};
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    if (!in || !(text << in.rdbuf()))
      return Status::error(std::string("cannot read the TLS ") + what + " file " + path);
    out = text.str();
    return {};
  };
  TlsSettings t;
  std::string passphrase;
  if (Status s = read(f.cert, "certificate", t.cert_pem); !s) return s;
  if (Status s = read(f.key, "key", t.key_pem); !s) return s;
  if (Status s = read(f.ca, "CA", t.ca_pem); !s) return s;
  if (Status s = read(f.passphrase_file, "passphrase", passphrase); !s) return s;
  if (!f.passphrase_file.empty()) {
    passphrase = passphrase.substr(0, passphrase.find_first_of("\r\n"));
  } else if (!f.passphrase_env.empty()) {
    const char* v = std::getenv(f.passphrase_env.c_str());
    if (!v) return Status::error("the TLS passphrase variable " + f.passphrase_env + " is not set");
    passphrase = v;
  }
  t.key_passphrase = std::move(passphrase);
  return t;
}

namespace {

// "2026-12-01 20:14:36 UTC"
std::string when(const mbedtls_x509_time& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d UTC", t.year, t.mon, t.day, t.hour,
                t.min, t.sec);
  return buf;
}

}  // namespace

Status check_certificates(const std::string& pem) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  // PEM input must include its terminating NUL in the length.
  int rv = mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(pem.c_str()),
                                  pem.size() + 1);
  mbedtls_x509_crt_free(&crt);
  if (rv < 0) return Status::error("not a PEM certificate: " + mbed_error(rv));
  if (rv > 0) return Status::error(std::to_string(rv) + " of the certificates do not parse");
  return Status();
}

Status check_key(const std::string& cert_pem, const std::string& key_pem,
                 const std::string& passphrase) {
  mbedtls_x509_crt crt;
  mbedtls_pk_context key;
  mbedtls_x509_crt_init(&crt);
  mbedtls_pk_init(&key);
  Status result;
  int rv = mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(cert_pem.c_str()),
                                  cert_pem.size() + 1);
  if (rv != 0) {
    result = Status::error("the certificate does not parse: " + mbed_error(rv));
  } else if ((rv = mbedtls_pk_parse_key(
                  &key, reinterpret_cast<const unsigned char*>(key_pem.c_str()), key_pem.size() + 1,
                  passphrase.empty() ? nullptr
                                     : reinterpret_cast<const unsigned char*>(passphrase.data()),
                  passphrase.size())) != 0) {
    result = Status::error(
        rv == MBEDTLS_ERR_PK_PASSWORD_REQUIRED ? "the key is encrypted and no passphrase was given"
        : rv == MBEDTLS_ERR_PK_PASSWORD_MISMATCH ? "the passphrase does not open the key"
        : mbed_error(rv).find("PKCS5") != std::string::npos
            ? "the key is encrypted with a scheme Mbed TLS 2.28 cannot read (" + mbed_error(rv) +
                  "); re-encrypt it as traditional PEM: openssl ec -aes256 (or openssl rsa "
                  "-aes256) -in KEY -out NEW"
            : "the key does not parse: " + mbed_error(rv));
  } else if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
    result = Status::error("the key does not belong to the certificate");
  } else if (mbedtls_x509_time_is_past(&crt.valid_to)) {
    // Daemons would refuse it in the handshake, each with a message of its own far away.
    result = Status::error("the certificate expired on " + when(crt.valid_to) +
                           " (renew it, or leave tls: out for a single-use one)");
  } else if (mbedtls_x509_time_is_future(&crt.valid_from)) {
    result = Status::error("the certificate is not valid before " + when(crt.valid_from));
  }
  mbedtls_pk_free(&key);
  mbedtls_x509_crt_free(&crt);
  return result;
}

}  // namespace mirai::tls
