#include "methods/method.h"

#include <nlohmann/json.hpp>

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

std::vector<int> assignGroups(const TrainingPlan& plan, int ranks) {
  if (ranks < 1) throw std::invalid_argument("assignGroups: ranks must be >= 1");
  std::vector<std::string> groups;  // in plan order
  std::map<std::string, int64_t> steps;
  for (const auto& c : plan) {
    if (!steps.count(c.group)) groups.push_back(c.group);
    steps[c.group] += c.steps();
  }
  std::vector<size_t> order(groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return steps[groups[a]] > steps[groups[b]];
  });
  std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
  std::map<std::string, int> owner;
  for (size_t i : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[groups[i]] = static_cast<int>(least);
    load[static_cast<size_t>(least)] += steps[groups[i]];
  }
  std::vector<int> out;
  for (const auto& c : plan) out.push_back(owner[c.group]);
  return out;
}

void trainPlanSpread(RewardSystem& system, const TrainingPlan& plan, RunReporter& reporter,
                     dist::Communicator& comm) {
  const std::vector<int> owners = assignGroups(plan, comm.size());
  nlohmann::json seconds = nlohmann::json::object();
  for (size_t k = 0; k < plan.size(); ++k) {
    const PlannedComponent& c = plan[k];
    if (owners[k] != comm.rank()) {
      // Checkpoint files are numbered by the component's place in the plan on every process.
      if (RunCheckpoints* cp = reporter.checkpoints()) cp->nextFile();
      continue;
    }
    ComponentJob job = system.job(c);
    if (job.prepare) job.prepare();
    torch::manual_seed(c.loop.seed);
    seconds[std::to_string(k)] =
        runLoop(c.loop, c.items, std::move(job.params), job.step, job.eval, reporter);
  }
  // Every process ends with every component: each is sent by the process that trained it.
  int64_t others = 0;
  for (size_t k = 0; k < plan.size(); ++k) {
    comm.broadcast(system.job(plan[k]).params, owners[k]);
    if (owners[k] != comm.rank()) others += plan[k].steps();
  }
  for (const std::string& bytes : comm.allGatherBytes(seconds.dump()))
    for (const auto& [k, v] : nlohmann::json::parse(bytes).items())
      if (double* s = system.job(plan[std::stoul(k)]).seconds) *s = v.get<double>();
  reporter.stepsRestored(others);
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
