// libFuzzer harness for the formula front end and code generator, run
// without R. Input: the formula on the first line, then optional argument
// declarations one per line (default: a fixed set covering every category).
// Any exception other than rkeops::Error, any crash, leak or hang is a bug.
//
// Build and run: see fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codegen/cpu_codegen.h"
#include "formula/errors.h"
#include "formula/program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::string formula = lines[0];
  std::vector<std::string> args(lines.begin() + 1, lines.end());
  if (args.empty())
    args = {"x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)", "w = Vi(1)", "A = Pm(9)"};
  try {
    rkeops::Program p = rkeops::compile_formula(formula, args);
    rkeops::CodegenOptions o;
    o.key = "fuzz";
    std::string src = rkeops::generate_cpu_source(p, o);
    if (src.empty()) __builtin_trap();
  } catch (const rkeops::FormulaError& e) {
    std::string msg = rkeops::render_formula_error(formula, e);
    if (msg.empty()) __builtin_trap();
  } catch (const rkeops::Error&) {
  }
  return 0;
}
