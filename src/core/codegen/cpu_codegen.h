// Code generation: a checked Program -> the C++ source of one operator.
#pragma once
#include <string>

#include "formula/program.h"

namespace rkeops {

enum class DType { Float32, Float64 };

const char* dtype_name(DType t);

// Summation scheme of sum-type reductions (spec 6.3); ignored by the others.
enum class SumScheme { Block, Direct, Kahan };

const char* sum_scheme_name(SumScheme s);  // "block_sum", "direct_sum", "kahan_scheme"
// Parses a scheme name; throws Error for an unknown one.
SumScheme parse_sum_scheme(const std::string& s);

struct CodegenOptions {
  DType dtype = DType::Float32;
  SumScheme sum_scheme = SumScheme::Block;
  std::string key;  // embedded in the object, checked when it is loaded
};

std::string generate_cpu_source(const Program& p, const CodegenOptions& opt);

// The `Formula` struct alone (in an anonymous namespace), for other drivers
// (gpu_codegen.cpp); `header_comment` receives the source's comment header.
std::string generate_formula_struct(const Program& p, const CodegenOptions& opt,
                                    std::string* header_comment = nullptr);

}  // namespace rkeops
