// The dispatcher's policy without sockets, threads or wall clocks: fake daemons that say what
// the schedule sent them, and a manual clock (dispatcher_test.cpp runs the same rules through
// real daemon processes).
#include "dispatcher/schedule.hpp"

#include <catch2/catch.hpp>

#include "core/protocol.hpp"
#include "mirai/task.hpp"

using namespace mirai;
using namespace std::chrono_literals;
using Worker = Schedule::Worker;

namespace {

// What the schedule sent, as "instance:what" lines: "1:task 3", "2:recall 5", "1:exit".
struct FakeDaemons final : Schedule::Outbox {
  std::vector<std::string> sent;

  void send_task(Worker& w, const std::shared_ptr<const std::string>& frame) override {
    sent.push_back(std::to_string(w.instance) + ":task " + std::to_string(*proto::peek_id(*frame)));
  }
  void send(Worker& w, std::string frame) override {
    auto f = proto::view_frame(frame);
    REQUIRE(f);
    std::string what;
    switch (f->type) {
      case proto::Type::kCancel:
        what = "cancel " + std::to_string(*proto::decode_id(f->body));
        break;
      case proto::Type::kRecall:
        what = "recall " + std::to_string(*proto::decode_id(f->body));
        break;
      case proto::Type::kExit:
        what = "exit";
        break;
      case proto::Type::kExitAck:
        what = "exit ack";
        break;
      default:
        what = "frame " + std::to_string(static_cast<int>(f->type));
    }
    sent.push_back(std::to_string(w.instance) + ":" + what);
  }
  // The lines since the last call.
  std::vector<std::string> take() { return std::exchange(sent, {}); }
};

struct Outcomes final : ResultTarget {
  std::vector<proto::ResultFrame> got;
  void deliver(std::string frame, std::string) override {
    auto r = proto::decode_result(std::move(frame));
    REQUIRE(r);
    got.push_back(std::move(*r));
  }
};

using Lines = std::vector<std::string>;

// A schedule with daemons that join when told, and a clock that moves only when told.
struct Bench {
  Schedule::Clock::time_point clock = Schedule::Clock::time_point() + 1000h;
  FakeDaemons daemons;
  Schedule schedule;
  std::deque<Worker> workers;  // stable addresses
  std::shared_ptr<Outcomes> outcomes = std::make_shared<Outcomes>();

  explicit Bench(Schedule::Options o = {}) : schedule(with_clock(std::move(o)), daemons) {}

  Schedule::Options with_clock(Schedule::Options o) {
    o.clock = [this] { return clock; };
    return o;
  }
  Worker& join(std::uint32_t maxtasks = 0,
               std::optional<std::chrono::milliseconds> time_left = std::nullopt) {
    Worker& w = workers.emplace_back();
    w.instance = static_cast<std::uint32_t>(workers.size());
    w.maxtasks = maxtasks;
    if (time_left) w.stops = clock + *time_left;
    schedule.join(w);
    return w;
  }
  std::uint64_t submit(Task t, std::uint8_t flags = 0) {
    return schedule.submit(proto::encode_task(0, t, flags), outcomes);
  }
  // A task that runs again when it fails, up to `attempts` times in all (parallel --retries).
  std::uint64_t submit_rerun(int attempts) {
    return submit(Task::call("noop").with_failure_retries(static_cast<std::uint8_t>(attempts - 1)),
                  proto::kTaskRerunFailures);
  }
  std::uint64_t submit() { return submit(Task::call("noop")); }
  // `w` returns task `id`, which took `wall` on it.
  Schedule::Answer finish(Worker& w, std::uint64_t id, std::chrono::microseconds wall = 100us,
                          std::uint8_t flags = 0, Result::Kind kind = Result::Kind::kValue) {
    Result r;
    r.kind = kind;
    r.wall_us = static_cast<std::uint64_t>(wall.count());
    Schedule::Deliveries out;
    Schedule::Answer a = schedule.result(w, proto::encode_result(id, flags, r), out);
    for (auto& d : out) d.target->deliver(std::move(d.frame), std::move(d.tail));
    return a;
  }
  void remove(Worker& w, bool blameless = false, const std::string& lost_why = "") {
    Schedule::Deliveries out;
    schedule.remove(w, blameless, lost_why, out);
    for (auto& d : out) d.target->deliver(std::move(d.frame), std::move(d.tail));
  }
  // A daemon measured as running tasks of `wall` each: it has run one.
  void measure(Worker& w, std::chrono::microseconds wall) {
    std::uint64_t id = submit();
    REQUIRE(w.in_flight.size() == 1);
    finish(w, id, wall);
    daemons.take();
  }
};

Schedule::Options prefetch(int max, std::chrono::microseconds window = 1000us) {
  Schedule::Options o;
  o.max_prefetch = max;
  o.prefetch_window = window;
  return o;
}

}  // namespace

