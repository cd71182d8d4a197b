#pragma once
// The paper's tables from a run store: accuracy per method x domain (mean ± std over seeds),
// parameters (and % of the Baseline), train time per component, inference time per step.
// The CLI's `report` and the GUI's Compare view both build their tables here. `report --by
// capability` breaks accuracy down by the capability labels of the evaluated pairs instead;
// `report --by seed` shows each seed's mean accuracy and the paired difference to the Baseline.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/rewardbench.h"
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
  // Filled with by == "capability", per capability name: accuracy on the evaluated pairs whose
  // label for it is non-zero (over the seeds that have such pairs), and the number of those
  // pairs per seed. Empty for a method whose evaluated pairs carry no capability labels.
  std::map<std::string, Stat> capabilityAccuracy;
  std::map<std::string, Stat> capabilityPairs;
  // Filled with by == "seed": the mean accuracy over domains of each seed's run (averaged if a
  // seed ran twice), and against the Baseline of the same experiment, over the seeds both ran,
  // the per-seed difference (this method - Baseline; n = those seeds) and on how many of those
  // seeds this method is ahead. A seed's runs share data, split and pre-trained encoder, so the
  // paired difference is the fairer test when the seeds' spread is larger than the gap.
  std::map<int, double> seedAccuracy;
  Stat vsBaseline;
  int aheadOfBaseline = 0;
};

// The sections `report` adds after its table on request (docs/EVALUATION.md): per run and
// domain of the evaluated pairs.
struct ReportOptions {
  bool lengthBias = false;   // --length-bias
  bool calibration = false;  // --calibration
  bool intervals = false;    // --ci: bootstrap intervals of every accuracy
  bool rewardStats = false;  // --reward-stats
  int resamples = 1000;      // bootstrap resamples (--ci-resamples)
  std::uint64_t seed = 0;    // bootstrap seed (--ci-seed)
  std::vector<std::int64_t> compare;  // empty, or runs A and B for the exact McNemar test
  // --rewardbench: formatReport prints the RewardBench scores of the evaluations instead.
  bool rewardBench = false;
  bool anySection() const {
    return lengthBias || calibration || intervals || rewardStats || !compare.empty();
  }
};

// A run's evaluation on another pairs file (`rewardrouter-cli evaluate`).
struct EvaluationSummary {
  EvaluationInfo info;
  std::string experiment, method, methodName;
  int seed = 0;
  std::map<std::string, SubsetCount> perDomain;  // right / pairs per domain (subset)
  double accuracy = 0;         // mean over domains
  double lengthHeuristic = 0;  // "longer response wins", mean over domains; NaN without texts
  // RewardBench: v1 when a domain is a v1 subset and no pair has a best-of-N group.
  bool rewardBenchV1 = false;
  RewardBenchScore v1;
  // RewardBench 2 (pairs with groups): per subset best-of-N (mean over its prompts) or, for the
  // Ties subset, its own score (`ties`); the number of prompts per subset, and the mean over
  // subsets. Not scored, counted in `unscoredGroups`: groups with several correct completions
  // outside Ties, Ties groups whose id is not ref:N / tied:N, and a Ties subset without both
  // ref and tied prompts of one N (its figures are then still in `ties`).
  bool rewardBenchV2 = false;
  std::map<std::string, double> bestOfN;
  std::map<std::string, std::int64_t> prompts;
  double bestOfNScore = 0;
  std::int64_t unscoredGroups = 0;
  bool hasTies = false;
  TiesScore ties;
};

