#pragma once
// What a trained system adds to its run after the test evaluation, for `run` and `extend` alike:
// the rewards of its validation pairs (the report fits its calibration temperature on them).
// Internal; LibTorch.
#include <cstdint>

#include "methods/method.h"
#include "run/runrecorder.h"

namespace rr::core {

// Scores data.validation with `system` and writes the validation pairs' rewards for run `runId`.
void recordSystemFigures(RunRecorder& recorder, std::int64_t runId, RewardSystem& system,
                         const EncodedData& data);

}  // namespace rr::core
