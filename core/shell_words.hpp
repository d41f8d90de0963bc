// Words for a POSIX shell line: what keeps a value one word, whatever it holds.
#pragma once

#include <string>
#include <vector>

namespace mirai {

// `value` as one sh word: unchanged when it holds only safe characters, else in single quotes
// (a quote inside becomes '\'').
std::string shell_quote(const std::string& value);
// The words quoted and joined with spaces.
std::string shell_join(const std::vector<std::string>& words);

}  // namespace mirai
