// The whole host API in one include, with its typed layer: call tasks whose argument and result
// go through codecs (mirai/codec.hpp), and map() (mirai's mirai_map) over any range.
//
//   mirai::Profile p;  p.set_daemons(config);
//   auto m = mirai::submit<double>(p, "mean", std::vector<double>{1, 2, 3});
//   mirai::Expected<double> mean = m.get();                                 // 2
//   auto squares = mirai::map(p, inputs, [](int x) { return mirai::Task::sh("echo $((" +
//                                               std::to_string(x) + "*" + std::to_string(x) +
//                                               "))"); });
//   mirai::Expected<std::vector<int>> v = squares.flat<int>();
#pragma once

#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mirai/codec.hpp"
#include "mirai/compute.hpp"
#include "mirai/daemon.hpp"
#include "mirai/future.hpp"
#include "mirai/group.hpp"
#include "mirai/launched.hpp"
#include "mirai/map.hpp"
#include "mirai/profile.hpp"
#include "mirai/task.hpp"

namespace mirai {

// A future whose value is a T: the result bytes decoded with Codec<T>.
template <typename T>
class TypedFuture {
 public:
  TypedFuture() = default;
  explicit TypedFuture(Future f) : future_(std::move(f)) {}
  const Future& future() const { return future_; }
  bool unresolved() const { return future_.unresolved(); }
  bool stop() { return future_.stop(); }
  // Blocks; the whole result (errors, stderr, timings).
  const Result& result() const { return future_.wait(); }
  // Blocks; the value, or why there is none: the task failed (Result::describe()), or its
  // bytes are not a T.
  Expected<T> get() const {
    const Result& r = future_.wait();
    if (!r.ok()) return Status::error(r.describe());
    try {
      return Codec<T>::decode(r.value);
    } catch (const DecodeError& e) {
      return Status::error("the result is not a " + codec_name<T>() + ": " + e.what());
    }
  }

 private:
  Future future_;
};

// A call task whose payload is `arg` encoded with its codec.
template <typename A>
Task call(std::string function, const A& arg) {
  return Task::call(std::move(function), Codec<A>::encode(arg));
}

// submit<double>(profile, "mean", data): calls `function` on a daemon with `arg` and returns a
// future of its result as an R.
template <typename R, typename A>
TypedFuture<R> submit(Profile& profile, std::string function, const A& arg) {
  return TypedFuture<R>(profile.submit(call(std::move(function), arg)));
}
// The same on the calling thread's current profile (mirai/compute.hpp).
template <typename R, typename A>
TypedFuture<R> submit(std::string function, const A& arg) {
  return submit<R>(profile(current_compute()), std::move(function), arg);
}

// mirai_map(): one task per element of `inputs` (any range: a vector of numbers, of strings,
// of records for the rows of a table), made by `make_task(element)`, submitted in order.
template <typename Range, typename MakeTask>
auto map(Profile& profile, const Range& inputs, MakeTask&& make_task)
    -> std::enable_if_t<std::is_invocable_r_v<Task, MakeTask&, decltype(*std::begin(inputs))>,
                        Map> {
  std::vector<Task> tasks;
  for (const auto& x : inputs) tasks.push_back(make_task(x));
  std::vector<Future> futures;
  futures.reserve(tasks.size());
  for (const auto& t : tasks) futures.push_back(profile.submit(t));
  return Map(&profile, std::move(tasks), std::move(futures));
}

// map(profile, "square", inputs): calls `function` once per element, each encoded with its
// codec; collect with flat<R>().
template <typename Range>
Map map(Profile& profile, const std::string& function, const Range& inputs) {
  return map(profile, inputs, [&](const auto& x) { return call(function, x); });
}

// The same two on the calling thread's current profile.
template <typename Range, typename MakeTask>
auto map(const Range& inputs, MakeTask&& make_task)
    -> std::enable_if_t<std::is_invocable_r_v<Task, MakeTask&, decltype(*std::begin(inputs))>,
                        Map> {
  return map(profile(current_compute()), inputs, std::forward<MakeTask>(make_task));
}
template <typename Range>
Map map(const std::string& function, const Range& inputs) {
  return map(profile(current_compute()), function, inputs);
}

// mirai's everywhere() on the calling thread's current profile.
inline Map everywhere(const Task& task, std::size_t min = 1) {
  return profile(current_compute()).everywhere(task, min);
}

}  // namespace mirai
