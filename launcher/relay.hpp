// The relay on a cluster's login node (`mirai relay`), for a dispatcher on a laptop that the
// compute nodes cannot reach (docs/guide.md, "From your laptop").
//
// The laptop starts it over ssh and talks to it on its stdin and stdout, one JSON object a
// line. The relay listens where the daemons can dial it (the profile's url, resolved on the
// login node), and carries the bytes of each daemon connection, unread, to a unix socket in a
// directory only this user may enter, which ssh forwards to the laptop's dispatcher: the
// frames are sealed (or TLS) from daemon to dispatcher, and the relay holds no key. It runs the
// scheduler's commands the laptop sends it (argv, never a shell), and when the laptop goes (its
// stdin ends, or no heartbeat for 3 intervals) it runs the commands the laptop left for that
// (cancelling the run's jobs), removes its directory and exits.
//
// relay -> laptop:  {"op":"ready","url":U,"socket":PATH,"home":H,"host":N,"pid":P}
//                   {"op":"ran","id":I,"exit":E,"out":HEX,"err":HEX} or
//                   {"op":"ran","id":I,"error":M}
//                   {"op":"failed","message":M}  (instead of ready: nothing listens)
// laptop -> relay:  {"op":"heartbeat"}  {"op":"bye"}
//                   {"op":"run","id":I,"argv":[...],"input":HEX,"timeout_ms":T}
//                   {"op":"on_exit","argv":[...]}  (run when the laptop goes, in order)
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace mirai::launcher {

struct RelayOptions {
  std::string listen;  // a url template: tcp://HOST:PORT, HOST may be {interface:X}/{hostname}
  // The laptop sends a line at least this often; after 3 intervals without one the relay takes
  // it as gone. 0: only the end of stdin says so.
  std::chrono::milliseconds heartbeat{5000};
  std::string parent_dir;  // where its private directory goes; empty: $TMPDIR, else /tmp
};

// Serves one laptop on `in_fd` and `out_fd` until it goes; the exit code (0 after the laptop
// went, 1 when it could not start: the reason was sent as "failed").
int run_relay(const RelayOptions& options, int in_fd, int out_fd);

// Bytes as lowercase hex, and back (false for anything that is not hex).
std::string to_hex(std::string_view bytes);
bool from_hex(std::string_view hex, std::string& bytes);

}  // namespace mirai::launcher
