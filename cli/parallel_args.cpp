#include "cli/parallel_args.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>

namespace mirai::cli::parallel {
namespace {

bool is_marker(const std::string& w) {
  return w == ":::" || w == ":::+" || w == "::::" || w == "::::+";
}

// `text` cut at `separator`; a separator at the very end starts no record, so empty text has
// none.
Words split_records(const std::string& text, char separator) {
  Words out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Expected<Words> read_source_file(const std::string& path, const InputOptions& options) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(*options.stdin_input), {});
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) return Status::error("cannot read the argument file '" + path + "'");
    text.assign(std::istreambuf_iterator<char>(file), {});
    if (file.bad()) return Status::error("cannot read the argument file '" + path + "'");
  }
  return split_records(text, options.null ? '\0' : '\n');
}

bool safe_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("_+./-").find(c) != std::string_view::npos;
}

// What a shell does otherwise than the program of the same name (or has no program for).
const std::set<std::string_view>& shell_own_words() {
  static const std::set<std::string_view> words = {
      ".",        ":",        "[[",       "alias",  "bg",     "break",   "case",   "cd",
      "command",  "continue", "do",       "done",   "echo",   "elif",    "else",   "esac",
      "eval",     "exec",     "exit",     "export", "fc",     "fg",      "fi",     "for",
      "function", "getopts",  "hash",     "if",     "in",     "jobs",    "local",  "printf",
      "pwd",      "read",     "readonly", "return", "select", "set",     "shift",  "source",
      "then",     "time",     "times",    "trap",   "type",   "typeset", "ulimit", "umask",
      "unalias",  "unset",    "until",    "wait",   "while"};
  return words;
}

std::string basename(const std::string& v) {
  std::size_t slash = v.rfind('/');
  return slash == std::string::npos ? v : v.substr(slash + 1);
}

// parallel's {.}: the last '.' and what follows it, when no '/' or '.' follows it.
std::string no_extension(const std::string& v) {
  std::size_t dot = v.rfind('.');
  if (dot == std::string::npos || v.find('/', dot) != std::string::npos) return v;
  return v.substr(0, dot);
}

// {//}: as dirname(1) says it ('.' when there is no directory, '/' for the root).
std::string dirname(std::string v) {
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  std::size_t slash = v.rfind('/');
  if (slash == std::string::npos) return ".";
  v.resize(slash);
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  return v.empty() ? "/" : v;
}

std::string edited(const std::string& v, Replacement::Edit edit) {
  switch (edit) {
    case Replacement::Edit::kNone:
      return v;
    case Replacement::Edit::kNoExtension:
      return no_extension(v);
    case Replacement::Edit::kBasename:
      return basename(v);
    case Replacement::Edit::kDirname:
      return dirname(v);
    case Replacement::Edit::kBasenameNoExtension:
      return no_extension(basename(v));
  }
  return v;
}

std::optional<Replacement::Edit> edit_named(std::string_view s) {
  using E = Replacement::Edit;
  if (s.empty()) return E::kNone;
  if (s == ".") return E::kNoExtension;
  if (s == "/") return E::kBasename;
  if (s == "//") return E::kDirname;
  if (s == "/.") return E::kBasenameNoExtension;
  return std::nullopt;
}

// The replacement string `inside` the braces stands for, if it is one.
std::optional<Replacement> replacement_named(std::string_view inside) {
  Replacement r;
  if (inside == "#") return r.kind = Replacement::Kind::kSeq, r;
  if (inside == "%") return r.kind = Replacement::Kind::kSlot, r;
  std::size_t i = 0;
  bool negative = i < inside.size() && inside[i] == '-';
  if (negative) ++i;
  std::size_t digits = i;
  while (i < inside.size() && std::isdigit(static_cast<unsigned char>(inside[i]))) ++i;
  if (i > digits) {
    if (i - digits > 6) return std::nullopt;
    int n = std::stoi(std::string(inside.substr(digits, i - digits)));
    if (n == 0) return std::nullopt;
    r.kind = Replacement::Kind::kPosition;
    r.position = negative ? -n : n;
  } else if (negative) {
    return std::nullopt;
  }
  auto edit = edit_named(inside.substr(i));
  if (!edit) return std::nullopt;
  r.edit = *edit;
  return r;
}

