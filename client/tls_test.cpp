// TLS between a profile's dispatcher and real `mirai daemon` processes: generated and custom
// certificates over tls+tcp and wss, and daemons that refuse a dispatcher whose certificate is
// not the trusted one or not for the name they dial.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "core/tls.hpp"
#include "mirai/profile.hpp"
#include "tests/support/support.hpp"

using namespace mirai;
using namespace std::chrono_literals;

namespace {

// The pids of the daemons that ran `n` tasks reporting their parent.
std::set<pid_t> daemon_pids(Profile& p, int n) {
  std::vector<Future> fs;
  for (int i = 0; i < n; ++i) fs.push_back(p.submit(Task::shell({"sh", "-c", "echo $PPID"})));
  std::set<pid_t> pids;
  for (auto& f : fs) {
    const Result& r = f.wait();
    REQUIRE(r.ok());
    pids.insert(static_cast<pid_t>(std::stol(r.value)));
  }
  return pids;
}

}  // namespace

TEST_CASE("tasks run over tls+tcp and wss with a single-use certificate", "[tls]") {
  auto url = GENERATE(as<std::string>{}, "tls+tcp://127.0.0.1:0", "wss://127.0.0.1:0/mirai",
                      "tls+tcp://[::1]:0");
  INFO(url);
  Profile p;
  Status s = p.set_daemons(test::local_daemons(2, url));
  INFO(s.message());
  REQUIRE(s.ok());
  std::string cert = p.tls_certificate();
  CHECK_THAT(cert, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
  auto r = p.submit(Task::call("echo", std::string(1 << 20, 'x'))).wait();
  REQUIRE(r.ok());
  CHECK(r.value.size() == 1u << 20);
  // The daemons got the certificate, and nothing of the key: not in their command line, not
  // in their environment.
  for (pid_t pid : daemon_pids(p, 8)) {
    std::string env = test::read_file("/proc/" + std::to_string(pid) + "/environ");
    std::string cmd = test::read_file("/proc/" + std::to_string(pid) + "/cmdline");
    CHECK(env.find("MIRAI_TLS_CA=" + cert) != std::string::npos);
    CHECK(env.find("PRIVATE KEY") == std::string::npos);
    CHECK(cmd.find("PRIVATE KEY") == std::string::npos);
    CHECK(cmd.find("BEGIN") == std::string::npos);
  }
}

TEST_CASE("a custom certificate and key serve TLS and are checked first", "[tls]") {
  auto url = GENERATE(as<std::string>{}, "tls+tcp://127.0.0.1:0", "wss://127.0.0.1:0/mirai");
  INFO(url);
  auto id = tls::self_signed({"127.0.0.1"});
  REQUIRE(id);
  DaemonsConfig c = test::local_daemons(1, url);
  c.tls.cert_pem = id->cert_pem;
  c.tls.key_pem = id->key_pem;
  Profile p;
  REQUIRE(p.set_daemons(c).ok());
  CHECK(p.tls_certificate() == id->cert_pem);
  CHECK(p.submit(Task::call("echo", "over tls")).wait().value == "over tls");
  p.reset();
  auto other = tls::self_signed({"127.0.0.1"});
  REQUIRE(other);
  c.tls.key_pem = other->key_pem;
  Status wrong = p.set_daemons(c);
  CHECK_THAT(wrong.message(), Catch::Contains("the key does not belong to the certificate"));
  c.tls.key_pem.clear();
  CHECK_THAT(p.set_daemons(c).message(), Catch::Contains("both a certificate and its key"));
}

TEST_CASE("a daemon refuses a dispatcher whose certificate is for another name", "[tls]") {
  // The dispatcher presents a valid certificate for dispatcher.invalid; the daemon trusts that
  // very certificate but dials 127.0.0.1, so the name does not match.
  auto id = tls::self_signed({"dispatcher.invalid"});
  REQUIRE(id);
  DaemonsConfig c;
  c.url = "tls+tcp://127.0.0.1:0";
  c.tls.cert_pem = id->cert_pem;
  c.tls.key_pem = id->key_pem;
  Profile p;
  REQUIRE(p.set_daemons(c).ok());
  test::TempDir dir;
  { std::ofstream(dir.file("ca.pem")) << id->cert_pem; }
  { std::ofstream(dir.file("secret")) << p.secret() << "\n"; }
  chmod(dir.file("secret").c_str(), 0600);
  const std::string secret = dir.file("secret");
  auto r = test::run({test::mirai_exe(), "daemon", p.url(), "--tls-ca", dir.file("ca.pem"),
                      "--secret-file", secret});
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Catch::Contains("its TLS certificate is not the trusted one") &&
                        Catch::Contains("not for '127.0.0.1'"));
  // A certificate it was not given is refused as well, and no daemon ever connected.
  auto stranger = tls::self_signed({"127.0.0.1"});
  REQUIRE(stranger);
  { std::ofstream(dir.file("other.pem")) << stranger->cert_pem; }
  auto r2 = test::run({test::mirai_exe(), "daemon", p.url(), "--tls-ca", dir.file("other.pem"),
                       "--secret-file", secret});
  CHECK(r2.exit_code == 69);
  // Without any certificate to trust, the daemon does not dial at all.
  auto r3 = test::run({test::mirai_exe(), "daemon", p.url(), "--secret-file", secret});
  CHECK(r3.exit_code == 69);
  CHECK_THAT(r3.err, Catch::Contains("MIRAI_TLS_CA"));
  CHECK(p.info().cumulative == 0);
}

