#include "build/operator_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <unistd.h>
#include <vector>

#include "build/build_errors.h"
#include "build/files.h"
#include "build/hash.h"
#include "build/nvcc.h"
#include "build/process.h"
#include "formula/errors.h"

namespace rkeops {

namespace {

std::mutex registry_mutex;
std::map<std::string, std::shared_ptr<const LoadedOperator>>& registry() {
  static std::map<std::string, std::shared_ptr<const LoadedOperator>> r;
  return r;
}

// Checks that an ELF file holds every byte its headers point to, before
// dlopen: the loader maps segments without looking at the file's size, and
// touching a page past the end of a truncated file kills the process
// (SIGBUS). Returns "" when the file looks whole, else why not. Non-ELF
// platforms (Mach-O) leave it to dlopen.
std::string check_object_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "cannot be loaded: it cannot be read";
  std::fseek(f, 0, SEEK_END);
  const long size_l = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  const std::uint64_t size = size_l > 0 ? static_cast<std::uint64_t>(size_l) : 0;
  auto read_at = [&](std::uint64_t off, void* dst, std::size_t n) -> bool {
    if (off + n > size) return false;
    if (std::fseek(f, static_cast<long>(off), SEEK_SET) != 0) return false;
    return std::fread(dst, 1, n, f) == n;
  };
  unsigned char ident[16] = {0};
  const bool has_ident = read_at(0, ident, sizeof ident);
  std::string why;
  if (size < 4 || !has_ident || std::memcmp(ident, "\x7f" "ELF", 4) != 0) {
#if defined(__APPLE__)
    why = "";
#else
    why = "cannot be loaded: it is not a shared object (no ELF header; " + std::to_string(size) +
          " bytes)";
#endif
    std::fclose(f);
    return why;
  }
  const bool is64 = ident[4] == 2;
  if ((is64 ? 8u : 4u) != sizeof(void*)) {
    std::fclose(f);
    return "cannot be loaded: it was built for another kind of machine";
  }
  // Offsets in the ELF header (host byte order: the class check above and
  // dlopen's own checks cover foreign objects).
  std::uint64_t need = is64 ? 64 : 52;
  std::uint64_t phoff = 0, shoff = 0;
  std::uint16_t phentsize = 0, phnum = 0, shentsize = 0, shnum = 0;
  bool ok = size >= need;
  if (ok && is64) {
    ok = read_at(32, &phoff, 8) && read_at(40, &shoff, 8) && read_at(54, &phentsize, 2) &&
         read_at(56, &phnum, 2) && read_at(58, &shentsize, 2) && read_at(60, &shnum, 2);
  } else if (ok) {
    std::uint32_t p32 = 0, s32 = 0;
    ok = read_at(28, &p32, 4) && read_at(32, &s32, 4) && read_at(42, &phentsize, 2) &&
         read_at(44, &phnum, 2) && read_at(46, &shentsize, 2) && read_at(48, &shnum, 2);
    phoff = p32;
    shoff = s32;
  }
  if (ok) {
    need = std::max<std::uint64_t>(need, phoff + std::uint64_t(phentsize) * phnum);
    need = std::max<std::uint64_t>(need, shoff + std::uint64_t(shentsize) * shnum);
    // Every segment's bytes in the file.
    for (std::uint16_t k = 0; ok && k < phnum && phoff + std::uint64_t(phentsize) * (k + 1) <= size; ++k) {
      const std::uint64_t at = phoff + std::uint64_t(phentsize) * k;
      std::uint64_t off = 0, filesz = 0;
      if (is64) {
        ok = read_at(at + 8, &off, 8) && read_at(at + 32, &filesz, 8);
      } else {
        std::uint32_t o32 = 0, f32 = 0;
        ok = read_at(at + 4, &o32, 4) && read_at(at + 16, &f32, 4);
        off = o32;
        filesz = f32;
      }
      need = std::max<std::uint64_t>(need, off + filesz);
    }
  }
  std::fclose(f);
  if (!ok || need > size)
    return "cannot be loaded: it is truncated (" + std::to_string(size) + " bytes, its headers need " +
           std::to_string(need) + ")";
  return "";
}

// The record of a compiled object, written when it is built: a damaged
// object (power loss, a bad disk) may keep an intact ELF header, and dlopen
// of it crashes the process, so the bytes are checked before dlopen.
std::string checksum_record(const std::string& bytes) {
  return "size " + std::to_string(bytes.size()) + " fnv128 " + hash_hex(bytes) + "\n";
}

std::string sum_path(const std::string& object_path) { return object_path + ".sum"; }

// "" when the object's bytes match its record, else why not.
std::string check_checksum(const std::string& object_path) {
  const std::string record = read_file(sum_path(object_path));
  if (record.empty())
    return "cannot be loaded: it has no checksum record (left by an interrupted build, or by an "
           "older rkeops)";
  if (record != checksum_record(read_file(object_path)))
    return "cannot be loaded: it is damaged (its checksum differs from the one recorded when it "
           "was built)";
  return "";
}

// dlopen + ABI and key checks. Returns "" on success, else why it failed
// (and leaves nothing loaded).
std::string load_object(LoadedOperator& op) {
  std::string bad_file = check_object_file(op.object_path);
  if (bad_file.empty()) bad_file = check_checksum(op.object_path);
  if (!bad_file.empty()) return bad_file;
  void* h = ::dlopen(op.object_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = ::dlerror();
    return std::string("cannot be loaded: ") + (e ? e : "unknown dlopen error");
  }
  auto abi = reinterpret_cast<rkeops_abi_fn>(::dlsym(h, "rkeops_abi_version"));
  auto key = reinterpret_cast<rkeops_key_fn>(::dlsym(h, "rkeops_key"));
  auto run = reinterpret_cast<rkeops_run_fn>(::dlsym(h, "rkeops_run"));
  std::string why;
  if (!abi || !key || !run) why = "is not an rkeops operator (symbols missing)";
  else if (abi() != RKEOPS_ABI_VERSION)
    why = "was built for ABI version " + std::to_string(abi()) + ", not " +
          std::to_string(RKEOPS_ABI_VERSION);
  else if (op.key != key())
    why = "belongs to another formula (key " + std::string(key()) + ")";
  if (!why.empty()) {
    ::dlclose(h);
    return why;
  }
  op.handle = h;
  op.run = run;
  return "";
}

}  // namespace

