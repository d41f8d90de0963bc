// The strict fake PBS and LSF commands of tests/emulated/, for one test: puts them first on
// PATH with their state in the test's directory, and stops what they started when it ends.
#pragma once

#include <cstdlib>
#include <string>

#include "tests/support/support.hpp"

namespace mirai::test {

class FakeScheduler {
 public:
  // `kind` is "pbs" or "lsf"; `flavour` is the PBS flavour ("pro" or "torque").
  FakeScheduler(const TempDir& dir, const std::string& kind, const std::string& flavour = "pro")
      : state_(dir.file(kind + "-state")) {
    static const std::string path = std::getenv("PATH");
    setenv("PATH", (emulated() + "/" + kind + ":" + path).c_str(), 1);
    setenv("FAKESCHED_DIR", state_.c_str(), 1);
    setenv("FAKESCHED_PBS_FLAVOUR", flavour.c_str(), 1);
  }
  ~FakeScheduler() { run({emulated() + "/fake_scheduler.py", "--cleanup"}); }
  FakeScheduler(const FakeScheduler&) = delete;
  FakeScheduler& operator=(const FakeScheduler&) = delete;
  // Every call the fakes saw, one JSON object per line ({"argv": [...], "stdin": "..."}).
  std::string calls() const { return read_file(state_ + "/calls.log"); }

 private:
  static std::string emulated() { return std::string(MIRAI_TEST_SOURCE_DIR) + "/tests/emulated"; }
  std::string state_;
};

}  // namespace mirai::test
