// Canonical text: the DAG written as a list of numbered nodes in a
// deterministic order, names replaced by positions. Two formulas that differ
// only in spacing or argument names give the same text, hence the same cache
// entry.
#include <cstdio>
#include <string>
#include <vector>

#include "formula/program.h"

namespace rkeops {

std::string canonical_text(const Program& p) {
  const Graph& g = p.graph;
  std::vector<int> roots = {p.formula};
  if (p.weight >= 0) roots.push_back(p.weight);
  std::vector<int> order = g.topological(roots);
  std::vector<int> number(g.size(), -1);
  std::string out;
  for (std::size_t k = 0; k < order.size(); ++k) {
    int id = order[k];
    number[id] = static_cast<int>(k);
    const Node& n = g[id];
    out += "n" + std::to_string(k) + "=" + op_name(n.op) + "[" + std::to_string(n.dim) + "](";
    bool first = true;
    for (int c : n.kids) {
      out += (first ? "n" : ",n") + std::to_string(number[c]);
      first = false;
    }
    for (long long v : n.ints) {
      out += (first ? "" : ",") + std::to_string(v);
      first = false;
    }
    if (n.op == Op::Const) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", n.value);
      out += buf;
    }
    out += ");";
  }
  out += std::string(reduction_name(p.reduction)) + "(n" + std::to_string(number[p.formula]);
  if (p.K > 0) out += ",K=" + std::to_string(p.K);
  if (p.weight >= 0) out += ",w=n" + std::to_string(number[p.weight]);
  out += "," + std::to_string(p.tag) + ")|args:";
  for (const ArgDecl& a : p.args)
    out += std::to_string(a.cat) + "," + std::to_string(a.dim) + ";";
  return out;
}

}  // namespace rkeops
