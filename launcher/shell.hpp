// The two rules that keep configuration values out of the shell: quote what goes on a shell line,
// and check what goes into a directive line or a command argument.
#pragma once

#include <string>

#include "core/shell_words.hpp"  // shell_quote, shell_join

namespace mirai::launcher {

using mirai::shell_join;
using mirai::shell_quote;

// Why `value` cannot stand in a scheduler directive line such as `#SBATCH --partition=VALUE`,
// or "" when it can. Directive lines are read by the scheduler, which splits them at spaces and
// honours quotes, so a value must be one printable word without quotes, backslashes, '$' or '`'.
std::string directive_problem(const std::string& value);

// Why `value` cannot be a name (partition, queue, account, host, user), or "" when it can:
// letters, digits and . _ - + @ : , = % / only, and no leading '-' (it would read as an option).
std::string name_problem(const std::string& value);

// Why `name` is not a valid environment variable name, or "" when it is.
std::string env_name_problem(const std::string& name);

}  // namespace mirai::launcher