TEST_CASE("tasks go to idle daemons in submission order and wait at the dispatcher", "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join();
  Worker& c = b.join();
  for (int i = 0; i < 5; ++i) b.submit();
  CHECK(b.daemons.take() == Lines{"1:task 1", "2:task 2"});
  CHECK(b.schedule.awaiting() == 3);
  CHECK(b.schedule.executing() == 2);

  b.finish(c, 2);
  CHECK(b.daemons.take() == Lines{"2:task 3"});
  b.finish(a, 1);
  CHECK(b.daemons.take() == Lines{"1:task 4"});
  b.finish(a, 4);
  CHECK(b.daemons.take() == Lines{"1:task 5"});
  CHECK(b.schedule.awaiting() == 0);
  CHECK(b.outcomes->got.size() == 3);
  CHECK(a.completed == 2);
  CHECK(c.completed == 1);
}

TEST_CASE("a daemon whose tasks are short holds as many as fit in the prefetch window",
          "[schedule]") {
  SECTION("100 us tasks and a 1 ms window: 11, capped by max_prefetch") {
    Bench b(prefetch(8));
    Worker& a = b.join();
    b.measure(a, 100us);
    for (int i = 0; i < 20; ++i) b.submit();
    CHECK(a.in_flight.size() == 8);
    CHECK(b.schedule.awaiting() == 12);
  }
  SECTION("250 us tasks: the one it runs and 4 behind") {
    Bench b(prefetch(128));
    Worker& a = b.join();
    b.measure(a, 250us);
    for (int i = 0; i < 20; ++i) b.submit();
    CHECK(a.in_flight.size() == 5);
  }
  SECTION("tasks of about a millisecond (a shell command) and the default window: 12") {
    Bench b(prefetch(128, Schedule::Options{}.prefetch_window));
    Worker& a = b.join();
    b.measure(a, 900us);
    for (int i = 0; i < 20; ++i) b.submit();
    CHECK(a.in_flight.size() == 12);
  }
  SECTION("tasks longer than the window, or not yet measured: one at a time") {
    Bench b(prefetch(128));
    Worker& slow = b.join();
    b.measure(slow, 5000us);
    Worker& a = b.join();
    for (int i = 0; i < 6; ++i) b.submit();
    CHECK(a.in_flight.size() == 1);
    CHECK(slow.in_flight.size() == 1);
    CHECK(b.schedule.awaiting() == 4);
  }
  SECTION("an idle daemon comes before a busy one that may prefetch") {
    Bench b(prefetch(8));
    Worker& fast = b.join();
    b.measure(fast, 100us);
    std::uint64_t running = b.submit();
    CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(running)});
    Worker& idle = b.join();
    std::uint64_t next = b.submit();
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(next)});
    CHECK(idle.in_flight.size() == 1);
    // Both busy: the one measured as short takes the next in advance; the other, unmeasured,
    // holds one.
    std::uint64_t third = b.submit();
    CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(third)});
  }
}

TEST_CASE("a full daemon is topped up when half of what it holds is done, several at once",
          "[schedule]") {
  Bench b(prefetch(128));
  Worker& a = b.join();
  b.measure(a, 100us);  // 1 ms window: it holds 11
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(b.submit());
  CHECK(b.daemons.take().size() == 11);
  // Results one by one: nothing until it is down to 5 (half of 11), then 6 in a row.
  for (int k = 0; k < 5; ++k) {
    b.finish(a, ids[k], 100us);
    CHECK(b.daemons.take().empty());
  }
  b.finish(a, ids[5], 100us);
  Lines sent = b.daemons.take();
  REQUIRE(sent.size() == 6);
  CHECK(sent.front() == "1:task " + std::to_string(ids[11]));
  CHECK(sent.back() == "1:task " + std::to_string(ids[16]));
  CHECK(a.in_flight.size() == 11);
  // And again at the next half.
  for (int k = 6; k < 12; ++k) b.finish(a, ids[k], 100us);
  CHECK(b.daemons.take().size() == 6);
  CHECK(b.schedule.awaiting() == 30 - 23);
}

