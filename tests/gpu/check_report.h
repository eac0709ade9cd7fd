// The output of tools/gpu-check.sh: every line goes to stdout and to the
// report file; the table has one row per case; the last line is
// "gpu-check: N passed, N failed".
#pragma once
#include <string>

#include "check_settings.h"

namespace gpucheck {

struct Row {
  std::string name, precision, size, result, note;
  double rel_err = -1, tol = -1;   // < 0: not applicable
  double gpu_s = -1, cpu_s = -1;   // < 0: not run
  double pairs = 0;                // M * N
};

class Report {
 public:
  explicit Report(std::string out_path) : out_path_(std::move(out_path)) {}
  void line(const std::string& text);
  void header(const Settings& st, const std::string& emulation_reason, const std::string& gpu_name);
  void table_header();
  void row(const Row& r, bool passed);
  // A failure that is not a case (the check could not run).
  void setup_failure(const std::string& why) {
    line(why);
    ++failed_;
  }
  // Prints the summary (emulation said again), writes the file; true if all passed.
  bool finish();

 private:
  std::string out_path_, text_;
  bool emulation_ = false, table_started_ = false;
  int passed_ = 0, failed_ = 0;
};

}  // namespace gpucheck