// Every value of the job, in order: the records' columns one after another.
Words values_of(const Job& job) {
  Words out;
  for (const auto& record : job.records) out.insert(out.end(), record.begin(), record.end());
  return out;
}

// The text of one replacement; `quoted`: each value as one shell word.
std::string expand(const Replacement& r, const Job& job, const Words& values, bool quoted) {
  auto put = [&](const std::string& v) { return quoted ? quote(v) : v; };
  switch (r.kind) {
    case Replacement::Kind::kSeq:
      return std::to_string(job.seq);
    case Replacement::Kind::kSlot:
      return job.slot;
    case Replacement::Kind::kPosition: {
      const Record& columns = job.records.size() == 1 ? job.records.front() : values;
      long n = columns.size();
      long at = r.position > 0 ? r.position - 1 : n + r.position;
      if (at < 0 || at >= n) return "";  // as parallel: nothing, not an empty word
      return put(edited(columns[static_cast<std::size_t>(at)], r.edit));
    }
    case Replacement::Kind::kAll: {
      std::string out;
      for (const auto& v : values) {
        if (!out.empty()) out += ' ';
        out += put(edited(v, r.edit));
      }
      return out;
    }
  }
  return "";
}

bool has_all(const std::vector<Piece>& word) {
  return std::any_of(word.begin(), word.end(), [](const Piece& p) {
    auto* r = std::get_if<Replacement>(&p);
    return r && r->kind == Replacement::Kind::kAll;
  });
}

// One word of the template for `job`; with `one` set, {} stands for that value alone (-X).
std::string word_text(const std::vector<Piece>& word, const Job& job, const Words& values,
                      bool quoted, bool quote_literals, const std::string* one) {
  std::string out;
  for (const auto& piece : word) {
    if (auto* text = std::get_if<std::string>(&piece)) {
      out += quote_literals ? quote(*text) : *text;
      continue;
    }
    const auto& r = std::get<Replacement>(piece);
    if (one && r.kind == Replacement::Kind::kAll) {
      std::string v = edited(*one, r.edit);
      out += quoted ? quote(v) : v;
    } else {
      out += expand(r, job, values, quoted);
    }
  }
  return out;
}

std::string join_words(const Template& command, const Job& job, Multiple multiple, bool quoted,
                       bool quote_literals) {
  Words values = values_of(job);
  std::string out;
  auto add = [&](const std::string& w) {
    if (!out.empty()) out += ' ';
    out += w;
  };
  auto add_word = [&](const std::vector<Piece>& word) {
    if (multiple == Multiple::kContext && has_all(word)) {
      for (const auto& v : values) add(word_text(word, job, values, quoted, quote_literals, &v));
    } else {
      add(word_text(word, job, values, quoted, quote_literals, nullptr));
    }
  };
  for (const auto& word : command.words) add_word(word);
  if (!command.has_replacement) add_word({Replacement{}});
  return out;
}

}  // namespace

