#include "core/file.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/support/support.hpp"

using namespace mirai;

namespace {

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("a private file replaces a planted symlink instead of writing through it", "[file]") {
  test::TempDir dir;
  std::string victim = dir.file("victim"), path = dir.file("secret");
  std::ofstream(victim) << "untouched\n";
  REQUIRE(symlink(victim.c_str(), path.c_str()) == 0);
  // The fixed temporary name an earlier version used: a symlink there changes nothing either.
  REQUIRE(symlink(victim.c_str(), (path + ".tmp" + std::to_string(getpid())).c_str()) == 0);
  REQUIRE(write_file_atomically(path, "s3cret\n"));
  CHECK(test::read_file(victim) == "untouched\n");
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(test::read_file(path) == "s3cret\n");
  REQUIRE(write_file_atomically(dir.file("script.sh"), "#!/bin/sh\n", 0700));
  REQUIRE(stat(dir.file("script.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("a full disk is an error that names the file, and leaves nothing behind", "[file]") {
  test::TempDir dir;
  test::SmallDisk disk(dir, "64k");
  const std::string& mnt = disk.path();
  std::string path = mnt + "/job_ids";
  Status s = write_file_atomically(path, std::string(1 << 20, 'x'));
  CHECK_FALSE(s);
  CHECK(s.message() == "cannot write " + path + ": No space left on device");
  CHECK(names_in(mnt).empty());
  CHECK(write_file_atomically(path, "12\n"));  // room for a small one
  CHECK(names_in(mnt) == std::vector<std::string>{"job_ids"});
}
