// Sealed frames: after the handshake, every frame on a plain network transport (tcp://, ws://)
// is encrypted and authenticated with AES-256-GCM under a key of its direction, derived from
// the pool's secret and both sides' nonces (docs/protocol.md, "Sealed frames"). The nonce of
// each frame is its number in that direction, so a frame that is injected, replayed,
// reordered, altered or cut short does not open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mirai {

inline constexpr std::size_t kSealKeyBytes = 32;
inline constexpr std::size_t kSealTagBytes = 16;

// The two keys of a connection, one per direction.
struct SessionKeys {
  std::string to_dispatcher, to_daemon;  // kSealKeyBytes each
};

// HKDF-SHA256 of the pool's secret, salted with the daemon's nonce and then the dispatcher's;
// each key has its own label.
SessionKeys derive_session_keys(const std::string& secret, const std::string& daemon_nonce,
                                const std::string& dispatcher_nonce);

// One direction of a sealed connection: the sender's and the receiver's copies count frames in
// step. Not thread-safe: the sender seals under its write lock, the receiver opens on its read
// callback.
class FrameSealer {
 public:
  enum class Mode { kSeal, kOpen };
  FrameSealer(std::string_view key, Mode mode);
  ~FrameSealer();
  FrameSealer(const FrameSealer&) = delete;
  FrameSealer& operator=(const FrameSealer&) = delete;

  // kSeal: the frame `head` + `tail` sealed: its ciphertext, then the tag. The frame's length on
  // the wire (the result's size) is authenticated with it.
  std::string seal(std::string_view head, std::string_view tail = {});

  // kOpen: opens the `n` bytes at `sealed` (n >= kSealTagBytes) into `out`, which has room for
  // n - kSealTagBytes bytes and may be `sealed` itself. False when the frame is not the next
  // one its sender sealed with this key; the connection must then end.
  bool open(const char* sealed, std::size_t n, char* out);

 private:
  struct Cipher;
  std::unique_ptr<Cipher> cipher_;
  std::uint64_t count_ = 0;  // frames sealed or opened so far: the next one's nonce
};

}  // namespace mirai
