#include "build/process.h"

#include "build/files.h"
#include "formula/errors.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

extern char** environ;

namespace rkeops {

namespace {

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  ::nanosleep(&ts, nullptr);
}

// Everything the forked processes need, prepared before fork(): after it,
// only async-signal-safe calls are allowed (R may run other threads).
struct Spawn {
  std::vector<std::string> argv_s, env_s;
  std::vector<char*> argv, envp;
  int in_fd = -1, out_fd = -1, err_fd = -1;
  long max_fd = 4096;       // sysconf(_SC_OPEN_MAX), capped (asked before fork)
  std::string exec_failed;  // written to err_fd when execve fails
};

// Makes in/out/err the guardian's 0, 1, 2 and closes everything else: a
// fork keeps R's descriptors, and with them R's flock() locks (they belong
// to the open file, shared by the fork), which must end with R, not with
// the compiler.
void keep_only_std_fds(const Spawn& s) {
  int in = s.in_fd >= 0 ? ::fcntl(s.in_fd, F_DUPFD, 10) : -1;
  int out = s.out_fd >= 0 ? ::fcntl(s.out_fd, F_DUPFD, 10) : -1;
  int err = s.err_fd >= 0 ? ::fcntl(s.err_fd, F_DUPFD, 10) : -1;
  if (in >= 0) ::dup2(in, 0);
  if (out >= 0) ::dup2(out, 1);
  if (err >= 0) ::dup2(err, 2);
#if defined(SYS_close_range)
  if (::syscall(SYS_close_range, 3u, ~0u, 0u) == 0) return;
#endif
  for (long fd = 3; fd < s.max_fd; ++fd) ::close(static_cast<int>(fd));
}

volatile pid_t guardian_program_pid = 0;
volatile sig_atomic_t guardian_stopping = 0;

void guardian_on_term(int) {
  guardian_stopping = 1;
  const pid_t p = guardian_program_pid;
  if (p > 0) ::kill(-p, SIGKILL);
}

// Ends a forked child without running this process's atexit handlers or
// flushing its stdio buffers (what _exit does; the system call directly, as
// R's checks flag _exit in packages, which must never end R itself).
[[noreturn]] void child_exit(int code) {
#if defined(SYS_exit_group)
  ::syscall(SYS_exit_group, code);
#elif defined(SYS_exit)
  ::syscall(SYS_exit, code);
#endif
  for (;;) ::kill(::getpid(), SIGKILL);
}

void write_all(int fd, const char* s, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, s, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

[[noreturn]] void run_program(const Spawn& s) {
  ::setpgid(0, 0);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(s.argv[0], s.argv.data(), s.envp.data());
  write_all(2, s.exec_failed.data(), s.exec_failed.size());
  const char* why = std::strerror(errno);  // not async-signal-safe in theory; glibc's is
  write_all(2, why, std::strlen(why));
  write_all(2, "\n", 1);
  child_exit(127);
}

[[noreturn]] void run_guardian(const Spawn& s, pid_t parent) {
  ::setpgid(0, 0);
  keep_only_std_fds(s);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = guardian_on_term;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);  // until the program's pid is known
#if defined(__linux__)
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
  if (::getppid() != parent) child_exit(128 + SIGTERM);  // R died before prctl
  const pid_t p = ::fork();
  if (p == 0) run_program(s);
  if (p < 0) {
    write_all(2, s.exec_failed.data(), s.exec_failed.size());
    write_all(2, "fork failed\n", 12);
    child_exit(127);
  }
  ::setpgid(p, p);
  guardian_program_pid = p;
  ::sigprocmask(SIG_UNBLOCK, &term, nullptr);
  int code = 127;
  for (;;) {
    int st = 0;
    const pid_t w = ::waitpid(p, &st, 0);
    if (w == p) {
      code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
      break;
    }
    if (w < 0 && errno != EINTR) break;
  }
  // Reap the program's orphans (reparented here, the subreaper): when it was
  // killed, its whole group was, so wait a little for them; a daemon it left
  // running on purpose (a compiler cache server) is left to init.
  for (int k = 0; k < (guardian_stopping ? 100 : 1); ++k) {
    int st = 0;
    while (::waitpid(-1, &st, WNOHANG) > 0) {
    }
    if (guardian_stopping) {
      struct timespec ts = {0, 2000000L};
      ::nanosleep(&ts, nullptr);
    }
  }
  child_exit(code);
}

// Ends the guardian (which kills the program's group) and reaps it.
void stop_guardian(pid_t g) {
  ::kill(g, SIGTERM);
  for (int k = 0; k < 200; ++k) {  // about 2 s
    int st = 0;
    const pid_t w = ::waitpid(g, &st, WNOHANG);
    if (w == g || (w < 0 && errno != EINTR)) return;
    sleep_ms(10);
  }
  ::kill(-g, SIGKILL);
  ::kill(g, SIGKILL);
  int st = 0;
  while (::waitpid(g, &st, 0) < 0 && errno == EINTR) {
  }
}

void prepare(Spawn& s, const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  s.argv_s = argv;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& x : extra_env) overridden = overridden || x.substr(0, x.find('=')) == name;
    if (!overridden) s.env_s.push_back(kv);
  }
  for (const auto& x : extra_env) s.env_s.push_back(x);
  for (auto& a : s.argv_s) s.argv.push_back(&a[0]);
  s.argv.push_back(nullptr);
  for (auto& e : s.env_s) s.envp.push_back(&e[0]);
  s.envp.push_back(nullptr);
  const long max_fd = ::sysconf(_SC_OPEN_MAX);
  s.max_fd = max_fd > 0 && max_fd < 65536 ? max_fd : 65536;
  s.exec_failed = "rkeops: cannot run '" + (argv.empty() ? std::string() : argv[0]) + "': ";
}

