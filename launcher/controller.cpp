#include "launcher/controller.hpp"

#include <algorithm>
#include <utility>

namespace mirai::launcher {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kTick{100};  // how often the loop looks at the dispatcher's counters
// Until its first launch, for its first seconds, it looks this often: the first tasks of a run
// go out 10 ms after they were submitted, not 100-200 ms.
constexpr milliseconds kFirstTick{10};
constexpr milliseconds kFirstTicksFor{2000};
constexpr std::size_t kReasonsShown = 3;

// The job will not run (again); its state changes no more.
bool final_state(JobState s) {
  return s == JobState::kFinished || s == JobState::kFailed || s == JobState::kCancelled;
}
// Its daemon will not connect any more.
bool ended(JobState s) { return final_state(s) || s == JobState::kStopping; }

std::string seconds_text(milliseconds d) {
  auto tenths = (d.count() + 50) / 100;
  std::string s = std::to_string(tenths / 10);
  if (tenths % 10) s += "." + std::to_string(tenths % 10);
  return s + "s";
}

}  // namespace

Controller::Source Controller::source_of(Profile& profile) {
  return {[&profile] { return profile.info(); }, [&profile] { return profile.status(); }, nullptr,
          [&profile](const std::string& job_id, std::uint32_t index, const std::string& why) {
            profile.lose_daemon(job_id, index, why);
          }};
}

Controller::Controller(Source source, std::unique_ptr<Launch> launch, LaunchSpec spec,
                       Options options, std::function<void(const std::string&)> report)
    : source_(std::move(source)),
      launch_(std::move(launch)),
      spec_(std::move(spec)),
      options_(options),
      report_(std::move(report)) {}

Controller::~Controller() { stop(); }

void Controller::start() {
  thread_ = std::thread([this] {
    const auto started = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      tick();
      lock.lock();
      const bool first =
          last_launch_ == Clock::time_point() && Clock::now() - started < kFirstTicksFor;
      cv_.wait_for(lock, first ? kFirstTick : kTick, [this] { return stopping_; });
    }
  });
}

Clock::time_point Controller::now() const {
  return options_.clock ? options_.clock() : Clock::now();
}

void Controller::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  Info i = source_.info();
  auto now = this->now();
  std::uint64_t demand = i.awaiting + i.executing;
  int supply = static_cast<int>(i.connections) + launching();
  // A backlog still growing goes into one launch once it stops, unless it already calls for
  // every worker there may be.
  if (demand != last_demand_) demand_changed_ = now;
  last_demand_ = demand;
  const bool settled =
      now - demand_changed_ >= kTick || demand >= static_cast<std::uint64_t>(spec_.profile.workers);
  bool wanted = static_cast<int>(demand) > supply && supply < spec_.profile.workers && !paused_ &&
                now >= not_before_ && now - last_launch_ >= options_.interval && settled;
  if (!wanted && now - last_round_ < options_.interval) return;
  lock.unlock();
  step(wanted);
  lock.lock();
  last_round_ = this->now();
}

void Controller::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status Controller::shutdown(milliseconds timeout) {
  stop();
  std::lock_guard<std::mutex> round(step_mu_);  // a launch in progress finishes first
  Status s = launch_->cancel();
  if (!s) return s;
  if (!launch_->wait_gone(timeout))
    return Status::error("some jobs were still listed by the scheduler " + seconds_text(timeout) +
                         " after they were cancelled: " + join(launch_->job_ids(), " "));
  return Status();
}