Expected<CommandLine> read_command_line(const Words& words, const InputOptions& options) {
  CommandLine line;
  for (const auto& path : options.arg_files) {
    auto values = read_source_file(path, options);
    if (!values) return values.status();
    line.sources.push_back({std::move(*values), false});
  }
  std::size_t i = 0;
  for (; i < words.size() && !is_marker(words[i]); ++i) line.command.push_back(words[i]);
  while (i < words.size()) {
    const std::string marker = words[i++];
    bool linked = marker.back() == '+';
    bool files = marker.rfind("::::", 0) == 0;
    std::size_t start = i;
    while (i < words.size() && !is_marker(words[i])) ++i;
    if (files) {
      if (i == start) return Status::error("'" + marker + "' needs a file to read arguments from");
      for (std::size_t k = start; k < i; ++k) {
        auto values = read_source_file(words[k], options);
        if (!values) return values.status();
        line.sources.push_back({std::move(*values), linked});
      }
    } else {
      Source source{{}, linked};
      for (std::size_t k = start; k < i; ++k) {
        // parallel reads ::: values as records too: a newline inside one starts the next.
        Words parts = options.null ? Words{words[k]} : split_records(words[k], '\n');
        if (parts.empty()) parts.emplace_back();
        source.values.insert(source.values.end(), parts.begin(), parts.end());
      }
      line.sources.push_back(std::move(source));
    }
  }
  if (line.sources.empty()) {
    auto values = read_source_file("-", options);
    if (!values) return values.status();
    line.sources.push_back({std::move(*values), false});
  }
  return line;
}

Expected<std::vector<Record>> combine(const std::vector<Source>& sources,
                                      const std::string& colsep) {
  std::optional<std::regex> separator;
  if (!colsep.empty()) {
    try {
      separator.emplace(colsep, std::regex::extended);
    } catch (const std::regex_error& e) {
      return Status::error("--colsep: '" + colsep + "' is not a regular expression (" + e.what() +
                           ")");
    }
  }
  auto columns = [&](const std::string& value) -> Record {
    if (!separator) return {value};
    Record out;
    std::sregex_token_iterator it(value.begin(), value.end(), *separator, -1), end;
    for (; it != end; ++it) out.push_back(*it);
    if (out.empty()) out.emplace_back();
    return out;
  };
  // Linked sources first become one table with the source before them.
  std::vector<std::vector<Record>> tables;
  for (const auto& source : sources) {
    std::vector<Record> rows;
    rows.reserve(source.values.size());
    for (const auto& v : source.values) rows.push_back(columns(v));
    if (source.linked && !tables.empty()) {
      auto& table = tables.back();
      table.resize(std::min(table.size(), rows.size()));
      for (std::size_t k = 0; k < table.size(); ++k)
        table[k].insert(table[k].end(), rows[k].begin(), rows[k].end());
    } else {
      tables.push_back(std::move(rows));
    }
  }
  std::vector<Record> product{Record{}};
  for (const auto& table : tables) {
    std::vector<Record> next;
    next.reserve(product.size() * table.size());
    for (const auto& left : product)
      for (const auto& row : table) {
        Record r = left;
        r.insert(r.end(), row.begin(), row.end());
        next.push_back(std::move(r));
      }
    product = std::move(next);
  }
  return product;
}

std::vector<std::vector<Record>> group(std::vector<Record> records, Multiple multiple, int max_args,
                                       int jobs) {
  std::size_t per = static_cast<std::size_t>(std::max(1, max_args));
  // A command line well inside what exec() takes, as parallel keeps -X and -m lines short.
  constexpr std::size_t kMaxLine = 100'000;
  if (multiple != Multiple::kNo) {
    std::size_t slots = static_cast<std::size_t>(std::max(1, jobs));
    per = std::max<std::size_t>(1, (records.size() + slots - 1) / slots);
  }
  std::vector<std::vector<Record>> out;
  std::size_t length = 0;
  for (auto& record : records) {
    std::size_t size = 0;
    for (const auto& c : record) size += c.size() + 3;
    if (out.empty() || out.back().size() >= per ||
        (multiple != Multiple::kNo && length + size > kMaxLine)) {
      out.emplace_back();
      length = 0;
    }
    length += size;
    out.back().push_back(std::move(record));
  }
  return out;
}

