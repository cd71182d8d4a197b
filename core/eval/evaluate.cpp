#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

namespace rr::core {

Evaluation evaluate(RewardSystem& system, const EncodedData& data, const std::vector<size_t>& idx,
                    int64_t runId) {
  return evaluateScores(data, idx, system.scorePairs(data, idx), runId);
}

Evaluation evaluateScores(const EncodedData& data, const std::vector<size_t>& idx,
                          const std::vector<PairScore>& scores, int64_t runId) {
  Evaluation ev;
  std::map<std::string, int64_t> correct;
  int64_t routed = 0, routedRight = 0;
  ev.examples.reserve(idx.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    const auto& p = data.pairs[idx[k]];
    const auto& s = scores[k];
    const bool ok = s.chosen > s.rejected;
    if (std::isnan(s.chosen) || std::isnan(s.rejected)) ++ev.nanPairs;
    ev.count[p.domain]++;
    correct[p.domain] += ok ? 1 : 0;
    if (!s.route.empty()) {
      ++routed;
      routedRight += s.route == p.domain ? 1 : 0;
    }
    ExampleRow row;
    row.runId = runId;
    row.exampleId = p.id;
    row.domain = p.domain;
    row.rewardChosen = s.chosen;
    row.rewardRejected = s.rejected;
    row.routedTo = s.route;
    row.correct = ok;
    row.detailJson = s.detail.empty() ? "{}" : nlohmann::json(s.detail).dump();
    ev.examples.push_back(std::move(row));
  }
  for (const auto& [domain, n] : ev.count) {
    ev.accuracy[domain] = static_cast<double>(correct[domain]) / static_cast<double>(n);
    ev.meanAccuracy += ev.accuracy[domain];
  }
  if (!ev.count.empty()) ev.meanAccuracy /= static_cast<double>(ev.count.size());
  if (routed > 0)
    ev.routerAccuracy = static_cast<double>(routedRight) / static_cast<double>(routed);
  return ev;
}

std::vector<ResultRow> resultRowsOf(const Evaluation& ev, int64_t runId) {
  std::vector<ResultRow> rows;
  for (const auto& [domain, acc] : ev.accuracy) {
    rows.push_back({runId, domain, "accuracy", acc});
    rows.push_back({runId, domain, "pairs", static_cast<double>(ev.count.at(domain))});
  }
  rows.push_back({runId, kWholeRun, "accuracy", ev.meanAccuracy});
  if (ev.routerAccuracy >= 0) rows.push_back({runId, kWholeRun, "router_accuracy", ev.routerAccuracy});
  if (ev.nanPairs > 0)
    rows.push_back({runId, kWholeRun, "nan_reward_pairs", static_cast<double>(ev.nanPairs)});
  return rows;
}

std::string nanRewardWarning(const Evaluation& ev) {
  return std::to_string(ev.nanPairs) + " of " + std::to_string(ev.examples.size()) +
         " test pairs got a NaN reward and count as wrong: the model gives NaN (diverged "
         "training, or NaN weights in its folder)";
}

RewardNormalization rewardScaleOn(RewardSystem& system, const EncodedData& data,
                                  const std::vector<size_t>& given) {
  // At most kScalePairsPerDomain pairs of each labelled domain, evenly spaced in the given order:
  // the mean of 2 x 512 rewards is within about 3% of a standard deviation of the mean over all,
  // and a run on real data (thousands of pairs of hundreds of tokens) no longer spends minutes
  // after training scoring every one of them.
  std::map<int, std::vector<size_t>> byDomain;
  for (size_t i : given) byDomain[data.encoded[i].domain].push_back(i);
  std::vector<size_t> idx;
  for (const auto& [domain, pairs] : byDomain) {
    const size_t take = std::min(pairs.size(), kScalePairsPerDomain);
    for (size_t k = 0; k < take; ++k) idx.push_back(pairs[k * pairs.size() / take]);
  }
  std::vector<std::pair<std::string, double>> rewards;
  rewards.reserve(idx.size() * 2);
  const std::vector<PairScore> scores = system.scorePairs(data, idx);  // chunked inside
  for (size_t k = 0; k < idx.size(); ++k) {
    const std::string& domain = scores[k].route.empty() ? data.pairs[idx[k]].domain : scores[k].route;
    rewards.emplace_back(domain, scores[k].chosen);
    rewards.emplace_back(domain, scores[k].rejected);
  }
  return rewardNormalization(rewards);
}

InferenceTiming timeInference(RewardSystem& system, const EncodedData& data,
                              const std::vector<size_t>& idx, int repeats) {
  using Clock = std::chrono::steady_clock;
  InferenceTiming t;
  if (idx.empty()) return t;
  std::vector<double> ms;
  system.scorePairs(data, {idx[0]});  // warm-up
  for (int r = 0; r < repeats; ++r) {
    const size_t i = idx[static_cast<size_t>(r) % idx.size()];
    const auto t0 = Clock::now();
    system.scorePairs(data, {i});
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
  t.msPerStepBatch1 = ms[ms.size() / 2];
  std::vector<size_t> batch;
  for (size_t k = 0; k < 32; ++k) batch.push_back(idx[k % idx.size()]);
  system.scorePairs(data, batch);
  const int rounds = std::max(1, repeats / 8);
  const auto t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) system.scorePairs(data, batch);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  t.pairsPerSecondBatch32 = 32.0 * rounds / std::max(secs, 1e-9);
  return t;
}

}  // namespace rr::core
