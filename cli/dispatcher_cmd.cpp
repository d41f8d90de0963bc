// mirai dispatcher [--listen URL] [--control URL] [--profile NAME]: a dispatcher in a process of
// its own. Daemons dial the listen URL; clients (mirai run/map/status --dispatcher, or a Profile
// with dispatcher_url) connect to the control URL. With a profile it also launches that
// profile's daemons as the clients' backlog needs them (launcher/controller.hpp). Runs until
// SIGINT, SIGTERM or SIGHUP, then tells its daemons to exit and cancels the jobs it submitted.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>

#include "cli/common.hpp"
#include "cli/exit_codes.hpp"
#include "cli/pool.hpp"
#include "core/auth.hpp"
#include "core/file.hpp"
#include "core/tls.hpp"
#include "core/transport.hpp"
#include "dispatcher/control.hpp"
#include "launcher/controller.hpp"

namespace mirai::cli {
namespace {}  // namespace

int dispatcher_main(const Args& args) {
  std::string listen, control, url_file;
  int max_prefetch = 2048;
  tls::TlsFiles tls_files;
  std::string secret_file;
  ProfileOptions profile_options;
  po::options_description options("mirai dispatcher [options]");
  options.add_options()("help,h", "show this help")(
      "listen,l", po::value(&listen)->value_name("URL"),
      "where daemons dial in: tcp://HOST:PORT, ws://HOST:PORT/PATH, ipc://PATH, abstract://NAME "
      "(default: a private abstract socket)")(
      "control,c", po::value(&control)->value_name("URL"),
      "where clients connect (default: a socket in this user's private runtime directory)")(
      "url-file", po::value(&url_file)->value_name("FILE"),
      "also write the two URLs to FILE (mode 0600)")(
      "max-prefetch", po::value(&max_prefetch)->default_value(2048),
      "most tasks in flight per daemon for short tasks (1: no prefetch)")(
      "secret-file", po::value(&secret_file)->value_name("FILE"),
      "the secret daemons must hold: read from FILE (mode 0600), or, when FILE does not exist, "
      "made and written there (default: made, and given only to clients on the control URL)")(
      "tls-cert", po::value(&tls_files.cert)->value_name("FILE"),
      "for a tls+tcp:// or wss:// listen URL: the certificate chain (PEM; default: a single-use "
      "certificate made in memory)")("tls-key", po::value(&tls_files.key)->value_name("FILE"),
                                     "the certificate's key (PEM)")(
      "tls-passphrase-file", po::value(&tls_files.passphrase_file)->value_name("FILE"),
      "the key's passphrase: the first line of FILE")(
      "tls-passphrase-env", po::value(&tls_files.passphrase_env)->value_name("VAR"),
      "the key's passphrase: the value of the environment variable VAR")(
      "tls-ca", po::value(&tls_files.ca)->value_name("FILE"),
      "the CA chain daemons should trust (default: the certificate itself)")(
      "heartbeat", po::value<std::string>()->value_name("D"),
      "heartbeats with daemons and clients on a quiet connection (default 5s, or the profile's "
      "heartbeat; 0: none): a daemon silent for 3 intervals is lost and its task goes back to "
      "the queue");
  add_profile_options(options, profile_options,
                      "launch daemons for, as the backlog needs them (`mirai status` shows them)");
  po::variables_map vm;
  if (!parse("dispatcher", args, options, nullptr, vm)) return kExitUsage;
  if (vm.count("help")) {
    std::cout
        << options << "\n"
        << "Examples:\n"
           "  mirai dispatcher --listen tcp://10.0.0.1:5555 --secret-file s   daemons dial it\n"
           "  mirai dispatcher -p cluster        a standing dispatcher that launches for its "
           "backlog\n"
        << "Exit status: 0 stopped by SIGINT or SIGTERM; 2 bad usage; 69 cannot listen or write "
           "its files.\n";
    return 0;
  }
  if (max_prefetch < 1)
    return usage_error("dispatcher", "--max-prefetch must be at least 1"), kExitUsage;
  std::string socket_path;  // the default control socket, removed on exit
  if (control.empty()) {
    auto dir = runtime_dir();
    if (!dir) return usage_error("dispatcher", dir.message()), kExitUnavailable;
    socket_path = *dir + "/dispatcher-" + std::to_string(getpid()) + ".sock";
    control = "ipc://" + socket_path;
  }
  for (const std::string* url : {&listen, &control})
    if (!url->empty())
      if (Status s = check_url(*url); !s) return usage_error("dispatcher", s.message()), kExitUsage;
  std::optional<ChosenProfile> chosen;
  if (!profile_options.profile.empty()) {
    chosen = choose_profile("dispatcher", profile_options);
    if (!chosen) return kExitUsage;
    if (tls_files.empty()) tls_files = chosen->profile.tls;
  } else if (!profile_options.config.empty() || profile_options.n_given) {
    return usage_error("dispatcher", "--config and -n go with --profile"), kExitUsage;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  SignalWatcher signals([&] {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  });

  DispatcherOptions d;
  std::vector<std::string> candidates = {listen.empty() ? local_url() : listen};
  const bool has_login = chosen && !chosen->profile.login.host.host.empty();
  if (chosen && listen.empty() && !has_login) {  // (a login profile's url is the relay's)
    auto urls = launcher::listen_urls(chosen->profile);
    if (!urls) return usage_error("dispatcher", urls.message()), kExitUsage;
    if (!urls->empty()) candidates = *urls;
  }
  d.max_prefetch = max_prefetch;
  auto heartbeat =
      heartbeat_option(vm, "dispatcher", chosen ? chosen->profile.heartbeat : d.heartbeat);
  if (!heartbeat) return kExitUsage;
  d.heartbeat = *heartbeat;
  // With `login:`, daemons dial a relay on the login node, which reaches this dispatcher
  // through ssh on a socket in a private directory here; it listens there only.
  std::optional<launcher::LoginSession> session;
  if (has_login) {
    if (!listen.empty())
      return usage_error("dispatcher", "profile '" + chosen->profile.name +
                                           "' has 'login:': its daemons dial a relay on the "
                                           "login node, so --listen does not apply"),
             kExitUsage;
    chosen->profile.heartbeat = d.heartbeat;
    auto opened = launcher::open_login(chosen->profile);
    if (!opened) {
      std::cerr << "mirai dispatcher: " << opened.message() << "\n";
      return kExitUnavailable;
    }
    session = std::move(*opened);
    candidates = {session->listen};
  }
  // The relay cancels what is left and ends; then its directory here goes.
  auto close_login = [&] {
    if (session) launcher::end_login(*session);
  };
  if (!secret_file.empty()) {
    if (access(secret_file.c_str(), F_OK) == 0) {
      auto secret = auth::read_secret_file(secret_file);
      if (!secret) return usage_error("dispatcher", secret.message()), kExitUsage;
      d.secret = *secret;
    } else {
      d.secret = auth::make_secret();
      if (Status s = write_file_atomically(secret_file, d.secret + "\n"); !s) {
        std::cerr << "mirai dispatcher: " << s.message() << "\n";
        return kExitUnavailable;
      }
    }
  }
  if (!tls_files.empty() && !is_tls_url(candidates.front()))
    return usage_error("dispatcher", "--tls-* options need a tls+tcp:// or wss:// --listen URL"),
           kExitUsage;
  TlsSettings tls;
  if (session && session->tls) {
    tls = *session->tls;  // a certificate naming the relay's host, which daemons dial
  } else if (is_tls_url(candidates.front())) {
    auto settings = tls::load(tls_files);
    if (!settings) {
      std::cerr << "mirai dispatcher: " << settings.message() << "\n";
      return kExitUnavailable;
    }
    tls = std::move(*settings);
  }
  auto arrivals = std::make_shared<launcher::Arrivals>();
  if (chosen) d.on_connected = launcher::Arrivals::recorder(arrivals);
  auto started = Dispatcher::start_first(d, candidates, tls);
  if (!started) {
    std::cerr << "mirai dispatcher: cannot listen: " << started.message() << "\n";
    close_login();
    return kExitUnavailable;
  }
  std::unique_ptr<Dispatcher> dispatcher = std::move(*started);
  if (session)
    if (Status s = launcher::forward_login(*session, dispatcher->url()); !s) {
      std::cerr << "mirai dispatcher: " << s.message() << "\n";
      dispatcher.reset();
      close_login();
      return kExitUnavailable;
    }
  std::unique_ptr<launcher::Controller> controller;
  if (chosen) {
    chosen->profile.workers = chosen->n;  // the controller launches up to this many
    Dispatcher* raw = dispatcher.get();
    launcher::Controller::Source source{
        [raw] { return raw->info(); }, [raw] { return *raw->status(); }, arrivals,
        [raw](const std::string& job_id, std::uint32_t index, const std::string& why) {
          raw->lose_daemon(job_id, index, why);
        }};
    // What daemons trust: the certificate start_first made ready (status says it).
    auto started_controller = launcher::start_controller(
        chosen->profile, std::move(chosen->backend), chosen->root,
        {session ? session->daemon_url : raw->url(), raw->status()->tls_certificate, *raw->secret(),
         std::move(source), session ? session->link : nullptr},
        [](const std::string& line) { std::cerr << "mirai dispatcher: " << line << "\n"; });
    if (!started_controller) {
      std::cerr << "mirai dispatcher: " << started_controller.message() << "\n";
      close_login();
      return kExitUnavailable;
    }
    controller = std::move(*started_controller);
  }
  ControlServer::LauncherSource launcher_status;
  if (controller) launcher_status = [c = controller.get()] { return std::optional(c->status()); };
  auto opened = ControlServer::start(*dispatcher, control, launcher_status);
  if (!opened) {
    std::cerr << "mirai dispatcher: cannot open the control URL: " << opened.message() << "\n";
    if (controller) (void)controller->shutdown(std::chrono::seconds(30));
    close_login();
    return kExitUnavailable;
  }
  std::unique_ptr<ControlServer> server = std::move(*opened);
  std::string urls = "listen " + dispatcher->url() + "\ncontrol " + server->url() + "\n";
  if (session) urls += "relay " + session->daemon_url + " on " + session->link->host() + "\n";
  if (!url_file.empty())
    if (Status s = write_file_atomically(url_file, urls); !s) {
      std::cerr << "mirai dispatcher: " << s.message() << "\n";
      if (controller) (void)controller->shutdown(std::chrono::seconds(30));
      close_login();
      return kExitUnavailable;
    }
  std::cout << urls << std::flush;

  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stop; });
  }
  server.reset();          // clients see the connection close: their pending tasks get 19
  dispatcher->exit_all();  // daemons started without autoexit exit too
  if (controller)
    if (Status s = controller->shutdown(std::chrono::seconds(30)); !s)
      std::cerr << "mirai dispatcher: cancelling the launched jobs: " << s.message() << "\n";
  close_login();
  dispatcher.reset();
  if (!socket_path.empty()) unlink(socket_path.c_str());
  if (!url_file.empty()) unlink(url_file.c_str());
  return 0;
}

}  // namespace mirai::cli