Template parse_template(const Words& command) {
  Template t;
  for (const auto& word : command) {
    std::vector<Piece> pieces;
    std::string text;
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (word[i] == '{') {
        std::size_t close = word.find('}', i + 1);
        std::optional<Replacement> r;
        if (close != std::string::npos) {
          std::string_view inside(word.data() + i + 1, close - i - 1);
          if (inside.find('{') == std::string_view::npos) r = replacement_named(inside);
        }
        if (r) {
          if (!text.empty()) pieces.emplace_back(std::move(text));
          text.clear();
          t.has_replacement = true;
          pieces.emplace_back(*r);
          i = close;
          continue;
        }
      }
      text += word[i];
    }
    if (!text.empty()) pieces.emplace_back(std::move(text));
    t.words.push_back(std::move(pieces));
  }
  return t;
}

std::string compose(const Template& command, const Job& job, const ComposeOptions& options) {
  return join_words(command, job, options.multiple, true, options.quote_command);
}

std::string expand_plain(const Template& text, const Job& job) {
  Words values = values_of(job);
  std::string out;
  for (const auto& word : text.words) {
    if (!out.empty()) out += ' ';
    out += word_text(word, job, values, false, false, nullptr);
  }
  return out;
}

std::string quote(const std::string& value) {
  if (!value.empty() && std::all_of(value.begin(), value.end(), safe_char)) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\"'\"'";
    else
      out += c;
  }
  out += '\'';
  // parallel drops the empty '' that a leading or trailing quote leaves.
  if (out.size() > 2 && out.compare(0, 2, "''") == 0) out.erase(0, 2);
  if (out.size() > 2 && out.compare(out.size() - 2, 2, "''") == 0) out.resize(out.size() - 2);
  return out;
}

std::optional<Words> simple_command(const std::string& line) {
  Words words;
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    std::string word;
    bool plain = true;  // no quoted part: its text is what the shell would look up
    while (i < n && line[i] != ' ' && line[i] != '\t') {
      char c = line[i];
      if (c == '\'') {
        std::size_t end = line.find('\'', i + 1);
        if (end == std::string::npos) return std::nullopt;
        word.append(line, i + 1, end - i - 1);
        i = end + 1;
        plain = false;
      } else if (c == '"' && line.compare(i, 3, "\"'\"") == 0) {
        word += '\'';
        i += 3;
        plain = false;
      } else if (safe_char(c) || c == '=' || c == ':' || c == ',' || c == '@' || c == '%') {
        word += c;
        ++i;
      } else {
        return std::nullopt;
      }
    }
    if (words.empty()) {
      // A leading NAME=value is an assignment; a shell's own word acts otherwise than exec.
      if (word.find('=') != std::string::npos) return std::nullopt;
      if (plain && shell_own_words().count(word)) return std::nullopt;
      if (word.empty()) return std::nullopt;
    }
    words.push_back(std::move(word));
  }
  if (words.empty()) return std::nullopt;
  return words;
}

Expected<int> parse_jobs(const std::string& text, int cores, int unlimited) {
  auto bad = [&] {
    return Status::error("-j/--jobs: '" + text +
                         "' is not a number of daemons (write N, +N, -N, N% of the cores, or 0 for "
                         "one a task)");
  };
  if (text.empty()) return bad();
  std::string digits = text;
  char sign = 0;
  bool percent = false;
  if (digits.front() == '+' || digits.front() == '-') {
    sign = digits.front();
    digits.erase(0, 1);
  }
  if (!digits.empty() && digits.back() == '%') {
    percent = true;
    digits.pop_back();
  }
  if (digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(c); }))
    return bad();
  if (sign && percent) return bad();
  long n = std::stol(digits);
  long jobs = n;
  if (sign == '+') jobs = cores + n;
  if (sign == '-') jobs = cores - n;
  if (percent) jobs = cores * n / 100;
  if (!sign && !percent && n == 0) jobs = unlimited;
  return static_cast<int>(std::max(1L, jobs));
}

}  // namespace mirai::cli::parallel
