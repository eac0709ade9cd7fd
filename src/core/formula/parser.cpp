// Recursive-descent parser for the grammar of spec section 2.3, with the
// precedence table of section 2.4.
#include <string>

#include "formula/errors.h"
#include "formula/lexer.h"
#include "formula/syntax.h"

namespace rkeops {

namespace {

// Deep nesting must end in an error, not a stack overflow.
constexpr int kMaxDepth = 200;

class Parser {
 public:
  explicit Parser(const std::string& src) : src_(src), toks_(tokenize(src)) {}

  SyntaxPtr parse() {
    if (peek().kind == Tok::End) throw FormulaError("the formula is empty", 0, 1);
    SyntaxPtr e = expr();
    if (peek().kind != Tok::End) {
      const Token& t = peek();
      if (t.kind == Tok::RParen) throw FormulaError("unbalanced ')'", t.pos, 1);
      throw FormulaError("unexpected " + describe(t) + " after a complete expression", t.pos,
                         tok_len(t));
    }
    return e;
  }

 private:
  const std::string& src_;
  std::vector<Token> toks_;
  std::size_t at_ = 0;
  int depth_ = 0;

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& q) : p(q) {
      if (++p.depth_ > kMaxDepth)
        throw FormulaError("the formula is nested too deeply", p.peek().pos, 1);
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& peek() const { return toks_[at_]; }
  const Token& next() { return toks_[at_ < toks_.size() - 1 ? at_++ : at_]; }
  static std::size_t tok_len(const Token& t) { return t.text.empty() ? 1 : t.text.size(); }
  static std::string describe(const Token& t) {
    if (t.kind == Tok::Ident || t.kind == Tok::Int || t.kind == Tok::Decimal)
      return "'" + t.text + "'";
    return token_name(t.kind);
  }

  [[noreturn]] void expected(const std::string& what) {
    const Token& t = peek();
    throw FormulaError("expected " + what + " but found " + describe(t), t.pos, tok_len(t));
  }

  static SyntaxPtr make(Syntax::Kind k, std::string text, std::size_t pos, std::size_t len) {
    auto s = std::make_unique<Syntax>();
    s->kind = k;
    s->text = std::move(text);
    s->pos = pos;
    s->len = len;
    return s;
  }

  SyntaxPtr binary(const Token& op, SyntaxPtr a, SyntaxPtr b) {
    std::size_t pos = a->pos, end = b->pos + b->len;
    auto s = make(Syntax::Binary, op.text, pos, end - pos);
    s->op_pos = op.pos;
    s->args.push_back(std::move(a));
    s->args.push_back(std::move(b));
    return s;
  }

  SyntaxPtr expr() { return comparison(); }

  SyntaxPtr comparison() {
    DepthGuard g(*this);
    SyntaxPtr a = bar();
    Tok k = peek().kind;
    if (k == Tok::Less || k == Tok::Greater || k == Tok::LessEq || k == Tok::GreaterEq ||
        k == Tok::EqEq || k == Tok::NotEq) {
      Token op = next();
      SyntaxPtr b = bar();
      Tok k2 = peek().kind;
      if (k2 == Tok::Less || k2 == Tok::Greater || k2 == Tok::LessEq || k2 == Tok::GreaterEq ||
          k2 == Tok::EqEq || k2 == Tok::NotEq)
        throw FormulaError("comparisons cannot be chained (write them separately)", peek().pos,
                           tok_len(peek()));
      return binary(op, std::move(a), std::move(b));
    }
    return a;
  }

  SyntaxPtr bar() {
    SyntaxPtr a = sum();
    while (peek().kind == Tok::Bar) {
      Token op = next();
      a = binary(op, std::move(a), sum());
    }
    return a;
  }

  SyntaxPtr sum() {
    SyntaxPtr a = term();
    while (peek().kind == Tok::Plus || peek().kind == Tok::Minus) {
      Token op = next();
      a = binary(op, std::move(a), term());
    }
    return a;
  }

  SyntaxPtr term() {
    SyntaxPtr a = unary();
    while (peek().kind == Tok::Star || peek().kind == Tok::Slash) {
      Token op = next();
      a = binary(op, std::move(a), unary());
    }
    return a;
  }

  SyntaxPtr unary() {
    DepthGuard g(*this);
    if (peek().kind == Tok::Minus || peek().kind == Tok::Plus) {
      Token op = next();
      SyntaxPtr e = unary();
      std::size_t end = e->pos + e->len;
      auto s = make(Syntax::Unary, op.kind == Tok::Minus ? "-" : "+", op.pos, end - op.pos);
      s->args.push_back(std::move(e));
      return s;
    }
    return power();
  }

  SyntaxPtr power() {
    SyntaxPtr base = primary();
    if (peek().kind == Tok::Power) {
      Token op = next();
      SyntaxPtr ex = unary();  // right-associative, binds tighter than unary minus on the left
      return binary(op, std::move(base), std::move(ex));
    }
    return base;
  }

  SyntaxPtr primary() {
    DepthGuard g(*this);
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Int:
      case Tok::Decimal: {
        Token n = next();
        auto s = make(Syntax::Number, n.text, n.pos, n.text.size());
        s->value = n.value;
        s->is_integer = n.kind == Tok::Int;
        return s;
      }
      case Tok::Ident: {
        Token id = next();
        if (peek().kind != Tok::LParen) return make(Syntax::Name, id.text, id.pos, id.text.size());
        next();  // (
        auto call = make(Syntax::Call, id.text, id.pos, 0);
        call->name_len = id.text.size();
        if (peek().kind != Tok::RParen) {
          for (;;) {
            call->args.push_back(argument());
            if (peek().kind == Tok::Comma) {
              std::size_t comma = next().pos;
              if (peek().kind == Tok::RParen)
                throw FormulaError("trailing ',' in the arguments of '" + id.text + "'", comma, 1);
              continue;
            }
            if (peek().kind == Tok::RParen) break;
            if (peek().kind == Tok::End)
              throw FormulaError("unbalanced '(': '" + id.text + "(' is never closed", id.pos,
                                 id.text.size() + 1);
            expected("',' or ')' in the arguments of '" + id.text + "'");
          }
        }
        const Token& close = next();  // )
        call->len = close.pos + 1 - id.pos;
        return call;
      }
      case Tok::LParen: {
        Token open = next();
        SyntaxPtr e = expr();
        if (peek().kind != Tok::RParen) {
          if (peek().kind == Tok::End)
            throw FormulaError("unbalanced '(': it is never closed", open.pos, 1);
          expected("')'");
        }
        const Token& close = next();
        // Keep the inner node but widen its span to the parentheses, so that
        // carets cover what the user wrote.
        e->len = close.pos + 1 - open.pos;
        e->pos = open.pos;
        return e;
      }
      case Tok::LBracket:
        expected("a formula (an integer list '[...]' is only allowed as an argument)");
      case Tok::End:
        expected("an operand");
      default:
        expected("an operand");
    }
  }

  // A call argument: a formula or an integer list "[1, 2]".
  SyntaxPtr argument() {
    if (peek().kind != Tok::LBracket) return expr();
    Token open = next();
    auto list = make(Syntax::IntList, "[]", open.pos, 0);
    if (peek().kind != Tok::RBracket) {
      for (;;) {
        bool neg = false;
        std::size_t p = peek().pos;
        if (peek().kind == Tok::Minus) { next(); neg = true; }
        if (peek().kind != Tok::Int) expected("an integer in the list");
        Token n = next();
        auto s = make(Syntax::Number, (neg ? "-" : "") + n.text, p, n.pos + n.text.size() - p);
        s->value = neg ? -n.value : n.value;
        s->is_integer = true;
        list->args.push_back(std::move(s));
        if (peek().kind == Tok::Comma) { next(); continue; }
        if (peek().kind == Tok::RBracket) break;
        expected("',' or ']'");
      }
    }
    const Token& close = next();
    list->len = close.pos + 1 - open.pos;
    return list;
  }
};

}  // namespace

SyntaxPtr parse_syntax(const std::string& formula) { return Parser(formula).parse(); }

}  // namespace rkeops
