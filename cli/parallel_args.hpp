// GNU parallel's command line as `mirai map` reads it: the input sources (:::, :::+, ::::,
// ::::+, -a, stdin), how they combine into jobs (-n, -X, -m, --colsep), the replacement strings
// ({} {.} {/} {//} {/.} {#} {%} {n} and their combinations) and the shell rule: the command's
// words are joined as the user wrote them and every replacement is quoted for the shell, so an
// argument is always data. Nothing here runs a process.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include "mirai/status.hpp"

namespace mirai::cli::parallel {

using Words = std::vector<std::string>;
// One input record: its columns, in source order (with --colsep, each source's value split).
using Record = std::vector<std::string>;

// Where the arguments come from and how they are cut.
struct InputOptions {
  Words arg_files;            // -a FILE (repeatable): each a source, before those after :::
  bool null = false;          // -0: records end in NUL, else in newline
  std::string colsep;         // --colsep REGEX: split each record into columns
  std::istream* stdin_input;  // read when no source is given
};

// An input source: its values, and whether it is linked to the one before it (:::+, ::::+).
struct Source {
  Words values;
  bool linked = false;
};

// The command's words and its sources, read from `words` (what follows the options) and the
// files they name. An error names the file it could not read or the marker with nothing after.
struct CommandLine {
  Words command;
  std::vector<Source> sources;
};
Expected<CommandLine> read_command_line(const Words& words, const InputOptions& options);

// Every record of the sources: the cartesian product of the unlinked sources, the first varying
// slowest, each linked source paired element by element with the one before it (the shorter
// decides). A bad --colsep is an error.
Expected<std::vector<Record>> combine(const std::vector<Source>& sources,
                                      const std::string& colsep);

// How records are grouped into jobs.
enum class Multiple {
  kNo,       // -n N (default 1): up to N records a job
  kContext,  // -X: as many as fit, the word around a replacement repeated for each
  kInline,   // -m: as many as fit, the values side by side inside the word
};

// The records cut into jobs: -n N records each, or with -X / -m spread evenly over `jobs`
// slots (as parallel does when they all fit on one command line).
std::vector<std::vector<Record>> group(std::vector<Record> records, Multiple multiple, int max_args,
                                       int jobs);

// A replacement string found in a command word.
struct Replacement {
  enum class Kind { kAll, kSeq, kSlot, kPosition } kind = Kind::kAll;
  int position = 0;  // kPosition: 1-based; negative counts from the last
  enum class Edit { kNone, kNoExtension, kBasename, kDirname, kBasenameNoExtension };
  Edit edit = Edit::kNone;
};
using Piece = std::variant<std::string, Replacement>;

// The command as pieces of text and replacements, word by word.
struct Template {
  std::vector<std::vector<Piece>> words;
  // Whether any word holds a replacement string ({#} and {%} too): without one the arguments
  // are appended, as {}.
  bool has_replacement = false;
};
Template parse_template(const Words& command);

// One job, ready to be written out.
struct Job {
  std::vector<Record> records;
  std::uint64_t seq = 0;  // {#}: 1-based, in input order
  // The shell text put for {%}: the slot's number for --dry-run, else a reference to the
  // variable the daemon sets.
  std::string slot;
};

struct ComposeOptions {
  Multiple multiple = Multiple::kNo;
  bool quote_command = false;  // -q: the command's own words are quoted too
};

// The shell line for `job`: the template's words joined by spaces, every replacement quoted as
// one shell word (parallel's quoting, byte for byte).
std::string compose(const Template& command, const Job& job, const ComposeOptions& options);

// The text for a --tagstring or a --results path element: replacements unquoted.
std::string expand_plain(const Template& text, const Job& job);

// `value` quoted for a POSIX shell exactly as GNU parallel quotes it: unchanged when it holds
// only letters, digits and _ + . / -, else in single quotes with each ' as '"'"'.
std::string quote(const std::string& value);

// The words of `line` when it is a simple command that the shell would run as an exec of those
// words, without expansion: plain words and quoted ones only, no shell syntax, no variable
// assignment, not a builtin whose behaviour differs from its program (echo, printf, cd, ...).
// nullopt: it needs a shell.
std::optional<Words> simple_command(const std::string& line);

// -j / --jobs: "N", "+N", "-N", "N%" of `cores`, "0" (as many as `unlimited`). Never below 1.
Expected<int> parse_jobs(const std::string& text, int cores, int unlimited);

}  // namespace mirai::cli::parallel
