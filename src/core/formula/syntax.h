// The syntax tree: what the text says, before any meaning is checked.
// Every node keeps its place in the formula so later stages can point at it.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace rkeops {

struct Syntax {
  enum Kind { Number, Name, Call, Unary, Binary, IntList };
  Kind kind;
  std::string text;      // name, function name, or operator ("+", "**", "u-", ...)
  double value = 0;      // Number
  bool is_integer = false;
  std::size_t pos = 0;   // byte offset of the node's first character
  std::size_t len = 0;   // byte length of the node's text span
  std::size_t name_len = 0;  // Call: length of the function name
  std::size_t op_pos = 0;    // Binary: position of the operator itself
  std::vector<std::unique_ptr<Syntax>> args;

  Syntax() = default;
  Syntax(const Syntax&) = delete;
  Syntax& operator=(const Syntax&) = delete;
  ~Syntax();  // iterative (parser.cpp): a chain of 10^5 terms is that deep
};

using SyntaxPtr = std::unique_ptr<Syntax>;

// Parses the whole formula (spec section 2.3); throws FormulaError.
SyntaxPtr parse_syntax(const std::string& formula);

}  // namespace rkeops
