#pragma once
// The one training loop every component of every method goes through (internal; LibTorch).
// The optimizer step lives here alone, so a gradient all-reduce for data-parallel training has
// exactly one place to go.
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "train/metricsink.h"
#include "train/runcontrol.h"

namespace rr::core {

// Progress and metrics of one run, with the run's clock and its share of the experiment.
class RunReporter {
 public:
  RunReporter(MetricSink& sink, RunControl& control, ProgressInfo base, int64_t runSteps,
              int64_t experimentStepsBefore, int64_t experimentSteps,
              std::chrono::steady_clock::time_point experimentStart);

  void metric(const std::string& component, int64_t step, const std::string& key, double value);
  void log(LogLevel level, const std::string& message);
  // One optimizer step of `component` finished; emits progress at most every 100 ms.
  void stepDone(const std::string& component, double loss, double pairsPerSecond);
  void checkpoint() { m_control.checkpoint(); }
  double elapsed() const;
  int64_t runId() const { return m_base.runId; }

 private:
  MetricSink& m_sink;
  RunControl& m_control;
  ProgressInfo m_base;
  int64_t m_runSteps, m_stepsBefore, m_experimentSteps, m_done = 0;
  std::chrono::steady_clock::time_point m_runStart, m_experimentStart, m_lastEmit;
};

struct LoopOptions {
  std::string component = "model";
  int64_t examples = 0;  // examples per epoch
  int batchSize = 16;
  int epochs = 1;
  int maxSteps = 0;
  double lr = 5e-4;
  double weightDecay = 0.01;
  int warmupSteps = 0;
  double gradClip = 1.0;
  int evalEvery = 0;
  uint64_t seed = 1;
};

int64_t loopSteps(const LoopOptions& o);

struct StepResult {
  torch::Tensor loss;                     // what is minimised
  std::map<std::string, double> metrics;  // extra per-step metrics (e.g. expert load)
};
using StepFn = std::function<StepResult(const std::vector<size_t>& batch)>;
using EvalFn = std::function<std::map<std::string, double>()>;

// Shuffles `items` each epoch (seeded), steps AdamW with warmup + linear decay and gradient
// clipping, evaluates every evalEvery steps and at the end. Returns the training seconds.
double runLoop(const LoopOptions& o, const std::vector<size_t>& items,
               std::vector<torch::Tensor> params, const StepFn& step, const EvalFn& eval,
               RunReporter& reporter);

struct TrainingConfig;

// The pairwise reward loss (docs/METHODS.md "Loss"): over [2n] rewards (chosen first) and the
// pairs' n margins, the batch mean of
//   -log sigmoid(r_c - r_r - marginScale * m) + centerRewards * (r_c + r_r)^2.
// With both options 0 it is the plain Bradley-Terry loss, computed as before.
struct PairLossOptions {
  double marginScale = 0;
  double centerRewards = 0;
};
PairLossOptions pairLossOptions(const TrainingConfig& t);
torch::Tensor pairwiseLoss(const torch::Tensor& rewards, const std::vector<double>& margins,
                           const PairLossOptions& o);

}  // namespace rr::core