std::string operator_key(const OperatorRequest& req) {
  const Toolchain& tc = req.toolchain;
  std::string text = req.program->canonical;
  text += "\ndtype=" + std::string(dtype_name(req.dtype));
  // The scheme only changes sum-type reductions; the default keeps the key
  // of earlier versions.
  const SumScheme scheme = is_sum_type(req.program->reduction) ? req.sum_scheme : SumScheme::Block;
  if (scheme != SumScheme::Block) text += "\nsum_scheme=" + std::string(sum_scheme_name(scheme));
  text += "\nbackend=" + req.backend;
  text += "\ncompiler=" + tc.cxx + "|" + compiler_key_identity(tc.cxx, req.cache_dir, req.poll);
  text += "\nflags=" + tc.std_flags + "|" + tc.opt_flags + "|" + tc.pic_flags + "|" + tc.openmp_flags;
  text += "\npackage=" + req.package_version;
  text += "\nabi=" + std::to_string(RKEOPS_ABI_VERSION);
  text += "\ncpu=" + host_cpu_identity();
  return hash_hex(text);
}

namespace {

// Removes the build's temporaries however the build ends (an interrupt
// included); a renamed object is no longer there to remove.
struct BuildTemporaries {
  std::string object, dir;
  ~BuildTemporaries() {
    std::remove(object.c_str());
    remove_tree(dir);
  }
};

bool log_says_disk_full(const std::string& log) {
  for (const char* s : {"No space left on device", "Disk quota exceeded", "Read-only file system"})
    if (log.find(s) != std::string::npos) return true;
  return false;
}

// A compiler needs room for its temporaries and output: below this, a
// failed compile is taken for a full disk (the compiler's messages may
// themselves have been lost: an empty log, or "ld returned 1").
constexpr double kMinFreeBytes = 16.0 * 1024 * 1024;

// Generates, compiles and loads the entry, with its lock held.
void build_entry(const OperatorRequest& req, LoadedOperator& op) {
  const auto t0 = std::chrono::steady_clock::now();
  make_dirs(op.dir);
  remove_stale_temporaries(op.dir);
  CodegenOptions co;
  co.dtype = req.dtype;
  co.sum_scheme = is_sum_type(req.program->reduction) ? req.sum_scheme : SumScheme::Block;
  co.key = op.key;
  write_file_atomic(op.source_path, generate_operator_source(req, co));  // build/nvcc.h
  const std::string pid = std::to_string(::getpid());
  BuildTemporaries temps{op.object_path + ".tmp" + pid, op.dir + "/build.tmp" + pid};
  const std::vector<std::string> args = operator_compile_args(req, op.source_path, temps.object);
  op.command = display_command(args);
  write_file_atomic(op.dir + "/command.txt", op.command + "\n");
  make_dirs(temps.dir);
  ProcessOptions po;
  po.log_path = op.log_path;
  po.extra_env = {"TMPDIR=" + temps.dir};  // the compiler's own temporaries, removed with it
  po.poll = req.poll;
  const int status = run_process(args, po);
  remove_tree(temps.dir);
  const bool produced = file_exists(temps.object);
  if (status != 0 || !produced) {
    const std::string log = read_file(op.log_path);
    const double free_bytes = free_disk_bytes(op.dir);
    if (log_says_disk_full(log) || (free_bytes >= 0 && free_bytes < kMinFreeBytes)) {
      char free_text[32];
      std::snprintf(free_text, sizeof free_text, "%.0f KB", free_bytes / 1024);
      throw CacheError("the disk holding '" + req.cache_dir + "' is full (" +
                       (free_bytes >= 0 ? std::string(free_text) + " free" : std::string("no space")) +
                       ", the compiler failed for want of space)");
    }
    if (status == 0)
      throw CompileError("the compiler exited with status 0 but produced no object file ('" +
                             temps.object + "'): '" + req.toolchain.cxx +
                             "' does not behave as a C++ compiler",
                         op.command, log, op.source_path);
    throw CompileError("compilation of the operator failed (exit status " + std::to_string(status) + ")",
                       op.command, log, op.source_path);
  }
  // Durable before it becomes visible: a power loss then leaves either no
  // object or a whole one, and its record.
  if (int e = fsync_file(temps.object))
    throw CacheError(write_error(temps.object, "writing '" + temps.object + "'", e));
  write_file_atomic(sum_path(op.object_path), checksum_record(read_file(temps.object)));
  if (std::rename(temps.object.c_str(), op.object_path.c_str()) != 0) {
    const int e = errno;
    throw CacheError(write_error(op.object_path, "moving the compiled operator to '" + op.object_path + "'", e));
  }
  fsync_dir(op.dir);
  std::string why = load_object(op);
  if (!why.empty()) {
    // The compiler said it succeeded but its output is not usable: a
    // toolchain fault, reported with the command and the compiler's output.
    std::remove(op.object_path.c_str());
    throw CompileError("the compiler exited without error, but its output '" + op.object_path + "' " + why,
                       op.command, read_file(op.log_path), op.source_path);
  }
  op.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::shared_ptr<const LoadedOperator> get_operator(const OperatorRequest& req, bool* compiled_now,
                                                   std::string* note) {
  const std::string key = operator_key(req);
  if (compiled_now) *compiled_now = false;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto it = registry().find(key);
    if (it != registry().end()) return it->second;
  }
  auto op = std::make_shared<LoadedOperator>();
  op->key = key;
  op->dtype = req.dtype;
  op->dir = req.cache_dir + "/" + key;
  op->object_path = op->dir + "/operator.so";
  op->source_path = op->dir + "/operator.cpp";
  op->log_path = op->dir + "/compile.log";
  op->command = read_file(op->dir + "/command.txt");
  if (!op->command.empty() && op->command.back() == '\n') op->command.pop_back();

  // A damaged object is removed only under the entry's lock: outside it,
  // another process may have just replaced it by a good one.
  auto try_cached = [&](bool locked) -> bool {
    if (!file_exists(op->object_path)) return false;
    std::string why = load_object(*op);
    if (why.empty()) return true;
    if (!locked) return false;
    if (note)
      *note = "the cached operator '" + op->object_path + "' " + why + "; it was removed and rebuilt";
    std::remove(op->object_path.c_str());
    std::remove(sum_path(op->object_path).c_str());
    return false;
  };

  if (!try_cached(false)) {
    make_dirs(req.cache_dir);
    LockWait wait;
    wait.timeout_seconds = req.lock_timeout;
    wait.poll = req.poll;
    wait.notify = req.notify;
    wait.what = "that is cleaning the cache";
    FileLock cache_lock(req.cache_dir + "/.lock", false, wait);  // see clean_cache()
    wait.what = "that is compiling this operator";
    FileLock lock(req.cache_dir + "/" + key + ".lock", true, wait);
    if (!try_cached(true)) {  // another process may have built it while we waited
      build_entry(req, *op);
      if (compiled_now) *compiled_now = true;
    }
  }
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry().emplace(key, op).first;
  return it->second;
}

void forget_loaded_operators() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  registry().clear();
}

