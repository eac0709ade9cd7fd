// Code generation: a checked Program -> the C++ source of one operator.
#pragma once
#include <string>

#include "formula/program.h"

namespace rkeops {

enum class DType { Float32, Float64 };

const char* dtype_name(DType t);

struct CodegenOptions {
  DType dtype = DType::Float32;
  std::string key;  // embedded in the object, checked when it is loaded
};

std::string generate_cpu_source(const Program& p, const CodegenOptions& opt);

}  // namespace rkeops
