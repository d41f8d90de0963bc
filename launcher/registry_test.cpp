// The backends as registered: each declares its own keys, what it can do, and its job ids.
#include "launcher/registry.hpp"

#include <catch2/catch.hpp>
#include <climits>

#include "launcher/backend.hpp"
#include "launcher/config.hpp"

using namespace mirai::launcher;

namespace {

// The elements of `job` that a status row `id` stands for, as "first-last"; "" when none.
std::string range(const std::string& launcher, const std::string& job, const std::string& id) {
  ProfileConfig p;
  p.launcher = launcher;
  auto backend = make_backend(p);
  REQUIRE(backend);
  int first = -1, last = -1;
  if (!backend->element_range(job, id, first, last)) return "";
  return std::to_string(first) + "-" + (last == INT_MAX ? "all" : std::to_string(last));
}

}  // namespace

TEST_CASE("every built-in backend is registered, with what it can do", "[registry]") {
  CHECK(backend_names() == std::vector<std::string>{"local", "lsf", "pbs", "sge", "slurm", "ssh"});
  for (const auto& name : backend_names()) {
    const BackendKind* kind = find_backend(name);
    REQUIRE(kind);
    CHECK(kind->name == name);
    CHECK(kind->keys.empty() == !kind->job_scripts);  // schedulers have sections; ssh, local not
  }
  CHECK(find_backend("ssh")->remote_hosts);
  CHECK(in_process_backend() == "local");
  CHECK(find_backend("nosuch") == nullptr);
  ProfileConfig p;
  p.launcher = "nosuch";
  CHECK(make_backend(p) == nullptr);
  // A name is taken once; a kind that cannot make a backend is refused.
  BackendKind again;
  again.name = "slurm";
  again.make = [](const ProfileConfig&) { return std::unique_ptr<Backend>(); };
  CHECK_FALSE(register_backend(again));
  BackendKind empty;
  empty.name = "empty";
  CHECK_FALSE(register_backend(empty));
  CHECK(find_backend("empty") == nullptr);
}

TEST_CASE("each backend reads its own job ids", "[registry]") {
  CHECK(range("slurm", "17", "17") == "0-all");
  CHECK(range("slurm", "17", "17_4") == "4-4");
  CHECK(range("slurm", "17", "177_4") == "");
  CHECK(range("slurm", "17", "17.4") == "");
  CHECK(range("sge", "3", "3.4") == "4-4");
  CHECK(range("sge", "3", "3.1-5:1") == "1-5");
  CHECK(range("sge", "3", "3.5-1:1") == "");
  CHECK(range("sge", "3", "3_4") == "");
  CHECK(range("lsf", "77", "77[4]") == "4-4");
  CHECK(range("lsf", "77", "77[x]") == "");
  CHECK(range("pbs", "123[].server", "123[4].server") == "4-4");
  CHECK(range("pbs", "123[].server", "123[4].other") == "");
  CHECK(range("pbs", "123.server", "123.server") == "0-all");
  CHECK(range("ssh", "node1-1", "node1-1") == "0-all");
  CHECK(range("ssh", "node1-1", "node1-1_2") == "");
}

TEST_CASE("the default URL is the backend's", "[registry]") {
  ProfileConfig p;
  p.launcher = "slurm";
  CHECK(listen_url_template(p) == "tcp://{hostname}:0");
  p.launcher = "local";
  CHECK(listen_url_template(p).empty());  // a private ipc socket
  p.launcher = "ssh";
  p.ssh.tunnel = true;
  CHECK(listen_url_template(p) == "tcp://127.0.0.1:0");
  p.url = "tcp://{interface:ib0}:0";
  CHECK(listen_url_template(p) == p.url);
}
