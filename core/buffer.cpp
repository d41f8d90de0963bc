#include "core/buffer.hpp"

#include <sys/mman.h>

#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL, which is fine
#endif

namespace mirai {
namespace {

constexpr std::uintptr_t kPage = 4096;
constexpr std::uintptr_t kHugePage = 2 << 20;

// The part of [begin, end) that starts and ends on multiples of `align`.
bool inner_range(std::uintptr_t begin, std::uintptr_t end, std::uintptr_t align, void** start,
                 std::size_t* length) {
  std::uintptr_t b = (begin + align - 1) & ~(align - 1);
  std::uintptr_t e = end & ~(align - 1);
  if (e <= b) return false;
  *start = reinterpret_cast<void*>(b);
  *length = e - b;
  return true;
}

}  // namespace

void reserve_bulk(std::string& s, std::size_t n) {
  s.reserve(n);
  if (n < kBulkBytes) return;
  auto begin = reinterpret_cast<std::uintptr_t>(s.data());
  std::uintptr_t end = begin + s.capacity();
  void* start;
  std::size_t length;
  if (inner_range(begin, end, kHugePage, &start, &length)) madvise(start, length, MADV_HUGEPAGE);
  if (inner_range(begin, end, kPage, &start, &length)) madvise(start, length, MADV_POPULATE_WRITE);
}

}  // namespace mirai
