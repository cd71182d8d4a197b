#pragma once
// Where an experiment's encoder comes from when it is a Hugging Face model folder
// (encoder.pretrained naming a folder with config.json, or a `pretrained` method's model): its
// tokenizer, its input limit and the checks that run before anything is written.
#include <memory>
#include <string>

#include "config/config.h"
#include "data/tokenizer.h"

namespace rr::core {

struct HfBackboneInfo {
  std::string dir;           // the folder, resolved
  std::string modelType;     // config.json's model_type
  std::string architecture;  // config.json's architectures[0] ("" when absent)
  int inputLimit = 0;        // the model's own limit: max_position_embeddings, model_max_length
  int64_t parameters = 0;
  int vocabSize = 0;
  int hidden = 0, layers = 0, heads = 0, ffn = 0;
  bool rewardModel = false;  // its weights hold a one-label classifier
};

// The resolved folder when encoder.pretrained is a Hugging Face model folder, else "".
std::string hfBackboneDir(const ExperimentConfig& config);
// The folder of a `pretrained` method, resolved against the config's directory.
std::string pretrainedModelDir(const ExperimentConfig& config, const MethodConfig& method);

// Reads config.json and checks the weights' names and shapes without loading them; throws
// InputError naming the file.
HfBackboneInfo inspectHfBackbone(const std::string& dir);

// What a folder holds, read from config.json, the weight files' headers and the tokenizer files,
// without loading any weights (the Configure view's preview). Throws InputError naming the file.
struct HfFolderSummary {
  std::string modelType, architecture;
  int layers = 0, hidden = 0, heads = 0, vocabSize = 0, inputLimit = 0, numLabels = 0;
  int64_t parameters = 0;    // elements of every floating-point tensor in the weights
  std::string weightsFile;   // model.safetensors, pytorch_model.bin, or an index
  std::string tokenizer;     // "WordPiece (vocab.txt)" / "SentencePiece (spm.model)"
  bool rewardModel = false;  // *ForSequenceClassification with one label
};
HfFolderSummary describeHfFolder(const std::string& dir);

// inspectHfBackbone, and an InputError unless the folder is a reward model (a one-label
// classifier in its weights): what a `pretrained` method needs.
HfBackboneInfo inspectHfRewardModel(const std::string& dir);

// A model's own input limit: max_position_embeddings, or tokenizer_config.json's
// model_max_length when that is smaller.
int hfInputLimit(const std::string& dir, int maxPositions);

// Inputs are cut only beyond the model's own limit, or a smaller configured limit (> 0).
int effectiveMaxLen(int configured, int modelLimit);

// The folder's tokenizer, checked against the model: every id it can produce has an embedding.
std::unique_ptr<Tokenizer> loadBackboneTokenizer(const HfBackboneInfo& info);

}  // namespace rr::core
