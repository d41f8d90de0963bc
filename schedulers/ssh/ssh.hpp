// ssh: one ssh connection per host runs templates/shell.sh there, which starts that host's share
// of the daemons. Direct: they dial the dispatcher's address. Tunnelled: `ssh -R` opens a port
// on the host's loopback that leads back to the dispatcher, and they dial that. The connection
// is the job: it ends when the daemons end, and closing it (cancel) stops them.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "launcher/backend.hpp"
#include "launcher/ssh_options.hpp"

namespace mirai::launcher::ssh {

std::unique_ptr<Backend> make();

// Pure parts -----------------------------------------------------------------------------------
// How many daemons each host runs: `n` spread over `hosts` as evenly as possible, the first
// hosts taking one more; hosts with none are left out. Pairs of (host index, daemons).
std::vector<std::pair<std::size_t, int>> spread(int n, std::size_t hosts);
// The job id of a host's connection: [user@]host[:port].
std::string job_id(const SshHost& host);
using launcher::ssh_argv;  // launcher/ssh_options.hpp
// For a tunnel to the dispatcher at `url`: the -R argument and the URL the daemons dial on the
// host. Fails for URLs that cannot be forwarded (ipc, abstract).
// With no remote port, sshd chooses one (`-R 127.0.0.1:0:...`): daemon_url then holds
// kTunnelPort where the port goes, which the job script fills in once ssh reported it.
struct Tunnel {
  std::string forward, daemon_url;
  bool dynamic = false;
};
Expected<Tunnel> tunnel_for(const std::string& url, int remote_port);

}  // namespace mirai::launcher::ssh
