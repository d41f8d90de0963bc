#include "launcher/config.hpp"

#include <net/if.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/file.hpp"
#include "core/transport.hpp"
#include "launcher/command_backend.hpp"
#include "launcher/registry.hpp"
#include "launcher/resources.hpp"
#include "launcher/shell.hpp"
#include "launcher/ssh_options.hpp"
#include "launcher/url.hpp"
#include "mirai/duration.hpp"

namespace mirai::launcher {

namespace {

using Keys = std::vector<std::string>;

// Reads YAML nodes into typed values; each mistake becomes a diagnostic at the node.
class Reader {
 public:
  explicit Reader(Diagnostics& d) : d_(d) {}

  void error(const YAML::Node& at, std::string message, std::string hint = "") {
    YAML::Mark m = at.Mark();
    d_.error(m.line + 1, m.column + 1, std::move(message), std::move(hint));
  }
  void warn(const YAML::Node& at, std::string message, std::string hint = "") {
    YAML::Mark m = at.Mark();
    d_.warn(m.line + 1, m.column + 1, std::move(message), std::move(hint));
  }

  // The entries of a mapping, each key once; reports duplicate and unknown keys (with the
  // nearest known one) and a node that is not a mapping.
  std::vector<std::pair<YAML::Node, YAML::Node>> entries(const YAML::Node& map,
                                                         const std::string& what,
                                                         const Keys& known) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    if (!map.IsMap()) {
      if (!map.IsNull()) error(map, what + " must be a mapping of keys to values");
      return out;
    }
    std::map<std::string, int> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        error(it->first, "a key in " + what + " must be a plain word");
        continue;
      }
      const std::string key = it->first.Scalar();
      if (auto s = seen.find(key); s != seen.end()) {
        error(it->first, "duplicate key '" + key + "' in " + what,
              "it was first given on line " + std::to_string(s->second));
        continue;
      }
      seen[key] = it->first.Mark().line + 1;
      if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
        std::string near = nearest(key, known);
        error(it->first, "unknown key '" + key + "' in " + what,
              near.empty() ? "known keys: " + join(known) : "did you mean '" + near + "'?");
        continue;
      }
      out.emplace_back(it->first, it->second);
    }
    return out;
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      error(n, "'" + what + "' must be a single value, not " + kind(n));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<long long> whole(const YAML::Node& n, const std::string& what, long long min,
                                 long long max) {
    auto s = string(n, what);
    if (!s) return std::nullopt;
    if (s->empty() || s->find_first_not_of("0123456789") != std::string::npos || s->size() > 12 ||
        std::atoll(s->c_str()) < min || std::atoll(s->c_str()) > max) {
      error(n, "'" + what + "' must be a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max) + ", not '" + *s + "'");
      return std::nullopt;
    }
    return std::atoll(s->c_str());
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& what) {
    auto s = string(n, what);
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "yes") return true;
    if (*s == "false" || *s == "no") return false;
    error(n, "'" + what + "' must be true or false, not '" + *s + "'");
    return std::nullopt;
  }

  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& what) {
    auto s = string(n, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      error(n, "'" + what + "': " + d.message());
      return std::nullopt;
    }
    return *d;
  }

  // A list of strings; a single string counts as a list of one.
  std::vector<std::string> lines(const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (n.IsScalar()) return {n.Scalar()};
    if (!n.IsSequence()) {
      error(n, "'" + what + "' must be a list of strings");
      return out;
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        error(item, "each entry of '" + what + "' must be a string, not " + kind(item));
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  static std::string join(const Keys& keys) {
    std::string s;
    for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
    return s;
  }

 private:
  static std::string kind(const YAML::Node& n) {
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    if (n.IsNull()) return "nothing";
    return "a value";
  }
  Diagnostics& d_;
};

const Keys kTopKeys = {"profiles", "default", "backends"};
const Keys kBackendKeys = {"template", "directive",      "submit", "job_id",
                           "status",   "status_line",    "states", "cancel",
                           "element",  "max_array_size", "gone"};

// The backends a file defines; a backend with problems maps to nullptr.
using Defined = std::map<std::string, std::shared_ptr<const BackendKind>>;
// A profile's own keys; each backend with keys of its own adds its section (`slurm:`).
const Keys kProfileKeys = {
    "launcher",       "workers",  "url",       "daemon",  "directives", "prologue",
    "epilogue",       "template", "env",       "workdir", "log",        "launch_timeout",
    "hosts",          "tunnel",   "ssh",       "tls",     "retries",    "interval",
    "launch_retries", "backup",   "heartbeat", "login"};

Keys profile_keys() {
  Keys keys = kProfileKeys;
  for (const auto& name : backend_names())
    if (!find_backend(name)->keys.empty()) keys.push_back(name);
  return keys;
}

// The names of the backends with `property`, for messages: "slurm, sge".
std::string names_with(bool BackendKind::*property) {
  std::string out;
  for (const auto& name : backend_names())
    if (find_backend(name)->*property) out += (out.empty() ? "" : ", ") + name;
  return out;
}
const Keys kDaemonKeys = {"idletime", "walltime", "maxtasks", "command"};
const Keys kSshKeys = {"connect_timeout", "remote_port", "identity_file", "config_file", "options"};
const Keys kLoginKeys = {"host",        "user",    "port",           "identity_file",
                         "config_file", "options", "connect_timeout"};
const Keys kTlsKeys = {"cert", "key", "passphrase_file", "passphrase_env", "ca"};

std::string absolute(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path[0] == '/') return path;
  return base_dir + "/" + path;
}

