#include "launcher/launched_profile.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/file.hpp"
#include "core/tls.hpp"
#include "core/transport.hpp"
#include "launcher/launch.hpp"
#include "launcher/registry.hpp"
#include "launcher/url.hpp"
#include "mirai/duration.hpp"

namespace mirai {
namespace {

// Where a profile given as values is said to come from, in its problems.
constexpr char kValuesFile[] = "ProfileValues";

// A key given twice: the reader of a file says so, and a map would keep only the last.
std::string twice(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::set<std::string> seen;
  for (const auto& [key, value] : entries)
    if (!seen.insert(key).second) return key;
  return "";
}

// The values as a mirai.yaml of one profile. Every value is a scalar of its own, quoted by the
// emitter where it needs to be: nothing in a value becomes a key or another line.
std::string values_yaml(const ProfileValues& v) {
  YAML::Node p(YAML::NodeType::Map);
  p["launcher"] = v.launcher;
  p["workers"] = v.workers;
  if (!v.url.empty()) p["url"] = v.url;
  auto list = [&p](const char* key, const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const auto& line : lines) seq.push_back(line);
    p[key] = seq;
  };
  auto map = [](const std::vector<std::pair<std::string, std::string>>& entries) {
    YAML::Node m(YAML::NodeType::Map);
    for (const auto& [key, value] : entries) m[key] = value;
    return m;
  };
  YAML::Node daemon(YAML::NodeType::Map);
  if (v.idletime.count() > 0) daemon["idletime"] = format_duration(v.idletime);
  if (v.walltime.count() > 0) daemon["walltime"] = format_duration(v.walltime);
  if (v.maxtasks > 0) daemon["maxtasks"] = v.maxtasks;
  if (!v.command.empty()) daemon["command"] = v.command;
  if (daemon.size() > 0) p["daemon"] = daemon;
  if (!v.resources.empty()) p[v.launcher.empty() ? "resources" : v.launcher] = map(v.resources);
  if (!v.env.empty()) p["env"] = map(v.env);
  list("directives", v.directives);
  list("prologue", v.prologue);
  list("epilogue", v.epilogue);
  list("hosts", v.hosts);
  for (const auto& [key, value] : {std::pair{"template", &v.template_file},
                                   {"workdir", &v.workdir},
                                   {"log", &v.log},
                                   {"backup", &v.backup}})
    if (!value->empty()) p[key] = *value;
  for (const auto& [key, value] : {std::pair{"launch_timeout", &v.launch_timeout},
                                   {"interval", &v.interval},
                                   {"heartbeat", &v.heartbeat}})
    if (*value) p[key] = format_duration(**value);
  if (v.retries) p["retries"] = *v.retries;
  if (v.launch_retries) p["launch_retries"] = *v.launch_retries;
  if (v.tunnel) p["tunnel"] = *v.tunnel;
  YAML::Node root;
  root["profiles"][v.name] = p;
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

// The profile the values describe, read as mirai.yaml is, its relative paths from `dir`.
Expected<launcher::ProfileConfig> read_values(const ProfileValues& v, const std::string& dir) {
  if (v.name.empty()) return Status::error("ProfileValues::name is empty: give the profile a name");
  for (const auto* entries : {&v.resources, &v.env})
    if (std::string key = twice(*entries); !key.empty())
      return Status::error(
          "ProfileValues::" + std::string(entries == &v.env ? "env" : "resources") + " has '" +
          key + "' twice");
  std::string text = values_yaml(v);
  // Read as a file in `dir` (its relative paths are from there), named for what it is.
  launcher::Diagnostics diagnostics(kValuesFile);
  launcher::Config config = launcher::parse_config(text, dir + "/" + kValuesFile, diagnostics);
  if (!diagnostics.empty()) {
    std::string numbered, line;
    std::istringstream lines(text);
    for (int n = 1; std::getline(lines, line); ++n)
      numbered += std::to_string(n) + "  " + line + "\n";
    return Status::error(diagnostics.summary() + std::to_string(diagnostics.list().size()) +
                         " problem(s) in the profile values, which read as this mirai.yaml:\n" +
                         numbered + "nothing was started");
  }
  return launcher::profile_named(config, v.name);
}

}  // namespace

struct LaunchedProfile::Impl {
  std::string name;
  // A profile with `login:`: the ssh connection and relay on the login node, closed after the
  // controller has cancelled the jobs through it (it outlives the controller), and the private
  // directory here that holds its control socket and the dispatcher's socket, removed last.
  std::optional<launcher::LoginSession> login;
  // Declared before the profile, whose control socket (when served) asks it for its status, so
  // that it outlives that socket; nullptr for local daemons.
  std::unique_ptr<launcher::Controller> controller;
  Profile profile;
  std::mutex mu;           // serializes shutdown(): a signal's thread may call it too
  bool shut_down = false;  // GUARDED_BY(mu)
};

struct LaunchedAccess {
  static std::unique_ptr<LaunchedProfile> make(std::unique_ptr<LaunchedProfile::Impl> impl) {
    return std::unique_ptr<LaunchedProfile>(new LaunchedProfile(std::move(impl)));
  }
  static launcher::Controller* controller(LaunchedProfile& l) { return l.impl_->controller.get(); }
};

LaunchedProfile::LaunchedProfile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LaunchedProfile::~LaunchedProfile() {
  shutdown();
  impl_->profile.reset();  // before the controller: see Impl
  if (impl_->login) launcher::end_login(*impl_->login);
}

const std::string& LaunchedProfile::name() const { return impl_->name; }
Profile& LaunchedProfile::profile() { return impl_->profile; }

std::optional<LauncherStatus> LaunchedProfile::status() const {
  if (!impl_->controller) return std::nullopt;
  return impl_->controller->status();
}

std::string LaunchedProfile::failure() const {
  if (impl_->controller)
    if (std::string why = impl_->controller->failure(); !why.empty()) return why;
  return impl_->profile.failure();
}

Status LaunchedProfile::shutdown(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->shut_down) return Status();
  impl_->shut_down = true;
  Status s = impl_->controller ? impl_->controller->shutdown(timeout) : Status();
  if (impl_->login) impl_->login->link->close();  // the relay cancels what is left, and ends
  return s;
}

