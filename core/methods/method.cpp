#include "methods/method.h"

#include "common/errors.h"
#include "methods/factories_p.h"

namespace rr::core {

const std::map<std::string, MethodEntry>& methodRegistry() {
  static const std::map<std::string, MethodEntry> r = {
      {"baseline", baselineEntry()}, {"base-lora", baseLoraEntry()}, {"more", moreEntry()},
      {"rodos", rodosEntry()},       {"arliss", arlissEntry()},      {"dmoerm", dmoermEntry()},
      {"pretrained", pretrainedEntry()},
  };
  return r;
}

std::unique_ptr<RewardSystem> createMethod(const MethodContext& ctx) {
  auto it = methodRegistry().find(ctx.method.method);
  if (it == methodRegistry().end()) throw InputError("unknown method '" + ctx.method.method + "'");
  return it->second.create(ctx);
}

int64_t plannedSteps(const TrainingPlan& plan) {
  int64_t steps = 0;
  for (const auto& c : plan) steps += c.steps();
  return steps;
}

void trainPlan(RewardSystem& system, const TrainingPlan& plan, RunReporter& reporter) {
  for (const PlannedComponent& c : plan) {
    ComponentJob job = system.job(c);
    if (job.prepare) job.prepare();
    torch::manual_seed(c.loop.seed);
    const double seconds =
        runLoop(c.loop, c.items, std::move(job.params), job.step, job.eval, reporter);
    if (job.seconds) *job.seconds = seconds;
  }
}

void RewardSystem::train(RunReporter& reporter) {
  const TrainingPlan p = plan();
  if (p.empty()) reporter.log(LogLevel::Info, "nothing to train: the system is scored as it is");
  trainPlan(*this, p, reporter);
}

void RewardSystem::extendByDomain(RunReporter& reporter) {
  if (!canAddDomain()) throw std::logic_error("this method cannot be extended by a domain");
  addDomain();
  trainPlan(*this, extensionPlan(), reporter);
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
