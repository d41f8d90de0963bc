#include <catch2/catch.hpp>

#include "mirai/duration.hpp"

using namespace mirai;
using std::chrono::milliseconds;

TEST_CASE("durations are read as users write them", "[duration]") {
  CHECK(*parse_duration("300ms") == milliseconds(300));
  CHECK(*parse_duration("5s") == milliseconds(5000));
  CHECK(*parse_duration("2m") == milliseconds(120000));
  CHECK(*parse_duration("1h") == milliseconds(3600000));
  CHECK(*parse_duration("1h30m") == milliseconds(5400000));
  CHECK(*parse_duration("1.5s") == milliseconds(1500));
  CHECK(*parse_duration("0") == milliseconds(0));
}

TEST_CASE("bad durations say how to write them", "[duration]") {
  for (const char* bad : {"", "5", "5x", "s", "-1s", "1..2s", "1e400h"}) {
    auto d = parse_duration(bad);
    CHECK_FALSE(d);
    if (!d) CHECK_THAT(d.message(), Catch::Contains("300ms, 5s, 2m"));
  }
}

TEST_CASE("durations format back to what parses", "[duration]") {
  for (long long ms : {0LL, 1LL, 1500LL, 60000LL, 7200000LL, 90061000LL})
    CHECK(*parse_duration(format_duration(milliseconds(ms))) == milliseconds(ms));
}
