// The ssh options a mirai.yaml may set (`ssh: options`): an allow-list of options that run and
// load nothing on this machine, read as ssh reads an -o argument.
#pragma once

#include <optional>
#include <string>

namespace mirai::launcher {

// `text` as ssh reads an -o option ("Name=value", "Name value", with blanks around either),
// rewritten as CanonicalName=value when the name is allowed; else nullopt and the problem.
std::optional<std::string> ssh_option(const std::string& text, std::string& problem);

}  // namespace mirai::launcher