// "~/x" as $HOME/x, as ssh itself reads such paths.
std::string home_relative(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (path.rfind("~/", 0) != 0 || !home || !*home) return path;
  return home + path.substr(1);
}

std::string control_problem(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "it holds a control character";
  return "";
}

std::optional<SshHost> parse_host(const std::string& text, std::string& problem) {
  SshHost h;
  h.text = text;
  std::string rest = text;
  if (rest.rfind("ssh://", 0) == 0) rest = rest.substr(6);
  if (auto at = rest.find('@'); at != std::string::npos) {
    h.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto p = name_problem(h.user); !p.empty()) {
      problem = "user '" + h.user + "': " + p;
      return std::nullopt;
    }
  }
  if (auto colon = rest.rfind(':');
      colon != std::string::npos && rest.find(']') == std::string::npos) {
    std::string port = rest.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
        port.size() > 5 || std::atoi(port.c_str()) < 1 || std::atoi(port.c_str()) > 65535) {
      problem = "port '" + port + "' is not a number from 1 to 65535";
      return std::nullopt;
    }
    h.port = std::atoi(port.c_str());
    rest.resize(colon);
  }
  h.host = rest;
  if (auto p = name_problem(h.host); !p.empty()) {
    problem = "host '" + h.host + "': " + p;
    return std::nullopt;
  }
  return h;
}

class ProfileReader {
 public:
  ProfileReader(Reader& r, const std::string& base_dir, const Defined& defined)
      : r_(r), base_dir_(base_dir), defined_(defined) {}

  // Each profile's `backup:` value, checked once every profile is read.
  std::vector<std::pair<std::string, YAML::Node>> backups;

