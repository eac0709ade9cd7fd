// rkeops/fpenv.h -- subnormal numbers are treated as zero while an operator
// runs.
//
// Why: on Intel cores (and, less, on others) every arithmetic instruction
// that reads or produces a subnormal number (|x| < 1.2e-38 in float32,
// 2.2e-308 in float64) takes a microcode assist of ~100 cycles. With small
// bandwidths or distant points, exp(-s |x - y|^2) lands in that range for a
// large share of the pairs, and a Gaussian sum ran 3 to 20 times slower
// (s = 100..1000 against s = 1). Flushing them instead costs nothing, and
// the values lost are below 1.2e-38 (float32) or 2.2e-308 (float64), that
// is, under one unit in the last place of any sum that also holds a normal
// term; a sum made only of such terms is 0 instead of a subnormal.
// NaN and Inf are not affected.
//
// How: the x86 MXCSR flags FTZ (results flushed to zero) and DAZ (inputs
// read as zero), or the AArch64 FPCR flag FZ (both), set by a guard for the
// lifetime of a call in every thread that computes (the control register is
// per thread), and restored afterwards, so R's own arithmetic keeps IEEE
// subnormals. Elsewhere the guard does nothing.
#ifndef RKEOPS_FPENV_H
#define RKEOPS_FPENV_H

namespace rk {

struct FlushSubnormals {
#if defined(__SSE__)
  unsigned saved;
  FlushSubnormals() : saved(__builtin_ia32_stmxcsr()) {
    __builtin_ia32_ldmxcsr(saved | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
  }
  ~FlushSubnormals() { __builtin_ia32_ldmxcsr(saved); }
#elif defined(__aarch64__)
  unsigned long saved;
  FlushSubnormals() {
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(saved));
    const unsigned long fz = saved | (1ul << 24);
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fz));
  }
  ~FlushSubnormals() { __asm__ __volatile__("msr fpcr, %0" : : "r"(saved)); }
#else
  FlushSubnormals() {}
#endif
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;
};

}  // namespace rk

#endif  // RKEOPS_FPENV_H
