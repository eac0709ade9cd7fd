// Argument declarations (spec section 1.3).
#include <algorithm>
#include <cctype>
#include <string>

#include "formula/errors.h"
#include "formula/program.h"

namespace rkeops {

namespace {

std::string strip_spaces(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

bool valid_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Non-negative integer that fits comfortably in an int.
bool parse_count(const std::string& s, long& out) {
  if (s.empty() || s.size() > 6) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  out = std::stol(s);
  return true;
}

}  // namespace

std::vector<ArgDecl> parse_arg_decls(const std::vector<std::string>& decls) {
  std::vector<ArgDecl> out;
  int with_pos = 0;
  for (std::size_t i = 0; i < decls.size(); ++i) {
    const std::string& raw = decls[i];
    const std::string where = "argument " + std::to_string(i + 1) + " ('" + raw + "')";
    const std::string form = "expected the form 'name = Vi(dim)', 'name = Vj(dim)', "
                             "'name = Pm(dim)' or 'name = Vi(pos, dim)'";
    std::string s = strip_spaces(raw);
    std::size_t eq = s.find('=');
    if (eq == std::string::npos) throw ArgumentError(where + ": no '='; " + form, (int)i);
    ArgDecl d;
    d.name = s.substr(0, eq);
    std::string rhs = s.substr(eq + 1);
    if (!valid_name(d.name))
      throw ArgumentError(where + ": '" + d.name +
                              "' is not a valid name (letters, digits and '_', not starting "
                              "with a digit)",
                          (int)i);
    const auto& reserved = reserved_names();
    if (std::find(reserved.begin(), reserved.end(), d.name) != reserved.end())
      throw ArgumentError(where + ": '" + d.name +
                              "' is the name of an operation of the formula language; "
                              "choose another name",
                          (int)i);
    std::size_t open = rhs.find('(');
    if (open == std::string::npos || rhs.back() != ')')
      throw ArgumentError(where + ": " + form, (int)i);
    std::string kw = rhs.substr(0, open);
    std::string inner = rhs.substr(open + 1, rhs.size() - open - 2);
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
      std::size_t c = inner.find(',', start);
      parts.push_back(inner.substr(start, c == std::string::npos ? std::string::npos : c - start));
      if (c == std::string::npos) break;
      start = c + 1;
    }
    std::vector<long> nums;
    for (const std::string& p : parts) {
      long v;
      if (!parse_count(p, v))
        throw ArgumentError(where + ": '" + p + "' is not a non-negative integer; " + form, (int)i);
      nums.push_back(v);
    }
    if (kw == "Vi" || kw == "Vx") d.cat = kVi;
    else if (kw == "Vj" || kw == "Vy") d.cat = kVj;
    else if (kw == "Pm") d.cat = kPm;
    else if (kw == "Var") d.cat = -1;
    else
      throw ArgumentError(where + ": unknown category '" + kw + "' (use Vi, Vj or Pm)", (int)i);
    long dim = 0, pos = -1;
    if (d.cat == -1) {
      if (nums.size() != 3)
        throw ArgumentError(where + ": Var() takes three integers (pos, dim, cat)", (int)i);
      pos = nums[0];
      dim = nums[1];
      if (nums[2] > 2)
        throw ArgumentError(where + ": the category of Var(pos, dim, cat) must be 0 (Vi), "
                                    "1 (Vj) or 2 (Pm)",
                            (int)i);
      d.cat = static_cast<int>(nums[2]);
    } else if (nums.size() == 1) {
      dim = nums[0];
    } else if (nums.size() == 2) {
      pos = nums[0];
      dim = nums[1];
    } else {
      throw ArgumentError(where + ": " + form, (int)i);
    }
    if (dim < 1 || dim > 10000)
      throw ArgumentError(where + ": the dimension must be between 1 and 10000", (int)i);
    if (pos >= 0) ++with_pos;
    d.dim = static_cast<int>(dim);
    d.pos = pos >= 0 ? static_cast<int>(pos) : static_cast<int>(i);
    for (std::size_t k = 0; k < out.size(); ++k)
      if (out[k].name == d.name)
        throw ArgumentError(where + ": the name '" + d.name + "' is declared twice (also argument " +
                                std::to_string(k + 1) + ")",
                            (int)i);
    out.push_back(d);
  }
  if (with_pos != 0 && with_pos != static_cast<int>(out.size()))
    throw ArgumentError("use either (dim) or (pos, dim) for all arguments, not a mix", 0);
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t k = 0; k < i; ++k)
      if (out[k].pos == out[i].pos)
        throw ArgumentError("argument " + std::to_string(i + 1) + " ('" + decls[i] +
                                "'): position " + std::to_string(out[i].pos) +
                                " is already taken by argument " + std::to_string(k + 1),
                            (int)i);
  return out;
}

}  // namespace rkeops
