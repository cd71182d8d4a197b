#pragma once
// Saving a trained system next to its run store and loading it back (internal; LibTorch).
// Layout (docs/STORE.md, "Saved systems"): <db>.models/run-<id>/manifest.json, one .pt file per
// module, tokenizer.model and encoder_init.pt (the pre-trained encoder every model started from),
// or for a Hugging Face backbone backbone/ with its config.json and tokenizer files. The folder
// is self-contained: the manifest names files inside it only, each with its SHA-256.
#include <memory>
#include <optional>
#include <string>

#include "data/tokenizer.h"
#include "eval/metrics.h"
#include "methods/method.h"
#include "store/runstore.h"

namespace rr::core {

// Writes into a staging folder next to `dir` and renames it into place when complete, replacing
// what was there; on failure (a full disk) the staging folder is removed and InputError names the
// file. runUuid: the identity of the run in its store ("" outside a store).
// normalization: the system's reward scale on its training pairs, saved as normalization.json
// (checksummed like every file) for `score --normalize`; none when null.
void saveSystem(RewardSystem& system, const MethodContext& ctx, const Tokenizer& tokenizer,
                const std::string& dir, const std::string& runUuid = "",
                const RewardNormalization* normalization = nullptr);

// A loaded system with everything it refers to.
struct LoadedSystem {
  ExperimentConfig config;
  MethodConfig method;
  EncodedData data;  // no pairs: the domains, vocabulary and special ids the system was built with
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<MethodContext> ctx;
  std::unique_ptr<RewardSystem> system;
  std::string runUuid;  // "" for a folder saved outside a store or by an older version
  // An older folder's pre-trained encoder outside it that is gone: scoring needs nothing from it
  // (every module's weights are in the folder), extending by a new domain model does.
  std::string missingEncoderInit;
  // The reward scale saved with the system; none for folders saved before it was (and for
  // Hugging Face reward models).
  std::optional<RewardNormalization> normalization;
};

// Throws InputError naming the manifest and the field (JSON path) when the folder is missing,
// incomplete, inconsistent or changed since it was saved (a file's checksum differs).
std::unique_ptr<LoadedSystem> loadSystem(const std::string& dir);
// The saved system of `run` in the store at dbPath: the run must be finished and the folder must
// have been saved by that very run (the same run UUID), not by an earlier store's run of that id.
std::unique_ptr<LoadedSystem> loadRunSystem(const std::string& dbPath, const RunInfo& run);
// A Hugging Face reward-model folder as a loaded `pretrained` system (nothing trained), inputs cut
// at the model's own limit or at maxLen (> 0) when smaller.
std::unique_ptr<LoadedSystem> loadHfRewardModel(const std::string& dir, int maxLen = 0);

}  // namespace rr::core
