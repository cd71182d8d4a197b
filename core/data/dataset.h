#pragma once
// Assembling an experiment's pairs: synthetic data and canonical pairs files, split assignment.
#include <string>
#include <vector>

#include "config/config.h"
#include "data/pair.h"

namespace rr::core {

// The split of a prompt: a deterministic function of the prompt text alone, so no prompt ever
// lands in two splits. Returns "train", "validation" or "test". ratios.method picks the hash:
// "mix64" (well mixed: prompts that differ in one character fall independently) or "fnv1a" (the
// method of runs made before mix64, kept so that their splits are reproduced).
std::string splitForPrompt(const std::string& prompt, const SplitConfig& ratios);

// Assigns a split to every pair that has none (pairs that arrive split keep theirs).
void assignSplits(std::vector<PreferencePair>& pairs, const SplitConfig& ratios);

// Loads the synthetic data and files an experiment names, applies domain overrides, removes
// duplicate ids, assigns splits and caps pairs per domain. Throws InputError on bad files.
std::vector<PreferencePair> loadExperimentPairs(const ExperimentConfig& config);

// Throws InputError "WHERE: domain ..." naming the first domain of `pairs` with no pair in the
// test split: its accuracy, and a mean over domains, could not be measured.
void requireTestPairs(const std::vector<PreferencePair>& pairs, const std::string& where);

}  // namespace rr::core
