#include "launcher/diagnostics.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace mirai::launcher {

std::string format(const Diagnostic& d) {
  std::string s = d.file;
  if (d.line > 0) s += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  s += ": " + d.message;
  if (!d.hint.empty()) s += " (" + d.hint + ")";
  return s;
}

void Diagnostics::error(int line, int column, std::string message, std::string hint) {
  list_.push_back({file_, line, column, std::move(message), std::move(hint)});
}

void Diagnostics::warn(int line, int column, std::string message, std::string hint) {
  warnings_.push_back({file_, line, column, "warning: " + std::move(message), std::move(hint)});
}

std::string Diagnostics::summary() const {
  std::vector<const Diagnostic*> all;
  for (const auto* list : {&list_, &warnings_})
    for (const auto& d : *list) all.push_back(&d);
  std::stable_sort(all.begin(), all.end(), [](const Diagnostic* a, const Diagnostic* b) {
    return std::tie(a->line, a->column) < std::tie(b->line, b->column);
  });
  std::string s;
  for (const auto* d : all) s += format(*d) + "\n";
  return s;
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace mirai::launcher
