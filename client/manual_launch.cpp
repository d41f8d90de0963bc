// Profile::manual_launch: the command for a daemon started by hand, with its secret in a file.

#include <cctype>

#include "client/profile_core.hpp"
#include "core/file.hpp"
#include "core/shell_words.hpp"
#include "daemon/command_line.hpp"
#include "mirai/profile.hpp"

namespace mirai {
namespace {

// The URL as a file name: `tcp://10.0.0.1:5555` gives `tcp-10.0.0.1-5555`, so that profiles
// sharing a directory do not share files.
std::string file_stem(const std::string& url) {
  std::string out;
  for (char c : url) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
    if (keep)
      out += c;
    else if (out.empty() || out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "daemon" : out;
}

}  // namespace

std::string ManualLaunch::command_line() const { return shell_join(argv); }

Expected<ManualLaunch> Profile::manual_launch(const std::string& dir) const {
  if (!core_)
    return Status::error(sync_ ? "a synchronous profile runs tasks in this process: it has no "
                                 "daemons to start"
                               : "no daemons are set for this profile: call set_daemons first");
  if (dir.empty()) return Status::error("manual_launch needs a directory for the secret's file");
  if (Status s = make_private_directory(dir); !s) return s;
  const DaemonsConfig& config = core_->config();
  DaemonCommand command;
  command.program = config.daemon_command.empty() ? "mirai" : config.daemon_command;
  command.url = core_->url();
  command.limits = config.limits;
  command.heartbeat = config.heartbeat;
  ManualLaunch out;
  out.argv = daemon_argv(command);
  const std::string stem = dir + "/" + file_stem(command.url);
  out.secret_file = stem + ".secret";
  if (Status s = write_file_atomically(out.secret_file, core_->secret() + "\n", 0600); !s) return s;
  out.argv.insert(out.argv.end(), {"--secret-file", out.secret_file});
  if (const std::string& ca = core_->tls_certificate(); !ca.empty()) {
    out.certificate_file = stem + ".pem";
    if (Status s = write_file_atomically(out.certificate_file, ca, 0600); !s) return s;
    out.argv.insert(out.argv.end(), {"--tls-ca", out.certificate_file});
  }
  return out;
}

}  // namespace mirai
