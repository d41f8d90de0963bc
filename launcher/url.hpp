// The `url:` of a profile: where the dispatcher listens for its daemons. The host part may name a
// network interface (`{interface:ib0}`) or this machine (`{hostname}`), and the port may be a
// range, tried in order until one is free.
#pragma once

#include <string>
#include <vector>

#include "mirai/status.hpp"

namespace mirai::launcher {

struct UrlTemplate {
  std::string scheme;  // tcp, ws, tls+tcp, wss, ipc, abstract
  std::string host;    // literal, or "{hostname}" / "{interface:NAME}"; empty for ipc
  std::string path;    // ipc/abstract path; ws path
  int port_first = 0;  // 0: any free port
  int port_last = 0;
};

// Parses and checks `url`; the message says what to write instead.
Expected<UrlTemplate> parse_url_template(const std::string& url);

// The concrete URLs to try, in order: placeholders replaced (an interface by its IPv4 address,
// else its IPv6 one), one URL per port of the range.
Expected<std::vector<std::string>> resolve_url(const UrlTemplate& url);

// The address of interface `name`; the message lists the interfaces there are.
Expected<std::string> interface_address(const std::string& name);

}  // namespace mirai::launcher
