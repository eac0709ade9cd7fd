#include "build/toolchain.h"

#include <map>
#include <mutex>
#include <sys/utsname.h>

#include "build/files.h"
#include "formula/errors.h"

namespace rkeops {

const std::string& compiler_identity(const std::string& cxx) {
  static std::map<std::string, std::string> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(cxx);
  if (it != cache.end()) return it->second;
  std::string out = capture_shell(cxx + " --version");
  std::string first = out.substr(0, out.find('\n'));
  if (first.empty())
    throw CompileError("the C++ compiler '" + cxx +
                           "' was not found or does not run; install one (on Debian: "
                           "apt-get install g++) or set the option rkeops.compiler",
                       cxx + " --version", "", "");
  return cache.emplace(cxx, first).first->second;
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

std::string compile_command(const Toolchain& tc, const std::string& source,
                            const std::string& object) {
  std::string cmd = tc.cxx + " " + tc.std_flags + " " + tc.opt_flags + " " + tc.pic_flags;
  if (!tc.openmp_flags.empty()) cmd += " " + tc.openmp_flags;
  cmd += " -fno-math-errno -shared -I" + shell_quote(tc.include_dir) + " -o " +
         shell_quote(object) + " " + shell_quote(source);
  return cmd;
}

}  // namespace rkeops
