#include "launcher/login_link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/process.hpp"
#include "launcher/relay.hpp"
#include "launcher/shell.hpp"
#include "launcher/ssh_options.hpp"

namespace mirai::launcher {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long the relay may take, after ssh connected, to say it listens.
constexpr std::chrono::seconds kRelayStartTimeout{20};
// How long close() waits for the relay to cancel the jobs and end.
constexpr std::chrono::seconds kCloseTimeout{40};

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Reads what is there on `fd` (non-blocking) into `to`; false at its end.
bool read_some(int fd, std::string& to) {
  char buf[65536];
  for (;;) {
    ssize_t k = ::read(fd, buf, sizeof buf);
    if (k > 0) {
      to.append(buf, static_cast<std::size_t>(k));
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    return k < 0 && errno == EAGAIN;
  }
}

}  // namespace

Expected<std::shared_ptr<LoginLink>> LoginLink::open(const Options& o) {
  std::shared_ptr<LoginLink> link(new LoginLink());
  link->o_ = o;
  const std::string& host = o.login.host.host;
  link->control_ = o.dir + "/ssh.ctl";
  std::vector<std::string> remote = {o.relay_command, "relay",
                                     "--listen",      o.listen,
                                     "--heartbeat",   std::to_string(o.heartbeat.count()) + "ms"};
  // The master connection: the relay is its session, and the forward is added to it below.
  std::vector<std::string> argv = ssh_argv(o.login.ssh, o.login.host, "",
                                           {"-M", "-S", link->control_, "-o", "ControlPersist=no"});
  // The login node's shell reads this line: every word quoted, nothing from a value runs.
  argv.push_back(shell_join(remote));
  SpawnOptions spawn_options;
  spawn_options.argv = argv;
  spawn_options.in = SpawnOptions::Stdio::kPipe;
  spawn_options.out = SpawnOptions::Stdio::kPipe;
  // ssh's own words (why it could not connect), kept where nothing has to drain them.
  spawn_options.err = SpawnOptions::Stdio::kFile;
  spawn_options.file = o.dir + "/ssh.log";
  // Its own process group: a Ctrl-C at the terminal reaches mirai, which then ends the run
  // through the relay. Should this process die, ssh reads the end of its stdin and passes it
  // on: the relay sees it and ends (ssh is not tied to the thread that started it, which may
  // end long before the run does).
  spawn_options.new_process_group = true;
  auto child = spawn(spawn_options);
  if (!child) return Status::error("cannot start ssh to " + host + ": " + child.message());
  link->ssh_pid_ = child->pid;
  link->to_relay_ = child->in_fd;
  link->from_relay_ = child->out_fd;
  fcntl(link->from_relay_, F_SETFL, O_NONBLOCK);

  // Its first line says where it listens, or why it cannot; ssh's log says why there is none.
  std::string out;
  const auto deadline = Clock::now() + o.login.ssh.connect_timeout + kRelayStartTimeout;
  bool out_open = true;
  while (out.find('\n') == std::string::npos && out_open && Clock::now() < deadline) {
    pollfd fds[1] = {{link->from_relay_, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    poll(fds, 1, static_cast<int>(std::max<long long>(left.count(), 1)));
    out_open = read_some(link->from_relay_, out);
  }
  auto ssh_log = [&] {
    if (!out_open) wait_for_exit(link->ssh_pid_, std::chrono::seconds(2));
    return output_tail(file_text(o.dir + "/ssh.log"));
  };
  auto fail = [&](const std::string& why) -> Expected<std::shared_ptr<LoginLink>> {
    link->close();
    return Status::error(why);
  };
  const std::string where = "the relay on " + host;
  if (out.find('\n') == std::string::npos) {
    std::string err = ssh_log();
    if (out_open)
      return fail(where + " did not start within " +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                     o.login.ssh.connect_timeout + kRelayStartTimeout)
                                     .count()) +
                  "s" + (err.empty() ? "" : ": " + err));
    return fail("cannot start " + where + " (`" + shell_join(remote) + "` through `" +
                shell_join(std::vector<std::string>(argv.begin(), argv.end() - 1)) +
                "`): " + (err.empty() ? "ssh ended without a word" : err) +
                "; 'daemon: command' must name mirai on the login node (it is '" + o.relay_command +
                "')");
  }
  json ready = json::parse(out.substr(0, out.find('\n')), nullptr, false);
  if (!ready.is_object() || ready.value("op", "") != "ready")
    return fail(where + " failed: " +
                (ready.is_object() ? ready.value("message", std::string("(no reason)"))
                                   : output_tail(out)));
  link->url_ = ready.value("url", "");
  link->home_ = ready.value("home", "");
  link->host_ = ready.value("host", host);
  link->socket_ = ready.value("socket", "");
  link->reader_ = std::thread([raw = link.get()] { raw->read_replies(); });
  if (o.heartbeat.count() > 0) link->heart_ = std::thread([raw = link.get()] { raw->beat(); });
  return link;
}

LoginLink::~LoginLink() { close(); }

Status LoginLink::forward(const std::string& local) const {
  const std::string& host = o_.login.host.host;
  auto out =
      run_command({"ssh", "-S", control_, "-O", "forward", "-R", socket_ + ":" + local, "--", host},
                  "", std::chrono::seconds(20));
  if (!out || out->exit_code != 0)
    return Status::error("cannot forward the socket of the relay on " + host +
                         " to this machine: " + (out ? output_tail(out->err) : out.message()) +
                         " (the login node's sshd must allow forwarding: "
                         "AllowStreamLocalForwarding)");
  return Status();
}

void LoginLink::send(const std::string& line) const {
  std::lock_guard<std::mutex> lock(send_mu_);
  if (to_relay_ < 0) return;
  std::string text = line + "\n";
  for (std::size_t done = 0; done < text.size();) {
    ssize_t k = ::write(to_relay_, text.data() + done, text.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;  // ssh is gone; the reader says so
    done += static_cast<std::size_t>(k);
  }
}

void LoginLink::read_replies() {
  fcntl(from_relay_, F_SETFL, 0);  // blocking: this thread only waits for lines
  std::string buffer;
  char buf[65536];
  for (;;) {
    ssize_t k = ::read(from_relay_, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    buffer.append(buf, static_cast<std::size_t>(k));
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      json message = json::parse(buffer.substr(0, nl), nullptr, false);
      buffer.erase(0, nl + 1);
      if (!message.is_object() || message.value("op", "") != "ran") continue;
      auto id = message.value("id", std::uint64_t{0});
      std::lock_guard<std::mutex> lock(mu_);
      answers_[id] = std::move(message);
      cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

void LoginLink::beat() {
  const std::string line = json{{"op", "heartbeat"}}.dump();
  std::unique_lock<std::mutex> lock(mu_);
  while (!closing_ && !ended_) {
    if (cv_.wait_for(lock, o_.heartbeat, [this] { return closing_ || ended_; })) break;
    lock.unlock();
    send(line);
    lock.lock();
  }
}

Expected<CommandOutput> LoginLink::run(const std::vector<std::string>& argv,
                                       const std::string& input,
                                       std::chrono::milliseconds timeout) const {
  const std::string& host = o_.login.host.host;
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_)
      return Status::error("the connection to the login node " + host +
                           " has ended (its relay cancels this run's jobs as it ends)");
    id = next_id_++;
  }
  std::string line;
  try {
    line = json{{"op", "run"},
                {"id", id},
                {"argv", argv},
                {"input", to_hex(input)},
                {"timeout_ms", timeout.count()}}
               .dump();
  } catch (const json::exception&) {
    return Status::error("`" + shell_join(argv) + "` is not UTF-8 text, which the relay takes");
  }
  send(line);
  std::unique_lock<std::mutex> lock(mu_);
  bool answered = cv_.wait_for(lock, timeout + std::chrono::seconds(10),
                               [&] { return answers_.count(id) > 0 || ended_; });
  if (!answered || !answers_.count(id))
    return Status::error(
        "`" + shell_join(argv) + "` on " + host + ": " +
        (answered ? "the connection to the login node ended" : "no answer from the relay"));
  json answer = std::move(answers_[id]);
  answers_.erase(id);
  lock.unlock();
  if (answer.contains("error"))
    return Status::error("on " + host + ": " + answer.value("error", std::string()));
  CommandOutput out;
  out.exit_code = answer.value("exit", -1);
  if (!from_hex(answer.value("out", ""), out.out) || !from_hex(answer.value("err", ""), out.err))
    return Status::error("the relay on " + host + " answered `" + shell_join(argv) +
                         "` with what is not hex");
  return out;
}

void LoginLink::on_exit(const std::vector<std::string>& argv) const {
  try {
    send(json{{"op", "on_exit"}, {"argv", argv}}.dump());
  } catch (const json::exception&) {
  }
}

void LoginLink::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return;
    closing_ = true;
    cv_.notify_all();
  }
  if (heart_.joinable()) heart_.join();
  send(json{{"op", "bye"}}.dump());
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (to_relay_ >= 0) ::close(to_relay_);
    to_relay_ = -1;
  }
  if (ssh_pid_ > 0) {
    // The relay cancels what it was left to cancel, then ends, and ssh with it.
    if (wait_for_exit(ssh_pid_, kCloseTimeout) < 0) {
      kill(-ssh_pid_, SIGKILL);
      wait_for_exit(ssh_pid_, std::chrono::seconds(5));
    }
    ssh_pid_ = -1;
  }
  if (reader_.joinable()) reader_.join();
  if (from_relay_ >= 0) ::close(from_relay_);
  from_relay_ = -1;
}

}  // namespace mirai::launcher
