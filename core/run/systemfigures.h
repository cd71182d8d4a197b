#pragma once
// What a trained system adds to its run after the test evaluation, for `run` and `extend` alike:
// the rewards of its validation pairs (the report fits its calibration temperature on them) and
// its reward scale on the training pairs (saved with the system for `score --normalize`, and
// kept in the store as results train_reward_mean / train_reward_std). Internal; LibTorch.
#include <cstdint>

#include "eval/metrics.h"
#include "methods/method.h"
#include "run/runrecorder.h"

namespace rr::core {

// Scores data.validation and data.train with `system`, writes the validation pairs' rewards and
// the scale's results rows for run `runId`, and returns the scale for saveSystem.
RewardNormalization recordSystemFigures(RunRecorder& recorder, std::int64_t runId,
                                        RewardSystem& system, const EncodedData& data);

}  // namespace rr::core
