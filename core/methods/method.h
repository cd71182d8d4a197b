#pragma once
// The reward-model systems behind one interface (internal; LibTorch). A method describes the
// components it trains as a plan (name, data, loop options) that is known before any weights
// exist; a built system binds each planned component to its parameters, step and validation
// (ComponentJob), and one Trainer per component runs them. Systems score batches with routing
// detail and account their parameters.
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

namespace dist {
class Communicator;
}

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

// One component a method trains, known from the context alone: what progress, the ETA, resume
// and the spreading of components over processes plan with.
struct PlannedComponent {
  std::string name;                // "model", "rm:code", "router", "expert:chat/helpfulness", ...
  LoopOptions loop;                // its loop (component name, examples, epochs, seed)
  std::vector<size_t> items;       // its training pairs
  std::vector<size_t> validation;  // pairs its validation passes score ({} = none)
  // Components of one group are trained in plan order by one process (a later one starts from
  // an earlier one's weights: DMoERM's base, experts and aggregator of a category); different
  // groups are independent of each other.
  std::string group;
  int domain = -1;  // the domain (RODOS, ARLISS) or category (DMoERM) it belongs to; -1 = none
  int part = -1;    // which of the domain's parts (DMoERM's expert index); -1 = none
  int64_t steps() const { return loopSteps(loop); }
};
using TrainingPlan = std::vector<PlannedComponent>;
int64_t plannedSteps(const TrainingPlan& plan);

// What a built system binds to a planned component.
struct ComponentJob {
  std::vector<torch::Tensor> params;  // what its optimizer updates
  StepFn step;
  // Validation on a part of the component's validation pairs: per figure ("val_accuracy", ...)
  // the pairs it got right and the pairs it scored, the same figures for an empty part. nullptr
  // = no validation. Data-parallel processes each take their share and add up the counts.
  std::function<std::map<std::string, std::pair<double, double>>(const std::vector<size_t>&)>
      validate;
  std::function<void()> prepare;   // before it trains (adapter switches, freezing); may be null
  double* seconds = nullptr;       // where its training seconds are kept
};

class RewardSystem {
 public:
  virtual ~RewardSystem() = default;
  // The components training() trains, in order.
  virtual TrainingPlan plan() const = 0;
  // Binds a component of plan() (or of extensionPlan()) to this system's modules.
  virtual ComponentJob job(const PlannedComponent& component) = 0;
  // Trains plan()'s components in order, each through one Trainer.
  void train(RunReporter& reporter);
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
  virtual bool canAddDomain() const { return false; }
  // Extension by a domain (RODOS, ARLISS): the context's data now ends with a new domain; adds
  // that domain's component and a fresh router, then trains extensionPlan() — the new domain's
  // component and the router. Existing components stay unchanged.
  void extendByDomain(RunReporter& reporter);
  virtual TrainingPlan extensionPlan() const { return {}; }
  // The single reward models it is made of, when each can serve alone (Baseline, Base-LoRA,
  // RODOS's domain models, ARLISS's adapters, a published reward model); empty otherwise.
  virtual std::vector<SingleModel> singleModels() { return {}; }
  // A tokenizer of its own, when the system reads text with another tokenizer than the
  // experiment's (a published reward model); nullptr otherwise.
  virtual const Tokenizer* ownTokenizer() const { return nullptr; }

 protected:
  // The structural half of extendByDomain: the new domain's modules and a fresh router.
  virtual void addDomain() { throw std::logic_error("this method cannot be extended by a domain"); }
};

// The Trainer's validation of a component: `job.validate` on all of c.validation, or with a
// communicator (data-parallel) on this process's share, the counts summed over the processes.
EvalFn validationOf(const ComponentJob& job, const PlannedComponent& c, dist::Communicator* comm);

// Trains the plan's components in order, each through one Trainer: the component's torch
// generator is seeded from its own loop seed first, so a component's weights do not depend on
// which components were trained before it (nor on which process trains it).
void trainPlan(RewardSystem& system, const TrainingPlan& plan, RunReporter& reporter);

// Which process trains each component of `plan` when its groups are spread over `ranks`
// processes: groups by planned steps, the largest first (ties: plan order), each to the process
// with the fewest planned steps so far (ties: the lowest rank). The same on every process.
std::vector<int> assignGroups(const TrainingPlan& plan, int ranks);

// Whether a run over `ranks` processes spreads the plan's groups over them (distributed.mode:
// "components", or "auto" with at least as many groups as processes) rather than training
// every component data-parallel.
bool spreadsComponents(const std::string& mode, const TrainingPlan& plan, int ranks);

// Component parallelism: every process builds the same system; each trains the groups
// assignGroups gives it (whole, in plan order), then every component's trained tensors and
// training seconds go from its process to all others, so each ends with the whole trained
// system. Until all have finished they exchange only through the job's store (metric rows and
// logs to rank 0, which stores them live; a stop, a failure, a rank gone), as the processes
// train for different times; then the weights go by collectives. Every process ends like the
// others: finished, Cancelled, or failed naming the rank.
void trainPlanSpread(RewardSystem& system, const TrainingPlan& plan, RunReporter& reporter,
                     dist::Communicator& comm);

struct MethodEntry {
  std::function<std::unique_ptr<RewardSystem>(const MethodContext&)> create;
  // The system's training plan, known before anything is built.
  std::function<TrainingPlan(const MethodContext&)> plan;
  // Optimizer steps the system's training will take (for progress and the experiment's ETA).
  int64_t plannedSteps(const MethodContext& c) const { return rr::core::plannedSteps(plan(c)); }
};
// Registered methods by config name ("baseline", "base-lora", ...).
const std::map<std::string, MethodEntry>& methodRegistry();
std::unique_ptr<RewardSystem> createMethod(const MethodContext& ctx);

torch::Device deviceFor(const std::string& name);

}  // namespace rr::core
