#pragma once
// Pairwise evaluation: binary accuracy per domain, examples for the store, inference timing.
#include <map>
#include <string>
#include <vector>

#include "methods/method.h"
#include "store/runstore.h"

namespace rr::core {

struct Evaluation {
  std::map<std::string, double> accuracy;  // per domain
  std::map<std::string, int64_t> count;    // pairs per domain
  double meanAccuracy = 0;                 // unweighted mean over domains
  double routerAccuracy = -1;              // share of pairs routed to their own domain; -1 if none
  // Pairs with a NaN reward on either side (a diverged model, NaN weights): counted wrong, stored
  // as NULL rewards, and reported (result nan_reward_pairs, a warning in the run's log).
  int64_t nanPairs = 0;
  std::vector<ExampleRow> examples;
};

// A pair is correct iff reward(chosen) > reward(rejected); a tie or a NaN is wrong.
Evaluation evaluate(RewardSystem& system, const EncodedData& data, const std::vector<size_t>& idx,
                    int64_t runId);
// The same from scores[k] of data.pairs[idx[k]] scored elsewhere (split over the ranks of a
// distributed run and gathered).
Evaluation evaluateScores(const EncodedData& data, const std::vector<size_t>& idx,
                          const std::vector<PairScore>& scores, int64_t runId);

// The store's result rows of an evaluation: accuracy and pairs per domain, the mean accuracy over
// domains, router accuracy where routed, nan_reward_pairs where any.
std::vector<ResultRow> resultRowsOf(const Evaluation& ev, int64_t runId);
// The run log's warning for an evaluation with NaN rewards.
std::string nanRewardWarning(const Evaluation& ev);

// Pairs per labelled domain a reward scale is measured on (rewardScaleOn).
constexpr size_t kScalePairsPerDomain = 512;

// The system's reward scale on the pairs idx (the training pairs), at most
// kScalePairsPerDomain of each labelled domain, evenly spaced: both responses of each pair,
// under the domain the system scored it in (its route; the pair's domain for a system without a
// router). See rewardNormalization in eval/metrics.h.
RewardNormalization rewardScaleOn(RewardSystem& system, const EncodedData& data,
                                  const std::vector<size_t>& idx);

struct InferenceTiming {
  double msPerStepBatch1 = 0;  // one pair (prompt + two responses) per step, median
  double pairsPerSecondBatch32 = 0;
};
InferenceTiming timeInference(RewardSystem& system, const EncodedData& data,
                              const std::vector<size_t>& idx, int repeats);

}  // namespace rr::core