  // Fills `p` from `node`; returns false when anything was wrong.
  bool read(const YAML::Node& key, const YAML::Node& node, ProfileConfig& p, Diagnostics& d) {
    std::size_t errors_before = d.list().size();
    p.name = key.Scalar();
    p.line = key.Mark().line + 1;
    if (p.name.empty() ||
        p.name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            std::string::npos ||
        p.name[0] == '-')
      r_.error(key, "profile name '" + p.name + "' may hold only letters, digits, _ and -");
    const std::string where = "profile '" + p.name + "'";
    if (!node.IsMap()) {
      r_.error(node.IsNull() ? key : node, where + " must be a mapping",
               "at least: launcher: local");
      return false;
    }
    auto entries = r_.entries(node, where, profile_keys());
    std::map<std::string, YAML::Node> by_key, key_nodes;
    for (auto& [k, v] : entries) {
      by_key[k.Scalar()] = v;
      key_nodes[k.Scalar()] = k;
    }
    login_ = by_key.count("login") > 0;
    if (!by_key.count("launcher")) {
      r_.error(key, where + " has no 'launcher'",
               "add launcher: with one of " + Reader::join(launchers()));
      return false;
    }
    if (auto l = r_.string(by_key["launcher"], "launcher")) {
      p.launcher = *l;
      if (auto it = defined_.find(p.launcher); it != defined_.end()) {
        if (!it->second) {
          r_.error(by_key["launcher"], "launcher '" + p.launcher +
                                           "' is defined under 'backends', with the problems "
                                           "reported there");
          return false;
        }
        p.backend = it->second;
      }
      kind_ = kind_of(p);
      if (!kind_) {
        const auto names = launchers();
        std::string near = nearest(p.launcher, names);
        r_.error(
            by_key["launcher"], "unknown launcher '" + p.launcher + "'",
            near.empty() ? "use one of " + Reader::join(names) : "did you mean '" + near + "'?");
        // The keys every launcher shares are still checked, so that one run finds everything.
        static const BackendKind unknown;
        kind_ = &unknown;
        for (auto& [k, v] : entries)
          if (!find_backend(k.Scalar())) read_key(k, v, p);
        return false;
      }
    } else {
      return false;
    }
    for (auto& [k, v] : entries) read_key(k, v, p);
    if (kind_->remote_hosts && p.ssh.hosts.empty() && !key_nodes.count("hosts"))
      r_.error(key, where + " uses launcher " + p.launcher + " but has no 'hosts'",
               "add hosts: [ \"ssh://user@host\" ]");
    if (!kind_->remote_hosts) {
      for (const char* k : {"hosts", "tunnel", "ssh"})
        if (key_nodes.count(k))
          r_.error(key_nodes[k], std::string("'") + k + "' only applies to launcher " +
                                     names_with(&BackendKind::remote_hosts) + ", not " +
                                     p.launcher);
    }
    if (key_nodes.count("tls")) {
      if (p.url.empty() || !is_tls_url(p.url))
        r_.error(key_nodes["tls"], "'tls' applies to a tls+tcp:// or wss:// url only",
                 "set url: tls+tcp://{hostname}:0, or remove 'tls'");
      else if (p.tls.cert.empty() != p.tls.key.empty())
        r_.error(key_nodes["tls"], "'tls' needs both 'cert' and 'key', or neither",
                 "without them a single-use certificate is made for each run");
      else if (p.tls.cert.empty() && (!p.tls.ca.empty() || !p.tls.passphrase_file.empty() ||
                                      !p.tls.passphrase_env.empty()))
        r_.error(key_nodes["tls"], "'tls: ca' and the passphrase go with 'cert' and 'key'");
      else if (!p.tls.passphrase_file.empty() && !p.tls.passphrase_env.empty())
        r_.error(key_nodes["tls"],
                 "give the key's passphrase once: 'passphrase_file' or "
                 "'passphrase_env'");
    }
    if (!kind_->job_scripts) {
      for (const char* k : {"directives", "template"})
        if (key_nodes.count(k))
          r_.error(key_nodes[k], std::string("'") + k + "' only applies to scheduler launchers (" +
                                     names_with(&BackendKind::job_scripts) + "), not " +
                                     p.launcher);
    }
    return d.list().size() == errors_before;
  }

 private:
  // What `launcher:` may name: the registered backends and the file's own.
  Keys launchers() const {
    Keys names = backend_names();
    for (const auto& [name, kind] : defined_) names.push_back(name);
    return names;
  }

