// Large buffers. A page of fresh memory costs a fault on first touch, and on virtual machines a
// fault is expensive (about 10 us here, so 250 ms for 100 MB). Buffers for large frames and
// payloads are therefore asked for in bulk: huge pages where the kernel offers them, and the
// pages filled in one system call before they are written. And they are used again: a large
// frame that was written, a payload that was evaluated, goes back to a small pool that the
// next large frame or payload takes its buffer from, pages and all.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace mirai {

// Buffers from this size on are prepared in bulk and pooled.
inline constexpr std::size_t kBulkBytes = 1 << 20;

// Reserves room for `n` bytes in `s`; from kBulkBytes on, an empty `s` gets a pooled buffer
// when one is large enough, and a fresh one is prepared as above. Best effort: on kernels
// without these advices it is a plain reserve.
void reserve_bulk(std::string& s, std::size_t n);

// A string of `n` bytes whose contents are unspecified (the caller overwrites them all): from
// kBulkBytes on, a pooled buffer when one is large enough, so that neither a page fault nor
// the zeroing of a resize is paid again.
std::string take_bulk(std::size_t n);

// Gives a buffer that is no longer needed to the pool (one of kBulkBytes or more; smaller ones
// are freed). The pool keeps the two largest; the kernel may take their pages back under
// memory pressure meanwhile (MADV_FREE), so that a process that once moved 1 GB does not keep
// it from others.
void give_bulk(std::string&& s);

// A frame shared by its senders whose buffer goes to give_bulk when the last of them lets go.
std::shared_ptr<const std::string> share_bulk(std::string s);

}  // namespace mirai
