// Compute profiles: named, independent pools (each its own daemons, URL and dispatcher), as
// mirai's `.compute` argument. profile(name) finds or creates one; submit() goes to the current
// profile of the calling thread, which a ComputeScope switches for a block (mirai's
// with_daemons() and local_daemons()).
#pragma once

#include <string>
#include <vector>

#include "mirai/future.hpp"
#include "mirai/profile.hpp"
#include "mirai/task.hpp"

namespace mirai {

inline constexpr const char* kDefaultCompute = "default";

// The profile named `name`, created (with no daemons) on first use. It lives until
// remove_profile(name) or the end of the program; the reference stays valid until then.
Profile& profile(const std::string& name = kDefaultCompute);
// Resets and forgets the profile `name`; false when there was none.
bool remove_profile(const std::string& name);
// The names of the profiles that exist, sorted.
std::vector<std::string> profile_names();

// The name of the calling thread's current profile ("default" unless a ComputeScope is open).
const std::string& current_compute();
// Submits to the calling thread's current profile (mirai's mirai() without .compute). The
// default profile is made on first use; a named one must exist (see ComputeScope).
Future submit(const Task& task);

// While it lives, the calling thread's current profile is `name`: mirai's with_daemons(name,
// {...}) for a block, and local_daemons(name) for a function's body. Scopes nest; each
// restores the one before it. As with_daemons, the profile must exist (profile(name) made it):
// a scope for one that does not is not ok(), its status() says so, and the free submit() in
// it gives futures that fail at once with that message instead of running anywhere.
class ComputeScope {
 public:
  explicit ComputeScope(std::string name);
  ~ComputeScope();
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;
  bool ok() const { return status_.ok(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }
  // The scope's profile; null when there is none (not ok()).
  Profile* profile() const { return profile_; }

 private:
  std::string previous_;
  Profile* profile_ = nullptr;
  Status status_;
};

}  // namespace mirai
