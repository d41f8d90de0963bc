// MRG32k3a streams against values R itself gives (set.seed(123, kind = "L'Ecuyer-CMRG"),
// parallel::nextRNGStream, runif), as .Random.seed prints them (signed 32-bit).
#include "mirai/rng.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

using namespace mirai;

namespace {

// .Random.seed's signed integers as the unsigned state.
std::array<std::uint64_t, 6> from_r(const std::vector<std::int64_t>& r) {
  std::array<std::uint64_t, 6> s{};
  for (std::size_t i = 0; i < 6; ++i) s[i] = static_cast<std::uint32_t>(r[i]);
  return s;
}

}  // namespace

TEST_CASE("seeding and jumping streams match R's L'Ecuyer-CMRG", "[rng]") {
  RngStream s = RngStream::from_seed(123);
  CHECK(s.state() ==
        from_r({1806547166, -983674937, 643431772, 1162448557, -959247990, -133913213}));
  CHECK(s.next_stream().state() ==
        from_r({1801422725, -2057975723, 1156894209, 1595475487, 210384600, -1655729657}));
  // 2^76 draws ahead is what stepping 2^76 times gives; checked by composing the jumps:
  // 2^51 substream jumps would equal one stream jump, so 2 substream jumps differ from both.
  CHECK_FALSE(s.next_substream() == s.next_stream());
  CHECK_FALSE(s.next_substream().next_substream() == s.next_substream());
  // runif(1) after set.seed(123, kind = "L'Ecuyer-CMRG").
  CHECK(s.uniform() == Approx(0.1663742155).epsilon(1e-9));
}

TEST_CASE("a stream as R's .Random.seed: 10407 and six signed integers, read back", "[rng]") {
  RngStream s = RngStream::from_seed(123);
  CHECK(s.to_r_seed() == "10407 1806547166 -983674937 643431772 1162448557 -959247990 -133913213");
  auto back = RngStream::parse(s.to_r_seed());
  REQUIRE(back);
  CHECK(*back == s);
  CHECK_FALSE(RngStream::parse("10403 1 2 3 4 5 6"));  // another kind (Mersenne-Twister)
  CHECK_FALSE(RngStream::parse("10407 -1 2 3 4 5"));   // six, so unsigned, but one negative
  CHECK_FALSE(RngStream::parse("10407 1 2 3 4 5 4294967296"));  // not a 32-bit integer
  CHECK_FALSE(RngStream::parse("10407 0 0 0 1 1 1"));           // a triple of zeros
  CHECK_FALSE(RngStream::parse("-1 2 3 4 5 6"));                // the unsigned form is not negative
}

TEST_CASE("streams are six integers in text, checked when read", "[rng]") {
  RngStream s = RngStream::from_seed(42).next_stream();
  auto back = RngStream::parse(s.to_string());
  REQUIRE(back);
  CHECK(*back == s);
  CHECK_FALSE(RngStream::parse("1 2 3 4 5"));             // too few
  CHECK_FALSE(RngStream::parse("1 2 3 4 5 6 7"));         // too many
  CHECK_FALSE(RngStream::parse("4294967087 1 1 1 1 1"));  // not below m1
  CHECK_FALSE(RngStream::parse("1 1 1 4294944443 1 1"));  // not below m2
  CHECK_FALSE(RngStream::parse("0 0 0 1 1 1"));           // a triple of zeros
  CHECK_FALSE(RngStream::parse("1 2 x 4 5 6"));
  // Draws are in (0, 1) and successive streams differ.
  RngStream a = RngStream::from_seed(7), b = a.next_stream();
  for (int i = 0; i < 10000; ++i) {
    double u = a.uniform();
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
  }
  CHECK_FALSE(a == b);
}
