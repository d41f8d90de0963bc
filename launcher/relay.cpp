#include "launcher/relay.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/transport.hpp"
#include "launcher/command.hpp"
#include "launcher/url.hpp"

namespace mirai::launcher {

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

bool from_hex(std::string_view hex, std::string& bytes) {
  auto value = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  if (hex.size() % 2) return false;
  bytes.clear();
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes.push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// What one direction of a connection may hold unwritten before the relay stops reading the
// other end: a slow reader slows its writer, and the relay's memory stays bounded.
constexpr std::size_t kBufferCap = 1 << 20;
// How long each of the laptop's last commands (cancelling its jobs) may take.
constexpr std::chrono::seconds kCleanupTimeout{30};
constexpr std::uint64_t kListenerKey = 1, kInputKey = 2, kSignalKey = 3, kFirstLink = 8;

struct Listener {
  int fd = -1;
  std::string url;  // as the daemons dial it: the port the kernel chose
};

// Binds the first of the candidate tcp:// URLs that can be bound.
Expected<Listener> listen_on(const std::vector<std::string>& candidates) {
  std::string why = "no address to listen on";
  for (const auto& url : candidates) {
    std::string host = url_host(url), port = url.substr(url.rfind(':') + 1);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    addrinfo* found = nullptr;
    if (int rv = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rv != 0) {
      why = "cannot resolve '" + host + "': " + gai_strerror(rv);
      continue;
    }
    for (addrinfo* a = found; a; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        why = "cannot listen on " + url + ": " + std::strerror(errno);
        close(fd);
        continue;
      }
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      int p = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      freeaddrinfo(found);
      bool v6 = host.find(':') != std::string::npos;
      return Listener{fd, "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(p)};
    }
    freeaddrinfo(found);
  }
  return Status::error(why);
}

std::string home_directory() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (passwd* pw = getpwuid(getuid())) return pw->pw_dir;
  return "/";
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

class Relay {
 public:
  Relay(const RelayOptions& o, int in_fd, int out_fd) : o_(o), in_fd_(in_fd), out_fd_(out_fd) {}
  ~Relay();
  int run();

 private:
  // One end of a daemon's connection: its socket, and the bytes read from the other end that
  // wait to be written to it.
  struct Side {
    int fd = -1;
    std::string pending;
    bool read_done = false;  // the peer will send no more
    bool shut = false;       // we will write no more
    std::uint32_t events = 0;
  };
  struct Link {
    Side side[2];  // 0: the daemon, 1: the laptop's dispatcher (through ssh)
  };

  Status start();
  void say(const json& message);
  void accept_daemons();
  void on_link(std::uint64_t id, int which, std::uint32_t events);
  void close_link(std::uint64_t id);
  void watch(std::uint64_t id, int which);
  bool read_control();  // false: the laptop is gone
  void handle(const json& message);
  void stop();

  RelayOptions o_;
  int in_fd_, out_fd_;
  int epoll_ = -1, signal_fd_ = -1;
  Listener listener_;
  std::string dir_, socket_;
  std::mutex out_mu_;  // one line at a time on out_fd_ (command threads answer too)
  std::map<std::uint64_t, std::unique_ptr<Link>> links_;
  std::uint64_t next_link_ = kFirstLink;
  std::string input_;  // a partial control line
  Clock::time_point last_heard_ = Clock::now();
  bool bye_ = false;
  std::vector<std::vector<std::string>> on_exit_;
  // The commands running for the laptop, each on its thread; a finished one is joined at the
  // next command, so a long run's status polls do not pile up threads.
  struct Command {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Command> commands_;
};

Relay::~Relay() {
  for (auto& c : commands_)
    if (c.thread.joinable()) c.thread.join();
  for (int fd : {epoll_, signal_fd_, listener_.fd})
    if (fd >= 0) close(fd);
}

void Relay::say(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(out_mu_);
  for (std::size_t done = 0; done < line.size();) {
    ssize_t k = write(out_fd_, line.data() + done, line.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;  // the laptop is gone; its stdin's end says so too
    done += static_cast<std::size_t>(k);
  }
}

Status Relay::start() {
  auto parsed = parse_url_template(o_.listen);
  if (!parsed) return Status::error("--listen " + o_.listen + ": " + parsed.message());
  if (parsed->scheme != "tcp")
    return Status::error("the relay carries tcp:// connections only, not '" + o_.listen +
                         "' (set the profile's url to tcp://HOST:PORT)");
  auto candidates = resolve_url(*parsed);
  if (!candidates) return Status::error("--listen " + o_.listen + ": " + candidates.message());
  auto bound = listen_on(*candidates);
  if (!bound) return bound.status();
  listener_ = *bound;
  std::string parent = o_.parent_dir;
  if (parent.empty())
    parent = std::getenv("TMPDIR") && *std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string templ = parent + "/mirai-relay-XXXXXX";
  if (!mkdtemp(templ.data()))
    return Status::error("cannot make a directory in " + parent + ": " + std::strerror(errno));
  dir_ = templ;  // 0700, as mkdtemp makes it
  socket_ = dir_ + "/dispatcher.sock";
  if (socket_.size() >= sizeof(sockaddr_un{}.sun_path))
    return Status::error("the socket path " + socket_ + " is too long: set TMPDIR shorter");

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGTERM, SIGHUP, SIGINT}) sigaddset(&stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal_fd_ = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  auto add = [this](int fd, std::uint64_t key) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    return epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) == 0;
  };
  if (epoll_ < 0 || signal_fd_ < 0 || !add(listener_.fd, kListenerKey) || !add(in_fd_, kInputKey) ||
      !add(signal_fd_, kSignalKey))
    return Status::error(std::string("cannot watch its sockets: ") + std::strerror(errno));
  return Status();
}

int Relay::run() {
  if (Status s = start(); !s) {
    say({{"op", "failed"}, {"message", s.message()}});
    if (!dir_.empty()) rmdir(dir_.c_str());
    return 1;
  }
  say({{"op", "ready"},
       {"url", listener_.url},
       {"socket", socket_},
       {"home", home_directory()},
       {"host", host_name()},
       {"pid", static_cast<int>(getpid())}});
  const auto silence = 3 * o_.heartbeat;
  epoll_event events[64];
  for (;;) {
    int timeout = -1;
    if (o_.heartbeat.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(last_heard_ + silence -
                                                                        Clock::now());
      if (left.count() <= 0) break;  // no line for 3 intervals: the laptop or its link is gone
      timeout = static_cast<int>(left.count()) + 1;
    }
    int n = epoll_wait(epoll_, events, 64, timeout);
    if (n < 0 && errno != EINTR) break;
    bool gone = false;
    for (int i = 0; i < n; ++i) {
      std::uint64_t key = events[i].data.u64;
      if (key == kListenerKey) {
        accept_daemons();
      } else if (key == kInputKey) {
        gone = gone || !read_control();
      } else if (key == kSignalKey) {
        gone = true;
      } else {
        on_link(key / 2, static_cast<int>(key % 2), events[i].events);
      }
    }
    if (gone || bye_) break;
  }
  stop();
  return 0;
}

void Relay::accept_daemons() {
  for (;;) {
    int fd = accept4(listener_.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection that went before it was taken
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // To the laptop: the socket ssh forwards there. Not yet forwarded, or the laptop's end
    // gone: the daemon's connection closes, and the daemon dials again.
    int up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, socket_.c_str(), socket_.size() + 1);
    if (up < 0 || connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (up >= 0) close(up);
      close(fd);
      continue;
    }
    int flags = fcntl(up, F_GETFL);
    fcntl(up, F_SETFL, flags | O_NONBLOCK);
    std::uint64_t id = next_link_++;
    auto link = std::make_unique<Link>();
    link->side[0].fd = fd;
    link->side[1].fd = up;
    for (int which : {0, 1}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = id * 2 + static_cast<std::uint64_t>(which);
      link->side[which].events = EPOLLIN;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, link->side[which].fd, &ev);
    }
    links_[id] = std::move(link);
  }
}

