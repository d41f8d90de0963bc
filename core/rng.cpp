#include "mirai/rng.hpp"

#include <cstdint>
#include <sstream>
#include <vector>

namespace mirai {

namespace {

constexpr std::uint64_t kM1 = 4294967087ULL;
constexpr std::uint64_t kM2 = 4294944443ULL;
// .Random.seed[1] for L'Ecuyer-CMRG with R's default normal (inversion) and sample (rejection)
// kinds.
constexpr std::int64_t kRSeedKind = 10407;

// A^(2^127) for each component: L'Ecuyer, Simard, Chen and Kelton (2002), as in R's parallel.
constexpr std::uint64_t kA1p127[3][3] = {{2427906178ULL, 3580155704ULL, 949770784ULL},
                                         {226153695ULL, 1230515664ULL, 3580155704ULL},
                                         {1988835001ULL, 986791581ULL, 1230515664ULL}};
constexpr std::uint64_t kA2p127[3][3] = {{1464411153ULL, 277697599ULL, 1610723613ULL},
                                         {32183930ULL, 1464411153ULL, 1022607788ULL},
                                         {2824425944ULL, 32183930ULL, 2093834863ULL}};

// A^(2^76): the start of the next substream (L'Ecuyer's RngStreams).
constexpr std::uint64_t kA1p76[3][3] = {{82758667ULL, 1871391091ULL, 4127413238ULL},
                                        {3672831523ULL, 69195019ULL, 1871391091ULL},
                                        {3672091415ULL, 3528743235ULL, 69195019ULL}};
constexpr std::uint64_t kA2p76[3][3] = {{1511326704ULL, 3759209742ULL, 1610795712ULL},
                                        {4292754251ULL, 1511326704ULL, 3889917532ULL},
                                        {3859662829ULL, 4292754251ULL, 3708466080ULL}};

// (A * v) mod m, exact: the products need more than 64 bits.
void mat_vec(const std::uint64_t a[3][3], const std::uint64_t* v, std::uint64_t m,
             std::uint64_t* out) {
  for (int i = 0; i < 3; ++i) {
    unsigned __int128 sum = 0;
    for (int j = 0; j < 3; ++j) sum += static_cast<unsigned __int128>(a[i][j]) * v[j];
    out[i] = static_cast<std::uint64_t>(sum % m);
  }
}

}  // namespace

RngStream RngStream::from_seed(std::uint32_t seed) {
  // R's RNG_Init(): 50 scrambling steps, then a step per state integer, stepping again while
  // it is not below m2 (so both triples are in range).
  for (int i = 0; i < 50; ++i) seed = 69069U * seed + 1U;
  RngStream r;
  for (int j = 0; j < 6; ++j) {
    do {
      seed = 69069U * seed + 1U;
    } while (seed >= kM2);
    r.s_[j] = seed;
  }
  if (r.s_[0] == 0 && r.s_[1] == 0 && r.s_[2] == 0) r.s_[0] = 1;
  if (r.s_[3] == 0 && r.s_[4] == 0 && r.s_[5] == 0) r.s_[3] = 1;
  return r;
}

std::optional<RngStream> RngStream::from_state(const std::array<std::uint64_t, 6>& state) {
  for (int j = 0; j < 3; ++j)
    if (state[j] >= kM1 || state[j + 3] >= kM2) return std::nullopt;
  if ((state[0] | state[1] | state[2]) == 0 || (state[3] | state[4] | state[5]) == 0)
    return std::nullopt;
  RngStream r;
  r.s_ = state;
  return r;
}

std::optional<RngStream> RngStream::parse(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::int64_t> values;
  for (std::string word; in >> word;) {
    std::size_t used = 0;
    try {
      values.push_back(std::stoll(word, &used));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used != word.size()) return std::nullopt;
  }
  std::array<std::uint64_t, 6> state{};
  if (values.size() == 6) {  // the six, unsigned
    for (std::size_t j = 0; j < 6; ++j) {
      if (values[j] < 0) return std::nullopt;
      state[j] = static_cast<std::uint64_t>(values[j]);
    }
  } else if (values.size() == 7 && values[0] == kRSeedKind) {  // R's .Random.seed
    for (std::size_t j = 0; j < 6; ++j) {
      const std::int64_t v = values[j + 1];
      if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
      state[j] = static_cast<std::uint32_t>(static_cast<std::int32_t>(v));
    }
  } else {
    return std::nullopt;
  }
  return from_state(state);
}

RngStream RngStream::next_stream() const {
  RngStream n;
  mat_vec(kA1p127, s_.data(), kM1, n.s_.data());
  mat_vec(kA2p127, s_.data() + 3, kM2, n.s_.data() + 3);
  return n;
}

RngStream RngStream::next_substream() const {
  RngStream n;
  mat_vec(kA1p76, s_.data(), kM1, n.s_.data());
  mat_vec(kA2p76, s_.data() + 3, kM2, n.s_.data() + 3);
  return n;
}

double RngStream::uniform() {
  // One MRG32k3a step: two recurrences of order 3, combined.
  constexpr std::int64_t a12 = 1403580, a13n = 810728, a21 = 527612, a23n = 1370589;
  const auto m1 = static_cast<std::int64_t>(kM1), m2 = static_cast<std::int64_t>(kM2);
  std::int64_t p1 =
      (a12 * static_cast<std::int64_t>(s_[1]) - a13n * static_cast<std::int64_t>(s_[0])) % m1;
  if (p1 < 0) p1 += m1;
  s_[0] = s_[1];
  s_[1] = s_[2];
  s_[2] = static_cast<std::uint64_t>(p1);
  std::int64_t p2 =
      (a21 * static_cast<std::int64_t>(s_[5]) - a23n * static_cast<std::int64_t>(s_[3])) % m2;
  if (p2 < 0) p2 += m2;
  s_[3] = s_[4];
  s_[4] = s_[5];
  s_[5] = static_cast<std::uint64_t>(p2);
  constexpr double kNorm = 2.328306549295727688e-10;  // 1 / (m1 + 1)
  return (p1 > p2 ? p1 - p2 : p1 - p2 + m1) * kNorm;
}

std::string RngStream::to_string() const {
  std::string out;
  for (std::size_t j = 0; j < s_.size(); ++j) out += (j ? " " : "") + std::to_string(s_[j]);
  return out;
}

std::string RngStream::to_r_seed() const {
  std::string out = std::to_string(kRSeedKind);
  for (std::uint64_t v : s_)
    out += " " + std::to_string(static_cast<std::int32_t>(static_cast<std::uint32_t>(v)));
  return out;
}

}  // namespace mirai
