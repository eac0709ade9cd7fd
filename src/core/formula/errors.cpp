#include "formula/errors.h"

namespace rkeops {

namespace {
// One byte per column: tabs and newlines become spaces, anything outside
// printable ASCII '?', so that the carets stay under what they point at.
std::string printable(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == '\n' || u == '\r' || u == '\t') c = ' ';
    else if (u < 0x20 || u >= 0x7F) c = '?';
  }
  return out;
}
}  // namespace

std::string elide(const std::string& text, std::size_t width) {
  std::string s = printable(text);
  if (s.size() <= width || width < 8) return s;
  std::size_t head = (width - 3) / 2, tail = width - 3 - head;
  return s.substr(0, head) + "..." + s.substr(s.size() - tail);
}

std::string render_formula_error(const std::string& formula, const FormulaError& e) {
  std::string out = e.what();
  if (e.pos() == FormulaError::kNoPosition) {
    if (!e.hint().empty()) out += " " + e.hint();
    return out;
  }
  const std::size_t n = formula.size();
  std::size_t pos = e.pos() > n ? n : e.pos();
  std::size_t len = e.len();
  if (pos + len > n && pos < n) len = n - pos;
  out += " at position " + std::to_string(pos);
  if (!e.hint().empty()) out += " " + e.hint();
  // The window [from, to) of the formula that is shown: all of it when it
  // fits, else kExcerptWidth bytes starting a little before the error.
  std::size_t from = 0, to = n;
  if (n > kExcerptWidth) {
    const std::size_t before = kExcerptWidth / 3;
    from = pos > before ? pos - before : 0;
    to = from + kExcerptWidth < n ? from + kExcerptWidth : n;
    if (to - from < kExcerptWidth) from = to - kExcerptWidth;
  }
  const std::string lead = from > 0 ? "..." : "";
  const std::string trail = to < n ? "..." : "";
  std::size_t shown = len;
  if (pos < to && pos + shown > to) shown = to - pos;  // carets stop at the window's end
  out += "\n  " + lead + printable(formula.substr(from, to - from)) + trail + "\n  ";
  out += std::string(lead.size() + pos - from, ' ') + std::string(shown == 0 ? 1 : shown, '^');
  return out;
}

}  // namespace rkeops
