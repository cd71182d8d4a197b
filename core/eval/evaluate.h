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
  std::vector<ExampleRow> examples;
};

// A pair is correct iff reward(chosen) > reward(rejected); a tie is wrong.
Evaluation evaluate(RewardSystem& system, const EncodedData& data, const std::vector<size_t>& idx,
                    int64_t runId);
// The same from scores[k] of data.pairs[idx[k]] scored elsewhere (split over the ranks of a
// distributed run and gathered).
Evaluation evaluateScores(const EncodedData& data, const std::vector<size_t>& idx,
                          const std::vector<PairScore>& scores, int64_t runId);

// The system's reward scale on pairs idx (the training pairs): both responses of each pair,
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
