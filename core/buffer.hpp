// Large buffers. A page of fresh memory costs a fault on first touch, and on virtual machines a
// fault is expensive (about 10 us here, so 250 ms for 100 MB). Buffers for large frames and
// payloads are therefore asked for in bulk: huge pages where the kernel offers them, and the
// pages filled in one system call before they are written.
#pragma once

#include <cstddef>
#include <string>

namespace mirai {

// Buffers from this size on are prepared in bulk.
inline constexpr std::size_t kBulkBytes = 1 << 20;

// Reserves room for `n` bytes in `s`; from kBulkBytes on, also prepares the pages as above.
// Best effort: on kernels without these advices it is a plain reserve.
void reserve_bulk(std::string& s, std::size_t n);

}  // namespace mirai
