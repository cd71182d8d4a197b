#pragma once
// The reward-model systems behind one interface (internal; LibTorch). Each method trains its
// components through runLoop, scores batches with routing detail, and accounts its parameters.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "train/batch.h"
#include "train/loop.h"

namespace rr::core {

struct MethodContext {
  const ExperimentConfig& config;
  const MethodConfig& method;
  int seed = 1;
  const EncodedData& data;
  torch::Device device = torch::kCPU;
  std::string encoderInit;  // pre-trained encoder weights every model starts from ("" = random)
  // A saved system's structure (RewardSystem::structure()); empty = derive it from the data.
  nlohmann::json structure = nlohmann::json::object();
  // A Hugging Face model folder every encoder is built from ("" = RewardRouter's own encoder).
  // Its weights are loaded unless backboneWeights is false (a saved system's own weights follow).
  std::string backboneDir = "";
  bool backboneWeights = true;
  // The folder the backbone first came from (a saved system's backboneDir is its own copy).
  std::string backboneSource = "";
};

using NamedModules = std::vector<std::pair<std::string, torch::nn::Module*>>;

// One trained piece of a system (a reward model, a router, an adapter), as in the paper's Table 3.
struct ComponentInfo {
  std::string name;
  int64_t paramsTotal = 0;      // parameters this component adds to what must be served
  int64_t paramsTrainable = 0;  // parameters its training updated
  double trainSeconds = 0;
};

// Scores for one pair: the method sees the prompt once and both responses.
struct PairScore {
  double chosen = 0, rejected = 0;
  std::string route;                     // domain / expert chosen by a router; "" if none
  std::map<std::string, double> detail;  // per-expert weights, per-capability scores, ...
};

namespace nn {
class Encoder;
}
class Tokenizer;

// One reward model inside a system that stands on its own (an encoder with the adapter to merge
// and a one-output head): what `export` writes as a Hugging Face folder.
struct SingleModel {
  std::string name;  // "" for a system that is one model; else a domain
  const nn::Encoder* encoder = nullptr;
  std::string adapter;  // LoRA adapter to merge ("" = none)
  torch::Tensor headWeight, headBias;
};

class RewardSystem {
 public:
  virtual ~RewardSystem() = default;
  virtual void train(RunReporter& reporter) = 0;
  // Scores data.pairs[idx[i]] in eval mode without gradients. `data` may be other data than
  // the system was trained on (new text to score), encoded with the same tokenizer.
  virtual std::vector<PairScore> scorePairs(const EncodedData& data,
                                            const std::vector<size_t>& idx) = 0;
  virtual std::vector<ComponentInfo> components() const = 0;
  // Parameters that must be held to serve the system, shared weights counted once.
  virtual int64_t servedParameters() const = 0;
  // Every trained module by a stable name: what is saved and loaded.
  virtual NamedModules namedModules() = 0;
  // What rebuilding the system needs beyond the config and the domains.
  virtual nlohmann::json structure() const { return nlohmann::json::object(); }
  // Extension by a domain (RODOS, ARLISS): the context's data now ends with a new domain; train
  // only that domain's component, then retrain the router. Existing components stay unchanged.
  virtual bool canAddDomain() const { return false; }
  // The single reward models it is made of, when each can serve alone (Baseline, Base-LoRA,
  // RODOS's domain models, ARLISS's adapters, a published reward model); empty otherwise.
  virtual std::vector<SingleModel> singleModels() { return {}; }
  // A tokenizer of its own, when the system reads text with another tokenizer than the
  // experiment's (a published reward model); nullptr otherwise.
  virtual const Tokenizer* ownTokenizer() const { return nullptr; }
  virtual void addDomain(RunReporter& reporter) {
    (void)reporter;
    throw std::logic_error("this method cannot be extended by a domain");
  }
};

struct MethodEntry {
  std::function<std::unique_ptr<RewardSystem>(const MethodContext&)> create;
  // Optimizer steps the system's training will take, known before anything is built (for
  // progress and the experiment's ETA).
  std::function<int64_t(const MethodContext&)> plannedSteps;
};
// Registered methods by config name ("baseline", "base-lora", ...).
const std::map<std::string, MethodEntry>& methodRegistry();
std::unique_ptr<RewardSystem> createMethod(const MethodContext& ctx);

torch::Device deviceFor(const std::string& name);

}  // namespace rr::core
