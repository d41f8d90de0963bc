// Serves a Dispatcher to clients in other processes (`mirai dispatcher`). A client connects to
// the control URL, says hello, then submits tasks with ids of its own choosing, cancels them
// and asks for status; results come back with the client's ids. When a client goes away, its
// tasks are cancelled. docs/protocol.md describes the frames.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/transport.hpp"
#include "dispatcher/dispatcher.hpp"

namespace mirai {

class ControlServer {
 public:
  // What a status reply says of the daemons the dispatcher launches itself (the controller of
  // `mirai dispatcher --profile`); called on a connection's thread.
  using LauncherSource = std::function<std::optional<LauncherStatus>()>;
  // `dispatcher` must outlive the server.
  static Expected<std::unique_ptr<ControlServer>> start(Dispatcher& dispatcher,
                                                        const std::string& url,
                                                        LauncherSource launcher = {});
  // Closes the listener and every client connection.
  ~ControlServer();

  const std::string& url() const { return listener_->bound_url(); }
  std::size_t clients() const;

 private:
  struct Client;
  class Target;
  explicit ControlServer(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  void on_accept(std::shared_ptr<Connection> conn);
  void on_frame(const std::shared_ptr<Client>& client, std::string frame);
  void on_task(const std::shared_ptr<Client>& client, std::string frame);
  void on_everywhere(const std::shared_ptr<Client>& client, std::string_view body);
  void on_close(const std::shared_ptr<Client>& client);

  Dispatcher& dispatcher_;
  LauncherSource launcher_;
  std::unique_ptr<Listener> listener_;
  mutable std::mutex mu_;
  bool stopping_ = false;                                         // GUARDED_BY(mu_)
  std::unordered_map<Client*, std::shared_ptr<Client>> clients_;  // GUARDED_BY(mu_)
};

}  // namespace mirai
