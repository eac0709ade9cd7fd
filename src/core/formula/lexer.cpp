#include "formula/lexer.h"

#include <cstdio>
#include <cstdlib>

#include "formula/errors.h"

namespace rkeops {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

// Bytes of the well-formed UTF-8 character at s[i] (1 for ASCII), 0 when the
// bytes there are not one (a stray continuation byte, an overlong or
// truncated sequence, a surrogate, beyond U+10FFFF).
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const unsigned char u = static_cast<unsigned char>(s[i]);
  if (u < 0x80) return 1;
  std::size_t len;
  unsigned long cp;
  if (u >= 0xC2 && u <= 0xDF) { len = 2; cp = u & 0x1F; }
  else if (u >= 0xE0 && u <= 0xEF) { len = 3; cp = u & 0x0F; }
  else if (u >= 0xF0 && u <= 0xF4) { len = 4; cp = u & 0x07; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}
}  // namespace

const char* token_name(Tok t) {
  switch (t) {
    case Tok::Int: return "an integer";
    case Tok::Decimal: return "a number";
    case Tok::Ident: return "a name";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::LBracket: return "'['";
    case Tok::RBracket: return "']'";
    case Tok::Comma: return "','";
    case Tok::Plus: return "'+'";
    case Tok::Minus: return "'-'";
    case Tok::Star: return "'*'";
    case Tok::Slash: return "'/'";
    case Tok::Bar: return "'|'";
    case Tok::Power: return "'**'";
    case Tok::Less: return "'<'";
    case Tok::Greater: return "'>'";
    case Tok::LessEq: return "'<='";
    case Tok::GreaterEq: return "'>='";
    case Tok::EqEq: return "'=='";
    case Tok::NotEq: return "'!='";
    case Tok::End: return "the end of the formula";
  }
  return "?";
}

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  std::size_t i = 0, n = s.size();
  auto push = [&](Tok k, std::size_t start, std::size_t len) {
    out.push_back(Token{k, s.substr(start, len), start, 0});
  };
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
    std::size_t start = i;
    if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]))) {
      bool decimal = false;
      while (i < n && is_digit(s[i])) ++i;
      if (i < n && s[i] == '.') {
        decimal = true;
        ++i;
        while (i < n && is_digit(s[i])) ++i;
      }
      if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        std::size_t e = i + 1;
        if (e < n && (s[e] == '+' || s[e] == '-')) ++e;
        if (e < n && is_digit(s[e])) {
          decimal = true;
          i = e;
          while (i < n && is_digit(s[i])) ++i;
        } else {
          throw FormulaError("malformed number '" + s.substr(start, e - start) +
                                 "': an exponent needs digits",
                             start, e - start);
        }
      }
      // "1.2.3" or "2x": a number glued to more number or name characters.
      if (i < n && (s[i] == '.' || is_ident_char(s[i]))) {
        std::size_t j = i;
        while (j < n && (s[j] == '.' || is_ident_char(s[j]))) ++j;
        throw FormulaError("malformed number '" + s.substr(start, j - start) + "'", start,
                           j - start);
      }
      Token t{decimal ? Tok::Decimal : Tok::Int, s.substr(start, i - start), start, 0};
      t.value = std::strtod(t.text.c_str(), nullptr);
      out.push_back(t);
      continue;
    }
    if (is_ident_start(c)) {
      while (i < n && is_ident_char(s[i])) ++i;
      push(Tok::Ident, start, i - start);
      continue;
    }
    char d = i + 1 < n ? s[i + 1] : '\0';
    switch (c) {
      case '(': push(Tok::LParen, i, 1); ++i; continue;
      case ')': push(Tok::RParen, i, 1); ++i; continue;
      case '[': push(Tok::LBracket, i, 1); ++i; continue;
      case ']': push(Tok::RBracket, i, 1); ++i; continue;
      case ',': push(Tok::Comma, i, 1); ++i; continue;
      case '+': push(Tok::Plus, i, 1); ++i; continue;
      case '-': push(Tok::Minus, i, 1); ++i; continue;
      case '|': push(Tok::Bar, i, 1); ++i; continue;
      case '/':
        if (d == '/') throw FormulaError("'//' is not an operator (use '/')", i, 2);
        push(Tok::Slash, i, 1); ++i; continue;
      case '*':
        if (d == '*') { push(Tok::Power, i, 2); i += 2; } else { push(Tok::Star, i, 1); ++i; }
        continue;
      case '<':
        if (d == '=') { push(Tok::LessEq, i, 2); i += 2; } else { push(Tok::Less, i, 1); ++i; }
        continue;
      case '>':
        if (d == '=') { push(Tok::GreaterEq, i, 2); i += 2; } else { push(Tok::Greater, i, 1); ++i; }
        continue;
      case '=':
        if (d == '=') { push(Tok::EqEq, i, 2); i += 2; continue; }
        throw FormulaError("'=' cannot appear in a formula (declare arguments in 'args')", i, 1);
      case '!':
        if (d == '=') { push(Tok::NotEq, i, 2); i += 2; continue; }
        break;
      case '^':
        throw FormulaError("'^' is not an operator (use '**' or Pow(x, n))", i, 1);
      default:
        break;
    }
    // Report the whole UTF-8 character, not a lone byte; a byte that does
    // not start a valid UTF-8 character is named by its value, so that the
    // message itself stays valid text.
    const std::size_t len = utf8_length(s, i);
    if (len == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(c));
      throw FormulaError(std::string("invalid character (byte ") + hex + ")", i, 1,
                         "(the formula is not valid UTF-8 text: use ASCII names and operators)");
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(c));
      throw FormulaError(std::string("unexpected control character (byte ") + hex + ")", i, 1);
    }
    throw FormulaError("unexpected character '" + s.substr(i, len) + "'", i, len);
  }
  out.push_back(Token{Tok::End, "", n, 0});
  return out;
}

}  // namespace rkeops
