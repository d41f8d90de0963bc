// A compute profile: one pool of daemons with its own dispatcher and URL (mirai's daemons()).
// Profiles are independent; a program may hold several (e.g. "cpu" and "gpu").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mirai/daemon_limits.hpp"
#include "mirai/future.hpp"
#include "mirai/info.hpp"
#include "mirai/map.hpp"
#include "mirai/status.hpp"
#include "mirai/task.hpp"
#include "mirai/tls.hpp"

namespace mirai {

class ProfileCore;
class SyncProfile;
class FunctionRegistry;

struct DaemonsConfig {
  // Local daemons to launch now. 0 with a url: daemons are started elsewhere and dial in.
  int n = 0;
  // true: FIFO dispatcher (cancellation, timeouts that stop the task). false: tasks go
  // round-robin straight to connected daemons.
  bool dispatcher = true;
  // Where daemons dial in; empty: a private abstract socket on this machine.
  std::string url;
  // Tried in order when `url` cannot be bound (the other addresses of a host, the other ports
  // of a range): the first that can be is where daemons dial in.
  std::vector<std::string> fallback_urls;
  // Use the running `mirai dispatcher` whose control URL this is, instead of starting a
  // dispatcher here: its daemons run this profile's tasks, and the `n` local daemons launched
  // here dial it too. Excludes `url` and `dispatcher = false`.
  std::string dispatcher_url;
  DaemonLimits limits;
  // The program run as `<daemon_command> daemon URL ...`; empty: this program when it is
  // `mirai`, else the `mirai` installed beside libmirai.so (its bindir; in a build tree, the
  // build's bin/), when no other user could have written there (not under /tmp), else
  // $MIRAI_EXE, else `mirai` on PATH.
  std::string daemon_command;
  // Added to the environment of the local daemons (and so of their shell tasks).
  std::map<std::string, std::string> env;
  // How long set_daemons waits for the n local daemons to connect.
  std::chrono::milliseconds startup_timeout{30000};
  // Local daemons are supervised: one that ends is reaped, and replaced (up to the number
  // launched) while tasks wait for a daemon; one that loses its connection but stays alive
  // (frozen) is killed first. A replacement that ends before it connects is a failed launch:
  // the next waits `relaunch_interval`, then twice that, and so on (at most a minute); after
  // `launch_retries` + 1 failures in a row no more are launched, and once no daemon is left the
  // waiting tasks, and those submitted later, resolve with 19 and the reason
  // (Profile::failure()).
  int launch_retries = 2;
  std::chrono::milliseconds relaunch_interval{2000};
  // Prefetch for short tasks (see docs/dispatcher.md); 1 turns it off.
  int max_prefetch = 2048;
  TlsSettings tls;
  // mirai's daemons(seed = N): with a seed each task gets the next L'Ecuyer-CMRG stream in
  // submission order, so results are the same whatever the number of daemons; without one
  // each daemon has its own stream.
  std::optional<std::uint32_t> seed;
  // A bounded queue: submit() blocks while the encoded tasks that have not resolved yet hold
  // more than this many bytes (try_submit() returns nothing instead). A task larger than the
  // bound alone still goes when nothing else is pending. 0: unbounded.
  std::size_t memory = 0;
  // mirai's daemons(sync = TRUE), for debugging: no daemons; submit() evaluates each task in
  // the calling thread before it returns. Call tasks use `functions` (default: the built-in
  // ones). Timeouts are not enforced.
  bool sync = false;
  const FunctionRegistry* functions = nullptr;
  // Task::retries for tasks that do not set it: how many times a task is queued again when its
  // daemon dies while running it.
  std::uint8_t retries = 0;
  // Called as each daemon connects (with a dispatcher in this process), with its status row:
  // on a network thread, with the dispatcher's lock held, so keep it short and do not call the
  // profile. The controller counts a launched daemon as connected by it, even one that dies
  // before the next look at status.
  std::function<void(const DaemonStatus&)> on_connected;
  // Heartbeats between the dispatcher and each daemon (and a running dispatcher and this
  // client) when their connection is quiet this long: a daemon silent for 3 intervals (a
  // frozen or unreachable node) is lost, its task goes back to the queue under `retries` (else
  // resolves with 19 saying it stopped answering), and a daemon that hears nothing from its
  // dispatcher for 3 intervals kills its task and exits. 0: none.
  std::chrono::milliseconds heartbeat{5000};
  // What daemons must prove they hold (core/auth.hpp); "": a fresh one for this profile.
  // Local daemons get it in their environment (MIRAI_SECRET), never on a command line.
  std::string secret;
};

// What starts one daemon by hand for a profile (R mirai's launch_remote() without a remote: the
// command to run on another machine, Profile::manual_launch). The secret, and for TLS the
// dispatcher's certificate, are in files named on the command line, never on it.
struct ManualLaunch {
  // `mirai daemon URL [the profile's daemon options] --secret-file F [--tls-ca C]`; the program
  // is the profile's daemon_command, else `mirai` (found on the daemon's PATH).
  std::vector<std::string> argv;
  std::string secret_file;       // mode 0600: copy it to the daemon's machine with that mode
  std::string certificate_file;  // the certificate to trust (public); "" without TLS
  // The argv as one POSIX shell line, each word quoted where it needs it.
  std::string command_line() const;
};

class Profile {
 public:
  Profile();
  ~Profile();  // resets
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  // mirai's daemons(n, ...): resets the profile if it was set, listens, launches `n` local
  // daemons and waits until they are connected. On failure nothing is left running.
  Status set_daemons(const DaemonsConfig& config);
  // mirai's daemons(0): stops the dispatcher and the daemons; pending mirai resolve to 7.
  void reset();
  bool daemons_set() const;

