// The network benchmarks: tasks over every transport against ipc, the AEADs that could seal
// frames, and what sealing adds to a round trip (bench.cpp lists the modes).
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <openssl/evp.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/bench.hpp"
#include "core/seal.hpp"
#include "core/transport.hpp"
#include "mirai/mirai.hpp"

using namespace mirai;

namespace bench {

// Every transport side by side: the no-op round trip, and the rate of 50,000 no-op tasks and of
// 4,000 tasks of about 0.1 ms (the `sleep` function's own wait) on 1 and 4 daemons.
void transports() {
  // No-op rows run long enough (50,000 tasks, 0.1 to 0.3 s) to be more than their ramp-up.
  constexpr int kShortTasks = 4000, kNoopTasks = 50000;
  const std::vector<std::pair<std::string, std::string>> urls = {{"ipc", ipc_url("transports")},
                                                                 {"tcp", "tcp://127.0.0.1:0"},
                                                                 {"tls", "tls+tcp://127.0.0.1:0"},
                                                                 {"ws", "ws://127.0.0.1:0/mirai"}};
  {
    // The round trips: a profile on each transport at once, taken in turns, so that each sees
    // the same machine (measured one after the other, drift alone moved ratios by 10 %).
    std::vector<std::unique_ptr<Profile>> ps;
    for (const auto& [name, url] : urls) {
      ps.push_back(std::make_unique<Profile>());
      start(*ps.back(), 1, true, url);
      for (int i = 0; i < 1000; ++i) ps.back()->submit(Task::call("noop")).wait();
    }
    std::vector<std::vector<double>> us(ps.size());
    for (int i = 0; i < 5000; ++i)
      for (std::size_t k = 0; k < ps.size(); ++k) {
        auto t0 = Clock::now();
        ps[k]->submit(Task::call("noop")).wait();
        us[k].push_back(us_since(t0));
      }
    for (std::size_t k = 0; k < ps.size(); ++k)
      report(("transport." + urls[k].first + ".latency.median").c_str(), percentile(us[k], 0.5),
             "us");
  }
  // The task rates. A profile per transport, all up at once, taken in turns within each round
  // (the order rotating from round to round): a round's rows see the same machine, so besides
  // each row's median rate, the median over rounds of each round's ipc/transport ratio is
  // printed; on a shared 2-core machine, a row measured seconds apart from its ipc row moved
  // by up to 1.6x between runs.
  constexpr int kRounds = 7;
  std::vector<std::pair<std::string, double>> paired;
  std::map<std::string, std::vector<double>> rates;
  std::vector<std::string> order;
  for (int n : {1, 4}) {
    std::vector<std::unique_ptr<Profile>> ps;
    for (const auto& [name, url] : urls) {
      ps.push_back(std::make_unique<Profile>());
      start(*ps.back(), n, true, url);
    }
    for (const auto& [kind, payload] :
         {std::pair<std::string, std::string>{"noop", ""}, {"short", "0ms"}}) {
      const int tasks = kind == "noop" ? kNoopTasks : kShortTasks;
      auto row = [&, kind = kind](std::size_t k) {
        return "transport." + urls[k].first + "." + kind + ".d" + std::to_string(n);
      };
      for (std::size_t k = 0; k < urls.size(); ++k) order.push_back(row(k));
      for (int round = 0; round < kRounds; ++round)
        for (std::size_t j = 0; j < urls.size(); ++j) {
          const std::size_t k = (j + round) % urls.size();
          std::vector<Future> fs;
          fs.reserve(tasks);
          auto t0 = Clock::now();
          for (int i = 0; i < tasks; ++i)
            fs.push_back(
                ps[k]->submit(kind == "noop" ? Task::call("noop") : Task::call("sleep", payload)));
          for (auto& f : fs)
            if (!f.wait().ok()) std::exit(1);
          rates[row(k)].push_back(tasks / (us_since(t0) / 1e6));
        }
      for (std::size_t k = 1; k < urls.size(); ++k) {
        std::vector<double> ratios;
        for (int round = 0; round < kRounds; ++round)
          ratios.push_back(rates[row(0)][round] / rates[row(k)][round]);
        paired.emplace_back(
            "paired.transport." + kind + ".d" + std::to_string(n) + ".ipc_over_" + urls[k].first,
            percentile(ratios, 0.5));
      }
    }
  }
  for (const auto& row : order) report(row.c_str(), percentile(rates[row], 0.5), "tasks/s");
  for (const auto& [name, ratio] : paired) std::printf("%s %.2f x\n", name.c_str(), ratio);
}

// Seals (encrypts and tags) and opens (checks and decrypts) a frame of `bytes` with each AEAD
// that Mbed TLS 2.28 and OpenSSL 3 offer, a 96-bit counter nonce, 4 bytes of associated data
// and a 16-byte tag, as the per-frame layer does: the measurement it chose by.
void aead() {
  unsigned char key[32] = {1}, tag[16], aad[4] = {1, 2, 3, 4};
  unsigned char nonce[12] = {0};
  for (std::size_t bytes : {std::size_t(64), std::size_t(1) << 20}) {
    std::vector<unsigned char> in(bytes, 'x'), out(bytes), back(bytes);
    const int rounds = bytes == 64 ? 200000 : 200;
    const std::string size = bytes == 64 ? "64B" : "1MiB";
    {
      mbedtls_gcm_context gcm;
      mbedtls_gcm_init(&gcm);
      mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, bytes, nonce, sizeof nonce, aad,
                                  sizeof aad, in.data(), out.data(), sizeof tag, tag);
        if (mbedtls_gcm_auth_decrypt(&gcm, bytes, nonce, sizeof nonce, aad, sizeof aad, tag,
                                     sizeof tag, out.data(), back.data()) != 0)
          std::exit(1);
      }
      report(("aead.mbedtls.aes256gcm." + size + ".seal_open").c_str(), us_since(t0) / rounds,
             "us");
      mbedtls_gcm_free(&gcm);
    }
    {
      mbedtls_chachapoly_context cp;
      mbedtls_chachapoly_init(&cp);
      mbedtls_chachapoly_setkey(&cp, key);
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        mbedtls_chachapoly_encrypt_and_tag(&cp, bytes, nonce, aad, sizeof aad, in.data(),
                                           out.data(), tag);
        if (mbedtls_chachapoly_auth_decrypt(&cp, bytes, nonce, aad, sizeof aad, tag, out.data(),
                                            back.data()) != 0)
          std::exit(1);
      }
      report(("aead.mbedtls.chacha20poly1305." + size + ".seal_open").c_str(),
             us_since(t0) / rounds, "us");
      mbedtls_chachapoly_free(&cp);
    }
    for (auto [name, cipher] : {std::pair{"aes256gcm", EVP_aes_256_gcm()},
                                std::pair{"chacha20poly1305", EVP_chacha20_poly1305()}}) {
      EVP_CIPHER_CTX* e = EVP_CIPHER_CTX_new();
      EVP_CIPHER_CTX* d = EVP_CIPHER_CTX_new();
      EVP_EncryptInit_ex(e, cipher, nullptr, key, nullptr);
      EVP_DecryptInit_ex(d, cipher, nullptr, key, nullptr);
      const int n = static_cast<int>(bytes);
      auto t0 = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        int len = 0;
        EVP_EncryptInit_ex(e, nullptr, nullptr, nullptr, nonce);
        EVP_EncryptUpdate(e, nullptr, &len, aad, sizeof aad);
        EVP_EncryptUpdate(e, out.data(), &len, in.data(), n);
        EVP_EncryptFinal_ex(e, out.data() + len, &len);
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, sizeof tag, tag);
        EVP_DecryptInit_ex(d, nullptr, nullptr, nullptr, nonce);
        EVP_DecryptUpdate(d, nullptr, &len, aad, sizeof aad);
        EVP_DecryptUpdate(d, back.data(), &len, out.data(), n);
        EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, sizeof tag, tag);
        if (EVP_DecryptFinal_ex(d, back.data() + len, &len) != 1) std::exit(1);
      }
      report(("aead.openssl." + std::string(name) + "." + size + ".seal_open").c_str(),
             us_since(t0) / rounds, "us");
      EVP_CIPHER_CTX_free(e);
      EVP_CIPHER_CTX_free(d);
    }
  }
}

