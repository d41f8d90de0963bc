#include "client/remote_dispatcher.hpp"

#include <unistd.h>

#include <vector>

#include "core/protocol.hpp"
#include "mirai/duration.hpp"

namespace mirai {
namespace {

constexpr std::chrono::milliseconds kStatusTimeout{5000};

}  // namespace

Expected<std::unique_ptr<RemoteDispatcher>> RemoteDispatcher::connect(
    const std::string& control_url, std::chrono::milliseconds timeout,
    std::chrono::milliseconds heartbeat) {
  auto unreachable = [&](const std::string& why) {
    return Status::error("cannot use the dispatcher at " + control_url + ": " + why +
                         " (is `mirai dispatcher` running? It prints its control URL when it "
                         "starts)");
  };
  auto conn = dial(control_url, timeout);
  if (!conn) return unreachable(conn.message());
  std::unique_ptr<RemoteDispatcher> r(new RemoteDispatcher(control_url));
  r->conn_ = std::move(*conn);
  r->heartbeat_ms_ = static_cast<std::uint32_t>(heartbeat.count());
  RemoteDispatcher* self = r.get();
  Connection::Handlers handlers{[self](std::string f) { self->on_frame(std::move(f)); },
                                [self](int error) { self->on_close(error); }};
  handlers.tail_at = proto::tail_at;  // a large result's value lands in a buffer of its own
  handlers.on_split = [self](std::string head, std::string tail) {
    self->on_frame(std::move(head), std::move(tail));
  };
  r->conn_->start(std::move(handlers), proto::kMaxHelloFrame);
  r->conn_->send(proto::encode_client_hello(
      {proto::kVersion, static_cast<std::uint32_t>(getpid()), r->heartbeat_ms_}));
  auto s = r->status_within(timeout);
  if (!s) return unreachable(s.message());
  r->daemon_url_ = s->url;
  return r;
}

RemoteDispatcher::~RemoteDispatcher() {
  fail_pending(Cause::kClosed);
  conn_->shutdown();
}

void RemoteDispatcher::fail_pending(Cause why, const std::string& message) {
  std::unordered_map<std::uint64_t, std::shared_ptr<ResultTarget>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    pending.swap(pending_);
    cv_.notify_all();
  }
  Result r = Result::failure(why, message);
  for (auto& [id, t] : pending) t->deliver(proto::encode_result(id, 0, r), {});
}

std::uint64_t RemoteDispatcher::submit(std::string frame, std::shared_ptr<ResultTarget> target) {
  std::unique_lock<std::mutex> lock(mu_);
  std::uint64_t id = next_id_++;
  if (closed_) {
    lock.unlock();
    target->deliver(proto::encode_error_value(id, ErrorValue::kClosed), {});
    return id;
  }
  pending_.emplace(id, std::move(target));
  lock.unlock();
  proto::patch_id(frame, id);
  conn_->send(std::move(frame));
  return id;
}

std::vector<std::uint64_t> RemoteDispatcher::submit_everywhere(
    const std::string& frame, std::vector<std::shared_ptr<ResultTarget>> targets,
    std::shared_ptr<ResultTarget> /*later: a running dispatcher keeps no standing tasks*/) {
  std::vector<std::uint64_t> ids;
  std::unique_lock<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < targets.size(); ++i) ids.push_back(next_id_++);
  if (closed_) {
    lock.unlock();
    for (std::size_t i = 0; i < ids.size(); ++i)
      targets[i]->deliver(proto::encode_error_value(ids[i], ErrorValue::kClosed), {});
    return ids;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) pending_.emplace(ids[i], std::move(targets[i]));
  lock.unlock();
  conn_->send(proto::encode_everywhere(ids, frame));
  return ids;
}

void RemoteDispatcher::cancel(std::uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.erase(id) == 0) return;  // answered already
  }
  conn_->send(proto::encode_id(proto::Type::kCancel, id));
}

