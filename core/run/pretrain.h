#pragma once
// Masked-language-model pre-training of the shared encoder (internal; LibTorch).
#include <string>

#include "config/config.h"
#include "data/tokenizer.h"
#include "train/batch.h"
#include "train/loop.h"

namespace rr::core {

namespace dist {
class Communicator;
}

struct EncoderPlan {
  std::string path;  // weights every method starts from; "" = random initialisation
  bool needsTraining = false;
  std::int64_t steps = 0;  // pre-training steps still to run
  std::string cacheKey;
};

// Decides where the experiment's encoder weights come from: encoder.pretrained, a cached
// pre-trained encoder (hash of corpus + tokenizer + shape + pretrain settings), or a new
// pre-training run; or none when pretrain.enabled is false.
EncoderPlan planEncoder(const ExperimentConfig& config, const EncodedData& data,
                        const Tokenizer& tokenizer);

// Runs the MLM pre-training a plan asks for and writes plan.path atomically. With `comm` (rank 0
// of a job, the other ranks waiting for it), a rank that leaves the job meanwhile ends it at the
// next step (dist::Communicator::requireOthersAlive).
void pretrainEncoder(const ExperimentConfig& config, const EncodedData& data,
                     const Tokenizer& tokenizer, const EncoderPlan& plan, RunReporter& reporter,
                     dist::Communicator* comm = nullptr);

}  // namespace rr::core
