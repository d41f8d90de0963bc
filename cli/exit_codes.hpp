// The exit codes of every sub-command, in one place (the README's "Exit codes" table says the
// same). A cause has one code wherever it can; where a command stands in for another tool, it
// keeps that tool's codes: `mirai run` timeout(1)'s, `mirai map` GNU parallel's, `mirai daemon`
// mirai's daemon().
#pragma once

namespace mirai::cli {

inline constexpr int kExitOk = 0;
// What was asked ran and failed: `mirai config check` found a problem, a render, launch or
// status query failed. (`mirai map` exits as GNU parallel: the number of failed tasks, at most
// 101, and 255 on bad usage; cli/map_cmd.cpp.)
inline constexpr int kExitFailed = 1;
// Bad options or arguments, an unknown command.
inline constexpr int kExitUsage = 2;
// `mirai daemon`'s bad options: its 1, 2 and 3 are mirai's idletime, walltime and maxtasks ends.
inline constexpr int kExitDaemonUsage = 64;
// Could not start: `mirai dispatcher` cannot listen or write its files, `mirai daemon` cannot
// reach or authenticate the dispatcher, `mirai launch` cannot reach the running dispatcher.
inline constexpr int kExitUnavailable = 69;
// `mirai run`: the task timed out (timeout(1)'s code).
inline constexpr int kExitTimedOut = 124;
// `mirai run` and `mirai map`: mirai itself could not run the tasks (no daemon could be
// started, the task was lost or refused): timeout(1)'s "the timeout command itself failed".
inline constexpr int kExitCannotRun = 125;
// `mirai run`: the command could not be executed, or was not found (as a shell says).
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;
// `mirai map`, as GNU parallel: 1 to 100 failed tasks are counted in the status, more are 101.
inline constexpr int kExitMostFailedCounted = 101;
// `mirai map`'s bad options or arguments, or an input it cannot read (parallel's "other error").
inline constexpr int kExitMapUsage = 255;
// 128 + N: ended by signal N (130: Ctrl-C), or the task was.
inline constexpr int kExitSignalBase = 128;

}  // namespace mirai::cli
