// Writing files that hold a secret, a URL or a record, where others may share the directory.
#pragma once

#include <sys/types.h>

#include <string>

#include "mirai/status.hpp"

namespace mirai {

// Writes `text` to `path` with `mode`, replacing it in one step: a new file of a random name in
// the same directory, created exclusively and never through a symlink (O_EXCL|O_NOFOLLOW), is
// written, checked (every write, the mode and the close) and renamed over `path`, which is
// replaced even when it is a symlink. Fails, naming the path and why (a full disk), and then
// leaves nothing behind.
Status write_file_atomically(const std::string& path, const std::string& text, mode_t mode = 0600);

// Makes `dir` (mode 0700) when it is missing, and checks that it is a directory of this user
// that no one else may enter: where secrets and sockets go. Fails saying what to do.
Status make_private_directory(const std::string& dir);

// The working directory, absolute; "." when it cannot be read.
std::string working_directory();

}  // namespace mirai
