// What every launcher's live test checks, against a real (or strictly emulated) scheduler:
// `mirai map -p` runs tasks inside the one array it submitted and leaves nothing behind, SIGTERM
// cancels the jobs and their tasks, and `mirai launch` feeds a running dispatcher whose status
// shows each daemon's job and index.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/support.hpp"

namespace mirai::test {

struct LiveLauncher {
  std::string config;  // a mirai.yaml whose `profile` runs 3 workers
  std::string profile;
  std::string job_env;    // the variable that holds the job id inside a job: SLURM_ARRAY_JOB_ID
  std::string index_env;  // and the array index: SLURM_ARRAY_TASK_ID
  // What the scheduler still holds of job `id` (queued or running); "" when nothing.
  std::function<std::string(const std::string& id)> active;
  // The recorded job id of what `job_env` holds inside a job, when they differ (Torque).
  std::function<std::string(std::string)> job_of = [](std::string id) { return id; };
};

// `mirai ARGS...`
std::vector<std::string> mirai_cmd(std::vector<std::string> args);
// The job ids recorded in .mirai/jobs/<profile>/<n>/job_ids, one per line.
std::string recorded_job_ids(const TempDir& dir, const std::string& profile, int n = 1);
// The same, once there are some: a job may start (and its daemon run tasks) before its launch
// has recorded its id.
std::string launched_job_ids(const TempDir& dir, const std::string& profile);
// What l.active reports for each of `ids` (one id per line, as recorded_job_ids gives them: a
// run that scaled up launched several jobs).
std::string active_of(const LiveLauncher& l, const std::string& ids);

// Pids of the live processes whose environment or command line holds `needle` (and, when `job`
// is given, MIRAI_JOB_ID=`job`): for the ssh and local launchers, a test's ssh clients, shells,
// daemons and tasks, found by a value only that test put in their environment.
std::vector<pid_t> processes_with(const std::string& needle, const std::string& job = "");

// Starts `mirai dispatcher` listening on tcp://127.0.0.1:0 with its control socket at
// `control`, and waits until it listens.
pid_t start_dispatcher(Started& procs, const TempDir& dir, const std::string& control);
// `mirai status --json` of that dispatcher once `n` daemons are connected (fails the test when
// they are not within 30 s).
nlohmann::json status_with_daemons(const std::string& control, std::size_t n);

// For the ssh and local launchers: the profile `profile` in dir/mirai.yaml, whose `env` sets
// MIRAI_TEST_TAG to the directory; a job is active while a process carrying both is alive.
LiveLauncher launched_by_mirai(const TempDir& dir, const std::string& profile);

// Runs 6 tasks with `map -p`; checks each ran in the submitted array at an index 1-3, and that
// afterwards the job left the queue and every daemon exited. Returns the job id.
std::string check_map_runs_in_one_array(const TempDir& dir, const LiveLauncher& l);
// While a task of `map -p` runs: the pool's secret (from the run's control socket) is on no
// command line on this machine, its daemon's /proc environ no longer shows it, and the task
// did not inherit it. Returns the secret.
std::string check_secret_stays_private(const TempDir& dir, const LiveLauncher& l);
// For a scheduler: that, and the secret is exported by the job script, which is 0700, and is
// not in what the submit command printed.
void check_secret_in_job_script(const TempDir& dir, const LiveLauncher& l);
// `map -p` with two tasks that sleep 60 s, once both run: its pid, and the pids of the tasks
// and their daemons.
struct SleepingMap {
  pid_t map;
  std::vector<pid_t> pids;
};
SleepingMap start_sleeping_map(Started& procs, const TempDir& dir, const LiveLauncher& l);
// Whether every one of `pids` exits within `timeout`.
bool all_gone(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout);
// `signal` (SIGTERM, SIGINT) to `map -p` while two tasks run: exit 128+signal, the jobs leave
// the queue, the tasks and their daemons die.
void check_signal_cancels(const TempDir& dir, const LiveLauncher& l, int signal = SIGTERM);
// `mirai launch -n 2` for a standalone dispatcher: both daemons report the job id and indices
// {1, 2} in `mirai status --json`, run tasks, and their job ends when the dispatcher stops.
void check_launch_feeds_dispatcher(const TempDir& dir, const LiveLauncher& l);

}  // namespace mirai::test
