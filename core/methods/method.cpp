#include "methods/method.h"

#include "common/errors.h"
#include "dist/dist.h"
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

EvalFn validationOf(const ComponentJob& job, const PlannedComponent& c, dist::Communicator* comm) {
  if (!job.validate) return nullptr;
  auto validate = job.validate;
  const std::vector<size_t>& all = c.validation;
  return [validate, &all, comm]() {
    std::map<std::string, double> out;
    if (!comm || comm->size() == 1) {
      for (const auto& [key, counts] : validate(all))
        if (counts.second > 0) out[key] = counts.first / counts.second;
      return out;
    }
    const auto [from, to] = dist::shareOf(all.size(), comm->rank(), comm->size());
    const auto mine = validate(std::vector<size_t>(all.begin() + static_cast<long>(from),
                                                   all.begin() + static_cast<long>(to)));
    std::vector<double> counts;  // right, scored per figure, in key order (the same everywhere)
    for (const auto& [key, c] : mine) {
      counts.push_back(c.first);
      counts.push_back(c.second);
    }
    const std::vector<double> every = comm->allGatherDoubles(counts);
    size_t k = 0;
    for (const auto& [key, c] : mine) {
      double right = 0, scored = 0;
      for (size_t r = 0; r < static_cast<size_t>(comm->size()); ++r) {
        right += every[r * counts.size() + 2 * k];
        scored += every[r * counts.size() + 2 * k + 1];
      }
      if (scored > 0) out[key] = right / scored;
      ++k;
    }
    return out;
  };
}

void trainPlan(RewardSystem& system, const TrainingPlan& plan, RunReporter& reporter) {
  for (const PlannedComponent& c : plan) {
    ComponentJob job = system.job(c);
    if (job.prepare) job.prepare();
    torch::manual_seed(c.loop.seed);
    const double seconds =
        runLoop(c.loop, c.items, std::move(job.params), job.step,
                validationOf(job, c, reporter.communicator()), reporter);
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
