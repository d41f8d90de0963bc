// A `mirai dispatcher` in another process, reached on its control URL: the client side of the
// frames that dispatcher/control.hpp serves.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/protocol.hpp"
#include "dispatcher/dispatcher.hpp"

namespace mirai {

class RemoteDispatcher final : public DispatcherLink {
 public:
  // Connects, says hello and learns the URL daemons dial; fails after `timeout`. With a
  // `heartbeat` (the dispatcher's, when shorter), a dispatcher that falls silent for 3 intervals
  // is lost: pending tasks resolve with 19 and say so.
  static Expected<std::unique_ptr<RemoteDispatcher>> connect(
      const std::string& control_url, std::chrono::milliseconds timeout,
      std::chrono::milliseconds heartbeat = std::chrono::milliseconds(5000));
  // Disconnects (the dispatcher cancels what is left) and resolves pending tasks with 7.
  ~RemoteDispatcher() override;

  const std::string& url() const override { return daemon_url_; }
  std::uint64_t submit(std::string frame, std::shared_ptr<ResultTarget> target) override;
  std::vector<std::uint64_t> submit_everywhere(
      const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
      std::shared_ptr<ResultTarget> later = nullptr) override;
  void cancel(std::uint64_t id) override;
  Expected<ProfileStatus> status() const override;
  Expected<std::string> secret() const override;
  bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout,
                            const std::function<bool()>& keep_waiting) override;
  void exit_all() override {}  // the daemons belong to the dispatcher, not to this client

 private:
  explicit RemoteDispatcher(std::string control_url) : control_url_(std::move(control_url)) {}
  Expected<ProfileStatus> status_within(std::chrono::milliseconds timeout) const;
  // Sends a request of `request_type` and waits for the reply that on_frame() files in
  // `replies` under its request id.
  template <typename Reply>
  Expected<Reply> ask(proto::Type request_type,
                      std::map<std::uint64_t, std::optional<Reply>>& replies,
                      std::chrono::milliseconds timeout) const;
  void on_frame(std::string frame, std::string tail = {});  // tail: see ResultTarget
  void on_close(int error);
  // Resolves every pending task with `why` (and `message`).
  void fail_pending(Cause why, const std::string& message = "");

  std::string control_url_, daemon_url_;
  std::shared_ptr<Connection> conn_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::uint32_t heartbeat_ms_ = 0;                                            // what we asked
  bool welcomed_ = false;                                                     // GUARDED_BY(mu_)
  bool closed_ = false;                                                       // GUARDED_BY(mu_)
  std::uint64_t next_id_ = 1;                                                 // GUARDED_BY(mu_)
  std::unordered_map<std::uint64_t, std::shared_ptr<ResultTarget>> pending_;  // GUARDED_BY(mu_)
  mutable std::uint64_t next_request_ = 1;                                    // GUARDED_BY(mu_)
  mutable std::map<std::uint64_t, std::optional<ProfileStatus>> replies_;     // GUARDED_BY(mu_)
  mutable std::map<std::uint64_t, std::optional<std::string>> secrets_;       // GUARDED_BY(mu_)
};

}  // namespace mirai
