#include "train/loop.h"

#include <algorithm>
#include <cmath>

#include "common/rng.h"
#include "config/config.h"

namespace rr::core {

using Clock = std::chrono::steady_clock;

RunReporter::RunReporter(MetricSink& sink, RunControl& control, ProgressInfo base, int64_t runSteps,
                         int64_t experimentStepsBefore, int64_t experimentSteps,
                         Clock::time_point experimentStart)
    : m_sink(sink),
      m_control(control),
      m_base(std::move(base)),
      m_runSteps(std::max<int64_t>(1, runSteps)),
      m_stepsBefore(experimentStepsBefore),
      m_experimentSteps(std::max<int64_t>(1, experimentSteps)),
      m_runStart(Clock::now()),
      m_experimentStart(experimentStart),
      m_lastEmit(Clock::now() - std::chrono::seconds(1)) {}

double RunReporter::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - m_runStart).count();
}

void RunReporter::metric(const std::string& component, int64_t step, const std::string& key,
                         double value) {
  m_sink.metric({m_base.runId, component, step, elapsed(), key, value});
}

void RunReporter::log(LogLevel level, const std::string& message) {
  m_sink.log(m_base.runId, level, message);
}

void RunReporter::stepDone(const std::string& component, double loss, double pairsPerSecond) {
  ++m_done;
  const auto now = Clock::now();
  if (now - m_lastEmit < std::chrono::milliseconds(100) && m_done < m_runSteps) return;
  m_lastEmit = now;
  ProgressInfo p = m_base;
  p.component = component;
  p.step = std::min(m_done, m_runSteps);
  p.totalSteps = m_runSteps;
  p.runFraction = static_cast<double>(p.step) / static_cast<double>(m_runSteps);
  const double doneAll = static_cast<double>(m_stepsBefore + p.step);
  p.experimentFraction = doneAll / static_cast<double>(m_experimentSteps);
  const double spent = std::chrono::duration<double>(now - m_experimentStart).count();
  p.etaSeconds =
      doneAll > 0 ? spent / doneAll * (static_cast<double>(m_experimentSteps) - doneAll) : -1;
  p.pairsPerSecond = pairsPerSecond;
  p.loss = loss;
  m_sink.progress(p);
}

int64_t loopSteps(const LoopOptions& o) {
  const int64_t perEpoch = (o.examples + o.batchSize - 1) / std::max(1, o.batchSize);
  int64_t steps = perEpoch * o.epochs;
  if (o.maxSteps > 0) steps = std::min<int64_t>(steps, o.maxSteps);
  return steps;
}

PairLossOptions pairLossOptions(const TrainingConfig& t) {
  return {t.marginScale, t.centerRewards};
}

torch::Tensor pairwiseLoss(const torch::Tensor& rewards, const std::vector<double>& margins,
                           const PairLossOptions& o) {
  const int64_t n = rewards.size(0) / 2;
  const torch::Tensor chosen = rewards.slice(0, 0, n), rejected = rewards.slice(0, n);
  torch::Tensor diff = chosen - rejected;
  // Terms with a zero weight are left out, so the default is today's loss bit for bit.
  if (o.marginScale != 0) {
    if (static_cast<int64_t>(margins.size()) != n)
      throw std::logic_error("pairwiseLoss: " + std::to_string(margins.size()) + " margins for " +
                             std::to_string(n) + " pairs");
    diff = diff - o.marginScale *
                      torch::tensor(margins, diff.options().dtype(torch::kDouble)).to(diff.dtype());
  }
  torch::Tensor loss = -torch::log_sigmoid(diff).mean();
  if (o.centerRewards != 0) loss = loss + o.centerRewards * (chosen + rejected).pow(2).mean();
  return loss;
}

double runLoop(const LoopOptions& o, const std::vector<size_t>& items,
               std::vector<torch::Tensor> params, const StepFn& step, const EvalFn& eval,
               RunReporter& reporter) {
  const int64_t total = loopSteps(o);
  const auto start = Clock::now();
  if (items.empty() || total == 0) {
    reporter.log(LogLevel::Warning, o.component + ": no training data; skipped");
    return 0;
  }
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weightDecay));
  Rng rng(o.seed);
  std::vector<size_t> order = items;
  int64_t stepNo = 0;
  auto lrAt = [&](int64_t s) {
    if (o.warmupSteps > 0 && s < o.warmupSteps)
      return o.lr * static_cast<double>(s + 1) / o.warmupSteps;
    const double rest = static_cast<double>(std::max<int64_t>(1, total - o.warmupSteps));
    return o.lr * std::max(0.0, 1.0 - static_cast<double>(s - o.warmupSteps) / rest);
  };
  double evalSeconds = 0;  // validation passes are not training time
  auto runEval = [&] {
    if (!eval) return;
    const auto e0 = Clock::now();
    for (const auto& [k, v] : eval()) reporter.metric(o.component, stepNo, k, v);
    evalSeconds += std::chrono::duration<double>(Clock::now() - e0).count();
  };
  while (stepNo < total) {
    // Fisher-Yates with our own RNG: the order is reproducible for a seed on every platform.
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (size_t at = 0; at < order.size() && stepNo < total;
         at += static_cast<size_t>(o.batchSize)) {
      reporter.checkpoint();
      const auto t0 = Clock::now();
      std::vector<size_t> batch(
          order.begin() + static_cast<long>(at),
          order.begin() +
              static_cast<long>(std::min(order.size(), at + static_cast<size_t>(o.batchSize))));
      const double lr = lrAt(stepNo);
      for (auto& g : opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      opt.zero_grad();
      StepResult r = step(batch);
      r.loss.backward();
      if (o.gradClip > 0) torch::nn::utils::clip_grad_norm_(params, o.gradClip);
      opt.step();
      ++stepNo;
      const double loss = r.loss.item<double>();
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      const double rate = static_cast<double>(batch.size()) / std::max(secs, 1e-9);
      reporter.metric(o.component, stepNo, "loss", loss);
      reporter.metric(o.component, stepNo, "lr", lr);
      reporter.metric(o.component, stepNo, "pairs_per_s", rate);
      for (const auto& [k, v] : r.metrics) reporter.metric(o.component, stepNo, k, v);
      reporter.stepDone(o.component, loss, rate);
      if (o.evalEvery > 0 && stepNo % o.evalEvery == 0 && stepNo < total) runEval();
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count() - evalSeconds;
  runEval();
  return seconds;
}

}  // namespace rr::core
