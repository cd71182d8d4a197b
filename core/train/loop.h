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

#include "common/rng.h"
#include "train/metricsink.h"
#include "train/runcontrol.h"

namespace rr::core {

namespace dist {
class Communicator;
}

// Where the components of one run keep their resumable checkpoints (training.checkpoint_every):
// <dir>/component-<k>.pt for the run's k-th component in training order, each rewritten
// atomically, so a kill at any moment leaves the previous complete file. A run that resumes
// finds them from the attempt before; the components are trained in the same order again.
class RunCheckpoints {
 public:
  RunCheckpoints(std::string dir, int every, bool resuming);
  // The file of the run's next component (in training order).
  std::string nextFile();
  int every() const { return m_every; }
  // Files of an earlier attempt may be there (a resumed run).
  bool resuming() const { return m_resuming; }
  const std::string& dir() const { return m_dir; }

 private:
  std::string m_dir;
  int m_every;
  bool m_resuming;
  int m_next = 0;
};

// Checks every checkpoint file (component-K.pt) in `dir` (a run's .resume folder) as resuming would before
// loading it: a regular file, not a link, its SHA-256 the one saved with it. Throws InputError
// naming the first damaged one and what to do; nothing when `dir` does not exist. `run --resume`
// calls it before it takes up the run, so a damaged checkpoint changes nothing.
void verifyCheckpoints(const std::string& dir);

// Progress and metrics of one run, with the run's clock and its share of the experiment.
class RunReporter {
 public:
  RunReporter(MetricSink& sink, RunControl& control, ProgressInfo base, int64_t runSteps,
              int64_t experimentStepsBefore, int64_t experimentSteps,
              std::chrono::steady_clock::time_point experimentStart);

  void metric(const std::string& component, int64_t step, const std::string& key, double value);
  // A figure of one rank of a data-parallel run (stored with its rank; the run's own figures
  // are the whole job's).
  void rankMetric(const std::string& component, int64_t step, const std::string& key, double value,
                  int rank);
  void log(LogLevel level, const std::string& message);
  // One optimizer step of `component` finished; emits progress at most every 100 ms.
  void stepDone(const std::string& component, double loss, double pairsPerSecond);
  // Steps a resumed run does not take again (restored from a checkpoint).
  void stepsRestored(int64_t steps) { m_done += steps; }
  // Drops what `component` reported after `step` (a resumed run repeats those steps).
  void rewind(const std::string& component, int64_t step);
  // Everything reported so far reaches the sink's storage (before a checkpoint is written).
  void flush() { m_sink.flush(); }
  // Blocks while paused, throws Cancelled once a stop was requested. In a distributed run it is
  // a collective: every rank calls it at the same point and all stop when any rank was asked to.
  void checkpoint();
  bool stopRequested() const { return m_control.stopRequested(); }
  double elapsed() const;
  int64_t runId() const { return m_base.runId; }
  // The run's checkpoints; nullptr when its components are not checkpointed.
  RunCheckpoints* checkpoints() const { return m_checkpoints; }
  void setCheckpoints(RunCheckpoints* c) { m_checkpoints = c; }
  // A reporter of the same run, progress and checkpoints that reports to `sink`, for one process
  // alone (no communicator): what a process trains its own components with when components are
  // spread over the processes.
  RunReporter(const RunReporter& like, MetricSink& sink);
  // Called from checkpoint() at most every 250 ms, before the run control is asked: a process
  // exchanges what it has to with the others there; it may throw (Cancelled, a failure).
  void setPoll(std::function<void()> poll) { m_poll = std::move(poll); }
  MetricSink& sink() const { return m_sink; }
  // The process group of a distributed run; nullptr = one process. Every Trainer of the run
  // then trains data-parallel (docs/DISTRIBUTED.md).
  dist::Communicator* communicator() const { return m_comm; }
  void setCommunicator(dist::Communicator* c) { m_comm = c; }

 private:
  MetricSink& m_sink;
  RunControl& m_control;
  ProgressInfo m_base;
  int64_t m_runSteps, m_stepsBefore, m_experimentSteps, m_done = 0;
  std::chrono::steady_clock::time_point m_runStart, m_experimentStart, m_lastEmit;
  RunCheckpoints* m_checkpoints = nullptr;
  dist::Communicator* m_comm = nullptr;
  std::function<void()> m_poll;
  std::chrono::steady_clock::time_point m_lastPoll;
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
  // Tokens of an item (its longest row), or null. When set, each epoch's shuffled order is cut
  // into groups of kLengthGroupBatches batches; each group is sorted by length (longest first)
  // and its batches put in an order drawn from the same generator. Batches then hold items of
  // about one length, padded little; the order stays a seeded, checkpointed permutation.
  std::function<size_t(size_t item)> length;
};
constexpr size_t kLengthGroupBatches = 50;

int64_t loopSteps(const LoopOptions& o);

struct StepResult {
  torch::Tensor loss;                     // what is minimised
  std::map<std::string, double> metrics;  // extra per-step metrics (e.g. expert load)
};
using StepFn = std::function<StepResult(const std::vector<size_t>& batch)>;
using EvalFn = std::function<std::map<std::string, double>()>;

// Trains one component: owns its optimizer (AdamW, warm-up then linear decay, gradient
// clipping), its batch order (`items` shuffled each epoch with the component's seed) and its
// position in the data, evaluates every evalEvery steps and at the end. When the reporter has
// checkpoints, the whole state (weights, optimizer moments, step, order and position, the order's
// RNG and LibTorch's generator) is written every checkpoint_every steps and at the end, and a
// resumed run continues from it: the weights and metrics are those of an uninterrupted run.
//
// With the reporter's communicator (several processes), training is data-parallel: the
// parameters start as rank 0's, every rank draws the same batch order and takes its contiguous
// share of each global batch (batchSize stays the global batch), scales its loss by its share so
// the summed gradient is the global batch's, and the gradients are summed in buckets before
// clipping and AdamW; the ranks keep identical weights. One small collective after each step
// carries every rank's loss, pairs/s and stop flag. Only rank 0 writes checkpoints.
class Trainer {
 public:
  Trainer(const LoopOptions& o, const std::vector<size_t>& items,
          std::vector<torch::Tensor> params, RunReporter& reporter);
  // Returns the training seconds (validation passes excluded; a resumed component's earlier
  // seconds included).
  double run(const StepFn& step, const EvalFn& eval);

 private:
  void save(const std::string& file, bool done) const;
  // This epoch's shuffled order cut into length groups (LoopOptions::length).
  void groupByLength();
  // Restores what `file` holds; true when the component had finished. InputError naming the
  // file, with what to do, when it is damaged or does not fit the component.
  bool restore(const std::string& file);
  bool restoreFrom(torch::serialize::InputArchive& ar, const std::string& file);
  void checkOptimizerState(const std::string& file) const;
  // Sums the gradients over the ranks; a gradient no rank has stays undefined (as AdamW skips it
  // in one process).
  // Returns the bytes summed (the gradients and the flags).
  double sumGradients(dist::Communicator& comm);
  double lrAt(int64_t s) const;

  LoopOptions m_o;
  std::vector<torch::Tensor> m_params;
  RunReporter& m_reporter;
  int64_t m_total;
  torch::optim::AdamW m_opt;
  Rng m_rng;
  std::vector<size_t> m_order;
  size_t m_at = 0;         // next batch's offset in m_order
  bool m_inEpoch = false;  // m_order is this epoch's (shuffled) order
  int64_t m_step = 0;
  double m_secondsBefore = 0;  // training seconds of earlier attempts
};

// One component through a Trainer: what every method and the pre-training call.
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