Expected<std::unique_ptr<LaunchedProfile>> LaunchedProfile::start(const LaunchOptions& options) {
  if (options.values) {
    if (!options.config.empty() || !options.profile.empty())
      return Status::error("LaunchOptions: give either values or a config and profile, not both");
    std::string root = options.root.empty() ? working_directory() : options.root;
    auto profile = read_values(*options.values, root);
    if (!profile) return profile.status();
    if (options.workers > 0) profile->workers = options.workers;
    return launcher::start_launched(*profile, root, options);
  }
  std::string file = launcher::find_config(options.config);
  if (file.empty())
    return Status::error(options.config.empty()
                             ? "no mirai.yaml here and no $MIRAI_CONFIG: give LaunchOptions::config"
                             : "cannot find the mirai.yaml " + options.config);
  launcher::Diagnostics diagnostics(file);
  launcher::Config config = launcher::load_config(file, diagnostics);
  if (!diagnostics.empty())
    return Status::error(diagnostics.summary() + std::to_string(diagnostics.list().size()) +
                         " problem(s) in " + file + "; nothing was started");
  std::string name = options.profile.empty() ? config.default_profile : options.profile;
  if (name.empty())
    return Status::error(file + " names no default profile: give LaunchOptions::profile");
  auto profile = launcher::profile_named(config, name);
  if (!profile) return profile.status();
  if (options.workers > 0) profile->workers = options.workers;
  return launcher::start_launched(
      *profile, options.root.empty() ? launcher::config_root(file) : options.root, options);
}

}  // namespace mirai

