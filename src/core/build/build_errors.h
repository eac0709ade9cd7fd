// Errors of the build layer beyond those of formula/errors.h.
#pragma once
#include <string>

#include "formula/errors.h"

namespace rkeops {

// Gave up waiting for another process's lock (build/files.h, LockWait). Not
// a CacheError: falling back to another directory would not help a user
// whose other process is stopped, and would hide it.
class LockTimeoutError : public Error {
 public:
  using Error::Error;
  const char* kind() const override { return "rkeops_lock_error"; }
};

// An option's value has the wrong form (e.g. cuda_arch).
class OptionError : public Error {
 public:
  using Error::Error;
  const char* kind() const override { return "rkeops_option_error"; }
};

}  // namespace rkeops
