#include "launcher/ssh_options.hpp"

#include <cctype>
#include <map>

namespace mirai::launcher {
namespace {

// The ssh options mirai.yaml may set, by their lower-case names: none of them runs a command
// or loads code on this machine (ProxyCommand, LocalCommand, KnownHostsCommand, Match exec,
// Include, PKCS11Provider, SecurityKeyProvider ... belong in an ssh config file of your own).
const std::map<std::string, std::string> kSshOptions = {
    {"addressfamily", "AddressFamily"},
    {"batchmode", "BatchMode"},
    {"bindaddress", "BindAddress"},
    {"certificatefile", "CertificateFile"},
    {"checkhostip", "CheckHostIP"},
    {"ciphers", "Ciphers"},
    {"compression", "Compression"},
    {"connectionattempts", "ConnectionAttempts"},
    {"connecttimeout", "ConnectTimeout"},
    {"controlmaster", "ControlMaster"},
    {"controlpath", "ControlPath"},
    {"controlpersist", "ControlPersist"},
    {"gssapiauthentication", "GSSAPIAuthentication"},
    {"gssapidelegatecredentials", "GSSAPIDelegateCredentials"},
    {"hostkeyalgorithms", "HostKeyAlgorithms"},
    {"hostkeyalias", "HostKeyAlias"},
    {"hostname", "HostName"},
    {"identitiesonly", "IdentitiesOnly"},
    {"identityagent", "IdentityAgent"},
    {"identityfile", "IdentityFile"},
    {"ipqos", "IPQoS"},
    {"kexalgorithms", "KexAlgorithms"},
    {"loglevel", "LogLevel"},
    {"macs", "MACs"},
    {"port", "Port"},
    {"preferredauthentications", "PreferredAuthentications"},
    {"proxyjump", "ProxyJump"},
    {"pubkeyacceptedalgorithms", "PubkeyAcceptedAlgorithms"},
    {"pubkeyacceptedkeytypes", "PubkeyAcceptedKeyTypes"},
    {"pubkeyauthentication", "PubkeyAuthentication"},
    {"rekeylimit", "RekeyLimit"},
    {"serveraliveinterval", "ServerAliveInterval"},
    {"serveralivecountmax", "ServerAliveCountMax"},
    {"stricthostkeychecking", "StrictHostKeyChecking"},
    {"tcpkeepalive", "TCPKeepAlive"},
    {"updatehostkeys", "UpdateHostKeys"},
    {"user", "User"},
    {"userknownhostsfile", "UserKnownHostsFile"},
    {"verifyhostkeydns", "VerifyHostKeyDNS"},
};

}  // namespace

std::optional<std::string> ssh_option(const std::string& text, std::string& problem) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      return problem = "it holds a control character (a newline?)", std::nullopt;
  std::size_t i = 0;
  while (i < text.size() && blank(text[i])) ++i;
  std::size_t name_end = i;
  while (name_end < text.size() && !blank(text[name_end]) && text[name_end] != '=') ++name_end;
  std::string name = text.substr(i, name_end - i);
  std::size_t v = name_end;
  while (v < text.size() && blank(text[v])) ++v;
  if (v < text.size() && text[v] == '=') ++v;
  while (v < text.size() && blank(text[v])) ++v;
  std::string value = text.substr(v);
  while (!value.empty() && blank(value.back())) value.pop_back();
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto known = kSshOptions.find(lower);
  if (name.empty() || value.empty()) return problem = "it must look like Name=value", std::nullopt;
  if (known == kSshOptions.end())
    return problem = "'" + name + "' is not an ssh option mirai.yaml may set", std::nullopt;
  return known->second + "=" + value;
}

std::vector<std::string> ssh_argv(const SshSettings& ssh, const SshHost& host,
                                  const std::string& forward,
                                  const std::vector<std::string>& extra) {
  // ssh takes the first value it gets for an option: what must hold comes first, the user's
  // options next, then defaults they may override.
  std::vector<std::string> a = {
      "ssh", "-T",
      "-o",  "BatchMode=yes",
      "-o",  "ExitOnForwardFailure=yes",
      "-o",  "ConnectTimeout=" + std::to_string(ssh.connect_timeout.count() / 1000)};
  // ssh says which port sshd chose for a forward (`-R 127.0.0.1:0:...`) only at level INFO.
  if (forward.rfind("127.0.0.1:0:", 0) == 0) a.insert(a.end(), {"-o", "LogLevel=INFO"});
  a.insert(a.end(), extra.begin(), extra.end());
  if (!ssh.config_file.empty()) a.insert(a.end(), {"-F", ssh.config_file});
  if (!ssh.identity_file.empty()) a.insert(a.end(), {"-i", ssh.identity_file});
  for (const auto& o : ssh.options) a.insert(a.end(), {"-o", o});
  a.insert(a.end(),
           {"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-o", "LogLevel=ERROR"});
  if (host.port) a.insert(a.end(), {"-p", std::to_string(host.port)});
  if (!host.user.empty()) a.insert(a.end(), {"-l", host.user});
  if (!forward.empty()) a.insert(a.end(), {"-R", forward});
  a.insert(a.end(), {"--", host.host});
  return a;
}

}  // namespace mirai::launcher