namespace mirai::launcher {

Expected<std::vector<std::string>> listen_urls(const ProfileConfig& profile) {
  std::string url = listen_url_template(profile);
  if (url.empty()) return std::vector<std::string>{};
  auto parsed = parse_url_template(url);
  if (!parsed) return Status::error("profile '" + profile.name + "': url: " + parsed.message());
  auto candidates = resolve_url(*parsed);
  if (!candidates) return Status::error("profile '" + profile.name + "': " + candidates.message());
  return *candidates;
}

namespace {

// A login session's directory here, and what ssh and the dispatcher left in it.
void remove_login_dir(const std::string& dir) {
  for (const char* f : {"/d.sock", "/ssh.log", "/ssh.ctl"}) unlink((dir + f).c_str());
  rmdir(dir.c_str());
}

}  // namespace

Expected<LoginSession> open_login(const ProfileConfig& profile) {
  const std::string url = listen_url_template(profile);
  const bool tls = is_tls_url(url);
  if (url.rfind("tcp://", 0) != 0 && url.rfind("tls+tcp://", 0) != 0)
    return Status::error("profile '" + profile.name +
                         "': with 'login:', the url must be tcp://HOST:PORT (or tls+tcp://), "
                         "where the relay on the login node listens; not '" +
                         url + "'");
  // The profile's own certificate files are read before anything is started.
  TlsSettings settings;
  if (tls && !profile.tls.empty()) {
    auto loaded = tls::load(profile.tls);
    if (!loaded) return Status::error("profile '" + profile.name + "': " + loaded.message());
    settings = std::move(*loaded);
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/mirai-login-XXXXXX";
  if (!mkdtemp(dir.data()))
    return Status::error("cannot make a private directory for the login node's socket: " +
                         std::string(std::strerror(errno)));
  LoginLink::Options o;
  o.login = profile.login;
  o.relay_command = profile.command.empty() ? "mirai" : profile.command;
  // The relay carries bytes: TLS passes through it as any other.
  o.listen = tls ? "tcp://" + url.substr(std::string("tls+tcp://").size()) : url;
  o.dir = dir;
  // The laptop's link is the daemons' link too: the relay takes it as gone when they would.
  if (profile.heartbeat.count() > 0) o.heartbeat = profile.heartbeat;
  auto link = LoginLink::open(o);
  if (!link) {
    remove_login_dir(dir);
    return Status::error("profile '" + profile.name + "': " + link.message());
  }
  LoginSession session;
  session.link = *link;
  session.dir = dir;
  auto give_up = [&](const Status& why) -> Expected<LoginSession> {
    end_login(session);
    return Status::error("profile '" + profile.name + "': " + why.message());
  };
  const std::string& relay = session.link->url();  // tcp://ADDRESS:PORT
  if (!tls) {
    session.listen = "ipc://" + dir + "/d.sock";
    session.daemon_url = relay;
    return session;
  }
  session.listen = "tls+tcp://127.0.0.1:0";
  session.daemon_url = "tls+tcp://" + relay.substr(relay.find("://") + 3);
  // A single-use certificate names the host the daemons dial: the relay's.
  if (Status s = tls::prepare(session.daemon_url, settings); !s) return give_up(s);
  session.tls = std::move(settings);
  return session;
}

void end_login(const LoginSession& session) {
  session.link->close();
  remove_login_dir(session.dir);
}

Status forward_login(const LoginSession& session, const std::string& bound) {
  // ipc://PATH, or tls+tcp://127.0.0.1:PORT
  return session.link->forward(bound.substr(bound.find("://") + 3));
}

Status listen_profile(const ProfileConfig& profile, int n, Profile& target,
                      std::optional<std::uint32_t> seed, std::optional<int> retries,
                      std::function<void(const DaemonStatus&)> on_connected,
                      const std::optional<TlsSettings>& tls) {
  DaemonsConfig config;
  config.on_connected = std::move(on_connected);
  config.seed = seed;
  config.retries = static_cast<std::uint8_t>(retries.value_or(profile.retries));
  config.n = n;
  config.limits = profile.limits;
  config.heartbeat = profile.heartbeat;
  // Local daemons are replaced with the controller's budget and back-off.
  config.launch_retries = profile.launch_retries;
  config.relaunch_interval = profile.interval;
  if (const BackendKind* kind = kind_of(profile); kind && kind->in_process) {
    config.daemon_command = profile.command;
    for (const auto& [name, value] : profile.env) config.env[name] = value;
  }
  if (tls) {
    config.tls = *tls;
  } else if (!profile.tls.empty()) {
    auto settings = tls::load(profile.tls);
    if (!settings) return Status::error("profile '" + profile.name + "': " + settings.message());
    config.tls = std::move(*settings);
  }
  auto candidates = listen_urls(profile);
  if (!candidates) return candidates.status();
  if (!candidates->empty()) {
    config.url = candidates->front();
    config.fallback_urls.assign(candidates->begin() + 1, candidates->end());
  }
  return target.set_daemons(config);
}

Expected<std::unique_ptr<Controller>> start_controller(
    ProfileConfig profile, std::unique_ptr<Backend> backend, const std::string& root,
    const ControllerTarget& target, std::function<void(const std::string&)> report) {
  if (target.login) {
    backend->set_commands(target.login);
    // On the login node: the profile's workdir as written there, else the home directory.
    if (profile.workdir.empty()) profile.workdir = target.login->home();
  }
  LaunchSpec spec = make_spec(profile, profile.workers, target.url);
  spec.tls_ca_pem = target.tls_ca_pem;
  spec.secret = target.secret;
  spec.max_array_size = backend->max_array_size(profile);
  if (auto rendered = backend->render(spec); !rendered) return rendered.status();
  auto launch = Launch::open(std::move(backend), root, profile.name);
  if (!launch) return launch.status();
  if (target.login)
    (*launch)->on_submitted(
        [login = target.login, &b = (*launch)->backend()](const std::vector<std::string>& ids) {
          for (const auto& argv : b.cancel_commands(ids)) login->on_exit(argv);
        });
  Controller::Options o;
  o.interval = profile.interval;
  o.max_failed_launches = profile.launch_retries + 1;
  if (!report) report = [](const std::string&) {};
  auto controller =
      std::make_unique<Controller>(target.source, std::move(*launch), spec, o, std::move(report));
  controller->start();
  return controller;
}

Expected<std::unique_ptr<LaunchedProfile>> start_launched(const ProfileConfig& given,
                                                          const std::string& root,
                                                          const LaunchOptions& options) {
  if (options.retries && (*options.retries < 0 || *options.retries > 255))
    return Status::error("retries must be from 0 to 255");
  ProfileConfig profile = given;
  const int n = profile.workers > 0 ? profile.workers : 1;
  auto impl = std::make_unique<LaunchedProfile::Impl>();
  impl->name = profile.name;
  const BackendKind* kind = kind_of(profile);
  if (!kind)
    return Status::error("profile '" + profile.name + "': launcher '" + profile.launcher +
                         "' is not available in this build");
  if (kind->in_process) {
    if (Status s = listen_profile(profile, n, impl->profile, options.seed, options.retries); !s)
      return Status::error("cannot start daemons: " + s.message());
    return LaunchedAccess::make(std::move(impl));
  }
  auto backend = kind->make(profile);
  // With `login:`, the daemons dial a relay on the login node, which reaches the dispatcher
  // here through ssh, on a socket only this user may open.
  ProfileConfig listen = profile;
  std::optional<LoginSession>& login = impl->login;
  if (!profile.login.host.host.empty()) {
    auto opened = open_login(profile);
    if (!opened) return opened.status();
    login = std::move(*opened);
    listen.url = login->listen;
  }
  // A start that fails after the login node was reached ends the relay (it cancels whatever
  // was submitted) and removes the directory here.
  auto fail = [&](Status why) -> Expected<std::unique_ptr<LaunchedProfile>> {
    impl->controller.reset();
    impl->profile.reset();
    if (login) end_login(*login);
    return why;
  };
  auto arrivals = std::make_shared<Arrivals>();
  if (Status s = listen_profile(listen, 0, impl->profile, options.seed, options.retries,
                                Arrivals::recorder(arrivals), login ? login->tls : std::nullopt);
      !s)
    return fail(Status::error("cannot listen for daemons: " + s.message()));
  if (login)
    if (Status s = forward_login(*login, impl->profile.url()); !s)
      return fail(Status::error("profile '" + profile.name + "': " + s.message()));
  profile.workers = n;  // the controller launches up to this many
  Controller::Source source = Controller::source_of(impl->profile);
  source.arrivals = arrivals;
  auto controller = start_controller(
      profile, std::move(backend), root,
      {login ? login->daemon_url : impl->profile.url(), impl->profile.tls_certificate(),
       impl->profile.secret(), source, login ? login->link : nullptr},
      options.on_event);
  if (!controller) return fail(controller.status());
  impl->controller = std::move(*controller);
  return LaunchedAccess::make(std::move(impl));
}

Controller* controller_of(LaunchedProfile& launched) {
  return LaunchedAccess::controller(launched);
}

}  // namespace mirai::launcher
