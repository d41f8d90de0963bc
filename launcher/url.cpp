#include "launcher/url.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <set>

#include "launcher/shell.hpp"

namespace mirai::launcher {

namespace {

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

const char* kSchemes = "tcp://, ws://, tls+tcp://, wss://, ipc:// or abstract://";

}  // namespace

Expected<UrlTemplate> parse_url_template(const std::string& url) {
  UrlTemplate t;
  auto sep = url.find("://");
  if (sep == std::string::npos)
    return Status::error("'" + url + "' has no scheme; write it like tcp://{hostname}:0 (" +
                         kSchemes + ")");
  t.scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  if (t.scheme == "ipc" || t.scheme == "abstract") {
    if (rest.empty()) return Status::error("'" + url + "' has no path");
    t.path = rest;
    return t;
  }
  if (t.scheme != "tcp" && t.scheme != "ws" && t.scheme != "tls+tcp" && t.scheme != "wss")
    return Status::error("unknown scheme '" + t.scheme + "' in '" + url + "'; use " + kSchemes);
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    t.path = rest.substr(slash);
    rest.resize(slash);
  }
  std::string port;
  if (!rest.empty() && rest[0] == '[') {  // [::1]:port
    auto close = rest.find(']');
    if (close == std::string::npos) return Status::error("'" + url + "' has an unclosed '['");
    t.host = rest.substr(0, close + 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      port = rest.substr(close + 2);
    else if (close + 1 != rest.size())
      return Status::error("'" + url + "': expected ':' after ']'");
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos)
      return Status::error("'" + url + "' has no port; add :0 for any free port or :5000-5100");
    t.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (port.empty())
    return Status::error("'" + url + "' has no port; add :0 for any free port or :5000-5100");
  auto dash = port.find('-');
  std::string first = port.substr(0, dash),
              last = dash == std::string::npos ? first : port.substr(dash + 1);
  if (!all_digits(first) || !all_digits(last) || first.size() > 5 || last.size() > 5)
    return Status::error("port '" + port + "' in '" + url +
                         "' is not a number or a range like 5000-5100");
  t.port_first = std::atoi(first.c_str());
  t.port_last = std::atoi(last.c_str());
  if (t.port_first > 65535 || t.port_last > 65535 || t.port_last < t.port_first ||
      (t.port_first == 0 && t.port_last != 0))
    return Status::error("port range '" + port + "' in '" + url +
                         "' must be 0, or from..to with 1 <= from <= to <= 65535");
  if (t.host.empty())
    return Status::error("'" + url +
                         "' has no host; use {hostname}, {interface:NAME} or an address");
  if (t.host[0] == '{') {
    bool ok = t.host == "{hostname}" ||
              (t.host.rfind("{interface:", 0) == 0 && t.host.back() == '}' && t.host.size() > 12);
    if (!ok)
      return Status::error("unknown placeholder '" + t.host + "' in '" + url +
                           "'; use {hostname} or {interface:NAME}");
    if (t.host != "{hostname}") {
      std::string name = t.host.substr(11, t.host.size() - 12);
      if (!name_problem(name).empty() || name.size() >= IFNAMSIZ)
        return Status::error("'" + name + "' in '" + url + "' is not an interface name");
    }
  } else if (t.host[0] != '[' && !name_problem(t.host).empty()) {
    return Status::error("host '" + t.host + "' in '" + url + "': " + name_problem(t.host));
  }
  return t;
}

Expected<std::string> interface_address(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Status::error("cannot list the network interfaces");
  std::string v4, v6;
  std::set<std::string> names;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    names.insert(a->ifa_name);
    if (name != a->ifa_name) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET && v4.empty()) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
      v4 = buf;
    } else if (a->ifa_addr->sa_family == AF_INET6 && v6.empty()) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;
      inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
      v6 = std::string("[") + buf + "]";
    }
  }
  freeifaddrs(list);
  if (!v4.empty()) return v4;
  if (!v6.empty()) return v6;
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  return Status::error("no network interface '" + name +
                       "' with an address here (there are: " + known + ")");
}

Expected<std::vector<std::string>> resolve_url(const UrlTemplate& t) {
  if (t.scheme == "ipc" || t.scheme == "abstract")
    return std::vector<std::string>{t.scheme + "://" + t.path};
  std::string host = t.host;
  if (host == "{hostname}") {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return Status::error("cannot read this host's name");
    host = buf;
  } else if (host.rfind("{interface:", 0) == 0) {
    auto address = interface_address(host.substr(11, host.size() - 12));
    if (!address) return address.status();
    host = *address;
  }
  std::vector<std::string> urls;
  for (int port = t.port_first; port <= t.port_last; ++port)
    urls.push_back(t.scheme + "://" + host + ":" + std::to_string(port) + t.path);
  return urls;
}

}  // namespace mirai::launcher