TEST_CASE("tiny tasks go to a daemon already running them while it has room, and stay there",
          "[schedule]") {
  Bench b(prefetch(4));
  Worker& fast = b.join();
  b.measure(fast, 20us);  // under a wake-up's cost
  Worker& other = b.join();
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(b.submit());
  // The first to the daemon idle longest (the measured one), three behind it (its depth is
  // 4); only then is the other, unmeasured, woken for one.
  CHECK(b.daemons.take() ==
        Lines{"1:task " + std::to_string(ids[0]), "1:task " + std::to_string(ids[1]),
              "1:task " + std::to_string(ids[2]), "1:task " + std::to_string(ids[3]),
              "2:task " + std::to_string(ids[4])});
  b.finish(fast, ids[0], 20us);
  CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(ids[5])});
  // The other falls idle while the first holds four: nothing is recalled for it (a recall
  // costs more than such a task).
  b.finish(other, ids[4], 20us);
  CHECK(b.daemons.take().empty());
  // The first has room again: the next goes behind its running ones, not to the idle daemon.
  b.finish(fast, ids[1], 20us);
  std::uint64_t next = b.submit();
  CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(next)});
  CHECK(fast.in_flight.size() == 4);
  CHECK(other.in_flight.empty());
}

TEST_CASE("tiny tasks held up behind a long one are asked back for an idle daemon", "[schedule]") {
  Bench b(prefetch(4));
  Worker& fast = b.join();
  b.measure(fast, 20us);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(b.submit());
  REQUIRE(fast.in_flight.size() == 4);
  b.daemons.take();
  // An idle daemon comes while the first task has run 5 ms: too soon to tell it is held up.
  b.clock += 5ms;
  Worker& idle = b.join();
  CHECK(b.daemons.take().empty());
  b.schedule.tick();
  CHECK(b.daemons.take().empty());
  // Past 10 ms, the next tick (no other event comes) asks for the newest back.
  b.clock += 6ms;
  b.schedule.tick();
  CHECK(b.daemons.take() == Lines{"1:recall " + std::to_string(ids[3])});
  REQUIRE(b.schedule.recalled(fast, proto::view_frame(proto::encode_recalled(ids[3], true))->body));
  CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(ids[3])});
  // Each answer of the idle daemon asks for one more, while the first task still runs.
  b.finish(idle, ids[3], 20us);
  CHECK(b.daemons.take() == Lines{"1:recall " + std::to_string(ids[2])});
  // Once the long task ends, the next one runs on it: no longer held up, nothing is recalled.
  REQUIRE(b.schedule.recalled(fast, proto::view_frame(proto::encode_recalled(ids[2], true))->body));
  CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(ids[2])});
  b.finish(fast, ids[0], 11ms);
  b.finish(idle, ids[2], 20us);
  b.schedule.tick();
  CHECK(b.daemons.take().empty());
  CHECK(fast.in_flight == std::deque<std::uint64_t>{ids[1]});
}

TEST_CASE("an idle daemon and an empty queue recall the newest prefetched task", "[schedule]") {
  Bench b(prefetch(8));
  Worker& a = b.join();
  b.measure(a, 100us);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(b.submit());
  REQUIRE(a.in_flight.size() == 4);
  b.daemons.take();

  Worker& idle = b.join();
  CHECK(b.daemons.take() == Lines{"1:recall " + std::to_string(ids[3])});
  CHECK(a.recall_pending);

  SECTION("given back: it runs on the idle daemon") {
    REQUIRE(b.schedule.recalled(a, proto::view_frame(proto::encode_recalled(ids[3], true))->body));
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(ids[3])});
    CHECK(a.in_flight.size() == 3);
    CHECK(a.assigned == 4);  // the measured task and three of the four
    CHECK(idle.in_flight.size() == 1);
  }
  SECTION("already started: it stays, and the next result may recall again") {
    REQUIRE(b.schedule.recalled(a, proto::view_frame(proto::encode_recalled(ids[3], false))->body));
    CHECK(b.daemons.take().empty());
    CHECK(a.in_flight.size() == 4);
    CHECK_FALSE(a.recall_pending);
    b.finish(a, ids[0]);
    CHECK(b.daemons.take() == Lines{"1:recall " + std::to_string(ids[3])});
  }
  SECTION("a malformed answer is the daemon's fault") { CHECK_FALSE(b.schedule.recalled(a, "xx")); }
}

