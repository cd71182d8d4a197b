#include "run/systemfigures.h"

#include "eval/evaluate.h"

namespace rr::core {

void recordSystemFigures(RunRecorder& recorder, std::int64_t runId, RewardSystem& system,
                         const EncodedData& data) {
  if (!data.validation.empty())
    recorder.addValidationExamples(evaluate(system, data, data.validation, runId).examples);
}

}  // namespace rr::core