  void read_key(const YAML::Node& k, const YAML::Node& v, ProfileConfig& p) {
    const std::string key = k.Scalar();
    if (key == "launcher") return;
    if (key == "workers") {
      if (auto n = r_.whole(v, "workers", 1, 100000)) p.workers = static_cast<int>(*n);
    } else if (key == "url") {
      if (auto s = r_.string(v, "url")) {
        p.url = *s;
        if (auto t = parse_url_template(*s); !t) {
          r_.error(v, "'url': " + t.message());
        } else if (t->host.rfind("{interface:", 0) == 0 && !login_) {
          // (With `login:`, the login node resolves it.)
          std::string name = t->host.substr(11, t->host.size() - 12);
          if (if_nametoindex(name.c_str()) == 0)
            r_.warn(v, "'url': this machine has no network interface '" + name + "'",
                    "right if the profile runs where there is one; `ip -br link` lists them");
        }
      }
    } else if (key == "daemon") {
      read_daemon(v, p);
    } else if (const BackendKind* section = find_backend(key); section && !section->keys.empty()) {
      if (key != p.launcher) {
        r_.error(k,
                 "the '" + key + "' map belongs to launcher " + key +
                     ", but this profile's "
                     "launcher is " +
                     p.launcher,
                 "rename it to '" + p.launcher + "' or change the launcher");
        return;
      }
      read_resources(v, p);
    } else if (key == "directives") {
      read_directives(v, p);
    } else if (key == "prologue" || key == "epilogue") {
      auto lines = r_.lines(v, key);
      for (const auto& line : lines)
        if (auto problem = control_problem(line); !problem.empty())
          r_.error(v, "a line of '" + key + "': " + problem,
                   "give each line as its own list entry");
      (key == "prologue" ? p.prologue : p.epilogue) = lines;
    } else if (key == "template") {
      if (auto s = r_.string(v, "template")) {
        p.template_file = absolute(*s, base_dir_);
        if (access(p.template_file.c_str(), R_OK) != 0)
          r_.error(v, "cannot read the template '" + p.template_file + "'",
                   "the path is relative to the directory of this file");
      }
    } else if (key == "env") {
      for (auto& [name, value] : r_.entries(v, "env", {})) {
        if (auto problem = env_name_problem(name.Scalar()); !problem.empty()) {
          r_.error(name, "environment variable name '" + name.Scalar() + "': " + problem);
          continue;
        }
        auto s = r_.string(value, "env: " + name.Scalar());
        if (!s) continue;
        // Quoted, a newline is still a new line of the job script, where a scheduler reads
        // its directives (`#$ -S ...` at column 0).
        if (s->find_first_of(std::string("\0\n\r", 3)) != std::string::npos) {
          r_.error(value, "environment variable values cannot hold a newline or a NUL byte",
                   "each value goes on one line of the job script");
          continue;
        }
        p.env.emplace_back(name.Scalar(), *s);
      }
    } else if (key == "workdir") {
      if (auto s = r_.string(v, "workdir")) {
        // On other hosts (ssh, a login node): a directory there, relative to the home directory.
        p.workdir = elsewhere() ? *s : absolute(*s, base_dir_);
        if (auto problem = control_problem(*s); !problem.empty())
          r_.error(v, "'workdir': " + problem);
      }
    } else if (key == "log") {
      if (auto s = r_.string(v, "log")) {
        // Backends without job scripts quote it on a shell line; schedulers read it from a
        // directive line.
        bool shell = !kind_->job_scripts;
        if (auto problem = shell                ? control_problem(*s)
                           : kind_->log_problem ? kind_->log_problem(*s)
                                                : directive_problem(*s);
            !problem.empty() || s->empty())
          r_.error(
              v,
              "'log' path '" + *s + "' cannot be used: " + (s->empty() ? "it is empty" : problem),
              shell ? "give a file path"
                    : "schedulers read it from a directive line; choose a path without spaces or "
                      "quotes");
        else
          p.log = elsewhere() ? *s : absolute(*s, base_dir_);
      }
    } else if (key == "retries") {
      if (auto n = r_.whole(v, "retries", 0, 255)) p.retries = static_cast<int>(*n);
    } else if (key == "backup") {
      if (auto s = r_.string(v, "backup")) {
        p.backup = *s;
        backups.emplace_back(p.name, v);
      }
    } else if (key == "launch_retries") {
      if (auto n = r_.whole(v, "launch_retries", 0, 100)) p.launch_retries = static_cast<int>(*n);
    } else if (key == "interval") {
      if (auto d = r_.duration(v, "interval")) {
        if (*d < std::chrono::milliseconds(100))
          r_.error(v, "'interval' must be at least 100ms",
                   "it is how often the controller asks the scheduler about its jobs");
        else
          p.interval = *d;
      }
    } else if (key == "heartbeat") {
      if (auto d = r_.duration(v, "heartbeat")) {
        if (d->count() > 0 && *d < std::chrono::milliseconds(100))
          r_.error(v, "'heartbeat' must be 0 (none) or at least 100ms",
                   "a peer silent for 3 heartbeat intervals is taken as lost");
        else
          p.heartbeat = *d;
      }
    } else if (key == "launch_timeout") {
      if (auto d = r_.duration(v, "launch_timeout")) p.launch_timeout = *d;
    } else if (key == "hosts") {
      for (const auto& text : r_.lines(v, "hosts")) {
        std::string problem;
        auto h = parse_host(text, problem);
        bool twice = false;
        for (const auto& other : p.ssh.hosts)
          twice = twice || (h && other.host == h->host && other.port == h->port);
        if (twice)
          r_.error(v, "host '" + text + "' is listed twice",
                   "list each host once; 'workers' sets how many daemons run on the hosts");
        else if (h)
          p.ssh.hosts.push_back(*h);
        else
          r_.error(v, "in '" + text + "': " + problem, "write it like ssh://user@host:22");
      }
    } else if (key == "tunnel") {
      if (auto b = r_.boolean(v, "tunnel")) p.ssh.tunnel = *b;
    } else if (key == "ssh") {
      read_ssh(v, p);
    } else if (key == "login") {
      read_login(v, p);
    } else if (key == "tls") {
      read_tls(v, p);
    }
  }

  void read_daemon(const YAML::Node& v, ProfileConfig& p) {
    for (auto& [k, value] : r_.entries(v, "daemon", kDaemonKeys)) {
      const std::string key = k.Scalar();
      if (key == "idletime") {
        if (auto d = r_.duration(value, "idletime")) p.limits.idletime = *d;
      } else if (key == "walltime") {
        if (auto d = r_.duration(value, "walltime")) p.limits.walltime = *d;
      } else if (key == "maxtasks") {
        if (auto n = r_.whole(value, "maxtasks", 0, 1000000000))
          p.limits.maxtasks = static_cast<std::uint32_t>(*n);
      } else if (key == "command") {
        if (auto s = r_.string(value, "command")) {
          if (auto problem = control_problem(*s); !problem.empty() || s->empty())
            r_.error(value, "'command' must be the path of the mirai executable");
          else
            p.command = *s;
        }
      }
    }
  }