void Relay::on_link(std::uint64_t id, int which, std::uint32_t events) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  Link& l = *it->second;
  Side& me = l.side[which];
  Side& other = l.side[1 - which];
  // Read what this end sent, for the other end, while the other end keeps up.
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !me.read_done) {
    char buf[65536];
    while (other.pending.size() < kBufferCap) {
      ssize_t k = read(me.fd, buf, sizeof buf);
      if (k > 0) {
        other.pending.append(buf, static_cast<std::size_t>(k));
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && errno == EAGAIN) break;
      if (k < 0) return close_link(id);  // reset: both ends go, as a cut connection would
      me.read_done = true;
      break;
    }
  }
  // Write what waits, to both ends (this event may be the one that made room).
  for (Side* s : {&me, &other}) {
    while (!s->pending.empty()) {
      ssize_t k = send(s->fd, s->pending.data(), s->pending.size(), MSG_NOSIGNAL);
      if (k > 0) {
        s->pending.erase(0, static_cast<std::size_t>(k));
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && errno == EAGAIN) break;
      return close_link(id);
    }
  }
  // An end that sent all it will: the other end learns so once what it sent has been written.
  for (int w : {0, 1}) {
    Side& from = l.side[w];
    Side& to = l.side[1 - w];
    if (from.read_done && to.pending.empty() && !to.shut) {
      shutdown(to.fd, SHUT_WR);
      to.shut = true;
    }
  }
  if (l.side[0].shut && l.side[1].shut) return close_link(id);
  watch(id, 0);
  watch(id, 1);
}

