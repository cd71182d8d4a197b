#pragma once
// RewardBench's scoring rules (shared/docs/REWARDBENCH.md, from allenai/reward-bench): the
// sections of the v1 subsets with their fixed weights, and RewardBench 2's best-of-N score.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rr::core {

// The v1 sections in the leaderboard's order: Chat, Chat Hard, Safety, Reasoning.
const std::vector<std::string>& rewardBenchSections();
// The section of a v1 subset, "" for a subset outside the four sections (e.g. the prior sets).
std::string rewardBenchSection(const std::string& subset);

struct SubsetCount {
  std::int64_t correct = 0, total = 0;
};
struct RewardBenchScore {
  std::map<std::string, double> subsets;   // accuracy per subset present
  std::map<std::string, double> sections;  // per section with a subset present
  double score = 0;                        // mean of the sections present; NaN without one
};
// v1: a section is sum(acc_s * count_s) / sum(count_s) over its subsets present, count_s the
// official subset size (math-prm weighted as the code subsets together).
RewardBenchScore rewardBenchV1(const std::map<std::string, SubsetCount>& subsets);

// RewardBench 2 best-of-N for one prompt: 1 / (completions sharing the maximum) when the correct
// completion's score is the maximum, else 0.
double bestOfNScore(double correct, const std::vector<double>& incorrect);

}  // namespace rr::core