CleanResult clean_cache(const std::string& cache_dir, const LockWait& wait) {
  CleanResult r;
  struct stat st;
  if (::stat(cache_dir.c_str(), &st) != 0) return r;
  // Exclusive: builds hold it shared from before they take an entry's lock
  // until they are done, so no build runs, and none waits on an entry's
  // lock file, while the entries and their lock files are removed. A cache
  // where the lock file cannot even be created (read-only) has no build
  // running either.
  std::unique_ptr<FileLock> lock;
  try {
    lock.reset(new FileLock(cache_dir + "/.lock", true, wait));
  } catch (const CacheError&) {
  }
  std::vector<std::string> names;
  if (DIR* d = ::opendir(cache_dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != ".." && n != ".lock") names.push_back(n);
    }
    ::closedir(d);
  }
  for (const auto& n : names) {
    const std::string path = cache_dir + "/" + n;
    const bool is_entry = n.size() == 32 && n.find_first_not_of("0123456789abcdef") == std::string::npos &&
                          ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    const int err = remove_tree(path);
    if (::lstat(path.c_str(), &st) == 0) {
      ++r.failed;
      if (r.problem.empty())
        r.problem = "cannot remove '" + path + "': " + std::strerror(err != 0 ? err : EBUSY);
    } else if (is_entry) {
      ++r.removed;
    }
  }
  return r;
}

}  // namespace rkeops
