#include "core/buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels answer EINVAL, which is fine
#endif

namespace mirai {
namespace {

constexpr std::uintptr_t kPage = 4096;
constexpr std::uintptr_t kHugePage = 2 << 20;
constexpr std::size_t kPooled = 2;

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

// Applies `advice` to the whole pages of s's buffer (its capacity, not only its size).
void advise(const std::string& s, std::uintptr_t align, int advice) {
  auto begin = reinterpret_cast<std::uintptr_t>(s.data());
  void* start;
  std::size_t length;
  if (inner_range(begin, begin + s.capacity(), align, &start, &length))
    madvise(start, length, advice);
}

class Pool {
 public:
  static Pool& get() {
    static Pool* p = new Pool;  // never destroyed: threads may give buffers back at exit
    return *p;
  }
  // The smallest pooled buffer that holds `n` bytes, or an empty string.
  std::string take(std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    auto best = buffers_.end();
    for (auto it = buffers_.begin(); it != buffers_.end(); ++it)
      if (it->capacity() >= n && (best == buffers_.end() || it->capacity() < best->capacity()))
        best = it;
    if (best == buffers_.end()) return std::string();
    std::string s = std::move(*best);
    buffers_.erase(best);
    return s;
  }
  void give(std::string&& s) {
    // Its pages stay until the kernel needs them; written again, they are this buffer's again.
    advise(s, kPage, MADV_FREE);
    std::lock_guard<std::mutex> lock(mu_);
    buffers_.push_back(std::move(s));
    if (buffers_.size() <= kPooled) return;
    auto smallest = std::min_element(buffers_.begin(), buffers_.end(),
                                     [](auto& a, auto& b) { return a.capacity() < b.capacity(); });
    std::string dropped = std::move(*smallest);
    buffers_.erase(smallest);
    // freed here, under the lock: a munmap, and the pool is rarely contended
  }

 private:
  std::mutex mu_;
  std::vector<std::string> buffers_;  // GUARDED_BY(mu_)
};

// Sets s's size to `n`; bytes past the old size are left as they are (the pages a populate
// zeroed, or a pooled buffer's old bytes), not written once more.
void set_size(std::string& s, std::size_t n) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  if (n > s.size()) return s.resize_and_overwrite(n, [](char*, std::size_t k) { return k; });
#endif
  s.resize(n);
}

// A fresh buffer of at least `n` bytes, its pages advised for huge pages and populated.
void prepare(std::string& s, std::size_t n) {
  s.reserve(n);
  advise(s, kHugePage, MADV_HUGEPAGE);
  advise(s, kPage, MADV_POPULATE_WRITE);
}

}  // namespace

void reserve_bulk(std::string& s, std::size_t n) {
  if (n < kBulkBytes || s.capacity() >= n) return s.reserve(n);
  if (s.empty()) {
    std::string pooled = Pool::get().take(n);
    if (pooled.capacity() >= n) {
      pooled.clear();
      s.swap(pooled);
      return;
    }
  }
  prepare(s, n);
}

std::string take_bulk(std::size_t n) {
  std::string s;
  if (n >= kBulkBytes) {
    s = Pool::get().take(n);
    if (s.capacity() < n) prepare(s, n);
  }
  set_size(s, n);
  return s;
}

void give_bulk(std::string&& s) {
  if (s.capacity() < kBulkBytes) return std::string().swap(s);
  Pool::get().give(std::move(s));
}

std::shared_ptr<const std::string> share_bulk(std::string s) {
  if (s.capacity() < kBulkBytes) return std::make_shared<const std::string>(std::move(s));
  return std::shared_ptr<const std::string>(new std::string(std::move(s)), [](std::string* p) {
    give_bulk(std::move(*p));
    delete p;
  });
}

}  // namespace mirai
