#pragma once
// The paper's tables from a run store: accuracy per method x domain (mean ± std over seeds),
// parameters (and % of the Baseline), train time per component, inference time per step.
// The CLI's `report` and the GUI's Compare view both build their tables here.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/runstore.h"

namespace rr::core {

struct Stat {
  double mean = 0, std = 0;  // std: sample standard deviation over seeds (0 for one seed)
  int n = 0;
};
Stat statOf(const std::vector<double>& values);

struct MethodSummary {
  std::string experiment, method, methodName;
  std::vector<std::int64_t> runIds;
  std::vector<int> seeds;
  std::map<std::string, Stat> accuracy;  // per domain, and "*" for the mean over domains
  std::map<std::string, Stat> metrics;   // params_total, params_trainable, train_seconds,
                                         // infer_ms_per_step, infer_pairs_per_s, router_accuracy
  std::map<std::string, Stat> componentSeconds;  // per component name
  double paramsPctOfBaseline = -1;               // -1 without a Baseline in the same experiment
};

struct Report {
  std::vector<std::string> domains;  // sorted, without "*"
  std::vector<MethodSummary> methods;
};

// Finished runs among runIds (all finished runs when empty), grouped by experiment and method name.
Report buildReport(const RunStore& store, const std::vector<std::int64_t>& runIds = {});

// md | csv | json | latex. Markdown and LaTeX mark the best value of each accuracy column bold.
std::string formatReport(const Report& report, const std::string& format);
std::vector<std::string> reportFormats();

}  // namespace rr::core
