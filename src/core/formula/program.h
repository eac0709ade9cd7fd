// A checked formula: the reduction, its formula as a DAG node, and the table
// of arguments by position. This is what code generation and the cache see.
#pragma once
#include <string>
#include <vector>

#include "formula/graph.h"

namespace rkeops {

enum Category { kVi = 0, kVj = 1, kPm = 2 };

// The result of another operator (a forward reduction) that a gradient
// needs, given to this one as the hidden input at `pos` (spec 5.4: the
// log-sum-exp family's gradients use the forward output).
struct SavedForward {
  std::string formula;  // same arguments as this operator
  int pos = 0, cat = 0, dim = 1;
};

struct ArgDecl {
  std::string name;  // empty for an input only written inline (Var(...))
  int cat = 0;
  int pos = 0;
  int dim = 1;
};

// Reductions of spec 4.1. The front-end forms LogSumExp, LogSumExpWeight and
// SumSoftMaxWeight are computed directly (state of spec 4.3, finalized in
// the operator), not rewritten to Max_SumShiftExp(Weight).
enum class Reduction {
  Sum, Max, Min, ArgMax, ArgMin, MaxArgMax, MinArgMin, KMin, ArgKMin, KMinArgKMin,
  LogSumExp, LogSumExpWeight, SumSoftMaxWeight, MaxSumShiftExp, MaxSumShiftExpWeight, Zero
};

const char* reduction_name(Reduction r);

// Sum-type reductions (spec 6.2, 6.3): the ones a summation scheme applies to.
bool is_sum_type(Reduction r);

struct Program {
  Graph graph;
  Reduction reduction = Reduction::Sum;
  int tag = 0;        // 0: reduce over j, M output rows; 1: over i, N rows
  int formula = -1;   // root node of F (Zero_Reduction: a Zero node of dimension d)
  int weight = -1;    // root node of the weight G (LogSumExpWeight, SumSoftMaxWeight,
                      // Max_SumShiftExpWeight), -1 if none
  int K = 0;          // K of the KMin family, 0 otherwise
  int out_cols = 0;   // columns of the result
  std::vector<ArgDecl> args;  // indexed by position (saved inputs included)
  std::vector<SavedForward> saved;  // hidden inputs computed by other operators
  bool sum_rows = false;      // gradient w.r.t. a parameter: the caller sums the rows
  std::string canonical;      // names replaced by positions; the cache key's core
};

// Parses "x = Vi(3)", "x=Vj(1,3)", "x = Var(2, 3, 0)" declarations; throws
// ArgumentError naming the offending declaration.
std::vector<ArgDecl> parse_arg_decls(const std::vector<std::string>& decls);

// The whole front half of the pipeline: text -> syntax -> checked DAG.
// Throws FormulaError (with position) or ArgumentError.
Program compile_formula(const std::string& formula, const std::vector<std::string>& decls);

// Canonical text of a program (deterministic, name-free).
std::string canonical_text(const Program& p);

// Every name the language reserves (operations, reductions, variable
// keywords); used to reject argument names and to suggest spellings.
const std::vector<std::string>& reserved_names();

}  // namespace rkeops
