#pragma once
// What the BERT/ELECTRA and DeBERTa-v2 encoders share (private to core/nn/hf/): the config, the
// pooler, activations by their transformers names and the module-tree helpers that make the
// encoder's parameter names the checkpoint's names.
#include <memory>
#include <string>
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
    return hiddenStates(ids, mask, types).back();
  }
  // The embeddings' output, then every layer's ([layers + 1] x [B, T, H]), as transformers'
  // output_hidden_states.
  virtual std::vector<torch::Tensor> hiddenStates(const torch::Tensor& ids,
                                                  const torch::Tensor& mask,
                                                  const torch::Tensor& types) = 0;
  const HfModelConfig& config() const { return m_config; }
  int hidden() const override { return m_config.hidden; }
  int maxLen() const override { return m_config.maxPositions; }
  std::string architecture() const override { return m_config.modelType; }

  std::shared_ptr<torch::nn::Module> backbone;
  torch::nn::Linear poolerDense{nullptr};

 protected:
  torch::Tensor poolFirst(const torch::Tensor& first) override;
  HfModelConfig m_config;
};

// What follows the attention scores in a BERT or DeBERTa layer (both post-LayerNorm): softmax,
// attention dropout, context, output projection + dropout + residual LayerNorm, then the FFN the
// same way. Dropout is where transformers applies it when fine-tuning (none in eval mode).
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
// scores [B, heads, T, T] (masked), v [B, heads, T, d], x [B, T, H] the layer's input.
torch::Tensor postLnTail(const torch::Tensor& scores, const torch::Tensor& v,
                         const torch::Tensor& x, const PostLnParts& p);

// transformers' initialisation for a freshly built model: N(0, 0.02) weights, zero biases,
// LayerNorm ones/zeros.
void initLikeTransformers(torch::nn::Module& m);

}  // namespace rr::core::hf