  void read_resources(const YAML::Node& v, ProfileConfig& p) {
    const auto& table = kind_->keys;
    Keys known;
    for (const auto& rk : table) known.push_back(rk.name);
    std::map<std::string, YAML::Node> given;
    for (auto& [k, value] : r_.entries(v, p.launcher, known)) {
      const std::string key = k.Scalar();
      given[key] = k;
      auto rk = std::find_if(table.begin(), table.end(),
                             [&](const ResourceKey& r) { return key == r.name; });
      auto s = r_.string(value, key);
      if (!s) continue;
      long long amount = 0;  // for times, sizes and counts
      std::string what = p.launcher + ": " + key;
      switch (rk->type) {
        case ResourceType::kName:
          if (auto problem = name_problem(*s); !problem.empty()) {
            r_.error(value, "'" + what + "' value '" + *s + "': " + problem);
            continue;
          }
          break;
        case ResourceType::kWord:
          if (auto problem = directive_problem(*s); !problem.empty() || (*s)[0] == '-') {
            r_.error(value, "'" + what + "' value '" + *s +
                                "': " + (problem.empty() ? "it starts with '-'" : problem));
            continue;
          }
          break;
        case ResourceType::kTime: {
          auto t = parse_time_seconds(*s);
          if (!t) {
            r_.error(value, "'" + what + "': '" + *s + "' is not a time",
                     "write it like 55m, 2h30m, 01:00:00 or 1-12:00:00");
            continue;
          }
          amount = *t;
          break;
        }
        case ResourceType::kSize: {
          auto m = parse_size_mib(*s);
          if (!m) {
            r_.error(value, "'" + what + "': '" + *s + "' is not a size",
                     "write it like 4G, 512M or 4096 (megabytes)");
            continue;
          }
          amount = *m;
          break;
        }
        case ResourceType::kCount:
          if (auto n = r_.whole(value, what, 1, 100000000))
            amount = *n;
          else
            continue;
          break;
        case ResourceType::kFlavour:
          if (*s != "pro" && *s != "torque") {
            r_.error(value, "'" + what + "' must be pro or torque, not '" + *s + "'");
            continue;
          }
          break;
      }
      p.resources[key] = amount > 0 ? Resource(amount) : Resource(*s);
    }
    // Keys the scheduler refuses together: each after the first given is a problem.
    for (const auto& group : kind_->exclusive) {
      std::vector<std::string> present;
      for (const auto& key : group)
        if (given.count(key)) present.push_back(key);
      std::sort(present.begin(), present.end(), [&](const std::string& a, const std::string& b) {
        return given[a].Mark().pos < given[b].Mark().pos;
      });
      for (std::size_t i = 1; i < present.size(); ++i)
        r_.error(given[present[i]],
                 "'" + p.launcher + ": " + present[i] + "' and '" + present[0] +
                     "' exclude each other: " + p.launcher + " refuses a job with both",
                 "keep one of " + Reader::join(group));
    }
  }

  void read_directives(const YAML::Node& v, ProfileConfig& p) {
    for (const auto& line : r_.lines(v, "directives")) {
      if (auto problem = control_problem(line); !problem.empty() || line.empty()) {
        r_.error(v, "a line of 'directives' is empty or holds a control character",
                 "give each directive as its own list entry");
        continue;
      }
      p.directives.push_back(line);
    }
  }

  void read_tls(const YAML::Node& v, ProfileConfig& p) {
    for (auto& [k, value] : r_.entries(v, "tls", kTlsKeys)) {
      const std::string key = k.Scalar();
      auto s = r_.string(value, key);
      if (!s) continue;
      if (key == "passphrase_env") {
        if (auto problem = env_name_problem(*s); !problem.empty())
          r_.error(value, "'tls: passphrase_env' must name an environment variable: " + problem);
        else
          p.tls.passphrase_env = *s;
        continue;
      }
      if (s->empty() || !control_problem(*s).empty()) {
        r_.error(value, "'tls: " + key + "' must be a file path");
        continue;
      }
      std::string path = absolute(home_relative(*s), base_dir_);
      (key == "cert"              ? p.tls.cert
       : key == "key"             ? p.tls.key
       : key == "passphrase_file" ? p.tls.passphrase_file
                                  : p.tls.ca) = path;
    }
  }