void Relay::watch(std::uint64_t id, int which) {
  Link& l = *links_.at(id);
  Side& s = l.side[which];
  std::uint32_t want = 0;
  if (!s.read_done && l.side[1 - which].pending.size() < kBufferCap) want |= EPOLLIN;
  if (!s.pending.empty()) want |= EPOLLOUT;
  if (want == s.events) return;
  s.events = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = id * 2 + static_cast<std::uint64_t>(which);
  epoll_ctl(epoll_, EPOLL_CTL_MOD, s.fd, &ev);
}

void Relay::close_link(std::uint64_t id) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  for (Side& s : it->second->side) close(s.fd);  // also leaves the epoll set
  links_.erase(it);
}

bool Relay::read_control() {
  char buf[65536];
  ssize_t k = read(in_fd_, buf, sizeof buf);
  if (k < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (k <= 0) return false;  // the laptop's end closed: ssh ended, or the laptop did
  last_heard_ = Clock::now();
  input_.append(buf, static_cast<std::size_t>(k));
  for (auto nl = input_.find('\n'); nl != std::string::npos; nl = input_.find('\n')) {
    std::string line = input_.substr(0, nl);
    input_.erase(0, nl + 1);
    json message = json::parse(line, nullptr, false);
    try {
      if (message.is_object()) handle(message);
    } catch (const json::exception&) {
      // A field of the wrong type: the line is not one of ours, and is dropped.
    }
  }
  if (input_.size() > (64u << 20)) input_.clear();  // no line that long is ours
  return true;
}

// An argv from a control line: a non-empty array of strings; else empty.
std::vector<std::string> argv_of(const json& message) {
  std::vector<std::string> argv;
  auto it = message.find("argv");
  if (it == message.end() || !it->is_array() || it->empty()) return {};
  for (const auto& word : *it) {
    if (!word.is_string()) return {};
    argv.push_back(word.get<std::string>());
  }
  return argv;
}

void Relay::handle(const json& message) {
  std::string op = message.value("op", "");
  if (op == "bye") {
    bye_ = true;
  } else if (op == "on_exit") {
    if (auto argv = argv_of(message); !argv.empty()) on_exit_.push_back(std::move(argv));
  } else if (op == "run") {
    json id = message.value("id", json());
    auto argv = argv_of(message);
    std::string input;
    if (argv.empty() || !from_hex(message.value("input", ""), input)) {
      say({{"op", "ran"}, {"id", id}, {"error", "a run needs argv (strings) and input (hex)"}});
      return;
    }
    auto timeout = std::chrono::milliseconds(message.value("timeout_ms", 60000));
    for (auto c = commands_.begin(); c != commands_.end();) {
      if (!c->done) {
        ++c;
        continue;
      }
      c->thread.join();
      c = commands_.erase(c);
    }
    // On a thread of its own: a slow sbatch must not hold up the daemons' bytes.
    Command& command = commands_.emplace_back();
    command.thread = std::thread(
        [this, &command, id, argv = std::move(argv), input = std::move(input), timeout] {
          auto out = run_command(argv, input, timeout);
          if (!out)
            say({{"op", "ran"}, {"id", id}, {"error", out.message()}});
          else
            say({{"op", "ran"},
                 {"id", id},
                 {"exit", out->exit_code},
                 {"out", to_hex(out->out)},
                 {"err", to_hex(out->err)}});
          command.done = true;
        });
  }
  // heartbeat: hearing a line was the point
}

void Relay::stop() {
  // No more daemons; the run's jobs cancelled (their daemons would only dial in vain); then
  // every connection closed.
  epoll_ctl(epoll_, EPOLL_CTL_DEL, listener_.fd, nullptr);
  close(listener_.fd);
  listener_.fd = -1;
  for (const auto& argv : on_exit_) (void)run_command(argv, "", kCleanupTimeout);
  while (!links_.empty()) close_link(links_.begin()->first);
  unlink(socket_.c_str());
  rmdir(dir_.c_str());
}

}  // namespace

int run_relay(const RelayOptions& options, int in_fd, int out_fd) {
  Relay relay(options, in_fd, out_fd);
  return relay.run();
}

}  // namespace mirai::launcher
