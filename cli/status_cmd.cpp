// mirai status [--dispatcher URL] [--json]: what a running `mirai dispatcher` is doing: its
// counters, one row per connected daemon (with the job it belongs to and the time its job has
// left) and, for `mirai dispatcher --profile`, the daemons it launched and their jobs by state.
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "client/remote_dispatcher.hpp"

namespace mirai::cli {
namespace {

constexpr std::chrono::milliseconds kTimeout{5000};

// Control URLs of the dispatchers this user started with the default control socket.
std::vector<std::string> find_dispatchers(const std::string& dir) {
  std::vector<std::string> urls;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("dispatcher-", 0) == 0 && name.size() > 5 &&
          name.compare(name.size() - 5, 5, ".sock") == 0)
        urls.push_back("ipc://" + dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(urls.begin(), urls.end());
  return urls;
}

// True when nothing listens on the ipc socket at `url` any more (its dispatcher was killed).
bool stale_socket(const std::string& url) {
  std::string path = url.substr(6);  // after "ipc://"
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) return false;
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool refused =
      connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
  close(fd);
  return refused;
}

nlohmann::json to_json(const std::string& control, const ProfileStatus& s) {
  nlohmann::json j;
  j["control"] = control;
  j["url"] = s.url;
  if (!s.tls_certificate.empty()) j["tls_certificate"] = s.tls_certificate;
  j["connections"] = s.info.connections;
  j["cumulative"] = s.info.cumulative;
  j["awaiting"] = s.info.awaiting;
  j["executing"] = s.info.executing;
  j["completed"] = s.info.completed;
  j["rejected"] = s.info.rejected;
  j["dropped"] = s.info.dropped;
  j["retried"] = s.info.retried;
  j["daemons"] = nlohmann::json::array();
  for (const DaemonStatus& d : s.daemons)
    j["daemons"].push_back({{"instance", d.instance},
                            {"pid", d.pid},
                            {"host", d.host},
                            {"job_id", d.job_id},
                            {"array_index", d.array_index},
                            {"peer", d.peer},
                            {"assigned", d.assigned},
                            {"completed", d.completed},
                            {"in_flight", d.in_flight},
                            {"time_left_ms", d.time_left_ms}});
  if (const auto& l = s.launcher)
    j["launcher"] = {
        {"profile", l->profile},     {"launcher", l->launcher},   {"workers", l->workers},
        {"connected", l->connected}, {"launching", l->launching}, {"failed", l->failed},
        {"launched", l->launched},   {"launches", l->batches},    {"jobs", l->jobs},
        {"paused", l->paused},       {"reason", l->reason},       {"dial", l->dial},
        {"login", l->login}};
  return j;
}

// `s` safe for a terminal: control characters and bytes that are not UTF-8 as \xNN. A host name
// or job id comes from a daemon's environment, and must not move the cursor or change colours.
std::string printable(const std::string& s) {
  std::string out;
  auto escape = [&out](unsigned char c) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    bool whole = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; whole && k < n; ++k)
      whole = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    if (n == 1 && (c < 0x20 || c == 0x7f)) whole = false;
    if (!whole) {
      escape(c);
      ++i;
      continue;
    }
    out.append(s, i, n);
    i += n;
  }
  return out;
}

// "57s", "1h02m": how long a daemon still takes tasks; "-" when its job has no known end.
std::string time_left(std::uint32_t ms) {
  if (ms == 0) return "-";
  std::uint32_t s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600)
    return std::to_string(s / 60) + "m" + (s % 60 < 10 ? "0" : "") + std::to_string(s % 60) + "s";
  std::uint32_t m = s / 60 % 60;
  return std::to_string(s / 3600) + "h" + (m < 10 ? "0" : "") + std::to_string(m) + "m";
}

void print_launcher(const LauncherStatus& l) {
  std::cout << "profile " << l.profile << " (" << l.launcher << "): workers " << l.workers
            << "  connected " << l.connected << "  launching " << l.launching << "  failed "
            << l.failed << "  launched " << l.launched << "  launches " << l.batches << "\n";
  if (!l.jobs.empty()) {
    std::cout << "jobs:";
    const char* sep = " ";
    for (const auto& [state, n] : l.jobs) {
      std::cout << sep << state << " " << n;
      sep = ", ";
    }
    std::cout << "\n";
  }
  if (l.paused) std::cout << "paused: " << printable(l.reason) << "\n";
}

