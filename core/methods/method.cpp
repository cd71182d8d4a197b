#include "methods/method.h"

#include "common/errors.h"
#include "common/hash.h"
#include "methods/factories_p.h"

namespace rr::core {

const std::map<std::string, MethodEntry>& methodRegistry() {
  static const std::map<std::string, MethodEntry> r = {
      {"baseline", baselineEntry()},
      {"base-lora", baseLoraEntry()},
  };
  return r;
}

std::unique_ptr<RewardSystem> createMethod(const MethodContext& ctx) {
  auto it = methodRegistry().find(ctx.method.method);
  if (it == methodRegistry().end()) throw InputError("unknown method '" + ctx.method.method + "'");
  return it->second.create(ctx);
}

LoopOptions loopOptionsFor(const MethodContext& ctx, const std::string& component,
                           size_t examples, uint64_t seedSalt) {
  const TrainingConfig& t = ctx.config.training;
  LoopOptions o;
  o.component = component;
  o.examples = static_cast<int64_t>(examples);
  o.batchSize = t.batchSize;
  o.epochs = t.epochs;
  o.maxSteps = t.maxSteps;
  o.lr = t.lr;
  o.weightDecay = t.weightDecay;
  o.warmupSteps = t.warmupSteps;
  o.gradClip = t.gradClip;
  o.evalEvery = t.evalEvery;
  o.seed = StableHash().add(static_cast<uint64_t>(ctx.seed)).add(component).add(seedSalt).value();
  return o;
}

torch::Device deviceFor(const std::string& name) {
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw InputError("training.device is \"cuda\" but this LibTorch build sees no CUDA device");
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

}  // namespace rr::core
