#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "core/buffer.hpp"
#include "mirai/daemon.hpp"
#include "mirai/duration.hpp"

namespace mirai {

bool CallContext::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool CallContext::sleep_for(std::chrono::milliseconds d) const {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return cancelled_; });
}

void CallContext::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

const Function* FunctionRegistry::find(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

std::vector<std::string> FunctionRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : functions_) out.push_back(name);
  return out;
}

void add_builtin_functions(FunctionRegistry& r) {
  r.add("echo", [](std::string_view payload, CallContext&) {
    std::string out;
    reserve_bulk(out, payload.size());
    out.assign(payload);
    return out;
  });
  r.add("noop", [](std::string_view, CallContext&) { return std::string(); });
  r.add("sleep", [](std::string_view payload, CallContext& ctx) {
    auto d = parse_duration(payload);
    if (!d) throw std::invalid_argument(d.message());
    if (!ctx.sleep_for(*d)) throw Interrupted();
    return std::string();
  });
  r.add("fail", [](std::string_view payload, CallContext&) -> std::string {
    throw std::runtime_error(std::string(payload));
  });
  r.add("pid", [](std::string_view, CallContext&) { return std::to_string(getpid()); });
  r.add("runif", [](std::string_view payload, CallContext& c) {
    long n = std::strtol(std::string(payload).c_str(), nullptr, 10);
    if (n < 1 || n > 1000000) throw std::invalid_argument("runif takes a count from 1 to 1000000");
    std::string out;
    char buf[32];
    for (long i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof buf, "%s%.17g", i ? " " : "", c.rng().uniform());
      out += buf;
    }
    return out;
  });
  r.add<double, std::vector<double>>("sum", [](const std::vector<double>& v) {
    double total = 0;
    for (double x : v) total += x;
    return total;
  });
  r.add<double, std::vector<double>>("mean", [](const std::vector<double>& v) {
    if (v.empty()) throw std::invalid_argument("mean of no numbers");
    double total = 0;
    for (double x : v) total += x;
    return total / static_cast<double>(v.size());
  });
}

const char* daemon_exit_text(int code) {
  switch (code) {
    case kExitConnectionEnded:
      return "connection ended";
    case kExitIdletime:
      return "idletime limit reached";
    case kExitWalltime:
      return "walltime limit reached";
    case kExitMaxtasks:
      return "task limit reached";
    default:
      return "error";
  }
}

}  // namespace mirai
