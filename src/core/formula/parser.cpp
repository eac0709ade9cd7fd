// Recursive-descent parser for the grammar of spec section 2.3, with the
// precedence table of section 2.4. Chains of left-associative operators
// (x + y + ... + z) are loops, not recursion; the recursion that remains
// follows the nesting of parentheses, calls, signs and exponents, which is
// bounded by kMaxNesting, so no formula can overflow the stack here or in the
// passes after this one (formula/limits.h).
#include <string>

#include "formula/errors.h"
#include "formula/lexer.h"
#include "formula/limits.h"
#include "formula/syntax.h"

namespace rkeops {

// Iterative: the tree of a long chain is as deep as the chain, and the
// default destructor would recurse once per level.
Syntax::~Syntax() {
  std::vector<SyntaxPtr> pending;
  for (SyntaxPtr& a : args)
    if (a) pending.push_back(std::move(a));
  while (!pending.empty()) {
    SyntaxPtr s = std::move(pending.back());
    pending.pop_back();
    for (SyntaxPtr& a : s->args)
      if (a) pending.push_back(std::move(a));
  }  // each `s` dies with no children left
}

namespace {

bool is_operation(const std::vector<Token>& toks, std::size_t k) {
  switch (toks[k].kind) {
    case Tok::Plus: case Tok::Minus: case Tok::Star: case Tok::Slash: case Tok::Bar:
    case Tok::Power: case Tok::Less: case Tok::Greater: case Tok::LessEq: case Tok::GreaterEq:
    case Tok::EqEq: case Tok::NotEq:
      return true;
    case Tok::Ident:
      return k + 1 < toks.size() && toks[k + 1].kind == Tok::LParen;
    default:
      return false;
  }
}

class Parser {
 public:
  explicit Parser(const std::string& src) : src_(src), toks_(tokenize(src)) {}

  SyntaxPtr parse() {
    if (peek().kind == Tok::End) throw FormulaError("the formula is empty", 0, 1);
    check_size();
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

  // One level of nesting, entered at `at` (an opening parenthesis, a
  // function name, a sign or '**').
  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& q, const Token& at) : p(q) {
      if (++p.depth_ > kMaxNesting)
        throw FormulaError("nesting deeper than " + std::to_string(kMaxNesting) +
                               " levels (parentheses, function calls, signs and '**') is not "
                               "supported",
                           at.pos, tok_len(at));
    }
    ~DepthGuard() { --p.depth_; }
  };

  // The number of operations, before any tree is built.
  void check_size() const {
    long count = 0;
    for (std::size_t k = 0; k < toks_.size(); ++k) {
      if (!is_operation(toks_, k) || ++count <= kMaxOperations) continue;
      long total = count;
      for (std::size_t j = k + 1; j < toks_.size(); ++j) total += is_operation(toks_, j);
      throw FormulaError("the formula has " + std::to_string(total) + " operations; at most " +
                             std::to_string(kMaxOperations) +
                             " are supported (this is operation " +
                             std::to_string(kMaxOperations + 1) + ")",
                         toks_[k].pos, tok_len(toks_[k]));
    }
  }

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
    if (peek().kind == Tok::Minus || peek().kind == Tok::Plus) {
      DepthGuard g(*this, peek());
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
      DepthGuard g(*this, peek());
      Token op = next();
      SyntaxPtr ex = unary();  // right-associative, binds tighter than unary minus on the left
      return binary(op, std::move(base), std::move(ex));
    }
    return base;
  }

  SyntaxPtr primary() {
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
        DepthGuard g(*this, id);
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
        DepthGuard g(*this, t);
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