// Forks the guardian, then waits for it, calling `poll` and `drain` in
// between. Returns the program's status.
int spawn_and_wait(Spawn& s, const std::function<void()>& poll, const std::function<void()>& drain) {
  const pid_t self = ::getpid();
  const pid_t g = ::fork();
  if (g == 0) run_guardian(s, self);
  if (g < 0) {
    const std::string msg = s.exec_failed + "fork failed: " + std::strerror(errno) + "\n";
    if (s.err_fd >= 0) write_all(s.err_fd, msg.data(), msg.size());
    return 127;
  }
  ::setpgid(g, g);  // also done by the child: whichever runs first
  long delay = 1;
  for (;;) {
    int st = 0;
    const pid_t w = ::waitpid(g, &st, WNOHANG);
    if (w == g) {
      if (drain) drain();
      if (WIFEXITED(st)) return WEXITSTATUS(st);
      return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    if (w < 0 && errno != EINTR) return 127;
    try {
      if (drain) drain();
      if (poll) poll();
    } catch (...) {
      stop_guardian(g);
      throw;
    }
    sleep_ms(delay);
    if (delay < 20) delay *= 2;
  }
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string find_program(const std::string& program) {
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos) return is_executable_file(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t i = 0;
  while (i <= dirs.size()) {
    std::size_t next = dirs.find(':', i);
    if (next == std::string::npos) next = dirs.size();
    std::string d = dirs.substr(i, next - i);
    if (d.empty()) d = ".";
    const std::string cand = d + "/" + program;
    if (is_executable_file(cand)) return cand;
    i = next + 1;
  }
  return "";
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string display_command(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    bool plain = !w.empty();
    for (char c : w) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      std::strchr("_./=:,+@%^-", c) != nullptr;
      plain = plain && ok;
    }
    if (!out.empty()) out += ' ';
    if (plain) {
      out += w;
    } else {
      out += '\'';
      for (char c : w) {
        if (c == '\'') out += "'\\''";
        else out += c;
      }
      out += '\'';
    }
  }
  return out;
}

int run_process(const std::vector<std::string>& argv, const ProcessOptions& opts) {
  Spawn s;
  prepare(s, argv, opts.extra_env);
  Fd in, log;
  in.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  log.fd = ::open(opts.log_path.empty() ? "/dev/null" : opts.log_path.c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log.fd < 0) {
    const int e = errno;
    throw CacheError(write_error(opts.log_path, "creating '" + opts.log_path + "'", e));
  }
  s.in_fd = in.fd;
  s.out_fd = log.fd;
  s.err_fd = log.fd;
  return spawn_and_wait(s, opts.poll, nullptr);
}

std::string capture_process(const std::vector<std::string>& argv, const std::function<void()>& poll) {
  Spawn s;
  prepare(s, argv, {});
  int fds[2];
  if (::pipe(fds) != 0) return "";
  Fd rd, wr, in, err;
  rd.fd = fds[0];
  wr.fd = fds[1];
  ::fcntl(rd.fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(wr.fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(rd.fd, F_SETFL, O_NONBLOCK);
  in.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  err.fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  s.in_fd = in.fd;
  s.out_fd = wr.fd;
  s.err_fd = err.fd;
  std::string out;
  auto drain = [&]() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(rd.fd, buf, sizeof buf);
      if (n > 0) {
        if (out.size() < 4096) out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  };
  const int status = spawn_and_wait(s, poll, drain);
  if (status != 0) return "";
  return out.substr(0, 4096);
}

bool process_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace rkeops
