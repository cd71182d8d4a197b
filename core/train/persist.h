#pragma once
// Saving a trained system next to its run store and loading it back (internal; LibTorch).
// Layout: <db>.models/run-<id>/manifest.json, one .pt file per module, and tokenizer.model, or
// for a Hugging Face backbone backbone/ with its config.json and tokenizer files.
#include <memory>
#include <string>

#include "data/tokenizer.h"
#include "methods/method.h"

namespace rr::core {

void saveSystem(RewardSystem& system, const MethodContext& ctx, const Tokenizer& tokenizer,
                const std::string& dir);

// A loaded system with everything it refers to.
struct LoadedSystem {
  ExperimentConfig config;
  MethodConfig method;
  EncodedData data;  // no pairs: the domains, vocabulary and special ids the system was built with
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<MethodContext> ctx;
  std::unique_ptr<RewardSystem> system;
};

// Throws InputError naming the directory when it is missing or incomplete.
std::unique_ptr<LoadedSystem> loadSystem(const std::string& dir);
// A Hugging Face reward-model folder as a loaded `pretrained` system (nothing trained), inputs cut
// at the model's own limit or at maxLen (> 0) when smaller.
std::unique_ptr<LoadedSystem> loadHfRewardModel(const std::string& dir, int maxLen = 0);

}  // namespace rr::core