namespace {

// A pair of Connections over tcp on loopback, one echoing what the other sends; sealed, the
// pair switches to sealed frames as a daemon and its dispatcher do.
class EchoPair {
 public:
  explicit EchoPair(bool sealed, const std::string& url = "tcp://127.0.0.1:0") {
    const SessionKeys keys =
        derive_session_keys(std::string(64, 's'), std::string(32, 'd'), std::string(32, 'D'));
    auto l = Listener::open(url);
    if (!l) std::exit(1);
    listener_ = std::move(*l);
    listener_->start([this, sealed, keys](std::shared_ptr<Connection> c) {
      std::lock_guard<std::mutex> lock(mu_);
      accepted_ = c;
      Connection* raw = c.get();
      c->start({[raw, sealed, keys](std::string f) {
                  if (f == "proof" && sealed) raw->seal(keys.to_daemon, keys.to_dispatcher);
                  raw->send(std::move(f));  // echoes everything
                },
                [](int) {}},
               UINT32_MAX);
    });
    auto conn = dial(listener_->bound_url(), std::chrono::seconds(5));
    if (!conn) std::exit(1);
    conn_ = *conn;
    // On the echoed "hello" (in its read handler) the dialer sends its last plain frame,
    // "proof", and seals; the other side seals on reading "proof", so the echo of "proof" is
    // the first sealed frame.
    Connection* raw = conn_.get();
    conn_->start({[this, raw, sealed, keys](std::string f) {
                    if (f == "hello" && sealed) {
                      raw->send("proof");
                      raw->seal(keys.to_dispatcher, keys.to_daemon);
                    }
                    std::lock_guard<std::mutex> lock(mu_);
                    ++replies_;
                    cv_.notify_all();
                  },
                  [](int) {}},
                 UINT32_MAX);
    round_trip("hello", sealed ? 2 : 1);
  }
  ~EchoPair() {
    conn_->shutdown();
    listener_->close();
    std::lock_guard<std::mutex> lock(mu_);
    if (accepted_) accepted_->shutdown();
  }
  // Sends `frame` and waits for `answers` frames back; returns the time taken in µs.
  double round_trip(std::string frame, std::size_t answers = 1) {
    auto t0 = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    std::size_t want = replies_ + answers;
    lock.unlock();
    conn_->send(std::move(frame));
    lock.lock();
    cv_.wait(lock, [&] { return replies_ >= want; });
    return us_since(t0);
  }

