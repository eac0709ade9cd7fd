#include "build/toolchain.h"

#include <map>
#include <mutex>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "build/files.h"
#include "build/hash.h"
#include "build/process.h"
#include "formula/errors.h"

namespace rkeops {

namespace {

// What tells that a compiler's file changed: path, size, modification time,
// inode. "" when it cannot be read.
std::string file_signature(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  return path + "|" + std::to_string(static_cast<long long>(st.st_size)) + "|" +
         std::to_string(static_cast<long long>(st.st_mtime)) + "|" +
         std::to_string(static_cast<long long>(st.st_ino));
}

struct KnownCompiler {
  std::string signature, identity;
};

std::mutex known_mutex;
std::map<std::string, KnownCompiler>& known() {
  static std::map<std::string, KnownCompiler> m;
  return m;
}

std::string record_path(const std::string& cxx, const std::string& cache_dir) {
  return cache_dir + "/compilers/" + hash_hex(cxx) + ".txt";
}

// The record: three lines, the compiler as configured, its signature, its
// identity.
bool read_record(const std::string& path, const std::string& cxx, std::string* signature,
                 std::string* identity) {
  const std::string text = read_file(path);
  std::size_t a = text.find('\n');
  if (a == std::string::npos) return false;
  std::size_t b = text.find('\n', a + 1);
  if (b == std::string::npos) return false;
  std::size_t c = text.find('\n', b + 1);
  if (c == std::string::npos) return false;
  if (text.substr(0, a) != cxx) return false;
  *signature = text.substr(a + 1, b - a - 1);
  *identity = text.substr(b + 1, c - b - 1);
  return !identity->empty();
}

}  // namespace

void throw_compiler_not_found(const std::string& cxx, const std::string& why) {
  throw CompileError("the C++ compiler '" + cxx + "' was not found or does not run (" + why +
                         "); install one (on Debian: apt-get install g++) or set the option "
                         "rkeops.compiler",
                     display_command({cxx, "--version"}), "", "");
}

std::vector<std::string> find_compiler(const std::string& cxx) {
  const std::string whole = find_program(cxx);
  if (!whole.empty() && cxx.find('/') != std::string::npos) return {whole};
  std::vector<std::string> words = split_words(cxx);
  if (words.empty()) return {};
  words[0] = find_program(words[0]);
  if (words[0].empty()) return {};
  return words;
}

std::string compiler_identity(const std::string& cxx, const std::function<void()>& poll) {
  std::vector<std::string> argv = find_compiler(cxx);
  if (argv.empty()) throw_compiler_not_found(cxx, "no such executable file, nor on the PATH");
  const std::string signature = file_signature(argv[0]);
  {
    std::lock_guard<std::mutex> lock(known_mutex);
    auto it = known().find(cxx);
    if (it != known().end() && it->second.signature == signature) return it->second.identity;
  }
  argv.push_back("--version");
  const std::string out = capture_process(argv, poll);
  const std::string first = out.substr(0, out.find('\n'));
  if (first.empty()) throw_compiler_not_found(cxx, "'--version' failed or printed nothing");
  std::lock_guard<std::mutex> lock(known_mutex);
  known()[cxx] = KnownCompiler{signature, first};
  return first;
}

std::string compiler_key_identity(const std::string& cxx, const std::string& cache_dir,
                                  const std::function<void()>& poll) {
  const std::vector<std::string> argv = find_compiler(cxx);
  const std::string signature = argv.empty() ? "" : file_signature(argv[0]);
  const std::string record = record_path(cxx, cache_dir);
  {
    std::lock_guard<std::mutex> lock(known_mutex);
    auto it = known().find(cxx);
    if (it != known().end() && (signature.empty() || it->second.signature == signature))
      return it->second.identity;
  }
  std::string rec_signature, rec_identity;
  const bool have_record = read_record(record, cxx, &rec_signature, &rec_identity);
  if (have_record && (signature.empty() || rec_signature == signature)) {
    std::lock_guard<std::mutex> lock(known_mutex);
    if (!signature.empty()) known()[cxx] = KnownCompiler{signature, rec_identity};
    return rec_identity;
  }
  const std::string identity = compiler_identity(cxx, poll);  // throws when missing
  if (!have_record || rec_identity != identity || rec_signature != signature) {
    try {
      make_dirs(cache_dir + "/compilers");
      write_file_atomic(record, cxx + "\n" + signature + "\n" + identity + "\n");
    } catch (const CacheError&) {
      // A read-only or full cache: the identity is known for this session.
    }
  }
  return identity;
}

const std::string& host_cpu_identity() {
  static const std::string id = [] {
    std::string info = read_file("/proc/cpuinfo");
    std::string model, flags;
    std::size_t pos = 0;
    while (pos < info.size() && (model.empty() || flags.empty())) {
      std::size_t end = info.find('\n', pos);
      if (end == std::string::npos) end = info.size();
      std::string line = info.substr(pos, end - pos);
      if (model.empty() && (line.rfind("model name", 0) == 0 || line.rfind("CPU part", 0) == 0))
        model = line;
      if (flags.empty() && (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0))
        flags = line;
      pos = end + 1;
    }
    struct utsname u;
    std::string machine = ::uname(&u) == 0 ? u.machine : "unknown";
    return machine + "|" + model + "|" + flags;
  }();
  return id;
}

std::vector<std::string> compile_args(const Toolchain& tc, const std::string& source,
                                      const std::string& object) {
  std::vector<std::string> args = find_compiler(tc.cxx);
  if (args.empty()) throw_compiler_not_found(tc.cxx, "no such executable file, nor on the PATH");
  for (const std::string* flags : {&tc.std_flags, &tc.opt_flags, &tc.pic_flags, &tc.openmp_flags})
    for (auto& w : split_words(*flags)) args.push_back(w);
  for (const char* a : {"-fno-math-errno", "-shared"}) args.push_back(a);
  args.push_back("-I" + tc.include_dir);
  args.push_back("-o");
  args.push_back(object);
  args.push_back(source);
  return args;
}

}  // namespace rkeops
