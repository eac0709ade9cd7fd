#include "formula/errors.h"

namespace rkeops {

std::string render_formula_error(const std::string& formula, const FormulaError& e) {
  std::size_t pos = e.pos() > formula.size() ? formula.size() : e.pos();
  std::size_t len = e.len();
  if (pos + len > formula.size() && pos < formula.size()) len = formula.size() - pos;
  // Keep the excerpt on one line: tabs and newlines become spaces so that the
  // caret stays aligned.
  std::string line = formula;
  for (char& c : line)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  std::string out = e.what();
  out += " at position " + std::to_string(pos);
  if (!e.hint().empty()) out += " " + e.hint();
  out += "\n  " + line + "\n  ";
  out += std::string(pos, ' ') + std::string(len == 0 ? 1 : len, '^');
  return out;
}

}  // namespace rkeops