  // `login: { host, user, port, identity_file, config_file, options, connect_timeout }`.
  void read_login(const YAML::Node& v, ProfileConfig& p) {
    if (!kind_->job_scripts) {
      r_.error(v,
               "'login' only applies to launcher " + names_with(&BackendKind::job_scripts) +
                   ", not " + p.launcher,
               "for daemons on hosts you name, use launcher ssh with 'hosts'");
      return;
    }
    std::string user;
    int port = 0;
    bool has_host = false;
    for (auto& [k, value] : r_.entries(v, "login", kLoginKeys)) {
      const std::string key = k.Scalar();
      if (key == "host") {
        has_host = true;
        if (auto text = r_.string(value, "host")) {
          std::string problem;
          if (auto h = parse_host(*text, problem))
            p.login.host = *h;
          else
            r_.error(
                value, "login " + problem,
                "write it like login.cluster.org, user@login.cluster.org or ssh://user@host:22");
        }
      } else if (key == "user") {
        if (auto u = r_.string(value, "user")) {
          if (auto problem = name_problem(*u); !problem.empty())
            r_.error(value, "login user '" + *u + "': " + problem);
          else
            user = *u;
        }
      } else if (key == "port") {
        if (auto n = r_.whole(value, "port", 1, 65535)) port = static_cast<int>(*n);
      } else {
        read_ssh_key(key, value, p.login.ssh);
      }
    }
    if (v.IsMap() && !has_host)
      r_.error(v, "'login' needs a 'host'", "login: { host: login.cluster.org }");
    if (p.login.host.host.empty()) return;
    if (!user.empty()) p.login.host.user = user;
    if (port) p.login.host.port = port;
  }

  void read_ssh(const YAML::Node& v, ProfileConfig& p) {
    for (auto& [k, value] : r_.entries(v, "ssh", kSshKeys)) read_ssh_key(k.Scalar(), value, p.ssh);
  }

  // One key of an `ssh:` or `login:` section, for a connection's settings.
  void read_ssh_key(const std::string& key, const YAML::Node& value, SshSettings& ssh) {
    if (key == "connect_timeout") {
      if (auto d = r_.duration(value, "connect_timeout")) {
        if (d->count() < 1000)
          r_.error(value, "'connect_timeout' must be at least 1s");
        else
          ssh.connect_timeout = *d;
      }
    } else if (key == "remote_port") {
      if (auto n = r_.whole(value, "remote_port", 1, 65535)) ssh.remote_port = static_cast<int>(*n);
    } else if (key == "identity_file" || key == "config_file") {
      if (auto s = r_.string(value, key)) {
        if (!control_problem(*s).empty() || s->empty() || (*s)[0] == '-')
          r_.error(value, "'" + key + "' must be a file path");
        else
          (key == "identity_file" ? ssh.identity_file : ssh.config_file) =
              absolute(home_relative(*s), base_dir_);
      }
    } else if (key == "options") {
      for (const auto& o : r_.lines(value, "options")) {
        std::string problem;
        if (auto option = ssh_option(o, problem))
          ssh.options.push_back(*option);
        else
          r_.error(value, "ssh option '" + o + "': " + problem,
                   "mirai.yaml takes options that run nothing here, as Name=value (ProxyJump, "
                   "Port, User, IdentityFile, ...); put others (ProxyCommand, Match, "
                   "PKCS11Provider, ...) in an ssh config file of your own and name it in "
                   "'config_file'");
      }
    }
  }

  Reader& r_;
  std::string base_dir_;
  const Defined& defined_;             // the backends the file defines
  const BackendKind* kind_ = nullptr;  // the profile's backend, once its launcher is read
  bool login_ = false;                 // it has `login:`
  // Paths on other hosts (ssh hosts, a login node) are as written there, not made absolute here.
  bool elsewhere() const { return login_ || (kind_ && kind_->remote_hosts); }
};

// Every backup names another profile, and no chain of backups comes back to where it started.
void check_backups(const ProfileReader& reader, const YAML::Node& profiles, Reader& r,
                   const std::map<std::string, ProfileConfig>& read) {
  std::map<std::string, std::string> backup_of;
  for (const auto& [name, node] : reader.backups) backup_of[name] = node.Scalar();
  for (const auto& [name, node] : reader.backups) {
    const std::string& b = node.Scalar();
    bool named = false;
    for (auto it = profiles.begin(); it != profiles.end(); ++it)
      named = named || it->first.Scalar() == b;
    if (!named) {
      r.error(node, "'backup' names no profile: '" + b + "'");
      continue;
    }
    if (b == name) {
      r.error(node, "profile '" + name + "' cannot be its own backup",
              "name a profile with more resources, which takes a task after its daemon died "
              "here on every attempt");
      continue;
    }
    std::string chain = name;
    std::set<std::string> passed = {name};
    for (std::string at = b; !at.empty(); at = backup_of.count(at) ? backup_of[at] : "") {
      chain += " -> " + at;
      if (at == name) {
        r.error(node, "the backups of profile '" + name + "' come back to it: " + chain);
        break;
      }
      // A loop further down is reported at its own profiles; a broken profile by its errors.
      if (!passed.insert(at).second || !read.count(at)) break;
    }
  }
}

