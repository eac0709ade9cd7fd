#include "build/files.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <ftw.h>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "build/build_errors.h"
#include "build/process.h"
#include "formula/errors.h"

namespace rkeops {

namespace {

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string this_host() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "this machine";
  return buf;
}

}  // namespace

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_disk_error(int err) {
#ifdef EDQUOT
  if (err == EDQUOT) return true;
#endif
  return err == ENOSPC || err == EROFS;
}

std::string write_error(const std::string& path, const std::string& doing, int err) {
  const std::string dir = parent_dir(path);
  if (err == ENOSPC)
    return "the disk holding '" + dir + "' is full (No space left on device, while " + doing + ")";
#ifdef EDQUOT
  if (err == EDQUOT)
    return "the disk quota of the disk holding '" + dir + "' is exceeded (while " + doing + ")";
#endif
  if (err == EROFS) return "the disk holding '" + dir + "' is read-only (while " + doing + ")";
  return "cannot " + doing + ": " + std::strerror(err);
}

double free_disk_bytes(const std::string& path) {
  struct statvfs s;
  if (::statvfs(path.c_str(), &s) != 0) return -1;
  return static_cast<double>(s.f_bavail) * static_cast<double>(s.f_frsize);
}

int fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

int fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  // Some file systems refuse fsync on a directory (EINVAL): nothing to do.
  const int rc = ::fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
  ::close(fd);
  return rc;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  auto fail = [&](const std::string& doing, int err) {
    std::remove(tmp.c_str());
    throw CacheError(write_error(tmp, doing, err));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("creating '" + tmp + "'", errno);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int e = w < 0 ? errno : ENOSPC;
      ::close(fd);
      fail("writing '" + tmp + "'", e);
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  // Errors of delayed writes (NFS, quotas) show at fsync or close.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int e = errno;
    ::close(fd);
    fail("writing '" + tmp + "'", e);
  }
  if (::close(fd) != 0) fail("writing '" + tmp + "'", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming '" + tmp + "' to '" + path + "'", errno);
  fsync_dir(parent_dir(path));
}

void make_dirs(const std::string& path) {
  if (path.empty()) return;
  std::string cur;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t next = path.find('/', i);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    if (!cur.empty() && !file_exists(cur)) {
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        const int e = errno;
        if (is_disk_error(e)) throw CacheError(write_error(cur, "creating the directory '" + cur + "'", e));
        throw CacheError("cannot create directory '" + cur + "': " + std::strerror(e));
      }
    }
    i = next + 1;
  }
}

namespace {
thread_local int remove_first_errno = 0;
int remove_entry(const char* p, const struct stat*, int, struct FTW*) {
  if (::remove(p) != 0 && remove_first_errno == 0) remove_first_errno = errno;
  return 0;  // go on: remove what can be removed
}
}  // namespace

int remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  remove_first_errno = 0;
  if (::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && remove_first_errno == 0)
    remove_first_errno = errno;
  return remove_first_errno;
}

void remove_stale_temporaries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  const std::string mine = std::to_string(::getpid());
  std::vector<std::string> stale;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    const auto at = name.rfind(".tmp");
    if (at == std::string::npos || at + 4 >= name.size()) continue;
    const std::string pid = name.substr(at + 4);
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == mine) continue;
    stale.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const auto& p : stale) remove_tree(p);
}

FileLock::FileLock(const std::string& path, bool exclusive, const LockWait& wait) {
  fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd_ < 0 && (errno == EROFS || errno == EACCES)) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int e = errno;
    if (is_disk_error(e)) throw CacheError(write_error(path, "creating the lock file '" + path + "'", e));
    throw CacheError("cannot open lock file '" + path + "': " + std::strerror(e));
  }
  const int op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  const auto t0 = std::chrono::steady_clock::now();
  bool told = false;
  try {
    for (;;) {
      if (::flock(fd_, op) == 0) break;
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK) {
        const int e = errno;
        throw CacheError("cannot lock '" + path + "': " + std::strerror(e));
      }
      std::string holder = wait.holder_known ? read_file(path) : "";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const std::string who = holder.empty() ? "another process" : "another process (" + holder + ")";
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", wait.timeout_seconds);
      if (!told && wait.notify) {
        wait.notify("rkeops: waiting for " + who + " " + wait.what + " (lock '" + path +
                    "'); giving up after " + limit + " s (environment variable RKEOPS_LOCK_TIMEOUT)");
      }
      told = true;
      if (waited >= wait.timeout_seconds)
        throw LockTimeoutError(
            "gave up after waiting " + std::string(limit) + " s for " + who + " " + wait.what +
            " (lock '" + path + "'): if that process is stopped or hung, end it and try again; "
            "the wait is set by the environment variable RKEOPS_LOCK_TIMEOUT (seconds)");
      if (wait.poll) wait.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
  if (exclusive) {
    const std::string me = "pid " + std::to_string(::getpid()) + " on " + this_host() + "\n";
    if (::ftruncate(fd_, 0) == 0) {
      if (::pwrite(fd_, me.data(), me.size(), 0) < 0) {
        // Only informative: a waiter then shows no pid.
      }
    }
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

}  // namespace rkeops