  // Launches `n` more local daemons dialing this profile's URL (mirai's launch_local()); the
  // profile keeps them as it keeps those of set_daemons, and tries again after it gave up.
  Status launch_local(int n);
  // Why the profile cannot run its tasks: its local daemons kept failing and none is left
  // (DaemonsConfig::launch_retries); "" while it can.
  std::string failure() const;

  // mirai's mirai(): queues the task and returns at once. With no daemons set, each task runs
  // in a fresh daemon process of its own (ephemeral mode), at most ephemeral_limit() at once;
  // the others wait in the queue.
  Future submit(const Task& task);
  // How many task processes ephemeral mode runs at once: `n`, or the number of cores for 0.
  // Takes effect for tasks submitted afterwards.
  void set_ephemeral_limit(int n);
  int ephemeral_limit() const;
  // Like submit(), but returns nothing, at once, when the bounded queue (memory) is full.
  std::optional<Future> try_submit(const Task& task);

  // mirai's everywhere(): runs `task` once on every connected daemon, and on at least `min`
  // (with fewer connected, it waits for more). It is a synchronisation point: a task
  // submitted after it starts on no daemon before that daemon has run it. A shell script
  // that succeeds leaves what it exported and the directory it ended in to the later tasks
  // of its daemon (`export OMP_NUM_THREADS=4; cd /scratch/run1`, `module load R`); a command
  // (argv) leaves its task's env and cwd; call tasks run in that directory too, and set
  // daemon state by their own means. Returns one future per copy. Takes no stream from a
  // seeded profile and no room in the bounded queue. With no daemons set, the one element
  // fails: everywhere needs daemons.
  //
  // With `later`, the task also stands for every daemon that connects afterwards (launched to
  // scale up, or to replace one that died): that daemon runs it before any other task, and
  // `later` gets each such outcome (on a network thread: keep it short). A daemon whose copy
  // fails takes no task and is told to exit. Not with a running dispatcher (dispatcher_url).
  Map everywhere(const Task& task, std::size_t min = 1,
                 std::function<void(const Result&)> later = {});

  // Takes the daemons of job `job_id`, array element `index` as lost (a launcher's controller
  // whose scheduler says their job ended, or their node failed, while they are still
  // connected): their tasks go back to the queue under their retries at once.
  void lose_daemon(const std::string& job_id, std::uint32_t index, const std::string& why);

  Info info() const;
  ProfileStatus status() const;
  // Serves this profile's dispatcher to other processes of this user at the control URL `url`
  // (an ipc:// socket in a private directory), as `mirai dispatcher` does: `mirai status`
  // shows it, with `launcher()`'s counts when given, and clients may submit to it. Until
  // reset(). Not for a profile that uses a running dispatcher, or none.
  Status serve_control(const std::string& url,
                       std::function<std::optional<LauncherStatus>()> launcher = {});
  // The URL daemons dial ("" when no daemons are set).
  std::string url() const;
  // The certificate (PEM) daemons must trust to dial a TLS url; "" without TLS.
  std::string tls_certificate() const;
  // The secret daemons must hold to join (for daemons started by hand: MIRAI_SECRET or
  // `mirai daemon --secret-file`); "" when no daemons are set.
  std::string secret() const;
  // For daemons started by hand: writes the secret (and, for a TLS url, the certificate) into
  // `dir` (made, mode 0700, when missing; each file mode 0600, written in one step, never
  // through a symlink) and returns the command that starts one daemon for this profile. Also
  // for a profile that uses a running dispatcher. Fails with no daemons set or in sync mode.
  Expected<ManualLaunch> manual_launch(const std::string& dir) const;

 private:
  std::shared_ptr<ProfileCore> core_;
  std::shared_ptr<ProfileCore> ephemeral_;
  std::shared_ptr<SyncProfile> sync_;
  int ephemeral_limit_ = 0;
};

}  // namespace mirai
