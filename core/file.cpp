#include "core/file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace mirai {
namespace {

// 16 random hex digits.
std::string random_suffix() {
  unsigned char bytes[8] = {0};
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // No entropy source: O_EXCL still keeps the name from being taken over.
    std::uint64_t t =
        static_cast<std::uint64_t>(getpid()) << 32 ^ static_cast<std::uint64_t>(time(nullptr));
    std::memcpy(bytes, &t, sizeof bytes);
  }
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return hex;
}

}  // namespace

Status write_file_atomically(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp-" + random_suffix();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error("cannot write " + path + ": " + std::strerror(errno));
  auto fail = [&](int error) {
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return Status::error("cannot write " + path + ": " + std::strerror(error));
  };
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(n < 0 ? errno : ENOSPC);
    done += static_cast<std::size_t>(n);
  }
  if (fchmod(fd, mode) != 0) return fail(errno);
  int closed = close(fd);
  fd = -1;
  if (closed != 0) return fail(errno);
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail(errno);
  return {};
}

Status make_private_directory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::error("cannot create " + dir + ": " + std::strerror(errno));
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::error(dir + " is not a directory");
  if (st.st_uid != geteuid() || (st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return Status::error(dir + " belongs to another user or is open to others (mode " + mode +
                         "): make it private (chmod 700 " + dir + ") or choose another");
  }
  return Status();
}

std::string working_directory() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? buf : ".";
}

}  // namespace mirai
