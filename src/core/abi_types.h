// The ABI as the engine sees it: the C header shared with generated code,
// plus the types of the symbols the loader looks up.
#pragma once
#include <rkeops/abi.h>

namespace rkeops {
using rkeops_run_fn = int (*)(const rkeops_call*, char*, size_t);
using rkeops_abi_fn = int (*)(void);
using rkeops_key_fn = const char* (*)(void);
}  // namespace rkeops
