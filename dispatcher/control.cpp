#include "dispatcher/control.hpp"

#include <vector>

#include "core/protocol.hpp"

namespace mirai {

// Where the dispatcher delivers the results of one client's tasks: back to the client, under
// its own ids. One for all of a client's tasks, which cost it only their two map entries (a
// million queued tasks: bench `load`).
class ControlServer::Target final : public ResultTarget {
 public:
  explicit Target(std::weak_ptr<Client> client) : client_(std::move(client)) {}
  void deliver(std::string frame, std::string tail) override;

 private:
  std::weak_ptr<Client> client_;
};

struct ControlServer::Client {
  std::shared_ptr<Connection> conn;
  bool welcomed = false;  // touched only by this connection's handlers, which run one at a time
  std::shared_ptr<Target> target;
  std::mutex mu;
  // The client's tasks not yet answered: the dispatcher's id by the client's, and back. The
  // dispatcher's ids are never reused, so a result that comes after its task was cancelled
  // finds nothing and is dropped.
  std::unordered_map<std::uint64_t, std::uint64_t> dispatcher_ids;  // GUARDED_BY(mu)
  std::unordered_map<std::uint64_t, std::uint64_t> client_ids;      // GUARDED_BY(mu)
};

void ControlServer::Target::deliver(std::string frame, std::string tail) {
  auto c = client_.lock();
  auto fv = proto::view_frame(frame);
  auto id = proto::peek_id(frame);
  if (!c || !fv || !id) return;
  std::uint64_t client_id;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    auto it = c->client_ids.find(*id);
    if (it == c->client_ids.end()) return;  // cancelled meanwhile
    client_id = it->second;
    // A streaming task's output comes before its result, which ends the task.
    if (fv->type != proto::Type::kOutput) {
      c->dispatcher_ids.erase(client_id);
      c->client_ids.erase(it);
    }
  }
  proto::patch_id(frame, client_id);
  c->conn->send(std::move(frame), std::move(tail));
}

Expected<std::unique_ptr<ControlServer>> ControlServer::start(Dispatcher& dispatcher,
                                                              const std::string& url,
                                                              LauncherSource launcher) {
  // Clients are not asked for the secret: they get it. Only this user may reach them.
  if (!is_local_url(url))
    return Status::error("the control URL " + url +
                         " is not a local socket: whoever connects to it may submit tasks and "
                         "ask for the pool's secret; use ipc://PATH or abstract://NAME (by "
                         "default a socket in a private directory)");
  std::unique_ptr<ControlServer> s(new ControlServer(dispatcher));
  s->launcher_ = std::move(launcher);
  auto l = Listener::open(url);
  if (!l) return l.status();
  s->listener_ = std::move(*l);
  ControlServer* self = s.get();
  s->listener_->start([self](std::shared_ptr<Connection> c) { self->on_accept(std::move(c)); });
  return s;
}

ControlServer::~ControlServer() {
  if (!listener_) return;  // start() failed: it never listened
  listener_->close();
  std::vector<std::shared_ptr<Client>> clients;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [p, c] : clients_) clients.push_back(c);
  }
  for (auto& c : clients) c->conn->shutdown();  // on_close runs for each
}

std::size_t ControlServer::clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

void ControlServer::on_accept(std::shared_ptr<Connection> conn) {
  auto client = std::make_shared<Client>();
  client->conn = conn;
  client->target = std::make_shared<Target>(client);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return conn->close();
    clients_.emplace(client.get(), client);
  }
  // The handlers hold the client weakly: the server's map owns it until the connection ends.
  std::weak_ptr<Client> weak = client;
  conn->start({[this, weak](std::string f) {
                 if (auto c = weak.lock()) on_frame(c, std::move(f));
               },
               [this, weak](int) {
                 if (auto c = weak.lock()) on_close(c);
               }},
              proto::kMaxHelloFrame);
}

