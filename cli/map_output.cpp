#include "cli/map_output.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace mirai::cli {

std::string results_path(const std::string& dir, const parallel::Job& job) {
  std::string path = dir;
  const parallel::Record& first = job.records.front();
  for (std::size_t k = 0; k < first.size(); ++k) {
    std::string v;
    for (char c : first[k]) v += c == '\\' ? "\\\\" : c == '/' ? "\\_" : std::string(1, c);
    if (v == "." || v == "..") v = "\\" + v;
    path += "/" + std::to_string(k + 1) + (v.empty() ? "" : "/" + v);
  }
  return path;
}

Status write_results(const std::string& path, std::uint64_t seq, const Result& r) {
  std::string at;
  for (std::size_t slash = 0; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    at = path.substr(0, slash);
    if (mkdir(at.c_str(), 0777) != 0 && errno != EEXIST)
      return Status::error("--results: cannot make '" + at + "': " + std::strerror(errno));
  }
  for (auto [name, text] : {std::pair<const char*, std::string>{"stdout", r.value},
                            {"stderr", r.stderr_output},
                            {"seq", std::to_string(seq) + "\n"}}) {
    std::ofstream out(path + "/" + name, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return Status::error("--results: cannot write '" + path + "/" + name + "'");
  }
  return {};
}

std::string tagged(const std::string& text, const std::string& tag) {
  if (tag.empty() || text.empty()) return text;
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out += tag;
    out.append(text, start, end - start);
    start = end;
  }
  return out;
}

}  // namespace mirai::cli
