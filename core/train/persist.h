#pragma once
// Saving a trained system next to its run store and loading it back (internal; LibTorch).
// Layout: <db>.models/run-<id>/manifest.json, tokenizer.model and one .pt file per module.
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

}  // namespace rr::core
