#include "tests/support/relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mirai::test {
namespace {

bool write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::uint32_t le32(const std::string& s) {
  std::uint32_t v;
  std::memcpy(&v, s.data(), 4);
  return v;
}

}  // namespace

Relay::Relay(int target_port, Tamper tamper)
    : target_port_(target_port), tamper_(std::move(tamper)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      pipe2(stop_pipe_, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("relay: ") + std::strerror(errno));
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

Relay::~Relay() {
  char c = 0;
  (void)!write(stop_pipe_[1], &c, 1);
  thread_.join();
  close(listen_fd_);
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

std::string Relay::captured() const {
  std::lock_guard<std::mutex> lock(mu_);
  return captured_;
}

void Relay::serve() {
  bool first = true;
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int daemon_fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (daemon_fd < 0) continue;
    int dispatcher_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(target_port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(dispatcher_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      int one = 1;
      setsockopt(daemon_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(dispatcher_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      relay(daemon_fd, dispatcher_fd, first && tamper_.action != Action::kNone);
      first = false;
    }
    close(daemon_fd);
    close(dispatcher_fd);
  }
}

void Relay::relay(int daemon_fd, int dispatcher_fd, bool tamper) {
  // Index 0: bytes from the daemon, to the dispatcher; 1: the other way.
  const int from[2] = {daemon_fd, dispatcher_fd};
  const int to[2] = {dispatcher_fd, daemon_fd};
  std::string in[2];
  int count[2] = {0, 0};
  std::string held;  // a frame held back (kReorder)
  const int d_tamper = tamper_.direction == Direction::kToDispatcher ? 0 : 1;
  char buf[65536];
  for (;;) {
    pollfd fds[3] = {{from[0], POLLIN, 0}, {from[1], POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 3, -1) < 0 && errno != EINTR) return;
    if (fds[2].revents) return;
    for (int d = 0; d < 2; ++d) {
      if (!fds[d].revents) continue;
      ssize_t n = read(from[d], buf, sizeof buf);
      if (n <= 0) return;  // one side hung up: so does the relay
      {
        std::lock_guard<std::mutex> lock(mu_);
        captured_.append(buf, static_cast<std::size_t>(n));
      }
      in[d].append(buf, static_cast<std::size_t>(n));
      while (in[d].size() >= 4 && in[d].size() >= 4 + std::size_t{le32(in[d])}) {
        std::size_t len = le32(in[d]);
        std::string frame = in[d].substr(0, 4 + len);
        in[d].erase(0, 4 + len);
        int index = count[d]++;
        std::string out = frame;
        if (!held.empty() && d == d_tamper) {  // the frame after a held one: both, swapped
          out = frame + held;
          held.clear();
        } else if (tamper && d == d_tamper && index == tamper_.frame) {
          tampered_ = true;
          switch (tamper_.action) {
            case Action::kNone:
              break;
            case Action::kInject:
              out = tamper_.payload + frame;
              break;
            case Action::kReplay:
              out = frame + frame;
              break;
            case Action::kFlip:
              out[len > 0 ? 4 + len / 2 : 0] ^= 0x01;
              break;
            case Action::kReorder:
              held = frame;
              out.clear();
              break;
            case Action::kCutShort:
              write_all(to[d], frame.substr(0, 4 + len / 2));
              return;
          }
        }
        if (!out.empty() && !write_all(to[d], out)) return;
      }
    }
  }
}

}  // namespace mirai::test