TEST_CASE("a task whose daemon dies runs again under its retries, then fails with its cause",
          "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join();
  Worker& c = b.join();
  std::uint64_t busy = b.submit();  // keeps a busy
  std::uint64_t retried = b.submit(Task::call("noop").with_retries(1));
  CHECK(b.daemons.take() ==
        Lines{"1:task " + std::to_string(busy), "2:task " + std::to_string(retried)});

  b.remove(c);  // crashed under it: once allowed
  CHECK(b.schedule.retried() == 1);
  CHECK(b.schedule.awaiting() == 1);
  CHECK(b.outcomes->got.empty());
  b.finish(a, busy);
  CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(retried)});

  SECTION("crashed again: it fails, saying how often") {
    b.remove(a);
    REQUIRE(b.outcomes->got.size() == 2);
    const Result& r = b.outcomes->got.back().result;
    CHECK(b.outcomes->got.back().id == retried);
    CHECK(r.cause == Cause::kCrashed);
    CHECK_THAT(r.message, Catch::Contains("on all 2 attempts (retries: 1)"));
  }
  SECTION("fell silent: it fails as lost, with why") {
    b.remove(a, false, "nothing from it for 15s");
    const Result& r = b.outcomes->got.back().result;
    CHECK(r.cause == Cause::kLost);
    CHECK_THAT(r.message, Catch::Contains("nothing from it for 15s"));
  }
  SECTION("stopped by a signal: not its fault, it runs again without costing a retry") {
    b.remove(a, true);
    CHECK(b.outcomes->got.size() == 1);
    CHECK(b.schedule.awaiting() == 1);
    Worker& d = b.join();
    CHECK(b.daemons.take() == Lines{"3:task " + std::to_string(retried)});
    // Crashed again: its one retry went to the first crash; the signal did not count.
    b.remove(d);
    REQUIRE(b.outcomes->got.size() == 2);
    CHECK_THAT(b.outcomes->got.back().result.message,
               Catch::Contains("on all 2 attempts (retries: 1)"));
  }
}

TEST_CASE("what a dead daemon had not started goes back to the head of the queue, in order",
          "[schedule]") {
  Bench b(prefetch(8));
  Worker& a = b.join();
  b.measure(a, 100us);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(b.submit());
  for (int i = 0; i < 8; ++i) b.submit();  // 5 of them wait behind a's 8
  b.daemons.take();
  REQUIRE(a.in_flight.size() == 8);

  b.remove(a);  // the running one has no retries: it fails
  REQUIRE(b.outcomes->got.size() == 2);
  CHECK(b.outcomes->got.back().id == ids[0]);
  CHECK(b.schedule.retried() == 0);
  CHECK(b.schedule.awaiting() == 10);
  Worker& c = b.join();
  CHECK(b.daemons.take().front() == "2:task " + std::to_string(ids[1]));
  CHECK(c.in_flight.front() == ids[1]);
}

TEST_CASE("a task that declares its time goes only to a daemon with that much allocation left",
          "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join(0, 10min);
  std::uint64_t long_task = b.submit(Task::call("noop").with_expected(30min));
  CHECK(b.daemons.take().empty());
  // A later task that fits passes it.
  std::uint64_t short_task = b.submit();
  CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(short_task)});
  // A daemon with an hour left takes it.
  b.join(0, 60min);
  CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(long_task)});

  // Nine minutes on, a has one left: a 2-minute task waits for another daemon.
  b.finish(a, short_task);
  b.clock += 9min;
  std::uint64_t two = b.submit(Task::call("noop").with_expected(2min));
  CHECK(b.daemons.take().empty());
  CHECK(b.schedule.awaiting() == 1);
  b.join();  // no end known
  CHECK(b.daemons.take() == Lines{"3:task " + std::to_string(two)});
}

