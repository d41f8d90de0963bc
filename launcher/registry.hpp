// The backends a profile's `launcher:` can name. Each declares what it is and can do in its own
// directory (schedulers/<name>/) and registers itself by name; nothing outside that directory
// names it. A program registers a backend of its own the same way (docs/config.md, "A backend
// of your own").
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "launcher/resources.hpp"

namespace mirai::launcher {

class Backend;
struct ProfileConfig;

struct BackendKind {
  std::string name;  // what `launcher:` names: letters, digits, _ and -
  // The keys of its own section of a profile (`slurm: { partition: short }`, named as the
  // backend), each with its type; empty: the backend has no section.
  std::vector<ResourceKey> keys;
  // Groups of those keys of which a profile may give one at most (the scheduler refuses the
  // others with it: Slurm's mem, mem_per_cpu and mem_per_gpu).
  std::vector<std::vector<std::string>> exclusive;
  // It renders job scripts for a scheduler: a profile's `directives:` and `template:` apply.
  bool job_scripts = true;
  // It starts daemons on other hosts itself (ssh): `hosts:` (required), `tunnel:` and `ssh:`
  // apply, and the daemon's command, `workdir:` and `log:` are paths on those hosts.
  bool remote_hosts = false;
  // Its daemons are children of the client on this machine (local): `mirai map` and `mirai run`
  // start them through the client library rather than as jobs.
  bool in_process = false;
  // The URL its dispatcher listens on when a profile gives none; unset: tcp://{hostname}:0.
  std::function<std::string(const ProfileConfig&)> default_url;
  // Why `log` cannot be a profile's `log:`, or ""; unset: it must be one word that is safe in
  // a directive line (directive_problem).
  std::function<std::string(const std::string& log)> log_problem;
  // A backend for the profile (which may carry settings of its own, such as PBS's flavour).
  std::function<std::unique_ptr<Backend>(const ProfileConfig&)> make;
};

// Adds `kind`; false (and nothing added) when its name is taken or it has no `make`. Safe
// from static initializers: the built-in backends register themselves so.
bool register_backend(BackendKind kind);
// The backend registered as `name`, or nullptr.
const BackendKind* find_backend(const std::string& name);
// The profile's backend: the one its mirai.yaml defined (ProfileConfig::backend), else the one
// registered under its `launcher:`; nullptr when there is none.
const BackendKind* kind_of(const ProfileConfig& profile);
// Every registered name, sorted.
std::vector<std::string> backend_names();

// The profile's backend (kind_of), made for it; nullptr when there is none.
std::unique_ptr<Backend> make_backend(const ProfileConfig& profile);
// The URL the dispatcher listens on for this profile: its `url:`, else its backend's default.
std::string listen_url_template(const ProfileConfig& profile);
// The name of the backend whose daemons run in the client's process tree (local): what runs
// a profile when there is no mirai.yaml.
std::string in_process_backend();

}  // namespace mirai::launcher
