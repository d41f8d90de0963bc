#include "client/progress.hpp"

#include <cstdio>

namespace mirai {

Progress::Progress(std::size_t total, bool enabled)
    : total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

void Progress::draw(std::size_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(100) && done < total_) return;
  last_ = now;
  constexpr int kWidth = 30;
  int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
  double secs = std::chrono::duration<double>(now - start_).count();
  double eta = done ? secs * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.0fs elapsed, ~%.0fs left ", filled,
               "==============================", kWidth - filled, "", done, total_, secs, eta);
  std::fflush(stderr);
  shown_ = true;
}

bool Progress::due() const {
  return enabled_ && std::chrono::steady_clock::now() - last_ >= std::chrono::milliseconds(100);
}

void Progress::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace mirai
