#pragma once
// How much memory an experiment's training needs, from the config alone, so a shape that cannot
// fit is refused before any work starts (docs/CONFIG.md, "Memory estimate").
#include <cstdint>
#include <string>

#include "config/config.h"

namespace rr::core {

struct MemoryEstimate {
  std::int64_t parameters = 0;       // encoder parameters (embeddings + layers)
  std::int64_t parameterBytes = 0;   // weights + gradients + Adam's two moments, fp32
  std::int64_t activationBytes = 0;  // kept for the backward pass, the larger of training and
                                     // pre-training
  std::int64_t total() const { return parameterBytes + activationBytes; }
};

// The estimate for training on the CPU in fp32 (formula in memoryestimate.cpp and the docs).
MemoryEstimate estimateTrainingMemory(const ExperimentConfig& config);

// A checkpoint backbone (encoder.pretrained) of `parameters` weights and shape H, F, L, A at
// input length T: `copies` copies of its weights held (RODOS one per domain), and when
// `fullTraining` one copy's gradients and Adam moments (LoRA methods train adapters alone: their
// weights are all there is), plus the activations of 2 * batch sequences.
MemoryEstimate estimateBackboneMemory(double parameters, int hidden, int ffn, int layers,
                                      int heads, int maxLen, int batchSize, int copies,
                                      bool fullTraining);

// Memory this process may still use: MemAvailable of /proc/meminfo, lowered by a cgroup limit;
// -1 when neither can be read.
std::int64_t availableMemoryBytes();

// Throws InputError "FILE: $.encoder: ... needs about X GiB ... Y GiB available" when the
// estimate exceeds `available` (skipped when available < 0).
void checkMemoryFits(const ExperimentConfig& config, std::int64_t available);

// Throws InputError "WHAT: N parameters need about X in float32, more than the Y of memory
// available" when `parameters` float32 weights do not fit in `available` bytes (skipped when
// available < 0): a model file's shape is checked before anything of that size is allocated.
void checkWeightsFit(double parameters, std::int64_t available, const std::string& what);

// "1.5 GiB", "300 MiB".
std::string formatBytes(double bytes);

}  // namespace rr::core