Expected<ProfileStatus> RemoteDispatcher::status() const { return status_within(kStatusTimeout); }

template <typename Reply>
Expected<Reply> RemoteDispatcher::ask(proto::Type request_type,
                                      std::map<std::uint64_t, std::optional<Reply>>& replies,
                                      std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Status::error("the connection to " + control_url_ + " is closed");
  std::uint64_t request = next_request_++;
  replies[request];
  conn_->send(proto::encode_id(request_type, request));
  bool answered = cv_.wait_for(lock, timeout, [&] { return closed_ || replies[request]; });
  std::optional<Reply> reply = std::move(replies[request]);
  replies.erase(request);
  if (answered && reply) return std::move(*reply);
  if (closed_) return Status::error("the connection to " + control_url_ + " closed");
  return Status::error("no answer from " + control_url_ + " within " + format_duration(timeout));
}

Expected<ProfileStatus> RemoteDispatcher::status_within(std::chrono::milliseconds timeout) const {
  return ask(proto::Type::kStatusRequest, replies_, timeout);
}

Expected<std::string> RemoteDispatcher::secret() const {
  return ask(proto::Type::kSecretRequest, secrets_, kStatusTimeout);
}

bool RemoteDispatcher::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout,
                                            const std::function<bool()>& keep_waiting) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto s = status();
    if (s && s->info.cumulative >= n) return true;
    if (!s || std::chrono::steady_clock::now() >= deadline) return false;
    if (keep_waiting && !keep_waiting()) return false;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return closed_; });
  }
}

void RemoteDispatcher::on_frame(std::string frame, std::string tail) {
  auto fv = proto::view_frame(frame);
  std::unique_lock<std::mutex> lock(mu_);
  if (!fv || (!tail.empty() && fv->type != proto::Type::kResult)) return conn_->close();
  if (!welcomed_) {
    auto welcome =
        fv->type == proto::Type::kWelcome ? proto::decode_welcome(fv->body) : std::nullopt;
    if (!welcome) return conn_->close();
    welcomed_ = true;
    conn_->set_max_frame(UINT32_MAX);
    return conn_->enable_heartbeat(proto::heartbeat_for(heartbeat_ms_, welcome->heartbeat_ms));
  }
  switch (fv->type) {
    case proto::Type::kResult: {
      auto id = proto::peek_id(frame);
      if (!id) return conn_->close();
      auto it = pending_.find(*id);
      if (it == pending_.end()) return;  // cancelled meanwhile
      auto target = std::move(it->second);
      pending_.erase(it);
      lock.unlock();
      return target->deliver(std::move(frame), std::move(tail));
    }
    case proto::Type::kOutput: {  // a streaming task's output, before its result
      auto id = proto::peek_id(frame);
      if (!id || !proto::decode_output(fv->body)) return conn_->close();
      auto it = pending_.find(*id);
      if (it == pending_.end()) return;
      auto target = it->second;
      lock.unlock();
      return target->deliver(std::move(frame), {});
    }
    case proto::Type::kStatusReply: {
      auto reply = proto::decode_status_reply(fv->body);
      if (!reply) return conn_->close();
      auto it = replies_.find(reply->first);
      if (it == replies_.end()) return;  // the asker gave up
      it->second = std::move(reply->second);
      cv_.notify_all();
      return;
    }
    case proto::Type::kSecretReply: {
      auto reply = proto::decode_secret_reply(fv->body);
      if (!reply) return conn_->close();
      auto it = secrets_.find(reply->first);
      if (it == secrets_.end()) return;
      it->second = std::move(reply->second);
      cv_.notify_all();
      return;
    }
    default:
      return conn_->close();
  }
}

void RemoteDispatcher::on_close(int error) {
  fail_pending(Cause::kDisconnected,
               Connection::lost(error)
                   ? "the dispatcher at " + control_url_ + " stopped answering (a frozen process?)"
                   : "the connection to the dispatcher at " + control_url_ + " ended");
}

}  // namespace mirai
