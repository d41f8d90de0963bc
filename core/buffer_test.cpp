#include "core/buffer.hpp"

#include <catch2/catch.hpp>

using namespace mirai;

namespace {
std::string filled(std::size_t n, char c) { return std::string(n, c); }
}  // namespace

TEST_CASE("large buffers given back are used again, pages and all", "[buffer]") {
  std::string a = filled(3 << 20, 'a');
  const char* where = a.data();
  give_bulk(std::move(a));
  // The pooled buffer serves a smaller request; its bytes are whatever it held.
  std::string b = take_bulk(2 << 20);
  CHECK(b.data() == where);
  CHECK(b.size() == std::size_t{2 << 20});
  // Nothing pooled fits now: a fresh buffer of the size asked for.
  std::string c = take_bulk(2 << 20);
  CHECK(c.data() != where);
  CHECK(c.size() == std::size_t{2 << 20});

  // A shared frame's buffer comes back when its last owner lets go.
  auto frame = share_bulk(filled(4 << 20, 'f'));
  auto copy = frame;
  where = frame->data();
  frame.reset();
  std::string d;
  reserve_bulk(d, 4 << 20);  // nothing pooled yet: the frame is still owned
  CHECK(d.data() != where);
  copy.reset();
  std::string e;
  reserve_bulk(e, 4 << 20);
  CHECK(e.data() == where);
  CHECK(e.empty());  // reserved: the pooled bytes are not its contents
}

TEST_CASE("the pool keeps the two largest buffers and no small ones", "[buffer]") {
  std::string small = filled(1000, 's'), two = filled(2 << 20, '2'), three = filled(3 << 20, '3'),
              four = filled(4 << 20, '4');
  const char* at3 = three.data();
  const char* at4 = four.data();
  give_bulk(std::move(small));
  give_bulk(std::move(two));
  give_bulk(std::move(three));
  give_bulk(std::move(four));
  // 2 MiB was dropped: the smallest that holds 2 MiB is now the 3 MiB one.
  CHECK(take_bulk(2 << 20).data() == at3);
  CHECK(take_bulk(2 << 20).data() == at4);
}
