#include "run/extend.h"

#include <chrono>
#include <filesystem>

#include "common/errors.h"
#include "data/dataset.h"
#include "data/pairsio.h"
#include "eval/evaluate.h"
#include "methods/method.h"
#include "nn/hf/hfmodel.h"
#include "run/experiment.h"
#include "run/persist.h"
#include "run/runrecorder.h"
#include "run/systemfigures.h"
#include "store/runstore.h"

namespace rr::core {

ExtendOutcome extendRun(const std::string& dbPath, std::int64_t runId, const std::string& pairsPath,
                        MetricSink& sink, RunControl& control) {
  auto store = RunStore::open(dbPath, true);
  const auto run = store->run(runId);
  if (!run) throw InputError(dbPath + ": no run " + std::to_string(runId));
  if (run->status != RunStatus::Finished)
    throw InputError(dbPath + ": run " + std::to_string(runId) + " is " + toString(run->status) +
                     "; only a finished run can be extended");
  auto loaded = loadRunSystem(dbPath, *run);
  if (!loaded->system->canAddDomain())
    throw InputError("extend: run " + std::to_string(runId) + " is " + run->method +
                     "; only rodos and arliss runs can be extended by a domain");

  std::vector<PreferencePair> added = readPairsFile(pairsPath);
  if (added.empty()) throw InputError(pairsPath + ": no pairs");
  const std::string domain = added.front().domain;
  checkDomainName(domain, pairsPath + ":" + std::to_string(added.front().source.line));
  for (const auto& p : added)
    if (p.domain != domain)
      throw InputError(pairsPath + ":" + std::to_string(p.source.line) + ": domain '" + p.domain +
                       "' differs from '" + domain + "' (extend adds one domain)");
  auto domains = loaded->data.domains;
  if (std::find(domains.begin(), domains.end(), domain) != domains.end())
    throw InputError(pairsPath + ": the run already has domain '" + domain + "'");
  assignSplits(added, loaded->config.data.split);
  requireTestPairs(added, pairsPath);

  // The original data is rebuilt from the stored config (synthetic data is regenerated, files
  // are read from where the experiment found them), then the new domain is appended.
  std::vector<PreferencePair> pairs = loadExperimentPairs(loaded->config);
  pairs.insert(pairs.end(), added.begin(), added.end());
  domains.push_back(domain);
  loaded->data = encodeData(std::move(pairs), *loaded->tokenizer, loaded->data.maxLen, domains);
  const EncodedData& data = loaded->data;
  MethodContext& ctx = *loaded->ctx;
  if (!ctx.backboneDir.empty() && run->method == "rodos") {
    // The new domain's model starts from the backbone's published weights, as the others did.
    if (!hf::isHfFolder(ctx.backboneSource))
      throw InputError(
          "extend: run " + std::to_string(runId) + " was trained on the Hugging Face folder " +
          ctx.backboneSource +
          ", which is no longer there; the new domain's model starts from its weights");
    ctx.backboneDir = ctx.backboneSource;
    ctx.backboneWeights = true;
  }
  if (!loaded->missingEncoderInit.empty() && run->method == "rodos")
    throw InputError("extend: run " + std::to_string(runId) +
                     "'s models started from the pre-trained encoder " +
                     loaded->missingEncoderInit +
                     ", which is no longer there (its cache was cleared); the new domain's model "
                     "starts from it too");

  RunRecorder recorder(dbPath, sink);
  const std::string name = run->methodName + "+" + domain;
  std::string uuid;
  const std::int64_t newId =
      recorder.createRun(run->experiment, run->method, name, run->seed, run->configJson, &uuid);
  recorder.addPairs(data.pairs);
  ExtendOutcome out;
  out.runId = newId;
  out.domain = domain;
  ProgressInfo base;
  base.runId = newId;
  base.method = name;
  base.seed = run->seed;
  base.runCount = 1;
  auto extend = [&] {
    const std::int64_t steps = plannedSteps(loaded->system->extensionPlan());
    RunReporter reporter(recorder.sink(), control, base, steps, 0, steps,
                         std::chrono::steady_clock::now());
    reporter.log(LogLevel::Info, "extending run " + std::to_string(runId) + " by domain " + domain);
    const auto before = loaded->system->components();
    loaded->system->extendByDomain(reporter);
    control.checkpoint();
    Evaluation ev = evaluate(*loaded->system, data, data.test, newId);
    InferenceTiming timing = timeInference(*loaded->system, data, data.test, 10);
    if (ev.nanPairs > 0) reporter.log(LogLevel::Warning, nanRewardWarning(ev));
    std::vector<ResultRow> rows = resultRowsOf(ev, newId);
    // Components kept from the original run keep the training time measured back then.
    std::map<std::string, double> oldSeconds;
    for (const auto& c : store->components({runId})) oldSeconds[c.name] = c.trainSeconds;
    std::int64_t trainable = 0;
    for (auto c : loaded->system->components()) {
      const bool old = c.name != "router" &&
                       std::any_of(before.begin(), before.end(),
                                   [&](const ComponentInfo& b) { return b.name == c.name; });
      if (old) {
        c.trainSeconds = oldSeconds[c.name];
      } else {
        out.extendSeconds += c.trainSeconds;
        trainable += c.paramsTrainable;
      }
      out.scratchSeconds += c.trainSeconds;
      recorder.addComponent({newId, c.name, c.paramsTotal, c.paramsTrainable, c.trainSeconds});
    }
    rows.push_back(
        {newId, "*", "params_total", static_cast<double>(loaded->system->servedParameters())});
    rows.push_back({newId, "*", "params_trainable", static_cast<double>(trainable)});
    rows.push_back({newId, "*", "train_seconds", out.extendSeconds});
    rows.push_back({newId, "*", "scratch_train_seconds", out.scratchSeconds});
    rows.push_back({newId, "*", "infer_ms_per_step", timing.msPerStepBatch1});
    rows.push_back({newId, "*", "infer_pairs_per_s", timing.pairsPerSecondBatch32});
    recorder.addResults(rows);
    recorder.addExamples(ev.examples);
    const RewardNormalization scale = recordSystemFigures(recorder, newId, *loaded->system, data);
    saveSystem(*loaded->system, *loaded->ctx, *loaded->tokenizer, modelDirFor(dbPath, newId), uuid,
               &scale);
    out.meanAccuracy = ev.meanAccuracy;
  };
  out.status = recorder.record(newId, extend, &out.error);
  return out;
}

}  // namespace rr::core