TEST_CASE("the copies of an everywhere() task go to different daemons, as one unit of the queue",
          "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join();
  auto other = std::make_shared<Outcomes>();
  auto ids = b.schedule.submit_everywhere(proto::encode_task(0, Task::call("noop")),
                                          {b.outcomes, other}, nullptr);
  std::uint64_t after = b.submit();
  CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(ids[0])});
  b.finish(a, ids[0]);
  // a has its copy: the second waits for another daemon, and the task after it waits too.
  CHECK(b.daemons.take().empty());
  CHECK(b.schedule.awaiting() == 2);
  b.join();
  CHECK(b.daemons.take() ==
        Lines{"2:task " + std::to_string(ids[1]), "1:task " + std::to_string(after)});
}

TEST_CASE(
    "a standing setup runs first on every daemon that joins later, and one that fails it "
    "is sent away",
    "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join();
  auto later = std::make_shared<Outcomes>();
  auto ids =
      b.schedule.submit_everywhere(proto::encode_task(0, Task::call("noop")), {b.outcomes}, later);
  b.finish(a, ids[0]);
  b.daemons.take();
  std::uint64_t queued_a = b.submit();
  std::uint64_t queued_b = b.submit();
  CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(queued_a)});

  Worker& c = b.join();
  Lines sent = b.daemons.take();
  REQUIRE(sent.size() == 1);  // its setup, and nothing else until it answers
  std::uint64_t setup = c.in_flight.front();
  CHECK(sent[0] == "2:task " + std::to_string(setup));

  SECTION("it succeeds: the daemon takes tasks") {
    CHECK(b.finish(c, setup) == Schedule::Answer::kTaken);
    CHECK(later->got.size() == 1);
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(queued_b)});
  }
  SECTION("it fails: the daemon is told to exit and takes nothing") {
    CHECK(b.finish(c, setup, 100us, 0, Result::Kind::kError) == Schedule::Answer::kExits);
    CHECK(b.daemons.take() == Lines{"2:exit"});
    CHECK_FALSE(c.ready);
    CHECK(b.schedule.awaiting() == 1);
  }
}

TEST_CASE(
    "a daemon's limits: no more tasks than it will run, and its final result gives back "
    "what it had not started",
    "[schedule]") {
  SECTION("maxtasks") {
    Bench b(prefetch(1));
    Worker& a = b.join(2);
    std::uint64_t t1 = b.submit(), t2 = b.submit(), t3 = b.submit();
    b.finish(a, t1);
    b.finish(a, t2);
    CHECK(b.daemons.take() ==
          Lines{"1:task " + std::to_string(t1), "1:task " + std::to_string(t2)});
    CHECK(b.schedule.awaiting() == 1);
    b.join();
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(t3)});
  }
  SECTION("a final result") {
    Bench b(prefetch(8));
    Worker& a = b.join();
    b.measure(a, 100us);
    std::uint64_t t1 = b.submit(), t2 = b.submit();
    b.submit();
    b.daemons.take();
    CHECK(b.finish(a, t1, 100us, proto::kResultFinal) == Schedule::Answer::kExits);
    CHECK(b.daemons.take() == Lines{"1:exit ack"});
    CHECK(b.schedule.awaiting() == 2);
    CHECK(b.schedule.ready().empty());
    b.join();
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(t2)});
  }
}

TEST_CASE("cancel: a queued task never runs, a running one is told once", "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join();
  std::uint64_t running = b.submit(Task::call("noop").with_retries(3));
  std::uint64_t queued = b.submit();
  std::uint64_t last = b.submit();
  b.daemons.take();
  b.schedule.cancel(queued);
  CHECK(b.schedule.awaiting() == 1);
  b.schedule.cancel(running);
  b.schedule.cancel(running);
  CHECK(b.daemons.take() == Lines{"1:cancel " + std::to_string(running)});
  // Its daemon dies: a cancelled task is not retried (its failure goes to a caller that has its
  // answer already), and the queue goes on past the cancelled one.
  b.remove(a);
  REQUIRE(b.outcomes->got.size() == 1);
  CHECK(b.outcomes->got[0].id == running);
  CHECK(b.schedule.retried() == 0);
  b.join();
  CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(last)});
}

TEST_CASE("round robin hands every task at once to the next daemon in turn", "[schedule]") {
  Schedule::Options o;
  o.round_robin = true;
  Bench b(o);
  Worker& a = b.join();
  b.join();
  for (int i = 0; i < 4; ++i) b.submit();
  CHECK(b.daemons.take() == Lines{"1:task 1", "2:task 2", "1:task 3", "2:task 4"});
  b.finish(a, 1);
  b.finish(a, 3);
  CHECK(b.daemons.take().empty());  // nothing recalled from the other
}