void ControlServer::on_frame(const std::shared_ptr<Client>& client, std::string frame) {
  auto fv = proto::view_frame(frame);
  Connection& conn = *client->conn;
  if (!client->welcomed) {
    auto hello = fv && fv->type == proto::Type::kClientHello ? proto::decode_client_hello(fv->body)
                                                             : std::nullopt;
    if (!hello || hello->version != proto::kVersion) return conn.close();
    client->welcomed = true;
    conn.set_max_frame(UINT32_MAX);
    auto ours = static_cast<std::uint32_t>(dispatcher_.heartbeat().count());
    conn.send(proto::encode_welcome({proto::kVersion, 0, ours, std::nullopt}));
    return conn.enable_heartbeat(proto::heartbeat_for(ours, hello->heartbeat_ms));
  }
  if (!fv) return conn.close();
  switch (fv->type) {
    case proto::Type::kTask:
      return on_task(client, std::move(frame));
    case proto::Type::kEverywhere:
      return on_everywhere(client, fv->body);
    case proto::Type::kCancel: {
      auto id = proto::decode_id(fv->body);
      if (!id) return conn.close();
      std::uint64_t dispatcher_id;
      {
        std::lock_guard<std::mutex> lock(client->mu);
        auto it = client->dispatcher_ids.find(*id);
        if (it == client->dispatcher_ids.end()) return;  // answered already
        dispatcher_id = it->second;
        client->client_ids.erase(dispatcher_id);
        client->dispatcher_ids.erase(it);
      }
      return dispatcher_.cancel(dispatcher_id);
    }
    case proto::Type::kStatusRequest: {
      auto id = proto::decode_id(fv->body);
      if (!id) return conn.close();
      auto s = dispatcher_.status();
      if (launcher_) s->launcher = launcher_();
      return conn.send(proto::encode_status_reply(*id, *s));
    }
    case proto::Type::kSecretRequest: {
      // Clients are this user's own (the control socket is private): mirai launch needs the
      // secret to hand to the daemons it starts.
      auto id = proto::decode_id(fv->body);
      if (!id) return conn.close();
      return conn.send(proto::encode_secret_reply(*id, *dispatcher_.secret()));
    }
    default:
      return conn.close();  // not something a client sends
  }
}

void ControlServer::on_task(const std::shared_ptr<Client>& client, std::string frame) {
  auto id = proto::peek_id(frame);
  if (!id || !proto::valid_task(frame)) return client->conn->close();
  // The dispatcher's id is known before the task is submitted: its result may come on another
  // thread before submit returns.
  std::uint64_t dispatcher_id = dispatcher_.reserve_ids(1);
  {
    std::lock_guard<std::mutex> lock(client->mu);
    // An id still pending is a broken client: drop it rather than guess.
    if (!client->dispatcher_ids.emplace(*id, dispatcher_id).second) return client->conn->close();
    client->client_ids.emplace(dispatcher_id, *id);
  }
  // Not under client->mu: submit may deliver at once (a stopping dispatcher).
  dispatcher_.submit_as(dispatcher_id, std::move(frame), client->target);
}

void ControlServer::on_everywhere(const std::shared_ptr<Client>& client, std::string_view body) {
  auto e = proto::decode_everywhere(body);
  if (!e) return client->conn->close();
  std::uint64_t first = dispatcher_.reserve_ids(e->ids.size());
  {
    std::lock_guard<std::mutex> lock(client->mu);
    for (std::size_t i = 0; i < e->ids.size(); ++i) {
      // An id still pending, or twice in this everywhere(): a broken client. What was entered
      // goes when its connection closes (on_close).
      if (!client->dispatcher_ids.emplace(e->ids[i], first + i).second)
        return client->conn->close();
      client->client_ids.emplace(first + i, e->ids[i]);
    }
  }
  dispatcher_.submit_everywhere_as(
      first, e->task_frame,
      std::vector<std::shared_ptr<ResultTarget>>(e->ids.size(), client->target));
}

void ControlServer::on_close(const std::shared_ptr<Client>& client) {
  std::vector<std::uint64_t> orphans;
  {
    std::lock_guard<std::mutex> lock(client->mu);
    for (auto& [dispatcher_id, id] : client->client_ids) orphans.push_back(dispatcher_id);
    client->client_ids.clear();
    client->dispatcher_ids.clear();
  }
  // Nobody is left to receive these results: stop the work.
  for (std::uint64_t id : orphans) dispatcher_.cancel(id);
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(client.get());
}

}  // namespace mirai
