/* The C ABI between the engine and a compiled operator. Plain C types only:
 * nothing of C++ crosses the shared-object boundary. The loader refuses an
 * object whose rkeops_abi_version() differs from RKEOPS_ABI_VERSION. */
#ifndef RKEOPS_ABI_H
#define RKEOPS_ABI_H

#include <stddef.h>
#include <stdint.h>

#define RKEOPS_ABI_VERSION 1

enum rkeops_dtype { RKEOPS_FLOAT32 = 0, RKEOPS_FLOAT64 = 1 };

/* One input. Element (point p, coordinate k) of a Vi/Vj input is at
 * data[k * ld + p] (column-major, R's own layout for points-as-rows);
 * coordinate k of a Pm input is at data[k]. data has the call's dtype. */
typedef struct rkeops_arg {
  const void *data;
  int64_t nrow;   /* M for Vi, N for Vj, 1 for Pm */
  int64_t ld;     /* leading dimension (>= nrow) */
  int32_t cat;    /* 0 Vi, 1 Vj, 2 Pm */
  int32_t dim;
} rkeops_arg;

typedef struct rkeops_call {
  int32_t abi_version;
  int32_t dtype;          /* enum rkeops_dtype */
  int64_t M, N;           /* rows of the i- and j-indexed inputs */
  int32_t nargs;
  const rkeops_arg *args; /* by position */
  double *out;            /* output, column-major: (row r, column c) at out[c * out_ld + r] */
  int64_t out_ld;
  int64_t row_begin;      /* output rows [row_begin, row_end) are computed by this call */
  int64_t row_end;
  int32_t nthreads;
  int32_t device;
} rkeops_call;

#endif
