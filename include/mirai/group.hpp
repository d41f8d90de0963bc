// Several profiles behind one submit (crew's controller group): a task goes to a profile by
// name, and a profile may have a backup that takes a task whose daemon died under it on every
// attempt the profile allows (its retries), as in crew's escalating chain: a profile with more
// memory after an out-of-memory kill.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mirai/future.hpp"
#include "mirai/profile.hpp"
#include "mirai/status.hpp"
#include "mirai/task.hpp"

namespace mirai {

namespace detail {
struct GroupState;
}

class ProfileGroup {
 public:
  ProfileGroup();
  ~ProfileGroup();
  // Adds `profile` (which must outlive the group and its tasks) under `name`. `backup` names
  // the profile that takes its crashed tasks ("" for none); it may be added later, but must be
  // in the group by the first submit to `name`, and a chain of backups may not come back to a
  // profile it passed.
  Status add(const std::string& name, Profile& profile, const std::string& backup = "");
  // Queues `task` on the profile `name` and returns at once. A task whose daemon died under it
  // (error value 19, after the profile's retries) is queued again on that profile's backup,
  // and so on down the chain; the future resolves with the last profile's result. stop()
  // stops it wherever it is. Fails for a name not in the group or a broken backup chain.
  Expected<Future> submit(const std::string& name, const Task& task);
  // Tasks handed to a backup so far.
  std::uint64_t escalated() const;

 private:
  std::shared_ptr<detail::GroupState> state_;
};

}  // namespace mirai
