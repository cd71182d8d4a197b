#include "train/backbone.h"

#include <filesystem>

#include "common/errors.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/hfmodel.h"

namespace fs = std::filesystem;

namespace rr::core {

std::string hfBackboneDir(const ExperimentConfig& config) {
  if (config.encoder.pretrained.empty()) return "";
  const std::string dir = resolveConfigPath(config, config.encoder.pretrained);
  return hf::isHfFolder(dir) ? dir : "";
}

std::string pretrainedModelDir(const ExperimentConfig& config, const MethodConfig& method) {
  return resolveConfigPath(config, methodTextOption(method, "model"));
}

HfBackboneInfo inspectHfBackbone(const std::string& dir) {
  // Loading the whole backbone once is the only complete check (every tensor's presence, shape and
  // dtype); it runs before the run store is touched, so a bad folder writes nothing.
  const hf::HfBackbone b = hf::loadHfBackbone(dir);
  HfBackboneInfo info;
  info.dir = dir;
  info.modelType = b.config.modelType;
  info.architecture = b.config.architectures.empty() ? "" : b.config.architectures.front();
  info.inputLimit = hfInputLimit(dir, b.config.maxPositions);
  info.parameters = nn::countParameters(*b.encoder);
  if (b.encoder->checkpointHeadWeight.defined())
    info.parameters +=
        b.encoder->checkpointHeadWeight.numel() + b.encoder->checkpointHeadBias.numel();
  info.rewardModel =
      b.encoder->checkpointHeadWeight.defined() && b.encoder->checkpointHeadWeight.size(0) == 1;
  info.vocabSize = b.config.vocabSize;
  info.hidden = b.config.hidden;
  info.layers = b.config.layers;
  info.heads = b.config.heads;
  info.ffn = b.config.intermediate;
  return info;
}

HfBackboneInfo inspectHfRewardModel(const std::string& dir) {
  HfBackboneInfo info = inspectHfBackbone(dir);
  if (!info.rewardModel)
    throw InputError(dir +
                     ": not a reward model (no one-label classifier in its weights); use it "
                     "as encoder.pretrained to train reward models on it");
  return info;
}

HfFolderSummary describeHfFolder(const std::string& dir) {
  const hf::HfModelConfig c = hf::readHfConfig(dir);
  HfFolderSummary s;
  s.modelType = c.modelType;
  s.architecture = c.architectures.empty() ? "" : c.architectures.front();
  s.layers = c.layers;
  s.hidden = c.hidden;
  s.heads = c.heads;
  s.vocabSize = c.vocabSize;
  s.numLabels = c.numLabels;
  s.inputLimit = hfInputLimit(dir, c.maxPositions);
  s.rewardModel =
      c.numLabels == 1 && s.architecture.find("ForSequenceClassification") != std::string::npos;
  auto reader = hf::CheckpointReader::openFolder(dir);
  for (const auto& name : reader->names()) {
    const hf::TensorInfo t = reader->info(name);
    if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16") continue;
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    s.parameters += n;
    if (s.weightsFile.empty()) s.weightsFile = fs::path(t.file).filename().string();
  }
  for (const char* f : {"model.safetensors.index.json", "pytorch_model.bin.index.json"})
    if (fs::exists(fs::path(dir) / f) && s.weightsFile.find("-of-") != std::string::npos)
      s.weightsFile = f;
  s.tokenizer = hf::hfTokenizerDescription(dir);
  return s;
}

int hfInputLimit(const std::string& dir, int maxPositions) {
  const int tokLimit = hfTokenizerMaxLength(dir);
  if (tokLimit > 0 && (maxPositions <= 0 || tokLimit < maxPositions)) return tokLimit;
  return maxPositions;
}

int effectiveMaxLen(int configured, int modelLimit) {
  if (modelLimit <= 0) return configured;
  if (configured <= 0) return modelLimit;
  return std::min(configured, modelLimit);
}

std::unique_ptr<Tokenizer> loadBackboneTokenizer(const HfBackboneInfo& info) {
  auto tok = hf::loadHfModelTokenizer(info.dir);
  if (tok->vocabSize() > info.vocabSize)
    throw InputError(info.dir + ": the tokenizer has " + std::to_string(tok->vocabSize()) +
                     " tokens but config.json's vocab_size is " + std::to_string(info.vocabSize) +
                     " (tokenizer and weights do not belong together)");
  return tok;
}

}  // namespace rr::core
