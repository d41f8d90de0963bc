// The ssh options a mirai.yaml may set (`ssh: options`): an allow-list of options that run and
// load nothing on this machine, read as ssh reads an -o argument.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launcher/config.hpp"

namespace mirai::launcher {

// `text` as ssh reads an -o option ("Name=value", "Name value", with blanks around either),
// rewritten as CanonicalName=value when the name is allowed; else nullopt and the problem.
std::optional<std::string> ssh_option(const std::string& text, std::string& problem);

// The ssh command line up to and including the host (the remote command follows it), from a
// profile's ssh settings (the ssh launcher's hosts, a scheduler's login node). `forward` is the
// -R argument, or "" for none; `extra` goes before the user's options (-M, -S for a login node).
std::vector<std::string> ssh_argv(const SshSettings& ssh, const SshHost& host,
                                  const std::string& forward,
                                  const std::vector<std::string>& extra = {});

}  // namespace mirai::launcher