std::string directory_of(const std::string& file) {
  std::string dir;
  auto slash = file.rfind('/');
  if (slash == std::string::npos) {
    dir = working_directory();
  } else {
    dir = file.substr(0, slash);
    if (dir.empty()) dir = "/";
    if (dir[0] != '/') dir = working_directory() + "/" + dir;
  }
  return dir;
}

// A command of a backend: a list of words, the program first.
std::vector<std::string> read_command(Reader& r, const YAML::Node& v, const std::string& what) {
  if (!v.IsSequence()) {
    r.error(v, "'" + what + "' must be a list of words, the program first",
            "for example [sbatch, --parsable]; no shell runs it");
    return {};
  }
  auto words = r.lines(v, what);
  for (const auto& w : words)
    if (!control_problem(w).empty()) {
      r.error(v, "a word of '" + what + "' " + control_problem(w));
      return {};
    }
  if (words.empty() || words[0].empty() || words[0].find("{ids}") != std::string::npos) {
    r.error(v, "'" + what + "' must start with the program to run");
    return {};
  }
  return words;
}

std::optional<std::regex> read_regex(Reader& r, const YAML::Node& v, const std::string& what,
                                     unsigned groups, const std::string& hint) {
  auto s = r.string(v, what);
  if (!s) return std::nullopt;
  try {
    std::regex re(*s, std::regex::ECMAScript);
    if (re.mark_count() < groups) {
      r.error(v, "'" + what + "' needs " + std::to_string(groups) + " group(s) in parentheses",
              hint);
      return std::nullopt;
    }
    return re;
  } catch (const std::regex_error& e) {
    r.error(v, "'" + what + "' is not a regular expression: " + e.what(), hint);
    return std::nullopt;
  }
}

// `backends:`: each a backend defined by its commands (launcher/command_backend.hpp).
Defined read_backends(Reader& r, const YAML::Node& node, const std::string& base_dir,
                      Diagnostics& d) {
  Defined out;
  if (!node.IsMap()) {
    r.error(node, "'backends' must be a mapping from backend names to their commands");
    return out;
  }
  for (auto& [key, v] : r.entries(node, "backends", {})) {
    const std::size_t errors_before = d.list().size();
    CommandBackendSpec spec;
    spec.name = key.Scalar();
    const std::string where = "backend '" + spec.name + "'";
    if (spec.name.empty() ||
        spec.name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            std::string::npos ||
        spec.name[0] == '-') {
      r.error(key, "backend name '" + spec.name + "' may hold only letters, digits, _ and -");
      continue;
    }
    if (find_backend(spec.name)) {
      r.error(key, where + " has the name of a built-in launcher", "give yours another name");
      continue;
    }
    std::map<std::string, YAML::Node> by_key;
    for (auto& [k, value] : r.entries(v, where, kBackendKeys)) by_key[k.Scalar()] = value;
    for (const char* needed :
         {"template", "submit", "job_id", "status", "status_line", "states", "cancel"})
      if (!by_key.count(needed) && v.IsMap())
        r.error(key, where + " has no '" + needed + "'",
                "a backend needs template, submit, job_id, status, status_line, states and "
                "cancel (docs/config.md, \"A backend of your own\")");
    if (by_key.count("template"))
      if (auto s = r.string(by_key["template"], "template")) {
        spec.template_file = absolute(*s, base_dir);
        if (access(spec.template_file.c_str(), R_OK) != 0)
          r.error(by_key["template"], "cannot read the template " + spec.template_file);
      }
    if (by_key.count("directive"))
      if (auto s = r.string(by_key["directive"], "directive")) {
        if (s->empty() || (*s)[0] != '#' || !directive_problem(*s).empty())
          r.error(by_key["directive"],
                  "'directive' must be one word starting with '#', as \"#SBATCH\"");
        else
          spec.directive = *s;
      }
    if (by_key.count("submit")) spec.submit = read_command(r, by_key["submit"], "submit");
    if (by_key.count("status")) spec.status = read_command(r, by_key["status"], "status");
    if (by_key.count("cancel")) spec.cancel = read_command(r, by_key["cancel"], "cancel");
    if (by_key.count("job_id"))
      if (auto re = read_regex(r, by_key["job_id"], "job_id", 1,
                               "its first group is the job id in what submit prints, as "
                               "'^([0-9]+)'")) {
        spec.job_id = *re;
        spec.job_id_text = by_key["job_id"].Scalar();
      }
    if (by_key.count("status_line"))
      if (auto re = read_regex(r, by_key["status_line"], "status_line", 2,
                               "group 1 is a job's id and group 2 its state, as "
                               "'^(\\S+) (\\S+)'"))
        spec.status_line = *re;
    if (by_key.count("states")) {
      for (auto& [word, ours] : r.entries(by_key["states"], "states", {})) {
        auto s = r.string(ours, "states: " + word.Scalar());
        JobState state;
        if (s && !parse_job_state(*s, state))
          r.error(ours, "'" + *s + "' is not a state",
                  "use pending, running, stopping, finished, failed or cancelled");
        else if (s)
          spec.states[word.Scalar()] = state;
      }
    }
    if (by_key.count("element"))
      if (auto s = r.string(by_key["element"], "element")) {
        if (s->find("{index}") == std::string::npos)
          r.error(by_key["element"], "'element' must hold {index}",
                  "how an array element's id is written, as \"{job}_{index}\"");
        else
          spec.element = *s;
      }
    if (by_key.count("gone")) spec.gone = r.lines(by_key["gone"], "gone");
    if (by_key.count("max_array_size"))
      if (auto n = r.whole(by_key["max_array_size"], "max_array_size", 2, 100000000))
        spec.max_array_size = static_cast<int>(*n);
    std::string name = spec.name;  // the right side of = runs first: spec is moved from
    out[name] = d.list().size() == errors_before ? command_backend(std::move(spec)) : nullptr;
  }
  return out;
}

}  // namespace

