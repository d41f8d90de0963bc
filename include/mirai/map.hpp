// A map: the futures of one task per input element (mirai's mirai_map), collected in input
// order with mirai's options: all results ([]), flat values of one type (.flat), stop at the
// first failure (.stop), and a progress bar (.progress). Made by map() (mirai/mirai.hpp) and
// Profile::everywhere().
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "mirai/codec.hpp"
#include "mirai/future.hpp"
#include "mirai/status.hpp"
#include "mirai/task.hpp"

namespace mirai {

class Profile;

struct Collect {
  // mirai's .stop: wait in input order; at the first failure stop every task not yet resolved
  // and fail with that element's index and what went wrong.
  bool stop = false;
  // mirai's .progress: while waiting, a bar with the count and an ETA on stderr, when it is a
  // terminal.
  bool progress = false;
};

class Map {
 public:
  Map() = default;
  // The map of `tasks` submitted to `profile` as `futures` (one each, same order). The map
  // keeps the tasks, so that failed ones can be sent again.
  Map(Profile* profile, std::vector<Task> tasks, std::vector<Future> futures);

  std::size_t size() const { return futures_.size(); }
  const Future& operator[](std::size_t i) const { return futures_[i]; }
  const std::vector<Future>& futures() const { return futures_; }
  // How many have resolved (never blocks); unresolved() is true while any has not.
  std::size_t resolved() const;
  bool unresolved() const { return resolved() < size(); }

  // Waits for every element and returns the results in input order, failures included (so
  // that only the failed ones can be run again). With `how.stop`, fails instead at the first
  // failure, after stopping the rest: "element 3 (of 0..9) failed: ...".
  Expected<std::vector<Result>> collect(Collect how = {}) const;
  // mirai's .flat: every value decoded as T, in input order. The first failure, a value that is
  // not a T, or (for codecs with type_of, such as JSON) a value of another type than the first
  // stops the rest and fails, naming the element.
  template <typename T>
  Expected<std::vector<T>> flat(Collect how = {}) const;

  // mirai's stop_mirai() on the whole map: every task not yet resolved is stopped (20).
  void stop() const;
  // The indices of the elements that failed (all kinds of failure), once resolved.
  std::vector<std::size_t> failed() const;
  // Sends the failed elements again, to the same profile, in place: their futures are
  // replaced, the others kept, so a later collect() has every element in input order. Returns
  // how many were sent.
  std::size_t rerun_failed();

 private:
  class Waiter;  // the progress bar of one collection, if any
  std::shared_ptr<Waiter> start_waiting(bool progress) const;
  // Waits for element i, drawing the bar meanwhile.
  const Result& wait(std::size_t i, Waiter* waiter) const;
  // Stops the rest and says that element i failed, and how.
  Status failure_at(std::size_t i, const std::string& what) const;

  Profile* profile_ = nullptr;
  std::vector<Task> tasks_;
  std::vector<Future> futures_;
};

template <typename T>
Expected<std::vector<T>> Map::flat(Collect how) const {
  std::vector<T> out;
  out.reserve(size());
  std::string first_type;
  auto waiter = start_waiting(how.progress);
  for (std::size_t i = 0; i < size(); ++i) {
    const Result& r = wait(i, waiter.get());
    if (!r.ok()) return failure_at(i, r.describe());
    try {
      out.push_back(Codec<T>::decode(r.value));
    } catch (const DecodeError& e) {
      return failure_at(i,
                        "cannot flatten: its value is not a " + codec_name<T>() + ": " + e.what());
    }
    if constexpr (detail::has_type_of<T>::value) {
      std::string type = Codec<T>::type_of(out.back());
      if (i == 0) first_type = type;
      if (type != first_type)
        return failure_at(i, "cannot flatten values of differing types: element 0 is " +
                                 first_type + ", this one " + type);
    }
  }
  return out;
}

}  // namespace mirai