void Controller::step(bool may_launch) {
  std::lock_guard<std::mutex> round(step_mu_);
  ProfileStatus st = source_.status();
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    look(st);
    for (const auto& b : batches_)
      for (const auto& j : b.jobs)
        if (std::any_of(j.elements.begin(), j.elements.end(),
                        [](const Element& e) { return !final_state(e.state); }))
          ids.push_back(j.id);
  }
  // The scheduler may be slow to answer: ask without the lock.
  Expected<std::vector<JobStatus>> states = std::vector<JobStatus>{};
  if (!ids.empty()) states = launch_->backend().status(ids);
  int want = 0;
  std::vector<std::string> cancel;
  std::vector<Ended> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = this->now();
    job_states_.clear();
    for (auto& b : batches_) {
      for (auto& j : b.jobs) {
        if (states) update(j, *states, ended);
        settle(b, j, now);
      }
      judge(b, st.info.cumulative);
    }
    connected_ = static_cast<int>(st.info.connections);
    int supply = connected_ + launching();
    int demand = static_cast<int>(st.info.awaiting + st.info.executing);
    if (may_launch && !paused_ && now >= not_before_ && demand > supply &&
        supply < spec_.profile.workers)
      want = std::min(demand - supply, spec_.profile.workers - supply);
    cancel.swap(to_cancel_);
  }
  if (!cancel.empty()) launch_->backend().cancel(cancel);
  // A daemon still connected whose job the scheduler says is over cannot be heard from (its
  // node failed or was cut off): lost now, without waiting for heartbeats.
  if (source_.lose)
    for (const auto& e : ended) source_.lose(e.job_id, e.index, e.why);
  if (want > 0) launch(want, st.info.cumulative);
}

void Controller::update(Job& j, const std::vector<JobStatus>& states, std::vector<Ended>& ended) {
  int last_index = j.first + static_cast<int>(j.elements.size()) - 1;
  for (const auto& r : states) {
    int first = 0, last = 0;
    if (!launch_->backend().element_range(j.id, r.id, first, last)) continue;
    for (int k = std::max(first, j.first); k <= std::min(last, last_index); ++k) {
      Element& e = j.elements[k - j.first];
      if (final_state(e.state)) continue;
      // A job that ran and is pending again was requeued (Slurm does so when its node fails):
      // the daemon it ran is gone as surely as that of a job that ended.
      bool requeued = e.state == JobState::kRunning && r.state == JobState::kPending;
      e.state = r.state;
      e.detail = r.detail;
      if (e.seen && (final_state(e.state) || requeued))
        ended.push_back({j.id, static_cast<std::uint32_t>(k),
                         "the scheduler reports its job " + r.id + " as " + r.detail});
    }
  }
}

void Controller::settle(const Batch& b, Job& j, Clock::time_point now) {
  for (int k = 0; k < static_cast<int>(j.elements.size()); ++k) {
    Element& e = j.elements[k];
    ++job_states_[to_string(e.state)];
    if (e.settled) continue;
    std::string element = "job " + j.id + " daemon " + std::to_string(j.first + k);
    if (ended(e.state)) {
      // A clean end may be a daemon that came and went between two looks: judge() decides.
      e.settled = true;
      e.failed = e.state != JobState::kFinished;
      e.detail = element + " ended before connecting: " + e.detail;
    } else if (now - b.submitted > spec_.profile.launch_timeout) {
      e.settled = e.failed = true;
      e.detail = element + " had not connected after the launch timeout (" +
                 seconds_text(spec_.profile.launch_timeout) +
                 "): " + (e.detail.empty() ? to_string(e.state) : e.detail);
    }
  }
}

std::function<void(const DaemonStatus&)> Arrivals::recorder(std::shared_ptr<Arrivals> arrivals) {
  return [arrivals](const DaemonStatus& d) {
    std::lock_guard<std::mutex> lock(arrivals->mu_);
    if (!d.job_id.empty()) arrivals->list_.emplace_back(d.job_id, d.array_index);
  };
}

std::vector<std::pair<std::string, std::uint32_t>> Arrivals::take() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(list_, {});
}

void Controller::look(const ProfileStatus& st) {
  for (const auto& d : st.daemons) mark_seen(d.job_id, d.array_index);
  if (source_.arrivals)
    for (const auto& [job_id, index] : source_.arrivals->take()) mark_seen(job_id, index);
}

void Controller::mark_seen(const std::string& job_id, std::uint32_t index) {
  if (job_id.empty()) return;
  for (auto& b : batches_)
    for (auto& j : b.jobs) {
      int k = static_cast<int>(index) - j.first;
      if (j.id != job_id || k < 0 || k >= static_cast<int>(j.elements.size())) continue;
      Element& e = j.elements[k];
      if (e.seen) continue;
      e.seen = e.settled = true;
      failures_in_a_row_ = 0;  // launches work
    }
}

