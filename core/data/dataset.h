#pragma once
// Assembling an experiment's pairs: synthetic data and canonical pairs files, split assignment.
#include <string>
#include <vector>

#include "config/config.h"
#include "data/pair.h"

namespace rr::core {

// The split of a prompt: a deterministic function of the prompt text alone, so no prompt ever
// lands in two splits. Returns "train", "validation" or "test".
std::string splitForPrompt(const std::string& prompt, const SplitConfig& ratios);

// Assigns a split to every pair that has none (pairs that arrive split keep theirs).
void assignSplits(std::vector<PreferencePair>& pairs, const SplitConfig& ratios);

// Loads the synthetic data and files an experiment names, applies domain overrides, removes
// duplicate ids, assigns splits and caps pairs per domain. Throws InputError on bad files.
std::vector<PreferencePair> loadExperimentPairs(const ExperimentConfig& config);

}  // namespace rr::core
