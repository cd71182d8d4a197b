#pragma once
// What the BERT/ELECTRA and DeBERTa-v2 encoders share (private to core/nn/hf/): the config, the
// pooler, activations by their transformers names and the module-tree helpers that make the
// encoder's parameter names the checkpoint's names.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/encoder.h"
#include "nn/hf/hfmodel.h"

namespace rr::core::hf {

// transformers' ACT2FN by name (gelu = erf form; gelu_new, gelu_fast, gelu_pytorch_tanh = tanh
// form). `act` has been checked by readHfConfig.
torch::Tensor activate(const std::string& act, const torch::Tensor& x);
bool isKnownActivation(const std::string& act);

// An empty module to hang named children on, so "encoder.layer.0.attention.self.query" is a path.
std::shared_ptr<torch::nn::Module> container(torch::nn::Module& parent, const std::string& name);
torch::nn::LayerNorm layerNorm(torch::nn::Module& parent, const std::string& name, int size,
                               double eps);

// Parameters live under two children: "backbone" (the names after the checkpoint's model prefix,
// "bert.", "electra.", "deberta.") and "pooler" ("dense", the architecture's pooler, whose
// checkpoint name depends on the architecture).
class HfEncoder : public nn::Encoder {
 public:
  explicit HfEncoder(HfModelConfig config);
  using nn::Encoder::forward;
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask,
                        const torch::Tensor& types = {}) override {
    return hiddenStates(ids, mask, types, Keep::Last).back();
  }
  // The last layer for the first token alone (the poolers read nothing else).
  torch::Tensor firstState(const torch::Tensor& ids, const torch::Tensor& mask,
                           const torch::Tensor& types = {}) override {
    return hiddenStates(ids, mask, types, Keep::LastFirstToken).back().select(1, 0);
  }
  // All: the embeddings' output, then every layer's ([layers + 1] x [B, T, H]), as
  // transformers' output_hidden_states. Last: the last layer's alone (each layer's input is let
  // go as soon as the next exists). LastFirstToken: the last layer's for the first token
  // ([B, 1, H]), that layer's queries and everything after its attention computed for it alone.
  enum class Keep { All, Last, LastFirstToken };
  virtual std::vector<torch::Tensor> hiddenStates(const torch::Tensor& ids,
                                                  const torch::Tensor& mask,
                                                  const torch::Tensor& types,
                                                  Keep keep = Keep::All) = 0;
  const HfModelConfig& config() const { return m_config; }
  int hidden() const override { return m_config.hidden; }
  int maxLen() const override { return m_config.maxPositions; }
  std::string architecture() const override { return m_config.modelType; }
  bool headHasBias() const override { return m_config.row().headBias; }

  std::shared_ptr<torch::nn::Module> backbone;
  torch::nn::Linear poolerDense{nullptr};  // its bias may be undefined (ModernBERT's head.dense)
  // The head's parameters beyond the pooler's dense layer, by their names in the classification
  // checkpoint (ModernBERT's head.norm): loadHfBackbone loads them with the pooler, exportState
  // writes them. None by default.
  virtual std::vector<std::pair<std::string, torch::Tensor>> headExtras() const { return {}; }

 protected:
  torch::Tensor poolFirst(const torch::Tensor& first) override;
  HfModelConfig m_config;
};

// What follows the attention in a BERT or DeBERTa layer (both post-LayerNorm): output projection +
// dropout + residual LayerNorm, then the FFN the same way. Dropout is where transformers applies it when fine-tuning (none in eval mode).
struct PostLnParts {
  nn::LoraLinear& attnOut;
  torch::nn::LayerNorm& attnNorm;
  nn::LoraLinear& ffnIn;
  nn::LoraLinear& ffnOut;
  torch::nn::LayerNorm& outNorm;
  const std::string& act;
  double hiddenDrop, attnDrop;
  bool training;
};
// ctx [B, heads, Tq, d] the attention's output (nn::attention), x [B, Tq, H] the layer's input at
// the Tq query positions (every token, or the first alone).
torch::Tensor postLnTail(const torch::Tensor& ctx, const torch::Tensor& x, const PostLnParts& p);

// The additive attention bias of a padding mask [B, T] (1 = token): [B, 1, 1, T], 0 for tokens
// and float's lowest for padding (transformers adds the dtype's lowest value; exp makes it 0).
torch::Tensor paddingBias(const torch::Tensor& mask);

// transformers' initialisation for a freshly built model: N(0, 0.02) weights, zero biases,
// LayerNorm ones/zeros.
void initLikeTransformers(torch::nn::Module& m);

// Runs `layer(x, last)` over n layers, `last` true for the last one when keep is
// LastFirstToken, and collects the states `keep` asks for; `x` is the embeddings' output.
template <class LayerFn>
std::vector<torch::Tensor> runLayers(torch::Tensor x, size_t n, HfEncoder::Keep keep,
                                     LayerFn&& layer) {
  std::vector<torch::Tensor> out{x};
  for (size_t i = 0; i < n; ++i) {
    torch::Tensor y = layer(i, out.back(), keep == HfEncoder::Keep::LastFirstToken && i + 1 == n);
    if (keep == HfEncoder::Keep::All)
      out.push_back(y);
    else
      out.back() = y;
  }
  if (n == 0 && keep == HfEncoder::Keep::LastFirstToken) out.back() = out.back().narrow(1, 0, 1);
  return out;
}

}  // namespace rr::core::hf