 private:
  std::unique_ptr<Listener> listener_;
  std::shared_ptr<Connection> conn_, accepted_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t replies_ = 0;
};

}  // namespace

// Round trips of one frame over tcp on loopback, plain and sealed, and over a unix socket,
// taken in turns so that all see the same machine: the cost of sealing on its own, and of tcp
// against ipc, apart from tasks and the dispatcher.
void seal() {
  EchoPair plain(false), sealed(true), local(false, local_url());
  for (std::size_t bytes : {std::size_t(64), std::size_t(1) << 20}) {
    const int rounds = bytes == 64 ? 20000 : 200;
    const std::string frame(bytes, 'x');
    for (int i = 0; i < rounds / 10; ++i) plain.round_trip(frame), sealed.round_trip(frame);
    std::vector<double> p, s, l;
    p.reserve(rounds);
    s.reserve(rounds);
    l.reserve(rounds);
    for (int i = 0; i < rounds; ++i) {
      p.push_back(plain.round_trip(frame));
      s.push_back(sealed.round_trip(frame));
      l.push_back(local.round_trip(frame));
    }
    const std::string size = bytes == 64 ? "64B" : "1MiB";
    report(("seal.tcp.plain." + size + ".rtt.median").c_str(), percentile(p, 0.5), "us");
    report(("seal.tcp.sealed." + size + ".rtt.median").c_str(), percentile(s, 0.5), "us");
    report(("seal.ipc.plain." + size + ".rtt.median").c_str(), percentile(l, 0.5), "us");
  }
}

}  // namespace bench
