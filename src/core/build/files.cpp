#include "build/files.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ftw.h>

#include "formula/errors.h"

namespace rkeops {

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

void write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw CacheError("cannot write '" + tmp + "': " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw CacheError("cannot write '" + tmp + "' (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    throw CacheError("cannot move '" + tmp + "' to '" + path + "': " + std::strerror(e));
  }
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
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
        throw CacheError("cannot create directory '" + cur + "': " + std::strerror(errno));
    }
    i = next + 1;
  }
}

namespace {
int remove_entry(const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }
}  // namespace

void remove_tree(const std::string& path) {
  if (file_exists(path)) ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

int run_shell(const std::string& command, const std::string& log_path) {
  std::string full = command + " > " + shell_quote(log_path) + " 2>&1";
  int status = std::system(full.c_str());
  if (status == -1) return 127;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string capture_shell(const std::string& command) {
  FILE* f = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (!f) return "";
  char buf[4096];
  std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  int status = ::pclose(f);
  if (status != 0) return "";
  return buf;
}

FileLock::FileLock(const std::string& path) {
  fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd_ < 0) throw CacheError("cannot open lock file '" + path + "': " + std::strerror(errno));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int e = errno;
      ::close(fd_);
      fd_ = -1;
      throw CacheError("cannot lock '" + path + "': " + std::strerror(e));
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
