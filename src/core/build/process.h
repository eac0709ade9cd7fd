// Running the compiler as a child process, without a shell: an argument
// vector goes to execve(2) as it is, so no option value can run a command.
// While the child runs, the caller's `poll` is called every few
// milliseconds (R checks for Ctrl-C there and may throw: the child and its
// whole process group are then killed, and the exception goes on).
//
// The child is a small guardian (a fork of this process that never returns
// to R) which runs the program in a process group of its own and reaps it.
// On Linux the guardian dies with this process (PR_SET_PDEATHSIG), killing
// the program's group first, so `kill -9` of R leaves no compiler running;
// it is also a subreaper, so grandchildren (cc1plus, as, ld) are reaped.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace rkeops {

// The absolute path of `program`: itself when it contains a '/' and is an
// executable file, else the first executable of that name on the PATH; ""
// when there is none.
std::string find_program(const std::string& program);

// Splits on white space (spaces, tabs, newlines); no quoting, no expansion.
std::vector<std::string> split_words(const std::string& text);

// `words` joined by spaces, each quoted for a POSIX shell when it holds
// anything but [A-Za-z0-9_./=:,+@%^-]: what command.txt and error messages
// show (the command can be pasted into a terminal).
std::string display_command(const std::vector<std::string>& words);

struct ProcessOptions {
  std::string log_path;                    // stdout and stderr go there ("" : /dev/null)
  std::vector<std::string> extra_env;      // "NAME=value", override the inherited ones
  std::function<void()> poll;              // may throw to stop the child
};

// Runs argv[0] (an absolute path, see find_program) with `argv`; returns its
// exit status, 128 + the signal when a signal ended it, 127 when it could
// not be started (the reason is then in the log). Throws whatever `poll`
// throws, after killing the child's process group and reaping it.
int run_process(const std::vector<std::string>& argv, const ProcessOptions& opts);

// Runs argv and returns its standard output (at most 4 KiB) when it exits 0,
// else "". Its standard error is discarded. `poll` as for run_process.
std::string capture_process(const std::vector<std::string>& argv,
                            const std::function<void()>& poll = nullptr);

// Whether a process with this id exists on this machine (kill(pid, 0)).
bool process_alive(long pid);

}  // namespace rkeops
