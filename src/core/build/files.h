// Small POSIX helpers for the build layer: files, directories, processes.
#pragma once
#include <string>

namespace rkeops {

bool file_exists(const std::string& path);
std::string read_file(const std::string& path);  // "" when missing
// Writes via a temporary name in the same directory, then rename(2): readers
// never see half a file.
void write_file_atomic(const std::string& path, const std::string& text);
// mkdir -p; throws CacheError naming the directory and the system's reason.
void make_dirs(const std::string& path);
void remove_tree(const std::string& path);
// Runs `command` through /bin/sh with stdout and stderr sent to `log_path`;
// returns the exit status (127 when the shell could not run it).
int run_shell(const std::string& command, const std::string& log_path);
// Runs `command`, returns its stdout (first 4 KiB), or "" on failure.
std::string capture_shell(const std::string& command);
std::string shell_quote(const std::string& s);

// Exclusive advisory lock on a file, held for the object's lifetime: two R
// processes compiling the same formula compile it once.
class FileLock {
 public:
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace rkeops
