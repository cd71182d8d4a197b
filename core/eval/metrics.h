#pragma once
// Figures of a run's evaluated pairs beyond accuracy (docs/EVALUATION.md gives each formula and
// its source): length bias, calibration of P(chosen) = sigmoid(r_chosen - r_rejected),
// bootstrap intervals, the exact McNemar test between two runs and reward statistics.
// Plain C++: no LibTorch, no Qt; the report (rr_core_base) and the GUI use it.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rr::core {

// One evaluated pair as the figures need it. Lengths are in characters (Unicode code points,
// SQLite's length() of the stored text): independent of any tokenizer, so runs with different
// tokenizers get the same length-heuristic row. A negative length means "unknown".
struct ScoredPair {
  std::string id;
  std::string domain;
  double rewardChosen = 0, rewardRejected = 0;
  bool correct = false;  // reward_chosen > reward_rejected; a tie is wrong
  std::int64_t chosenLength = -1, rejectedLength = -1;
  std::string group;  // the best-of-N group of a RewardBench 2 pair; "" otherwise
};

// The percentile of `sorted` (ascending) at q in [0, 1], linear between order statistics
// (Hyndman & Fan type 7, R's and NumPy's default). NaN for an empty vector.
double quantileSorted(const std::vector<double>& sorted, double q);

// Spearman's rank correlation: Pearson's correlation of the ranks, ties given their average
// rank. NaN with fewer than two values or when either side is constant.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

struct LengthBias {
  std::int64_t pairs = 0;  // pairs with both lengths known
  // The "longer response wins" rule: right when the chosen response is strictly longer (equal
  // lengths are a tie, wrong, as for the model).
  double heuristicAccuracy = 0;
  std::int64_t chosenLonger = 0;  // pairs whose chosen response is strictly longer
  // The model's accuracy on the pairs whose chosen response is longer / not longer (shorter or
  // equal); NaN where there is no such pair.
  double accuracyChosenLonger = 0, accuracyChosenNotLonger = 0;
  // Spearman's correlation of reward with length over every response (two per pair) whose
  // reward is not NaN.
  double rewardLengthSpearman = 0;
};
LengthBias lengthBias(const std::vector<ScoredPair>& pairs);

// Calibration of P(chosen) = sigmoid((r_chosen - r_rejected) / temperature) against the label.
struct Calibration {
  std::int64_t pairs = 0;
  double temperature = 1;
  // Expected calibration error over 10 equal-width bins of the predicted probability. Each pair
  // counts in both orders (p with outcome 1 and 1 - p with outcome 0): the chosen response is
  // always the first one stored, so the outcome alone would be constant.
  double ece = 0;
  double brier = 0;    // mean (1 - p)^2
  double logLoss = 0;  // mean -ln p (natural log)
};
// margins: r_chosen - r_rejected per pair. NaN figures for no pairs.
Calibration calibration(const std::vector<double>& margins, double temperature = 1.0,
                        int bins = 10);
// The temperature T > 0 minimising the mean log loss of sigmoid(margin / T) over `margins`:
// golden-section search on the inverse temperature 1/T in [0, 1000], where the log loss is
// convex. Returns +inf when the best is 1/T = 0 (every probability 0.5, e.g. all margins 0).
double fitTemperature(const std::vector<double>& margins);

struct Interval {
  double estimate = 0, low = 0, high = 0;
};
// Percentile bootstrap of the mean over groups of each group's accuracy (one group: plain
// accuracy; several: the mean over domains). Each of `resamples` draws resamples every group's
// pairs with replacement within the group (stratified, so every domain keeps its size); the
// interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of the drawn figures (type 7).
// Seeded mt19937_64, so the same input and seed give the same interval on every platform.
Interval bootstrapAccuracy(const std::vector<std::vector<bool>>& groups, int resamples = 1000,
                           std::uint64_t seed = 0, double level = 0.95);

// Exact McNemar test of two runs on the same pairs.
struct McNemar {
  std::int64_t pairs = 0;     // pairs both runs evaluated
  std::int64_t onlyA = 0;     // A right, B wrong
  std::int64_t onlyB = 0;     // A wrong, B right
  double pValue = 1;          // two-sided binomial test of onlyA against Binomial(onlyA + onlyB, 1/2)
  double accuracyA = 0, accuracyB = 0;  // on the shared pairs
};
// Pairs are matched by id; pairs only one run has are left out.
McNemar mcnemar(const std::vector<ScoredPair>& a, const std::vector<ScoredPair>& b);
// The two-sided exact binomial p-value for b successes of n = b + c trials at 1/2:
// min(1, 2 * P(X <= min(b, c))); 1 when n = 0.
double mcnemarExactP(std::int64_t b, std::int64_t c);

struct RewardStats {
  std::int64_t count = 0;  // rewards (two per pair)
  double mean = 0, std = 0;  // std: sample standard deviation (n - 1)
  double min = 0, q05 = 0, q25 = 0, median = 0, q75 = 0, q95 = 0, max = 0;  // type 7 quantiles
};
// Over every reward of the pairs (chosen and rejected) that is not NaN (count: how many). NaN
// figures for none.
RewardStats rewardStats(const std::vector<ScoredPair>& pairs);

// The reliability diagram behind calibration()'s ECE: its bins of the predicted probability
// sigmoid(margin / temperature), each pair counted in both orders as there (p with outcome 1,
// 1 - p with outcome 0), so ECE = sum over bins of count * |meanPredicted - observed| / (2 n).
struct ReliabilityBin {
  double lower = 0, upper = 0;  // [lower, upper); the last bin includes 1
  std::int64_t count = 0;       // predictions in the bin
  double meanPredicted = 0;     // NaN for an empty bin
  double observed = 0;          // share of its predictions with outcome 1; NaN if empty
  std::vector<std::size_t> pairs;  // indices into margins of the pairs with a prediction here
};
std::vector<ReliabilityBin> reliabilityDiagram(const std::vector<double>& margins,
                                               double temperature = 1.0, int bins = 10);

// The reward scale of a trained system (`score --normalize`): per domain, the mean and sample
// standard deviation (n - 1) of its rewards for both responses of the training pairs, and the
// same over all of them (system-wide).
struct RewardScale {
  std::int64_t count = 0;  // rewards
  double mean = 0, std = 0;
};
struct RewardNormalization {
  std::map<std::string, RewardScale> domains;
  RewardScale all;
};
// rewards: (domain, reward) per response; the domain is the one the reward was scored in (the
// route of a routed system, the pair's domain otherwise). A scale of one reward has std 0.
RewardNormalization rewardNormalization(
    const std::vector<std::pair<std::string, double>>& rewards);
// (reward - mean) / std with the figures of `domain` when it has them, else the system-wide ones
// (domain "" or one without training rewards); a std of 0 divides by 1 (only centred). `used`
// receives the domain whose figures were used, "*" for the system-wide ones.
double normalizeReward(const RewardNormalization& n, const std::string& domain, double reward,
                       std::string* used = nullptr);

}  // namespace rr::core
