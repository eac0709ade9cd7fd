// Lexer: formula text -> tokens with byte positions (spec section 2.2).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace rkeops {

enum class Tok {
  Int,       // [0-9]+
  Decimal,   // 0.5, .25, 1e-3 (an rkeops extension, spec 2.2)
  Ident,     // [A-Za-z_][A-Za-z0-9_]*
  LParen, RParen, LBracket, RBracket, Comma,
  Plus, Minus, Star, Slash, Bar, Power,      // + - * / | **
  Less, Greater, LessEq, GreaterEq, EqEq, NotEq,
  End
};

struct Token {
  Tok kind;
  std::string text;
  std::size_t pos;
  double value = 0;  // numeric value of Int / Decimal
};

// Throws FormulaError on an unknown character or a malformed number.
std::vector<Token> tokenize(const std::string& src);

const char* token_name(Tok t);

}  // namespace rkeops
