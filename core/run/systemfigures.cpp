#include "run/systemfigures.h"

#include "eval/evaluate.h"

namespace rr::core {

RewardNormalization recordSystemFigures(RunRecorder& recorder, std::int64_t runId,
                                        RewardSystem& system, const EncodedData& data) {
  if (!data.validation.empty())
    recorder.addValidationExamples(evaluate(system, data, data.validation, runId).examples);
  RewardNormalization n = rewardScaleOn(system, data, data.train);
  std::vector<ResultRow> rows;
  for (const auto& [domain, s] : n.domains) {
    rows.push_back({runId, domain, "train_reward_mean", s.mean});
    rows.push_back({runId, domain, "train_reward_std", s.std});
  }
  rows.push_back({runId, kWholeRun, "train_reward_mean", n.all.mean});
  rows.push_back({runId, kWholeRun, "train_reward_std", n.all.std});
  recorder.addResults(rows);
  return n;
}

}  // namespace rr::core
