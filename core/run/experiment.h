#pragma once
// Running an experiment: data -> tokenizer -> every (seed, method) run -> evaluation -> store.
// The public entry point of training for the CLI and the GUI; no LibTorch types here.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "train/metricsink.h"
#include "train/runcontrol.h"

namespace rr::core {

namespace dist {
class Communicator;
}

struct ExperimentOptions {
  std::string dbPath;
  int seedsOverride = 0;                 // > 0 replaces training.seeds
  std::vector<std::string> onlyMethods;  // method entry names; empty = all
  int inferenceRepeats = 20;             // timing samples per run
  // Take up the store's unfinished runs of this experiment and config again (`run --resume`):
  // finished runs are kept, interrupted, failed and cancelled ones continue from their last
  // checkpoint, runs of the plan the store does not have yet are created.
  bool resume = false;
  // The process group of a run over several processes (docs/DISTRIBUTED.md); nullptr = one.
  // Every rank calls runExperiment with the same config and options; rank 0 alone writes the
  // store and the model folders, and a failed run ends the whole job.
  dist::Communicator* comm = nullptr;
};

struct ExperimentOutcome {
  std::vector<std::int64_t> runIds;
  int finished = 0, failed = 0;
  int resumed = 0;  // runs taken up again (--resume); finished ones it kept count in `finished`
  bool cancelled = false;
};

// Validates what the config cannot check alone (methods filter), prepares the data once, then
// runs each seed x method. A failing run is marked failed and the next one goes on; a stop
// request marks the current run cancelled and the runs not started cancelled too.
// Where a finished run's trained system is saved: <dbPath>.models/run-<id>.
std::string modelDirFor(const std::string& dbPath, std::int64_t runId);

// Where a run's resumable checkpoints are kept while it is unfinished: <dbPath>.models/run-<id>.resume.
std::string checkpointDirFor(const std::string& dbPath, std::int64_t runId);

ExperimentOutcome runExperiment(const ExperimentConfig& config, const ExperimentOptions& options,
                                MetricSink& sink, RunControl& control);

}  // namespace rr::core
