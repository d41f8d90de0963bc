#include "client/progress.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace mirai {
namespace {

constexpr char kErase[] = "\r\033[K";
std::atomic<bool> g_shown{false};  // a bar is on the terminal now

void erase_and_die(int sig) {
  Progress::erase_shown();
  signal(sig, SIG_DFL);
  raise(sig);
}

// The terminal's width in columns: stderr's, else $COLUMNS, else 80.
int columns() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    int n = std::atoi(c);
    if (n > 0) return n;
  }
  return 80;
}

}  // namespace

Progress::Progress(std::size_t total, bool enabled)
    : total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  // Ctrl-C must not leave a bar behind: erase it, then die of the signal as before. Signals
  // that someone handles or blocks already (the launched pools' watcher) are left to them.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      struct sigaction sa {};
      sa.sa_handler = erase_and_die;
      sigemptyset(&sa.sa_mask);
      sigaction(sig, &sa, nullptr);
    }
  }
}

void Progress::draw(std::size_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(100) && done < total_) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  char text[160];
  // No estimate until a result gives one.
  if (done > 0) {
    double eta = secs * static_cast<double>(total_ - done) / static_cast<double>(done);
    std::snprintf(text, sizeof text, " %zu/%zu  %.0fs elapsed, ~%.0fs left", done, total_, secs,
                  eta);
  } else {
    std::snprintf(text, sizeof text, " %zu/%zu  %.0fs elapsed", done, total_, secs);
  }
  // One line that fits the terminal, so that it never wraps: the bar shrinks first, then the
  // text is cut.
  const int width = columns() - 1;
  std::string line(text);
  int bar = std::min(30, width - static_cast<int>(line.size()) - 2);
  if (bar >= 5) {
    int filled = total_ ? static_cast<int>(static_cast<std::size_t>(bar) * done / total_) : bar;
    line = "[" + std::string(static_cast<std::size_t>(filled), '=') +
           std::string(static_cast<std::size_t>(bar - filled), ' ') + "]" + line;
  }
  if (static_cast<int>(line.size()) > width)
    line.resize(static_cast<std::size_t>(std::max(width, 0)));
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  shown_ = true;
  g_shown = true;
}

bool Progress::due() const {
  return enabled_ && std::chrono::steady_clock::now() - last_ >= std::chrono::milliseconds(100);
}

void Progress::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "%s", kErase);
  std::fflush(stderr);
  shown_ = false;
  g_shown = false;
}

void Progress::erase_shown() {
  if (g_shown.exchange(false)) {
    ssize_t n = write(STDERR_FILENO, kErase, sizeof kErase - 1);
    (void)n;
  }
}

}  // namespace mirai
