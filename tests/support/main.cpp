// The tests' main: Catch2's, after pointing MIRAI_EXE at the mirai built with the tests, so that
// profiles that find their daemon by themselves (ephemeral mode, a default DaemonsConfig) use
// it wherever the checkout is (a build under /tmp is not trusted by the fallback on its own).
#define CATCH_CONFIG_RUNNER
#include <stdlib.h>

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  setenv("MIRAI_EXE", MIRAI_TEST_EXE, 0);
  return Catch::Session().run(argc, argv);
}
