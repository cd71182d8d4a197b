#pragma once
// `rewardrouter-cli evaluate`: a finished run's saved system scores every pair of a canonical
// pairs file (an imported benchmark) without training; the result is stored as an evaluation of
// the run (store schema 4). No LibTorch types here.
#include <cstdint>
#include <map>
#include <string>

namespace rr::core {

struct EvaluateRunOptions {
  std::string dbPath;
  std::int64_t runId = 0;
  std::string pairsPath;
  std::string name;  // "" = the pairs file's name without its extension
};

struct EvaluateRunResult {
  std::int64_t evaluationId = 0;
  std::string name;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> perDomain;  // (right, pairs)
};

// Throws InputError, with nothing written, for a run that does not exist or is not finished, a
// missing or damaged saved system, a bad pairs file, a name the run already used, or a store
// that cannot be written. The domain of a pair is not shown to the system: a routed system
// routes each prompt with its own router.
EvaluateRunResult evaluateRun(const EvaluateRunOptions& options);

}  // namespace rr::core
