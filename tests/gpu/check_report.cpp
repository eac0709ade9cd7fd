#include "check_report.h"

#include <cstdio>
#include <ctime>

#include "build/files.h"
#include "build/toolchain.h"
#include "check_cases.h"
#include "check_compare.h"

namespace gpucheck {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const char* kBanner =
    "******************************************************************************";

}  // namespace

void Report::line(const std::string& text) {
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  text_ += text + "\n";
}

void Report::header(const Settings& st, const std::string& emulation_reason, const std::string& gpu_name) {
  emulation_ = st.emulation;
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  line(std::string("rkeops gpu-check, ") + when);
  if (st.emulation) {
    line(kBanner);
    line("*** EMULATION MODE: NO GPU IS USED. The GPU kernel source is compiled by the C++");
    line("*** compiler (backend GPU_EMULATION) and its blocks run as loops on the CPU.");
    line("*** Why: " + emulation_reason);
    line("*** This checks the kernel's logic, not CUDA, a device or its speed.");
    line(kBanner);
  } else {
    line("GPU: device " + std::to_string(st.device) + ", " + gpu_name);
  }
  line("nvcc: " + (st.nvcc.empty() ? std::string("not found") : st.nvcc + " (" + st.nvcc_release + ")"));
  std::string cpu = rkeops::host_cpu_identity();
  const std::size_t a = cpu.find('|'), b = cpu.find('|', a + 1);
  if (a != std::string::npos && b != std::string::npos) cpu = cpu.substr(a + 1, b - a - 1);
  const std::size_t colon = cpu.find(':');
  if (colon != std::string::npos) cpu = cpu.substr(colon + 2);
  line("CPU backend: " + cpu + ", " + std::to_string(st.cpu_threads) + " threads; compiler " + st.cxx);
  using rkeops::DType;
  line("block size " + std::to_string(st.block) + (st.emulation ? "" : ", arch " + st.arch) +
       "; value columns: max |gpu - cpu| / max |cpu| <= " + fmt("%.0e", tolerance(DType::Float32)) +
       " (f32), " + fmt("%.0e", tolerance(DType::Float64)) +
       " (f64); index columns: equal, or a tie (F values within " + fmt("%.0e", tie_tolerance(DType::Float32)) +
       " / " + fmt("%.0e", tie_tolerance(DType::Float64)) + ", relative)");
}

void Report::table_header() {
  if (table_started_) return;
  table_started_ = true;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-44s %-4s %-11s %9s %8s %9s %9s %10s  %s", "case", "prec", "M x N",
                "rel.err", "tol", emulation_ ? "emu s" : "gpu s", "cpu s",
                emulation_ ? "emu pair/s" : "gpu pair/s", "result");
  line(buf);
  line(std::string(120, '-'));
}

void Report::row(const Row& r, bool passed) {
  table_header();
  passed ? ++passed_ : ++failed_;
  const std::string err = r.rel_err < 0 ? "-" : fmt("%.2e", r.rel_err);
  const std::string tol = r.tol < 0 ? "-" : fmt("%.0e", r.tol);
  const std::string gs = r.gpu_s < 0 ? "-" : fmt("%.4f", r.gpu_s);
  const std::string cs = r.cpu_s < 0 ? "-" : fmt("%.4f", r.cpu_s);
  const std::string ps = r.gpu_s > 0 && r.pairs > 0 ? fmt("%.3e", r.pairs / r.gpu_s) : "-";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-44s %-4s %-11s %9s %8s %9s %9s %10s  %s%s%s", r.name.c_str(),
                r.precision.c_str(), r.size.c_str(), err.c_str(), tol.c_str(), gs.c_str(), cs.c_str(),
                ps.c_str(), passed ? "ok" : "FAIL", r.note.empty() ? "" : "  ", r.note.c_str());
  line(buf);
}

bool Report::finish() {
  if (emulation_) {
    line(kBanner);
    line("*** EMULATION MODE: these results come from the emulation target, NOT from a GPU.");
    line(kBanner);
  }
  // The summary is the last line printed and the last line of the file.
  const std::string summary =
      "gpu-check: " + std::to_string(passed_) + " passed, " + std::to_string(failed_) + " failed";
  bool written = true;
  if (!out_path_.empty()) {
    try {
      rkeops::write_file_atomic(out_path_, text_ + summary + "\n");
      std::printf("(table written to %s)\n", out_path_.c_str());
    } catch (const std::exception& e) {
      std::printf("gpu-check: cannot write the table to %s: %s\n", out_path_.c_str(), e.what());
      written = false;
    }
  }
  std::printf("%s\n", summary.c_str());
  std::fflush(stdout);
  if (!written) return false;
  return failed_ == 0 && passed_ > 0;
}

}  // namespace gpucheck
