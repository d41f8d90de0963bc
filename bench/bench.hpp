// What the benchmark modes share (bench.cpp, network.cpp): timing, reporting, and profiles of
// local daemons. Every mode prints `name value unit` lines.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mirai/profile.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0);
void report(const char* name, double value, const char* unit);
double percentile(std::vector<double> v, double p);
// A fresh ipc URL for this process, told apart by `tag`.
std::string ipc_url(const char* tag);
// `n` local daemons for `p` (with the FIFO dispatcher or without), on `url` ("": local);
// exits when they cannot start.
void start(mirai::Profile& p, int n, bool dispatcher, const std::string& url = {});

// The network modes (network.cpp): every transport against ipc, the AEADs, sealed frames.
void transports();
void aead();
void seal();

}  // namespace bench