TEST_CASE("a result for a task the daemon was not given is the daemon's fault", "[schedule]") {
  Bench b;
  Worker& a = b.join();
  Worker& c = b.join();
  std::uint64_t id = b.submit();
  CHECK(b.finish(c, id) == Schedule::Answer::kForeign);
  CHECK(b.finish(a, id + 100) == Schedule::Answer::kForeign);
  CHECK(b.finish(a, id) == Schedule::Answer::kTaken);
}

TEST_CASE("closing resolves every task, queued or running, with error value 7", "[schedule]") {
  Bench b(prefetch(1));
  b.join();
  b.submit();
  b.submit();
  Schedule::Deliveries out;
  b.schedule.close(out);
  CHECK(out.size() == 2);
  CHECK(b.schedule.awaiting() == 0);
  CHECK(b.schedule.executing() == 0);
  CHECK(b.schedule.ready().empty());
}

TEST_CASE("a task's output goes to its target only from the daemon that runs it", "[schedule]") {
  Bench b(prefetch(1));
  Worker& a = b.join();
  Worker& c = b.join();
  std::uint64_t id = b.submit(Task::sh("echo hi"));
  REQUIRE(a.in_flight.size() == 1);
  Schedule::Deliveries out;
  CHECK(b.schedule.output(a, proto::encode_output(id, 1, "hi\n"), out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].target == b.outcomes);
  CHECK_FALSE(b.schedule.output(c, proto::encode_output(id, 1, "forged"), out));  // not its task
  CHECK_FALSE(b.schedule.output(a, proto::encode_output(id + 1, 1, "x"), out));   // no such task
  CHECK(out.size() == 1);
  // Once it is answered, later output is foreign.
  b.finish(a, id);
  CHECK_FALSE(b.schedule.output(a, proto::encode_output(id, 2, "late"), out));
}

TEST_CASE("a task that fails runs again on a daemon it has not failed on", "[schedule]") {
  constexpr auto kError = Result::Kind::kError;
  SECTION("another daemon takes it, even one busy for a while") {
    Bench b(prefetch(1));
    Worker& a = b.join();
    Worker& c = b.join();
    std::uint64_t flaky = b.submit_rerun(3);
    std::uint64_t other = b.submit();
    std::uint64_t later = b.submit();
    CHECK(b.daemons.take() ==
          Lines{"1:task " + std::to_string(flaky), "2:task " + std::to_string(other)});
    b.finish(a, flaky, 100us, 0, kError);
    // Not back to daemon 1: it waits for daemon 2, and the task behind it goes first.
    CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(later)});
    CHECK(b.outcomes->got.empty());
    b.finish(c, other);
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(flaky)});
    b.finish(c, flaky);  // succeeds there: that is its result
    REQUIRE(b.outcomes->got.size() == 2);
    CHECK(b.outcomes->got[1].id == flaky);
    CHECK(b.outcomes->got[1].result.kind == Result::Kind::kValue);
    CHECK(b.schedule.retried() == 1);
  }
  SECTION("failed on every daemon: they run it again, up to its attempts, then it fails") {
    Bench b(prefetch(1));
    Worker& a = b.join();
    Worker& c = b.join();
    std::uint64_t id = b.submit_rerun(3);
    CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(id)});
    b.finish(a, id, 100us, 0, kError);
    CHECK(b.daemons.take() == Lines{"2:task " + std::to_string(id)});
    b.finish(c, id, 100us, 0, kError);
    CHECK(b.daemons.take() == Lines{"1:task " + std::to_string(id)});
    b.finish(a, id, 100us, 0, kError);
    CHECK(b.daemons.take().empty());
    REQUIRE(b.outcomes->got.size() == 1);
    CHECK(b.outcomes->got[0].result.kind == kError);
    CHECK(b.schedule.retried() == 2);
  }
  SECTION("without the flag a failure is the result, retries or not") {
    Bench b(prefetch(1));
    Worker& a = b.join();
    std::uint64_t id = b.submit(Task::call("noop").with_retries(3));
    b.daemons.take();
    b.finish(a, id, 100us, 0, kError);
    CHECK(b.daemons.take().empty());
    CHECK(b.outcomes->got.size() == 1);
  }
}
