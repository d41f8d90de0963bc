// mirai.yaml: named compute profiles, read with every mistake reported at its line and column
// before anything is started. docs/config.md is the reference for every key.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tls.hpp"
#include "launcher/diagnostics.hpp"
#include "launcher/registry.hpp"
#include "launcher/resources.hpp"
#include "mirai/profile.hpp"

namespace mirai::launcher {

struct SshHost {
  std::string user;  // may be empty
  std::string host;
  int port = 0;      // 0: ssh's default
  std::string text;  // as written
};

struct SshSettings {
  std::vector<SshHost> hosts;
  bool tunnel = false;
  std::chrono::milliseconds connect_timeout{10000};
  int remote_port = 0;               // tunnel: port the daemons dial on the host; 0: the local port
  std::string identity_file;         // ssh -i
  std::string config_file;           // ssh -F
  std::vector<std::string> options;  // each becomes `-o VALUE`
};

struct ProfileConfig {
  std::string name;
  int line = 0;  // where the profile starts in the file
  std::string launcher;
  int workers = 1;
  std::string url;  // as written; empty: the backend's default
  DaemonLimits limits;
  std::string command;  // the mirai executable where daemons run; empty: this one
  Resources resources;  // its backend's section, each value read once (launcher/resources.hpp)
  std::vector<std::string> directives;          // extra directive lines, prefix added
  std::vector<std::string> prologue, epilogue;  // shell lines around the daemon
  std::string template_file;                    // absolute; empty: the default template
  std::vector<std::pair<std::string, std::string>> env;
  // Absolute; empty: the directory the launch runs in. ssh: as written, a directory on the host
  // (relative to the login directory there); empty: the login directory.
  std::string workdir;
  std::string log;  // daemon output (stdout and stderr); empty: discarded. ssh: on the host
  std::chrono::milliseconds launch_timeout{std::chrono::minutes(10)};
  // How many times a task is queued again when its daemon dies while running it.
  int retries = 0;
  // How often the controller looks at the backlog and asks the scheduler about its jobs; it
  // launches at most one batch per interval.
  std::chrono::milliseconds interval{std::chrono::seconds(2)};
  // Heartbeats between the dispatcher and its daemons on a quiet connection; a peer silent for
  // 3 intervals is lost. 0: none.
  std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
  // How many launches in a row may fail (no daemon connects) after the first before the
  // profile pauses.
  int launch_retries = 2;
  // The profile that takes a task whose daemon died under it here on every attempt (crew's
  // escalating backup); "": none.
  std::string backup;
  SshSettings ssh;
  // A scheduler's login node (`login:`): its commands run there, and its daemons dial a relay
  // there, for a mirai on a machine the compute nodes cannot reach (launcher/login_link.hpp).
  // An empty host: none. Of `ssh`, the connection settings apply (no hosts, no tunnel).
  struct Login {
    SshHost host;
    SshSettings ssh;
  } login;
  tls::TlsFiles tls;  // absolute paths; for a tls+tcp:// or wss:// url
  // The backend its mirai.yaml defined under `backends:`; nullptr: the one registered under
  // `launcher:` (launcher/registry.hpp, kind_of).
  std::shared_ptr<const BackendKind> backend;
};

struct Config {
  std::string file;  // the path it was read from
  std::string default_profile;
  std::map<std::string, ProfileConfig> profiles;
};

// Parses `text` as the contents of `file`. Every problem goes to `diagnostics`; the profiles
// that had none are returned. Relative paths are taken relative to the file's directory.
Config parse_config(const std::string& text, const std::string& file, Diagnostics& diagnostics);

// $MIRAI_PROFILE, when set, becomes `config`'s default profile; one that names no profile is a
// diagnostic. A file's setting, not a profile's: load_config applies it, parse_config does not
// (a profile given as values is not a file).
void apply_profile_env(Config& config, Diagnostics& diagnostics);

// Reads and parses `file` and applies $MIRAI_PROFILE; an unreadable file is one diagnostic.
Config load_config(const std::string& file, Diagnostics& diagnostics);

// The config to use: `explicit_path` when given, else $MIRAI_CONFIG, else the first mirai.yaml
// from the working directory up to the project's root (the first directory holding .git) or /,
// else the per-user file (user_config()); "" when there is none.
std::string find_config(const std::string& explicit_path);
// $XDG_CONFIG_HOME/mirai/mirai.yaml ($HOME/.config when XDG_CONFIG_HOME is unset); "" without
// either.
std::string user_config();

// The profile `name` of `config`; fails naming the file, the nearest name and every profile.
Expected<ProfileConfig> profile_named(const Config& config, const std::string& name);

// Where the runs of the config at `file` keep .mirai/jobs: its directory, resolved; for the
// per-user file, the working directory.
std::string config_root(const std::string& file);

}  // namespace mirai::launcher
