#pragma once
// The decoder reward models (Llama, Qwen2, Qwen3, Gemma2) behind nn::Encoder, parameter names as
// in transformers' *Model (private to core/nn/hf/): pre-norm layers with RMSNorm, rotary
// positions, grouped-query causal attention and a gated feed-forward. What differs between the
// four is in each one's row (llama.cpp, qwen2.cpp, qwen3.cpp, gemma2.cpp) and the flags below.
#include <string>
#include <vector>

#include "nn/hf/arch.h"
#include "nn/hf/hfencoder_p.h"
#include "nn/hf/rope_p.h"

namespace rr::core::hf {

// RMSNorm over the last dimension in float32. Llama: weight * x̂ (weight starts at 1); Gemma:
// (1 + weight) * x̂ (weight starts at 0).
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t size, double eps, bool offsetOne);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double m_eps;
  bool m_offsetOne;
};
TORCH_MODULE(RmsNorm);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const HfModelConfig& c, int index);
  torch::Tensor forward(const torch::Tensor& x, const Rotary& rot);

  nn::LoraLinear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  nn::LoraLinear gate{nullptr}, up{nullptr}, down{nullptr};
  RmsNorm inputNorm{nullptr}, postAttnNorm{nullptr};
  RmsNorm preFfnNorm{nullptr}, postFfnNorm{nullptr};  // Gemma2
  RmsNorm qNorm{nullptr}, kNorm{nullptr};              // Qwen3

 private:
  torch::Tensor attend(const torch::Tensor& x, const Rotary& rot);
  int m_heads, m_kvHeads, m_headDim;
  int m_window;  // sliding window of this layer (0: full causal attention)
  double m_scale, m_softcap, m_attnDrop;
  std::string m_act;
  bool m_sandwich;  // Gemma2's norms after attention and around the feed-forward
};
TORCH_MODULE(DecoderLayer);

class DecoderEncoder : public HfEncoder {
 public:
  explicit DecoderEncoder(const HfModelConfig& c);
  std::vector<torch::Tensor> hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask,
                                          const torch::Tensor& types,
                                          Keep keep = Keep::All) override;
  // The last token that is not padding, as transformers' *ForSequenceClassification reads it:
  // the rightmost position whose id is not pad_token_id (among the mask's tokens); the last
  // token of the mask when the model has no pad id.
  torch::Tensor headState(const torch::Tensor& ids, const torch::Tensor& mask,
                          const torch::Tensor& types = {}) override;
  std::vector<nn::LoraLinear> loraLayers(const std::vector<std::string>& targets) const override;

  torch::nn::Embedding embed{nullptr};
  std::vector<DecoderLayer> layers;
  RmsNorm finalNorm{nullptr};

 private:
  Rotary rotary(int64_t t, const torch::Device& device) const;
  torch::Tensor m_invFreq;  // [head_dim / 2]
};

// The keys every decoder reads (head_dim, num_key_value_heads, rms_norm_eps, RoPE in both
// layouts, layer_types, hidden_act), with the architecture's class defaults.
struct DecoderDefaults {
  int maxPositions;
  const char* actKey;  // "hidden_act", Gemma2 "hidden_activation"
  const char* act;
  int headDim;  // 0: hidden_size / num_attention_heads
};
void parseDecoderKeys(const ConfigFile& f, HfModelConfig& c, const DecoderDefaults& d);
// The per-layer sliding windows: layer_types when the file has it, else `fallback(i)`.
void parseLayerTypes(const ConfigFile& f, HfModelConfig& c, bool (*fallback)(const HfModelConfig&, int));
// Built without drawing weights (a checkpoint overwrites them all: for a 0.6 B model drawing them
// took seconds of every load); initDecoder draws them for a fresh model.
nn::EncoderPtr buildDecoder(const HfModelConfig& c);
// Qwen2's and Qwen3's sliding windows: `sliding_window` from `max_window_layers` on, only with
// `use_sliding_window` (their configs' rule when the file has no layer_types).
void parseQwenWindows(const ConfigFile& f, HfModelConfig& c);
// A decoder's registry row: tensors under "model.", no pooler, a `score` head without a bias,
// tokenizer.json, inputs through the chat template.
ArchRow decoderRow(Arch arch, const char* modelType, const char* displayName,
                   const char* classification, void (*parse)(const ConfigFile&, HfModelConfig&));
void initDecoder(nn::Encoder& encoder);
double decoderParameters(const HfModelConfig& c);

}  // namespace rr::core::hf
