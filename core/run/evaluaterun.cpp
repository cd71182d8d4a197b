#include "run/evaluaterun.h"

#include <filesystem>

#include "common/errors.h"
#include "data/pairsio.h"
#include "store/runstore.h"
#include "run/runrecorder.h"
#include "run/scoring.h"

namespace rr::core {

EvaluateRunResult evaluateRun(const EvaluateRunOptions& o) {
  const std::string runName = "run " + std::to_string(o.runId);
  EvaluateRunResult result;
  result.name = o.name.empty() ? std::filesystem::path(o.pairsPath).stem().string() : o.name;
  if (result.name.empty()) throw InputError("evaluate: --name must not be empty");
  {
    // Everything that can be refused is checked before the system is loaded and scores.
    const auto store = RunStore::open(o.dbPath, /*readOnly=*/true);
    const auto run = store->run(o.runId);
    if (!run) throw InputError(o.dbPath + ": no " + runName);
    if (run->status != RunStatus::Finished)
      throw InputError(o.dbPath + ": " + runName + " is " + toString(run->status) +
                       ", not finished; only a finished run's saved system can be evaluated");
    for (const auto& e : store->evaluations({o.runId}))
      if (e.name == result.name)
        throw InputError(o.dbPath + ": " + runName + " already has an evaluation named '" +
                         result.name + "'; choose another --name");
  }
  RunWriter::checkWritable(o.dbPath);
  std::vector<PreferencePair> pairs = readPairsFile(o.pairsPath);
  if (pairs.empty()) throw InputError(o.pairsPath + ": no pairs to evaluate");
  for (auto& p : pairs) {
    checkDomainName(p.domain, o.pairsPath + ":" + std::to_string(p.source.line));
    if (p.split.empty()) p.split = "test";
  }

  auto scorer = RunScorer::openRun(o.dbPath, o.runId);
  std::vector<ScoreInput> inputs;
  inputs.reserve(pairs.size() * 2);
  for (const auto& p : pairs) {
    inputs.push_back({p.prompt, p.chosen});
    inputs.push_back({p.prompt, p.rejected});
  }
  const std::vector<ScoreOutput> scores = scorer->score(inputs);
  std::vector<EvaluationExample> rows;
  rows.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const ScoreOutput& c = scores[2 * i];
    const ScoreOutput& r = scores[2 * i + 1];
    EvaluationExample e;
    e.row.runId = o.runId;
    e.row.exampleId = pairs[i].id;
    e.row.domain = pairs[i].domain;
    e.row.rewardChosen = c.reward;
    e.row.rewardRejected = r.reward;
    e.row.routedTo = c.route;
    e.row.correct = c.reward > r.reward;  // a tie is wrong
    e.group = pairs[i].group;
    auto& d = result.perDomain[pairs[i].domain];
    d.first += e.row.correct;
    d.second += 1;
    rows.push_back(std::move(e));
  }
  NullSink nowhere;
  RunRecorder recorder(o.dbPath, nowhere);
  result.evaluationId = recorder.addEvaluation(o.runId, result.name, o.pairsPath, pairs, rows);
  return result;
}

}  // namespace rr::core
