#include "mirai/group.hpp"

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "client/future_state.hpp"

namespace mirai {
namespace detail {

struct GroupState {
  struct Member {
    Profile* profile;
    std::string backup;
  };
  std::mutex mu;
  std::map<std::string, Member> members;  // GUARDED_BY(mu)
  std::atomic<std::uint64_t> escalated{0};
};

// One task submitted to the group: the future handed out, and the task's future on the profile
// it is on now.
struct Relay {
  std::shared_ptr<FutureState> out = std::make_shared<FutureState>();
  Task task;
  std::mutex mu;
  Future current;                  // GUARDED_BY(mu)
  bool stopped = false;            // GUARDED_BY(mu)
  std::vector<std::string> chain;  // the profiles it was on, in order
};

}  // namespace detail
namespace {

// The dispatcher's answer for a task whose daemon died under it, or fell silent (a node that
// thrashes for memory freezes), on every attempt.
bool crashed(const Result& r) { return r.cause == Cause::kCrashed || r.cause == Cause::kLost; }

void submit_to(const std::shared_ptr<detail::GroupState>& group, Profile& profile,
               const std::string& name, const std::shared_ptr<detail::Relay>& relay) {
  relay->chain.push_back(name);
  Future f = profile.submit(relay->task);
  {
    std::lock_guard<std::mutex> lock(relay->mu);
    relay->current = f;
    if (relay->stopped) {
      f.stop();
      return;
    }
  }
  f.then([group, relay](const Result& r) {
    if (!crashed(r)) return (void)relay->out->resolve(r);
    std::unique_lock<std::mutex> lock(group->mu);
    std::string next = group->members.at(relay->chain.back()).backup;
    if (!next.empty()) {
      Profile* backup = group->members.at(next).profile;
      lock.unlock();
      ++group->escalated;
      return submit_to(group, *backup, next, relay);
    }
    lock.unlock();
    Result last = r;
    if (relay->chain.size() > 1)
      last.message += " on profile '" + relay->chain.back() + "', the backup after '" +
                      relay->chain.front() + "'";
    relay->out->resolve(std::move(last));
  });
}

}  // namespace

ProfileGroup::ProfileGroup() : state_(std::make_shared<detail::GroupState>()) {}
ProfileGroup::~ProfileGroup() = default;

Status ProfileGroup::add(const std::string& name, Profile& profile, const std::string& backup) {
  if (name.empty()) return Status::error("a profile in a group needs a name");
  if (backup == name) return Status::error("profile '" + name + "' cannot be its own backup");
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->members.emplace(name, detail::GroupState::Member{&profile, backup}).second)
    return Status::error("the group has a profile named '" + name + "' already");
  return {};
}

Expected<Future> ProfileGroup::submit(const std::string& name, const Task& task) {
  Profile* profile = nullptr;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->members.find(name);
    if (it == state_->members.end())
      return Status::error("the group has no profile named '" + name + "'");
    profile = it->second.profile;
    // The backup chain must end: every backup in the group, none seen twice.
    std::set<std::string> seen = {name};
    for (std::string b = it->second.backup; !b.empty();) {
      auto next = state_->members.find(b);
      if (next == state_->members.end())
        return Status::error("profile '" + name + "': its backup chain names '" + b +
                             "', which is not in the group");
      if (!seen.insert(b).second)
        return Status::error("profile '" + name + "': its backup chain comes back to '" + b + "'");
      b = next->second.backup;
    }
  }
  auto relay = std::make_shared<detail::Relay>();
  relay->task = task;
  std::weak_ptr<detail::Relay> weak = relay;
  relay->out->on_stop = std::make_unique<std::function<void()>>([weak] {
    auto r = weak.lock();
    if (!r) return;
    Future current;
    {
      std::lock_guard<std::mutex> lock(r->mu);
      r->stopped = true;
      current = r->current;
    }
    if (current.valid()) current.stop();
  });
  Future out(relay->out);
  submit_to(state_, *profile, name, relay);
  return out;
}

std::uint64_t ProfileGroup::escalated() const { return state_->escalated.load(); }

}  // namespace mirai
