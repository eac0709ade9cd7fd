#include "build/operator_cache.h"

#include <chrono>
#include <cstdio>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <unistd.h>

#include "build/files.h"
#include "build/hash.h"
#include "formula/errors.h"

namespace rkeops {

namespace {

std::mutex registry_mutex;
std::map<std::string, std::shared_ptr<const LoadedOperator>>& registry() {
  static std::map<std::string, std::shared_ptr<const LoadedOperator>> r;
  return r;
}

// dlopen + ABI and key checks. Returns "" on success, else why it failed
// (and leaves nothing loaded).
std::string load_object(LoadedOperator& op) {
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
  text += "\ncompiler=" + tc.cxx + "|" + compiler_identity(tc.cxx);
  text += "\nflags=" + tc.std_flags + "|" + tc.opt_flags + "|" + tc.pic_flags + "|" + tc.openmp_flags;
  text += "\npackage=" + req.package_version;
  text += "\nabi=" + std::to_string(RKEOPS_ABI_VERSION);
  text += "\ncpu=" + host_cpu_identity();
  return hash_hex(text);
}

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

  auto try_cached = [&]() -> bool {
    if (!file_exists(op->object_path)) return false;
    std::string why = load_object(*op);
    if (why.empty()) return true;
    if (note)
      *note = "the cached operator '" + op->object_path + "' " + why + "; it was removed and rebuilt";
    std::remove(op->object_path.c_str());
    return false;
  };

  if (!try_cached()) {
    make_dirs(req.cache_dir);
    FileLock lock(req.cache_dir + "/" + key + ".lock");
    if (!try_cached()) {  // another process may have built it while we waited
      auto t0 = std::chrono::steady_clock::now();
      make_dirs(op->dir);
      CodegenOptions co;
      co.dtype = req.dtype;
      co.sum_scheme = is_sum_type(req.program->reduction) ? req.sum_scheme : SumScheme::Block;
      co.key = key;
      write_file_atomic(op->source_path, generate_cpu_source(*req.program, co));
      std::string tmp = op->dir + "/operator.so.tmp" + std::to_string(::getpid());
      op->command = compile_command(req.toolchain, op->source_path, tmp);
      write_file_atomic(op->dir + "/command.txt", op->command + "\n");
      int status = run_shell(op->command, op->log_path);
      if (status != 0 || !file_exists(tmp)) {
        std::remove(tmp.c_str());
        std::string log = read_file(op->log_path);
        throw CompileError("compilation of the operator failed (exit status " +
                               std::to_string(status) + ")",
                           op->command, log, op->source_path);
      }
      if (std::rename(tmp.c_str(), op->object_path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw CacheError("cannot move the compiled operator into '" + op->object_path + "'");
      }
      std::string why = load_object(*op);
      if (!why.empty())
        throw CacheError("the operator just compiled at '" + op->object_path + "' " + why);
      if (compiled_now) *compiled_now = true;
      op->compile_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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

}  // namespace rkeops