void Controller::judge(Batch& b, std::uint64_t cumulative) {
  if (b.judged) return;
  std::vector<std::string> reasons;
  bool seen = false, failed = false;
  for (const auto& j : b.jobs)
    for (const auto& e : j.elements) {
      if (!e.settled) return;  // not yet known
      seen = seen || e.seen;
      failed = failed || e.failed;
      if (!e.seen) reasons.push_back(e.detail);
    }
  b.judged = true;
  if (seen) return;
  for (const auto& j : b.jobs)  // jobs pending or running past the timeout
    if (std::any_of(j.elements.begin(), j.elements.end(),
                    [](const Element& e) { return !ended(e.state); }))
      to_cancel_.push_back(j.id);
  // Jobs that ended cleanly while some daemon connected may have been this launch's daemons
  // coming and going between two looks: not a failure.
  if (!failed && cumulative > b.cumulative_at_submit) return;
  std::string why = "launch " + std::to_string(b.number) + " failed: ";
  for (std::size_t i = 0; i < reasons.size() && i < kReasonsShown; ++i)
    why += (i ? "; " : "") + reasons[i];
  if (reasons.size() > kReasonsShown)
    why += " and " + std::to_string(reasons.size() - kReasonsShown) + " more like it";
  failed_launch(why + "; " + log_hint(spec_.profile));
}

void Controller::failed_launch(const std::string& why) {
  ++failures_in_a_row_;
  std::string name = "profile '" + spec_.profile.name + "': ";
  report_(name + why);
  reason_ = why;
  if (failures_in_a_row_ >= options_.max_failed_launches) {
    paused_ = true;
    report_(name + "paused after " + std::to_string(failures_in_a_row_) + " failed launch" +
            (failures_in_a_row_ > 1 ? "es" : "") + " in a row; it launches no more daemons");
    return;
  }
  milliseconds backoff = options_.interval * (1 << std::min(failures_in_a_row_ - 1, 16));
  backoff = std::min(backoff, options_.max_backoff);
  not_before_ = now() + backoff;
  report_(name + "launching again in " + seconds_text(backoff) + " (failed launch " +
          std::to_string(failures_in_a_row_) + " of at most " +
          std::to_string(options_.max_failed_launches) + " in a row)");
}

void Controller::launch(int n, std::uint64_t cumulative) {
  LaunchSpec spec = spec_;
  spec.n = n;
  auto submitted = launch_->submit(spec);
  std::lock_guard<std::mutex> lock(mu_);
  last_launch_ = now();
  if (!submitted) return failed_launch("a launch failed: " + submitted.message());
  Batch b;
  b.number = submitted->number;
  b.submitted = last_launch_;
  b.cumulative_at_submit = cumulative;
  for (const auto& job : submitted->jobs)
    b.jobs.push_back({job.id, job.first, std::vector<Element>(job.last - job.first + 1)});
  batches_.push_back(std::move(b));
}

int Controller::count(bool (*which)(const Element&)) const {
  int n = 0;
  for (const auto& b : batches_)
    for (const auto& j : b.jobs)
      for (const auto& e : j.elements) n += which(e);
  return n;
}

int Controller::launching() const {
  return count([](const Element& e) { return !e.settled; });
}

ControllerStatus Controller::status() {
  ProfileStatus st = source_.status();
  std::lock_guard<std::mutex> lock(mu_);
  look(st);
  connected_ = static_cast<int>(st.info.connections);
  ControllerStatus s;
  s.profile = spec_.profile.name;
  s.launcher = spec_.profile.launcher;
  s.workers = static_cast<std::uint32_t>(spec_.profile.workers);
  s.connected = static_cast<std::uint32_t>(connected_);
  s.launching = static_cast<std::uint32_t>(launching());
  s.failed = static_cast<std::uint32_t>(count([](const Element& e) { return e.failed; }));
  s.launched = static_cast<std::uint32_t>(count([](const Element&) { return true; }));
  s.batches = static_cast<std::uint32_t>(batches_.size());
  for (const auto& [state, n] : job_states_) s.jobs[state] = static_cast<std::uint32_t>(n);
  s.paused = paused_;
  s.reason = reason_;
  s.dial = spec_.url;
  s.login = spec_.profile.login.host.host;
  return s;
}

std::string Controller::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!paused_ || connected_ > 0 || launching() > 0) return "";
  return "profile '" + spec_.profile.name + "' is paused, with no daemon connected: " + reason_;
}

}  // namespace mirai::launcher