// One run's figures, per domain of its evaluated pairs and for all its pairs together
// (kWholeRun): pooled for accuracy, length bias, calibration and rewards; for the interval, the
// mean over domains, as the accuracy table's mean column. meanAccuracy and
// meanHeuristicAccuracy are the two accuracies of that kind, for a row that sets the model
// beside the "longer response wins" rule: compared, they must be of one kind.
struct RunFigures {
  std::int64_t runId = 0;
  std::string experiment, method, methodName;
  int seed = 0;
  std::vector<std::string> domains;  // sorted, then kWholeRun
  std::map<std::string, std::int64_t> pairs;
  std::map<std::string, double> accuracy;  // on the evaluated pairs
  std::map<std::string, LengthBias> lengthBias;
  std::map<std::string, Calibration> calibration;
  // Calibration after a fitted temperature T: fitted (fitTemperature) on the run's validation
  // pairs of the domain (all of them for kWholeRun) when the store has their rewards
  // (temperatureSource "validation", T in calibrationFitted[d].temperature, the pairs in
  // validationPairs); else, for runs of older stores or without validation pairs, by two-fold
  // cross-fitting on the evaluated pairs ("cross-fit": pairs in id order, alternately in fold 0
  // and 1; each fold's probabilities use the temperature fitted on the other fold, in
  // foldTemperatures; calibrationFitted[d].temperature is then NaN).
  std::map<std::string, Calibration> calibrationFitted;
  std::map<std::string, std::pair<double, double>> foldTemperatures;
  std::map<std::string, std::string> temperatureSource;
  std::map<std::string, std::int64_t> validationPairs;
  std::map<std::string, Interval> interval;
  std::map<std::string, RewardStats> rewards;
  // Means over the domains (each domain once, whatever its number of pairs): the run's accuracy
  // and, with lengthBias, the rule's accuracy on the same pairs. NaN where a domain has none.
  double meanAccuracy = std::numeric_limits<double>::quiet_NaN();
  double meanHeuristicAccuracy = std::numeric_limits<double>::quiet_NaN();
};

struct RunComparison {
  std::int64_t runA = 0, runB = 0;
  std::string nameA, nameB;
  McNemar test;
};

struct Report {
  std::string by;                         // "" (the main table) or one of reportBreakdowns()
  std::vector<std::string> domains;       // sorted, without "*"
  std::vector<std::string> capabilities;  // sorted; filled with by == "capability"
  std::vector<int> seeds;                 // sorted; filled with by == "seed"
  std::vector<MethodSummary> methods;
  // The "longer response wins" rule on the evaluated pairs of each experiment's runs (each pair
  // once): experiment -> domain -> accuracy, kWholeRun for the mean over domains. Experiments
  // whose pairs' texts are not in the store have none.
  std::map<std::string, std::map<std::string, double>> lengthHeuristic;
  ReportOptions options;
  std::vector<RunFigures> runs;  // filled when options ask for a per-run section
  std::vector<RunComparison> comparisons;  // filled with options.compare
  std::vector<EvaluationSummary> evaluations;  // of the finished runs in the report
};

// Finished runs among runIds (all finished runs when empty), grouped by experiment and method name.
// `by`: "" for the main table, or a breakdown from reportBreakdowns() (InputError otherwise).
// options.compare names two runs of the store (whether or not among runIds); InputError when
// either is not a finished run or they share no evaluated pair.
Report buildReport(const RunStore& store, const std::vector<std::int64_t>& runIds = {},
                   const std::string& by = "", const ReportOptions& options = {});

// md | csv | json | latex; the breakdown report.by names when it is set. Markdown and LaTeX mark
// the best value of each accuracy column bold. With options.rewardBench, the RewardBench table
// of the evaluations (JSON: one object per evaluation with run, evaluation, subsets, sections,
// score).
std::string formatReport(const Report& report, const std::string& format);
std::vector<std::string> reportFormats();

// The values `report --by` accepts.
std::vector<std::string> reportBreakdowns();
// Throws InputError naming --by and the accepted values unless `by` is one of them.
void checkReportBreakdown(const std::string& by);

// The per-run figures of other pairs than the run's test pairs, e.g. an evaluation's
// (RunStore::evaluationPairs), computed as buildReport computes them for the test pairs; the
// temperature is fitted on the run's validation pairs (RunStore::validationPairs) when given.
RunFigures figuresOfPairs(const RunInfo& run, const std::vector<ScoredPair>& pairs,
                          const ReportOptions& options,
                          const std::vector<ScoredPair>& validation = {});

}  // namespace rr::core