Config parse_config(const std::string& text, const std::string& file, Diagnostics& diagnostics) {
  Config config;
  config.file = file;
  Reader r(diagnostics);
  YAML::Node root;
  // A tab in the indentation: YAML's own message ("illegal map value") does not say so.
  bool tabs = false;
  for (std::size_t start = 0, line = 1; start < text.size(); ++line) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::size_t indent = text.find_first_not_of(" \t", start);
    if (indent == std::string::npos || indent > end) indent = end;
    if (std::size_t tab = text.find('\t', start); tab < indent) {
      diagnostics.error(static_cast<int>(line), static_cast<int>(tab - start + 1),
                        "a tab in the indentation: YAML indents with spaces only",
                        "replace the tab with spaces");
      tabs = true;
    }
    start = end + 1;
  }
  if (tabs) return config;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diagnostics.error(e.mark.line + 1, e.mark.column + 1, "not valid YAML: " + e.msg);
    return config;
  }
  if (!root.IsMap()) {
    diagnostics.error(1, 1, "the file must be a mapping with a 'profiles' key",
                      "start with profiles: and one profile per key");
    return config;
  }
  YAML::Node profiles, default_node, backends;
  bool has_profiles = false, has_default = false, has_backends = false;
  for (auto& [k, v] : r.entries(root, "the top level", kTopKeys)) {
    if (k.Scalar() == "profiles") profiles = v, has_profiles = true;
    if (k.Scalar() == "default") default_node = v, has_default = true;
    if (k.Scalar() == "backends") backends = v, has_backends = true;
  }
  if (!has_profiles) {
    diagnostics.error(1, 1, "no 'profiles' key", "add profiles: with at least one profile");
    return config;
  }
  if (!profiles.IsMap()) {
    r.error(profiles, "'profiles' must be a mapping from profile names to their settings");
    return config;
  }
  const Defined defined =
      has_backends ? read_backends(r, backends, directory_of(file), diagnostics) : Defined{};
  ProfileReader reader(r, directory_of(file), defined);
  for (auto& [k, v] : r.entries(profiles, "profiles", {})) {
    ProfileConfig p;
    if (reader.read(k, v, p, diagnostics)) config.profiles[p.name] = std::move(p);
  }
  check_backups(reader, profiles, r, config.profiles);
  if (has_default) {
    if (auto s = r.string(default_node, "default")) {
      config.default_profile = *s;
      bool named = false;
      for (auto it = profiles.begin(); it != profiles.end(); ++it)
        named = named || it->first.Scalar() == *s;
      if (!named) r.error(default_node, "'default' names no profile: '" + *s + "'");
    }
  }
  return config;
}

Config load_config(const std::string& file, Diagnostics& diagnostics) {
  std::ifstream in(file);
  if (!in) {
    diagnostics.error(0, 0, "cannot read the file",
                      "check the path given with --config or $MIRAI_CONFIG");
    Config c;
    c.file = file;
    return c;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Config config = parse_config(ss.str(), file, diagnostics);
  apply_profile_env(config, diagnostics);
  return config;
}

}  // namespace mirai::launcher
