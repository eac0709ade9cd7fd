// Small POSIX helpers for the build layer: files, directories, locks.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace rkeops {

bool file_exists(const std::string& path);
std::string read_file(const std::string& path);  // "" when missing
// Writes via a temporary name (<path>.tmp<pid>) in the same directory,
// fsync(2), then rename(2) and fsync of the directory: readers never see half
// a file, and a power loss leaves the old file or the new one. Throws
// CacheError (see write_error) when anything fails; the temporary is removed.
void write_file_atomic(const std::string& path, const std::string& text);
// fsync of a file, and of a directory (so that a rename in it is durable).
// Returns 0 or the errno.
int fsync_file(const std::string& path);
int fsync_dir(const std::string& dir);
// mkdir -p; throws CacheError naming the directory and the system's reason.
void make_dirs(const std::string& path);
// rm -rf; returns 0, or the errno of the first thing that could not be removed.
int remove_tree(const std::string& path);

// Whether `err` says the disk cannot take writes: full (ENOSPC), over quota
// (EDQUOT) or read-only (EROFS).
bool is_disk_error(int err);
// "the disk holding '<dir of path>' is full (No space left on device, while
// <doing>)" for the disk errors, else "cannot <doing>: <reason>".
std::string write_error(const std::string& path, const std::string& doing, int err);
// Free bytes for unprivileged users on the file system holding `path`; -1
// when unknown.
double free_disk_bytes(const std::string& path);

// Removes the temporaries (names ending in ".tmp<pid>") that processes other
// than this one left in `dir`. Called with the entry's lock held: no other
// process then writes there, so every such file is a left-over of a process
// that died (kill -9, power loss) while building.
void remove_stale_temporaries(const std::string& dir);

// How to wait for a lock held by another process: `poll` is called every
// 50 ms (R checks for Ctrl-C there and may throw), `notify` once with a
// message saying who holds it, and after `timeout_seconds` the wait ends
// with LockTimeoutError (build/build_errors.h).
struct LockWait {
  double timeout_seconds = 600;
  std::function<void()> poll;
  std::function<void(const std::string&)> notify;
  std::string what;  // what the holder is doing: "compiling this operator"
  bool holder_known = true;  // false: the file's "pid ..." may be an old holder's
};

// An advisory lock (flock) on a file, held for the object's lifetime. An
// exclusive holder writes "pid <pid> on <host>" into the file, which a
// waiter shows.
class FileLock {
 public:
  FileLock(const std::string& path, bool exclusive, const LockWait& wait);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace rkeops