void print_table(const std::string& control, const ProfileStatus& s) {
  const Info& i = s.info;
  std::cout << "dispatcher " << control << "\n";
  if (s.launcher && !s.launcher->login.empty())
    std::cout << "daemons dial " << printable(s.launcher->dial) << ", the relay on the login node "
              << printable(s.launcher->login) << ", which reaches " << s.url << " here\n";
  else
    std::cout << "daemons dial " << s.url
              << (s.tls_certificate.empty() ? "" : " (TLS; --json shows the certificate to trust)")
              << "\n";
  std::cout << "connections " << i.connections << "  cumulative " << i.cumulative << "  awaiting "
            << i.awaiting << "  executing " << i.executing << "  completed " << i.completed
            << "  retried " << i.retried << "  rejected " << i.rejected << "  dropped " << i.dropped
            << "\n";
  if (s.launcher) print_launcher(*s.launcher);
  if (s.daemons.empty()) return;
  std::cout << std::left << std::setw(9) << "instance" << std::setw(9) << "pid" << std::setw(16)
            << "host" << std::setw(14) << "job" << std::setw(7) << "index" << std::setw(10)
            << "assigned" << std::setw(10) << "completed" << std::setw(10) << "in-flight"
            << std::setw(10) << "time-left"
            << "peer\n";
  for (const DaemonStatus& d : s.daemons)
    std::cout << std::setw(9) << d.instance << std::setw(9) << d.pid << std::setw(16)
              << printable(d.host) << std::setw(14)
              << (d.job_id.empty() ? "-" : printable(d.job_id)) << std::setw(7) << d.array_index
              << std::setw(10) << d.assigned << std::setw(10) << d.completed << std::setw(10)
              << d.in_flight << std::setw(10) << time_left(d.time_left_ms) << d.peer << "\n";
}

}  // namespace

int status_main(const Args& args) {
  std::string url;
  if (const char* env = std::getenv("MIRAI_DISPATCHER")) url = env;
  po::options_description options("mirai status [options]");
  options.add_options()("help,h", "show this help")(
      "dispatcher", po::value(&url)->value_name("URL"),
      "control URL of the dispatcher (default: $MIRAI_DISPATCHER, else every dispatcher this "
      "user runs with the default control socket)")("json", "print JSON");
  po::variables_map vm;
  if (!parse("status", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout << options << "\n"
              << "Examples:\n"
                 "  mirai status                       the running dispatchers' counters, daemons "
                 "and jobs\n"
                 "  mirai status --json\n"
              << "Exit status: 0 shown; 1 the query failed; 2 bad usage.\n";
    return 0;
  }
  std::vector<std::string> urls;
  if (!url.empty()) {
    urls.push_back(url);
  } else {
    auto dir = runtime_dir();
    if (!dir) return usage_error("status", dir.message());
    urls = find_dispatchers(*dir);
    if (urls.empty())
      return usage_error("status", "no running dispatcher found in " + *dir +
                                       "; start one with `mirai dispatcher` or give --dispatcher "
                                       "URL");
  }
  int rc = 0;
  std::size_t shown = 0;
  nlohmann::json all = nlohmann::json::array();
  for (std::size_t k = 0; k < urls.size(); ++k) {
    auto remote = RemoteDispatcher::connect(urls[k], kTimeout);
    auto s = remote ? (*remote)->status() : Expected<ProfileStatus>(remote.status());
    if (!s && url.empty() && stale_socket(urls[k])) {
      unlink(urls[k].substr(6).c_str());  // left behind by a dispatcher that was killed
      continue;
    }
    if (!s) {
      std::cerr << "mirai status: " << s.message() << "\n";
      rc = kExitFailed;
      continue;
    }
    if (vm.count("json")) {
      all.push_back(to_json(urls[k], *s));
    } else {
      if (shown > 0) std::cout << "\n";
      print_table(urls[k], *s);
    }
    ++shown;
  }
  if (shown == 0 && rc == 0)
    return usage_error("status", "no running dispatcher found; start one with `mirai dispatcher`");
  // Text that is not UTF-8 (a job id from a daemon's environment) becomes U+FFFD, not an abort.
  if (vm.count("json") && shown > 0)
    std::cout << (url.empty() ? all : all.at(0))
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  return rc;
}

}  // namespace mirai::cli
