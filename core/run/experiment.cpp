#include "run/experiment.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include "common/errors.h"
#include "common/fileio.h"
#include "config/memoryestimate.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "dist/dist.h"
#include "eval/evaluate.h"
#include "methods/method.h"
#include "run/distrun.h"
#include "run/persist.h"
#include "run/pretrain.h"
#include "run/runrecorder.h"
#include "run/systemfigures.h"
#include "store/runstore.h"
#include "train/backbone.h"

namespace rr::core {
namespace {

std::unique_ptr<Tokenizer> prepareTokenizer(const ExperimentConfig& config,
                                            const std::vector<PreferencePair>& pairs,
                                            const HfBackboneInfo* backbone, MetricSink& sink) {
  if (backbone) return loadBackboneTokenizer(*backbone);
  if (!config.tokenizer.model.empty()) {
    try {
      return loadSentencePiece(resolveConfigPath(config, config.tokenizer.model));
    } catch (const InputError& e) {
      throw InputError(config.sourcePath + ": $.tokenizer.model: " + e.what());
    }
  }
  std::vector<std::string> texts;
  for (const auto& p : pairs) {
    if (p.split != "train") continue;
    texts.push_back(p.prompt);
    texts.push_back(p.chosen);
    texts.push_back(p.rejected);
  }
  TokenizerTrainOptions o;
  o.vocabSize = config.tokenizer.vocabSize;
  o.modelType = config.tokenizer.type;
  sink.log(0, LogLevel::Info,
           "tokenizer: training or reusing a cached model on " + std::to_string(texts.size()) +
               " texts");
  return loadSentencePiece(trainSentencePiece(texts, o));
}

MethodContext contextFor(const ExperimentConfig& config, const MethodConfig& method, int seed,
                         const EncodedData& data, torch::Device device,
                         const std::string& encoderInit) {
  MethodContext ctx{config, method, seed, data, device, encoderInit};
  ctx.backboneDir =
      method.method == "pretrained" ? pretrainedModelDir(config, method) : hfBackboneDir(config);
  return ctx;
}

// Removes a folder the project made beside the store (<db>.models/run-N, its .resume), never
// through a link: were <db>.models a symbolic link, remove_all would delete the run folders of
// the folder it points to (docs/ARCHITECTURE.md, "Files and links").
void removeOwnFolder(const std::string& dbPath, const std::string& folder) {
  const std::filesystem::path db = std::filesystem::absolute(dbPath);
  refuseLinksBelow(db.parent_path().string(),
                   std::filesystem::absolute(folder).lexically_relative(db.parent_path()).string());
  std::filesystem::remove_all(folder);
}

struct PlannedRun {
  const MethodConfig* method = nullptr;
  int seed = 0;
  std::int64_t runId = 0;
  std::string uuid;  // the run's identity, also written into its saved model's manifest
  std::int64_t steps = 0;
  bool finished = false;  // --resume: finished before; nothing to do
  bool resumed = false;   // --resume: an unfinished run of the store taken up again
};

// --resume: finds each planned run's latest earlier run in the store (same experiment, entry
// name, seed and config). Runs still running elsewhere are refused; so is a store with none.
void matchEarlierRuns(const std::string& dbPath, const ExperimentConfig& config,
                      const std::string& configJson, std::vector<PlannedRun>& plan) {
  if (!std::filesystem::exists(dbPath))
    throw InputError("--resume: " + dbPath + " does not exist; there is nothing to resume");
  std::vector<RunInfo> runs = RunStore::open(dbPath, true)->listRuns();
  int matched = 0;
  for (auto& r : plan) {
    const RunInfo* found = nullptr;
    for (const auto& info : runs)
      if (info.experiment == config.name && info.methodName == r.method->name &&
          info.seed == r.seed && info.configJson == configJson &&
          (!found || info.id > found->id))
        found = &info;
    if (!found) continue;
    ++matched;
    if (found->status == RunStatus::Running || found->status == RunStatus::Queued)
      throw InputError("--resume: run " + std::to_string(found->id) + " (" + r.method->name +
                       ", seed " + std::to_string(r.seed) + ") of " + dbPath +
                       " is still " + toString(found->status) +
                       " in another process; stop it first");
    r.runId = found->id;
    r.uuid = found->uuid;
    r.finished = found->status == RunStatus::Finished;
    r.resumed = !r.finished;
  }
  if (matched == 0)
    throw InputError("--resume: " + dbPath + " has no run of experiment '" + config.name +
                     "' with this configuration (" + config.sourcePath +
                     " and its --set values must be those the runs were started with)");
}

void writeResults(RunRecorder& recorder, std::int64_t runId, const Evaluation& ev,
                  const InferenceTiming& timing, RewardSystem& system) {
  std::vector<ResultRow> rows = resultRowsOf(ev, runId);
  double trainSeconds = 0;
  std::int64_t trainable = 0;
  for (const auto& c : system.components()) {
    recorder.addComponent({runId, c.name, c.paramsTotal, c.paramsTrainable, c.trainSeconds});
    trainSeconds += c.trainSeconds;
    trainable += c.paramsTrainable;
  }
  rows.push_back({runId, "*", "params_total", static_cast<double>(system.servedParameters())});
  rows.push_back({runId, "*", "params_trainable", static_cast<double>(trainable)});
  rows.push_back({runId, "*", "train_seconds", trainSeconds});
  rows.push_back({runId, "*", "infer_ms_per_step", timing.msPerStepBatch1});
  rows.push_back({runId, "*", "infer_pairs_per_s", timing.pairsPerSecondBatch32});
  recorder.addResults(rows);
  recorder.addExamples(ev.examples);
}

// Training on a checkpoint backbone: each method's need (weights held, gradients and Adam
// moments when it trains the encoder itself, activations) against the memory there is, before
// the store is touched. A 0.5 B decoder fits LoRA methods on a desktop where full fine-tuning
// (Baseline, MoRE, DMoERM, RODOS's copy per domain) does not.
void checkBackboneMemory(const ExperimentConfig& config, const HfBackboneInfo& b, int maxLen,
                         size_t domains) {
  const std::int64_t available = availableMemoryBytes();
  if (available < 0 || config.training.device != "cpu") return;
  for (size_t i = 0; i < config.methods.size(); ++i) {
    const MethodConfig& m = config.methods[i];
    if (m.method == "pretrained") continue;
    const bool lora = m.method == "base-lora" || m.method == "arliss";
    const int copies = m.method == "rodos" ? static_cast<int>(std::max<size_t>(domains, 1)) : 1;
    const MemoryEstimate e =
        estimateBackboneMemory(static_cast<double>(b.parameters), b.hidden, b.ffn, b.layers,
                               b.heads, maxLen, config.training.batchSize, copies, !lora);
    if (e.total() <= available) continue;
    std::ostringstream os;
    os << config.sourcePath << ": $.methods[" << i << "] (" << m.method << "): training on "
       << b.dir << " needs about " << formatBytes(static_cast<double>(e.total())) << " ("
       << b.parameters << " parameters" << (copies > 1 ? " per domain model" : "")
       << (lora ? ", frozen" : " with gradients and Adam state") << ": "
       << formatBytes(static_cast<double>(e.parameterBytes)) << "; activations "
       << formatBytes(static_cast<double>(e.activationBytes)) << ") but "
       << formatBytes(static_cast<double>(available)) << " of memory is available"
       << (lora ? "; lower encoder.max_len or training.batch_size"
                : "; use a LoRA method (base-lora, arliss), or lower encoder.max_len or "
                  "training.batch_size");
    throw InputError(os.str());
  }
}

}  // namespace

std::string modelDirFor(const std::string& dbPath, std::int64_t runId) {
  return dbPath + ".models/run-" + std::to_string(runId);
}

std::string checkpointDirFor(const std::string& dbPath, std::int64_t runId) {
  return modelDirFor(dbPath, runId) + ".resume";
}

ExperimentOutcome runExperiment(const ExperimentConfig& config, const ExperimentOptions& options,
                                MetricSink& userSink, RunControl& control) {
  for (const auto& name : options.onlyMethods) {
    bool found = false;
    std::string names;
    for (const auto& m : config.methods) {
      found = found || m.name == name;
      names += (names.empty() ? "" : ", ") + m.name;
    }
    if (!found)
      throw InputError("--method " + name + ": no entry of " + config.sourcePath +
                       ": $.methods has this name (names: " + names + ")");
  }
  const int seeds = options.seedsOverride > 0 ? options.seedsOverride : config.training.seeds;
  if (static_cast<long long>(config.training.seed) + seeds - 1 > INT_MAX)
    throw InputError(config.sourcePath + ": $.training.seed: seed + seeds - 1 must be <= " +
                     std::to_string(INT_MAX) + " (got " + std::to_string(config.training.seed) +
                     " with " + std::to_string(seeds) + " seeds)");
  // A shape that cannot fit in memory is refused now, not by a crash in the middle of a run.
  const bool anyTrained =
      std::any_of(config.methods.begin(), config.methods.end(),
                  [](const MethodConfig& m) { return m.method != "pretrained"; });
  if (anyTrained && hfBackboneDir(config).empty()) checkMemoryFits(config, availableMemoryBytes());
  const auto experimentStart = std::chrono::steady_clock::now();
  const torch::Device device = deviceFor(config.training.device);
  // Several processes: every rank runs what follows; rank 0 (the lead) alone has the store.
  dist::Communicator* comm = options.comm && options.comm->size() > 1 ? options.comm : nullptr;
  const bool lead = !comm || comm->rank() == 0;
  if (comm && options.resume)
    throw InputError(
        "--resume: a run over several processes cannot resume yet; resume it with "
        "one process (rank 0's checkpoints hold the whole state)");

  // Everything that can fail on bad input happens before the store is touched, and a store that
  // cannot take the runs is found before the tokenizer is trained and the encoder pre-trained.
  if (lead) {
    RunWriter::checkWritable(options.dbPath);
    // The runs' folders go into <db>.models, which is never a link (removeOwnFolder).
    const std::filesystem::path db = std::filesystem::absolute(options.dbPath);
    refuseLinksBelow(db.parent_path().string(), db.filename().string() + ".models");
  }
  std::vector<PreferencePair> pairs = loadExperimentPairs(config);
  if (pairs.empty())
    throw InputError(config.sourcePath + ": $.data: the experiment's data has no pairs");
  for (const auto& p : pairs)
    checkDomainName(p.domain, p.source.file.empty()
                                  ? config.sourcePath
                                  : p.source.file + ":" + std::to_string(p.source.line));
  requireTestPairs(pairs, config.sourcePath);
  // Hugging Face folders (the encoder's, and each `pretrained` method's with its tokenizer, as
  // `score --model` checks it) are loaded and checked completely here, before the store is touched.
  std::optional<HfBackboneInfo> backbone;
  if (const std::string dir = hfBackboneDir(config); !dir.empty()) {
    backbone = inspectHfBackbone(dir);
    userSink.log(0, LogLevel::Info,
                 "encoder: " + backbone->modelType + " from " + dir + " (" +
                     std::to_string(backbone->parameters) + " parameters, input limit " +
                     std::to_string(backbone->inputLimit) + "); pre-training skipped");
  }
  for (const auto& m : config.methods)
    if (m.method == "pretrained")
      loadBackboneTokenizer(inspectHfRewardModel(pretrainedModelDir(config, m)));
  std::unique_ptr<Tokenizer> tokenizer;
  // Ranks of one machine share the tokenizer's cache: rank 0 fills it, the others then read it.
  dist::rankZeroFirst(comm, "tokenizer", [&] {
    tokenizer = prepareTokenizer(config, pairs, backbone ? &*backbone : nullptr, userSink);
  });
  const int maxLen = effectiveMaxLen(config.encoder.maxLen, backbone ? backbone->inputLimit : 0);
  EncodedData data = encodeData(pairs, *tokenizer, maxLen);
  if (backbone && anyTrained) checkBackboneMemory(config, *backbone, maxLen, data.domains.size());
  userSink.log(0, LogLevel::Info,
               "data: " + std::to_string(data.pairs.size()) + " pairs in " +
                   std::to_string(data.domains.size()) + " domains (train " +
                   std::to_string(data.train.size()) + ", validation " +
                   std::to_string(data.validation.size()) + ", test " +
                   std::to_string(data.test.size()) + "); tokenizer " + tokenizer->modelPath() +
                   " (vocab " + std::to_string(tokenizer->vocabSize()) + ")");
  if (data.train.empty() || data.test.empty())
    throw InputError(config.sourcePath + ": $.data.split: the split leaves no training or no " +
                     "test pairs (train " + std::to_string(data.train.size()) + ", validation " +
                     std::to_string(data.validation.size()) + ", test " +
                     std::to_string(data.test.size()) + ")");

  const EncoderPlan encoder = planEncoder(config, data, *tokenizer);
  std::vector<PlannedRun> plan;
  std::int64_t totalSteps = encoder.steps;
  for (int s = 0; s < seeds; ++s)
    for (const auto& m : config.methods) {
      if (!options.onlyMethods.empty() &&
          std::find(options.onlyMethods.begin(), options.onlyMethods.end(), m.name) ==
              options.onlyMethods.end())
        continue;
      PlannedRun r;
      r.method = &m;
      r.seed = config.training.seed + s;
      const MethodContext ctx = contextFor(config, m, r.seed, data, device, encoder.path);
      r.steps = methodRegistry().at(m.method).plannedSteps(ctx);
      totalSteps += r.steps;
      plan.push_back(r);
    }

  const std::string configJson = experimentConfigToJson(config);
  if (options.resume) {
    matchEarlierRuns(options.dbPath, config, configJson, plan);
    // A damaged checkpoint is found before the runs are taken up: nothing changes then.
    for (const auto& r : plan)
      if (r.resumed) verifyCheckpoints(checkpointDirFor(options.dbPath, r.runId));
  }

  // Rank 0 pre-trains alone (MLM masks are drawn per batch); the others of its machine then
  // find the cached encoder, a rank on another machine pre-trains the same one itself.
  // (Called on every rank of a job, whatever its own cache holds, so all wait alike.)
  if (encoder.needsTraining || comm)
    dist::rankZeroFirst(comm, "encoder", [&] {
      if (!encoder.needsTraining || std::filesystem::exists(encoder.path)) return;
      ProgressInfo base;
      base.method = "pretrain";
      base.runCount = static_cast<int>(plan.size());
      RunReporter reporter(userSink, control, base, encoder.steps, 0, totalSteps, experimentStart);
      reporter.log(LogLevel::Info, "pre-training the encoder (" + std::to_string(encoder.steps) +
                                       " masked-language-model steps; cached for later runs)");
      pretrainEncoder(config, data, *tokenizer, encoder, reporter, comm);
    });

  const std::string hosts = comm ? rankHosts(*comm) : "";
  ExperimentOutcome outcome;
  std::optional<RunRecorder> recorder;
  // The store's folder is made only now, so an error above leaves nothing behind.
  if (lead) {
    if (const auto dir = std::filesystem::path(options.dbPath).parent_path(); !dir.empty())
      std::filesystem::create_directories(dir);
    recorder.emplace(options.dbPath, userSink);
    std::vector<std::int64_t> resumed;
    for (const auto& r : plan)
      if (r.resumed) resumed.push_back(r.runId);
    if (!resumed.empty()) recorder->reopenRuns(resumed);
    for (auto& r : plan) {
      if (r.resumed) {
        // A model folder of an unfinished run is incomplete or stale: it is saved again.
        removeOwnFolder(options.dbPath, modelDirFor(options.dbPath, r.runId));
        ++outcome.resumed;
      } else if (!r.finished) {
        r.runId = recorder->createRun(config.name, r.method->method, r.method->name, r.seed,
                                      configJson, &r.uuid);
      }
      if (comm) recorder->setDistributed(r.runId, comm->size(), comm->backend(), hosts);
      outcome.runIds.push_back(r.runId);
    }
    recorder->addPairs(data.pairs);
  }
  // Why a distributed job stopped (a rank gone, a run failed): the runs after it do not start.
  std::string jobStopped;

  std::int64_t stepsBefore = encoder.steps;
  for (size_t k = 0; k < plan.size(); ++k) {
    const PlannedRun& r = plan[k];
    if (r.finished) {
      ++outcome.finished;
      stepsBefore += r.steps;
      continue;
    }
    if (!jobStopped.empty()) {
      if (lead) recorder->setStatus(r.runId, RunStatus::Failed, "not started: " + jobStopped);
      ++outcome.failed;
      continue;
    }
    bool stop = control.stopRequested();
    if (comm && !outcome.cancelled) {  // the ranks agree, so they all start the run or none
      try {
        for (double s : comm->allGatherDoubles({stop ? 1.0 : 0.0})) stop = stop || s != 0;
      } catch (const dist::DistError& e) {  // a rank left between runs
        jobStopped = errorMessage(e);
        if (lead) recorder->setStatus(r.runId, RunStatus::Failed, "not started: " + jobStopped);
        ++outcome.failed;
        continue;
      }
    }
    if (outcome.cancelled || stop) {
      if (lead) recorder->setStatus(r.runId, RunStatus::Cancelled, "stopped before it started");
      outcome.cancelled = true;
      continue;
    }
    ProgressInfo base;
    base.runId = r.runId;
    base.method = r.method->name;
    base.seed = r.seed;
    base.runIndex = static_cast<int>(k);
    base.runCount = static_cast<int>(plan.size());
    const std::string checkpointDir = checkpointDirFor(options.dbPath, r.runId);
    // A new run starts from nothing, whatever a run of an earlier store with its id left there.
    if (!r.resumed && lead) removeOwnFolder(options.dbPath, checkpointDir);
    RunCheckpoints checkpoints(checkpointDir, config.training.checkpointEvery, r.resumed);
    auto train = [&] {
      RunReporter reporter(lead ? recorder->sink() : userSink, control, base, r.steps, stepsBefore,
                           totalSteps, experimentStart);
      reporter.setCheckpoints(&checkpoints);
      reporter.setCommunicator(comm);
      const MethodContext ctx = contextFor(config, *r.method, r.seed, data, device, encoder.path);
      std::unique_ptr<RewardSystem> system = createMethod(ctx);
      broadcastSystem(*system, comm);
      reporter.log(LogLevel::Info, std::string(r.resumed ? "resuming " : "training ") +
                                       r.method->name + " (seed " + std::to_string(r.seed) +
                                       ", " + std::to_string(r.steps) + " steps)");
      const TrainingPlan trainingPlan = system->plan();
      if (comm && spreadsComponents(config.distributed.mode, trainingPlan, comm->size())) {
        reporter.log(LogLevel::Info, "components spread over " + std::to_string(comm->size()) +
                                         " processes (distributed.mode " +
                                         config.distributed.mode + ")");
        trainPlanSpread(*system, trainingPlan, reporter, *comm);
      } else {
        if (comm)
          reporter.log(LogLevel::Info, "data-parallel over " + std::to_string(comm->size()) +
                                           " processes (distributed.mode " +
                                           config.distributed.mode + ")");
        system->train(reporter);
      }
      reporter.checkpoint();
      // Distributed: each rank scores its share of the test pairs, all get every score.
      Evaluation ev =
          evaluateScores(data, data.test, scorePairsSplit(*system, data, data.test, comm), r.runId);
      if (!lead) return;
      if (ev.nanPairs > 0) reporter.log(LogLevel::Warning, nanRewardWarning(ev));
      InferenceTiming timing = timeInference(*system, data, data.test, options.inferenceRepeats);
      writeResults(*recorder, r.runId, ev, timing, *system);
      const RewardNormalization scale = recordSystemFigures(*recorder, r.runId, *system, data);
      saveSystem(*system, ctx, *tokenizer, modelDirFor(options.dbPath, r.runId), r.uuid, &scale);
      // Finished: the saved system is what later commands use; the checkpoints are not needed.
      std::error_code ec;
      std::filesystem::remove_all(checkpointDir, ec);
    };
    auto work = [&] {
      try {
        train();
      } catch (const Cancelled&) {
        throw;
      } catch (const std::exception& e) {
        // The ranks cannot tell whether the others failed alike: the job ends here.
        if (comm) jobStopped = "run " + std::to_string(r.runId) + " failed: " + errorMessage(e);
        throw;
      }
    };
    RunStatus end = RunStatus::Finished;
    if (lead) {
      end = recorder->record(r.runId, work);
    } else {
      try {
        work();
      } catch (const Cancelled&) {
        end = RunStatus::Cancelled;
      } catch (const std::exception& e) {
        end = RunStatus::Failed;
        userSink.log(r.runId, LogLevel::Error, errorMessage(e));
      }
    }
    if (end == RunStatus::Finished) ++outcome.finished;
    if (end == RunStatus::Failed) ++outcome.failed;
    if (end == RunStatus::Cancelled) outcome.cancelled = true;
    stepsBefore += r.steps;
  }
  return outcome;
}

}  // namespace rr::core
