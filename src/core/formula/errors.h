// Errors raised by the engine. Every error the user can cause carries enough
// context to be acted on: formula errors know their place in the formula and
// render a caret line under it; compile errors keep the command, the
// compiler's output and the generated source's path.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace rkeops {

// Base class: `kind()` becomes the class of the R condition.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
  virtual const char* kind() const { return "rkeops_error"; }
};

// A problem in a formula, at byte offset `pos` (0-based) spanning `len` bytes;
// `kNoPosition` when the stage that found it does not know the text (the
// graph): the builder then attaches the place it was building.
class FormulaError : public Error {
 public:
  static constexpr std::size_t kNoPosition = static_cast<std::size_t>(-1);
  // `hint` follows the position in the message: "what at position P hint".
  FormulaError(const std::string& msg, std::size_t pos, std::size_t len,
               std::string hint = "")
      : Error(msg), pos_(pos), len_(len == 0 ? 1 : len), hint_(std::move(hint)) {}
  std::size_t pos() const { return pos_; }
  std::size_t len() const { return len_; }
  const std::string& hint() const { return hint_; }
  const char* kind() const override { return "rkeops_formula_error"; }

 private:
  std::size_t pos_, len_;
  std::string hint_;
};

// A problem in the argument declarations ("x = Vi(3)"); `index` is 0-based.
class ArgumentError : public Error {
 public:
  ArgumentError(const std::string& msg, int index) : Error(msg), index_(index) {}
  int index() const { return index_; }
  const char* kind() const override { return "rkeops_argument_error"; }

 private:
  int index_;
};

// The compiler failed (or could not be run).
class CompileError : public Error {
 public:
  CompileError(const std::string& msg, std::string command, std::string log,
               std::string source_path)
      : Error(msg), command_(std::move(command)), log_(std::move(log)),
        source_path_(std::move(source_path)) {}
  const std::string& command() const { return command_; }
  const std::string& log() const { return log_; }
  const std::string& source_path() const { return source_path_; }
  const char* kind() const override { return "rkeops_compile_error"; }

 private:
  std::string command_, log_, source_path_;
};

// The cache or a compiled object could not be used (I/O, ABI mismatch, dlopen).
class CacheError : public Error {
 public:
  using Error::Error;
  const char* kind() const override { return "rkeops_cache_error"; }
};

// Bad data at call time (wrong sizes reaching the core, operator failure).
class CallError : public Error {
 public:
  using Error::Error;
  const char* kind() const override { return "rkeops_call_error"; }
};

// "message at position P\n  <formula>\n  ^^^^" : the DESIGN.md error layout.
// A long formula is shown as a window of at most kExcerptWidth bytes around
// the error, elided with "...", so that the message stays within R's
// default warning.length (1000 bytes); bytes that are not printable ASCII
// are shown as '?' so that the carets stay aligned and the message valid.
constexpr std::size_t kExcerptWidth = 70;
std::string render_formula_error(const std::string& formula, const FormulaError& e);

// `text` for a message: at most `width` bytes, the middle elided with "...".
std::string elide(const std::string& text, std::size_t width = 50);

}  // namespace rkeops
