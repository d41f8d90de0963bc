#include "schedulers/ssh/ssh.hpp"

#include "core/transport.hpp"
#include "launcher/process_jobs.hpp"
#include "launcher/registry.hpp"
#include "launcher/shell.hpp"
#include "launcher/url.hpp"

namespace mirai::launcher::ssh {

namespace {

// How long a cancelled connection gets to stop its daemons and end by itself.
constexpr std::chrono::seconds kCancelGrace{5};

class Ssh : public Backend {
 public:
  Expected<std::vector<Submission>> render(const LaunchSpec& spec) const override {
    const SshSettings& settings = spec.profile.ssh;
    if (settings.hosts.empty())
      return Status::error("profile '" + spec.profile.name + "' has no hosts");
    std::string url = spec.url, forward;
    bool dynamic = false;
    LaunchSpec local = spec;
    if (settings.tunnel) {
      auto tunnel = tunnel_for(spec.url, settings.remote_port);
      if (!tunnel) return Status::error("profile '" + spec.profile.name + "': " + tunnel.message());
      url = tunnel->daemon_url;
      forward = tunnel->forward;
      dynamic = tunnel->dynamic;
      // Through the tunnel a TLS daemon dials 127.0.0.1, but the certificate names the
      // dispatcher's host.
      if (!spec.tls_ca_pem.empty())
        local.profile.env.emplace_back("MIRAI_TLS_SERVER_NAME", url_host(spec.url));
    }
    std::vector<Submission> out;
    int next = 1;
    for (auto [host, count] : spread(spec.n, settings.hosts.size())) {
      Submission s;
      s.first = next;
      s.last = next + count - 1;
      next += count;
      s.id = job_id(settings.hosts[host]);
      if (spec.batch > 1) s.id += "-" + std::to_string(spec.batch);
      auto script = render_shell_script(local, s.first, s.last, s.id, url);
      if (!script) return script.status();
      s.script = std::move(*script);
      s.argv = ssh_argv(settings, settings.hosts[host], forward);
      // The host's login shell reads this line and runs the script with sh.
      s.argv.push_back("sh -c " + shell_quote(s.script));
      s.script_in_argv = true;
      s.attached = spec.attached;
      s.input = spec.secret + "\n";
      s.tunnel_port = dynamic;
      out.push_back(std::move(s));
    }
    return out;
  }

  Expected<Submitted> submit(const Submission& s) override {
    if (Status st = jobs_.start(s.id, s.argv, s.attached, s.log_file, s.input, s.tunnel_port); !st)
      return st;
    return Submitted{{s.id},
                     "connecting to " + s.id + "; ssh's output goes to " + s.log_file + "\n"};
  }

  Expected<std::vector<JobStatus>> status(const std::vector<std::string>& ids) override {
    return jobs_.status(ids, "ssh");
  }

  Status cancel(const std::vector<std::string>& ids) override {
    return jobs_.cancel(ids, kCancelGrace);
  }

 private:
  ProcessJobs jobs_;
};

}  // namespace

std::unique_ptr<Backend> make() { return std::make_unique<Ssh>(); }

namespace {

// Registered by name before main(); nothing outside this directory names it.
const bool kRegistered = register_backend([] {
  BackendKind k;
  k.name = "ssh";
  k.job_scripts = false;
  k.remote_hosts = true;
  // Through a tunnel, daemons dial the host's end of it, which forwards to this machine.
  k.default_url = [](const ProfileConfig& p) {
    return p.ssh.tunnel ? std::string("tcp://127.0.0.1:0") : std::string("tcp://{hostname}:0");
  };
  k.make = [](const ProfileConfig&) { return make(); };
  return k;
}());

}  // namespace

std::vector<std::pair<std::size_t, int>> spread(int n, std::size_t hosts) {
  std::vector<std::pair<std::size_t, int>> out;
  if (hosts == 0) return out;
  const int h = static_cast<int>(hosts);
  for (int i = 0; i < h && i < n; ++i)
    out.emplace_back(static_cast<std::size_t>(i), n / h + (i < n % h ? 1 : 0));
  return out;
}

std::string job_id(const SshHost& host) {
  return (host.user.empty() ? "" : host.user + "@") + host.host +
         (host.port ? ":" + std::to_string(host.port) : "");
}

Expected<Tunnel> tunnel_for(const std::string& url, int remote_port) {
  auto parsed = parse_url_template(url);
  if (!parsed) return parsed.status();
  if (parsed->host.empty() || parsed->port_first != parsed->port_last)
    return Status::error("a tunnel needs the dispatcher's tcp or ws address with one port, not '" +
                         url + "'");
  std::string host = parsed->host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  // Port 0 (only when rendering): the port is chosen when the dispatcher listens.
  auto text = [](int port) { return port ? std::to_string(port) : std::string("PORT"); };
  std::string local = text(parsed->port_first);
  Tunnel t;
  // Without a remote port, sshd chooses a free one (the dispatcher's own port may be taken on
  // the host, or be the dispatcher itself on the same machine); ssh reports it.
  t.dynamic = remote_port == 0;
  std::string remote = t.dynamic ? std::string(kTunnelPort) : std::to_string(remote_port);
  // Bound to 127.0.0.1 only: sshd would otherwise also bind ::1, and a port taken on one of
  // the two would not fail the forward.
  t.forward = "127.0.0.1:" + (t.dynamic ? std::string("0") : remote) + ":" + host + ":" + local;
  t.daemon_url = parsed->scheme + "://127.0.0.1:" + remote + parsed->path;
  return t;
}

}  // namespace mirai::launcher::ssh