TEST_CASE("an encrypted key opens with its passphrase from a file or a variable only", "[tls]") {
  // openssl encrypts the key as a user's would be; mirai reads the passphrase from a file
  // (first line) or an environment variable, never from an argument.
  test::TempDir dir;
  auto id = tls::self_signed({"127.0.0.1"});
  REQUIRE(id);
  std::ofstream(dir.file("plain.key")) << id->key_pem;
  std::ofstream(dir.file("cert.pem")) << id->cert_pem;
  std::ofstream(dir.file("pass")) << "correct horse\n";
  auto enc = test::run({"openssl", "ec", "-in", dir.file("plain.key"), "-aes256", "-passout",
                        "file:" + dir.file("pass"), "-out", dir.file("enc.key")});
  INFO(enc.err);
  REQUIRE(enc.exit_code == 0);
  CHECK_THAT(test::read_file(dir.file("enc.key")), Catch::Contains("ENCRYPTED"));
  // OpenSSL 3's default PKCS#8 encryption is beyond Mbed TLS 2.28: the message says what to do.
  auto pkcs8 = test::run({"openssl", "pkey", "-in", dir.file("plain.key"), "-aes256", "-passout",
                          "file:" + dir.file("pass"), "-out", dir.file("pkcs8.key")});
  REQUIRE(pkcs8.exit_code == 0);
  CHECK_THAT(tls::check_key(id->cert_pem, test::read_file(dir.file("pkcs8.key")), "correct horse")
                 .message(),
             Catch::Contains("openssl ec -aes256"));
  tls::TlsFiles files{dir.file("cert.pem"), dir.file("enc.key"), dir.file("pass"), "", ""};
  auto settings = tls::load(files);
  REQUIRE(settings);
  CHECK(settings->key_passphrase == "correct horse");
  DaemonsConfig c = test::local_daemons(1, "tls+tcp://127.0.0.1:0");
  c.tls = *settings;
  Profile p;
  Status s = p.set_daemons(c);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(p.submit(Task::call("echo", "sealed")).wait().value == "sealed");
  p.reset();
  setenv("MIRAI_TEST_KEY_PASS", "wrong", 1);
  files.passphrase_file.clear();
  files.passphrase_env = "MIRAI_TEST_KEY_PASS";
  c.tls = *tls::load(files);
  CHECK_THAT(p.set_daemons(c).message(), Catch::Contains("the passphrase does not open the key"));
  files.passphrase_env.clear();
  c.tls = *tls::load(files);
  CHECK_THAT(p.set_daemons(c).message(), Catch::Contains("encrypted and no passphrase"));
  unsetenv("MIRAI_TEST_KEY_PASS");
}

TEST_CASE("an expired custom certificate is refused before anything listens", "[tls]") {
  test::TempDir dir;
  auto id = tls::self_signed({"127.0.0.1"});
  REQUIRE(id);
  std::ofstream(dir.file("key.pem")) << id->key_pem;
  std::ofstream(dir.file("cert.pem")) << id->cert_pem;
  // Re-signed by openssl to have ended yesterday.
  auto old = test::run({"openssl", "x509", "-in", dir.file("cert.pem"), "-signkey",
                        dir.file("key.pem"), "-days", "-1", "-out", dir.file("old.pem")});
  INFO(old.err);
  REQUIRE(old.exit_code == 0);
  DaemonsConfig c = test::local_daemons(1, "tls+tcp://127.0.0.1:0");
  c.tls.cert_pem = test::read_file(dir.file("old.pem"));
  c.tls.key_pem = id->key_pem;
  Profile p;
  Status s = p.set_daemons(c);
  CHECK_FALSE(s);
  CHECK_THAT(s.message(), Catch::Contains("the certificate expired on 20"));
  CHECK_FALSE(p.daemons_set());
}
