#pragma once
// Hugging Face model folders as backbones (internal; LibTorch): config.json read into a shape,
// BERT/ELECTRA and DeBERTa-v2/v3 encoders built behind nn::Encoder with the checkpoint's weights,
// and the reverse (a trained encoder + head written back under the published tensor names).
// docs/CHECKPOINTS.md says what loads and what is refused.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/tokenizer.h"
#include "nn/encoder.h"
#include "nn/hf/arch.h"

namespace rr::core::hf {

// config.json, every key the forward pass depends on read from the file (class defaults differ
// between DeBERTa-v2 and v3, so nothing is assumed).
// RoPE's frequencies (decoders): rope_theta + rope_scaling, or transformers 5's rope_parameters.
struct RopeConfig {
  std::string type = "default";  // default | linear | llama3
  double theta = 10000;
  double factor = 1;
  double lowFreqFactor = 1, highFreqFactor = 4;  // llama3
  int originalMaxPositions = 8192;               // llama3
};

struct HfModelConfig {
  std::string dir;        // the folder
  Arch arch = Arch::Bert;
  std::string modelType;  // config.json's model_type as written
  const ArchRow& row() const { return archRow(arch); }
  std::vector<std::string> architectures;  // e.g. "DebertaV2ForSequenceClassification"
  int vocabSize = 0, hidden = 0, layers = 0, heads = 0, intermediate = 0;
  int maxPositions = 0;  // max_position_embeddings
  int typeVocabSize = 0;
  int embeddingSize = 0;  // ELECTRA/DeBERTa embedding_size (== hidden when absent)
  int padTokenId = 0;
  int numLabels = 1;  // from num_labels or id2label
  double layerNormEps = 1e-12;
  double hiddenDropout = 0.1, attentionDropout = 0.1;
  double poolerDropout = 0.0;  // before the pooler's dense (DeBERTa's pooler_dropout, ELECTRA)
  std::string hiddenAct = "gelu";
  // DeBERTa-v2/v3
  bool relativeAttention = false;
  int maxRelativePositions = -1;
  int positionBuckets = -1;
  std::vector<std::string> posAttType;  // "c2p", "p2c" (list or "p2c|c2p" string in the file)
  bool positionBiasedInput = true;
  bool shareAttKey = false;
  std::string normRelEbd = "none";
  int convKernelSize = 0;
  std::string poolerHiddenAct = "gelu";
  int poolerHiddenSize = 0;
  // Decoders (Llama, Qwen2, Qwen3, Gemma2)
  int kvHeads = 0;  // num_key_value_heads (grouped-query attention)
  int headDim = 0;  // head_dim (hidden_size / num_attention_heads when absent)
  double rmsNormEps = 1e-6;
  RopeConfig rope;
  bool attentionBias = false;          // q/k/v/o biases (Qwen2: q/k/v always)
  bool mlpBias = false;
  int slidingWindow = 0;               // tokens a sliding-window layer sees (0: none)
  std::vector<bool> slidingLayers;     // per layer: sliding-window attention
  double queryPreAttnScalar = 0;       // Gemma2: scores scaled by its -1/2 power
  double attnLogitSoftcap = 0;         // Gemma2: cap * tanh(scores / cap), 0 = none
  nlohmann::json raw;  // the whole file, for export
};

// The folder's tokenizer as its architecture reads inputs: tokenizer.json, else the slow files
// of its registry row; a decoder's wrapped in its chat template (the prompt as the user's turn,
// the response as the assistant's). InputError naming the file.
std::unique_ptr<Tokenizer> loadHfModelTokenizer(const std::string& dir);
// "tokenizer.json" / "WordPiece (vocab.txt)" / ... for the Configure preview.
std::string hfTokenizerDescription(const std::string& dir);

// True when `dir` is a folder with a config.json (a Hugging Face model folder).
bool isHfFolder(const std::string& dir);
// Throws InputError "DIR/config.json: what is wrong" (unreadable, a model_type no architecture
// row has, a key of the wrong type or out of range).
HfModelConfig readHfConfig(const std::string& dir);
// The same checks on a config.json already in memory (the bench's preset shapes); `label` names it
// in errors. `dir` stays empty.
HfModelConfig parseHfConfig(const nlohmann::json& raw, const std::string& label);

// A loaded backbone: the encoder (eval mode, float32, on the CPU) with the checkpoint's weights,
// its pooler when the checkpoint has one, and the classifier that a reward head starts from.
struct HfBackbone {
  nn::EncoderPtr encoder;
  HfModelConfig config;
  std::vector<std::string> unusedTensors;  // in the checkpoint, not used (MLM heads, ...)
  bool hasPooler = false;                  // the pooler came from the checkpoint
  bool hasClassifier = false;              // encoder->checkpointHeadWeight is set
};
// Missing or mis-shaped tensors are InputErrors naming the weight file and the tensor; old
// LayerNorm.gamma/beta names load as weight/bias.
HfBackbone loadHfBackbone(const std::string& dir);
// The encoder of `config` with freshly initialised weights (the bench's random DeBERTa shapes).
nn::EncoderPtr buildHfEncoder(const HfModelConfig& config);

// The encoder's (and a reward head's) tensors under the published names of `config`'s
// *ForSequenceClassification, with LoRA adapter `adapter` merged into its base weights when it is
// not empty. `headWeight` [1, H] / `headBias` [1] may be undefined (a bare encoder).
std::vector<std::pair<std::string, torch::Tensor>> exportState(const nn::Encoder& encoder,
                                                               const HfModelConfig& config,
                                                               const std::string& adapter,
                                                               const torch::Tensor& headWeight,
                                                               const torch::Tensor& headBias);
// config.json for an exported reward model: the source config with num_labels 1 and the
// sequence-classification architecture.
nlohmann::json exportConfig(const HfModelConfig& config);

}  // namespace rr::core::hf
