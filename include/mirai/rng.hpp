// L'Ecuyer-CMRG (MRG32k3a) random number streams, as R's parallel package and mirai use them:
// a stream is six integers; next_stream() jumps 2^127 draws ahead, so streams never overlap.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace mirai {

class RngStream {
 public:
  // The stream R's set.seed(seed, kind = "L'Ecuyer-CMRG") starts from: the seed is scrambled
  // with the same linear congruential steps R takes.
  static RngStream from_seed(std::uint32_t seed);
  // From six integers (the first three below 4294967087, the last three below 4294944443, and
  // neither triple all zero); nullopt otherwise.
  static std::optional<RngStream> from_state(const std::array<std::uint64_t, 6>& state);
  // From their text: six integers separated by spaces, or R's `.Random.seed` (as MIRAI_STREAM
  // holds it): 10407, then the six as signed 32-bit integers.
  static std::optional<RngStream> parse(const std::string& text);

  // The start of the next stream (R's parallel::nextRNGStream).
  RngStream next_stream() const;
  // 2^76 draws ahead (parallel::nextRNGSubStream): 2^51 substreams fit in one stream, so a
  // daemon's successive tasks never reach the next daemon's stream.
  RngStream next_substream() const;
  // The next draw, uniform on (0, 1), advancing this stream.
  double uniform();

  const std::array<std::uint64_t, 6>& state() const { return s_; }
  // The six integers, space-separated.
  std::string to_string() const;
  // As R's `.Random.seed` holds this stream: 10407 (L'Ecuyer-CMRG, inversion, rejection) and
  // the six integers as R's signed 32-bit integers, space-separated. An Rscript task takes it
  // with `.Random.seed <- as.integer(strsplit(Sys.getenv("MIRAI_STREAM"), " ")[[1]])`.
  std::string to_r_seed() const;
  bool operator==(const RngStream& o) const { return s_ == o.s_; }

 private:
  std::array<std::uint64_t, 6> s_{};
};

}  // namespace mirai
