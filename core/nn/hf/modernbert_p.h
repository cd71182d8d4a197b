#pragma once
// ModernBERT (transformers' ModernBertModel / ModernBertForSequenceClassification) behind
// nn::Encoder, parameter names as transformers saves them (private to core/nn/hf/): token
// embeddings + LayerNorm, pre-norm layers with a fused Wqkv, rotary positions (one theta for the
// global layers, another for the local ones), attention over every token on global layers and over
// a bidirectional window on the others, a GeGLU feed-forward (Wi gives input and gate), a final
// LayerNorm; the head pools the first token or the mean, then dense + activation + LayerNorm.
#include <string>
#include <utility>
#include <vector>

#include "nn/hf/hfencoder_p.h"
#include "nn/hf/rope_p.h"

namespace rr::core::hf {

struct ConfigFile;

// ModernBERT's own keys of config.json, read in either layout: transformers 5's layer_types +
// rope_parameters {full_attention: {rope_theta}, sliding_attention: {rope_theta}}, or the hub's
// older global_attn_every_n_layers + global_rope_theta + local_rope_theta (layer i global when
// i % n == 0). Where a file has both, layer_types and rope_parameters win, as in transformers.
struct ModernBertKeys {
  int localAttention = 128;       // local_attention: the window's whole width
  std::vector<bool> localLayers;  // per layer: sliding_attention (the window applies)
  double globalTheta = 160000, localTheta = 10000;
  bool normBias = false;        // every LayerNorm has a bias
  bool classifierBias = false;  // head.dense has a bias (the classifier always has one)
  bool attentionBias = false, mlpBias = false;
  std::string hiddenAct = "gelu", classifierAct = "gelu";
  std::string classifierPooling = "cls";  // cls | mean
  double normEps = 1e-5;
  double embeddingDropout = 0, attentionDropout = 0, mlpDropout = 0, classifierDropout = 0;
};
// InputError "FILE: what is wrong" naming the key; `c` has the shared keys (layers) read.
ModernBertKeys readModernBertKeys(const ConfigFile& f, const HfModelConfig& c);
// The same from c.raw, which parseHfConfig has checked.
ModernBertKeys modernBertKeys(const HfModelConfig& c);

// LayerNorm with or without a bias (norm_bias), as torch.nn.LayerNorm(bias=...).
class MbLayerNormImpl : public torch::nn::Module {
 public:
  MbLayerNormImpl(int64_t size, double eps, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // bias undefined without norm_bias

 private:
  int64_t m_size;
  double m_eps;
};
TORCH_MODULE(MbLayerNorm);

class ModernBertLayerImpl : public torch::nn::Module {
 public:
  ModernBertLayerImpl(const HfModelConfig& c, const ModernBertKeys& k, int index);
  // x [B, T, H]; bias the additive attention bias, [B, 1, 1, T] or [B, 1, T, T]; firstOnly: the
  // output holds the first token alone ([B, 1, H]), its query attending as every token's does.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, const Rotary& rot,
                        bool firstOnly);

  MbLayerNorm attnNorm{nullptr};  // none on layer 0 (transformers' Identity)
  MbLayerNorm mlpNorm{nullptr};
  nn::LoraLinear wqkv{nullptr}, wo{nullptr};   // attn.Wqkv (q, k, v fused), attn.Wo
  nn::LoraLinear wi{nullptr}, mlpWo{nullptr};  // mlp.Wi (input and gate fused), mlp.Wo
  bool local;                                  // a sliding_attention layer

 private:
  int m_heads, m_headDim;
  std::string m_act;
  double m_attnDrop, m_mlpDrop;
};
TORCH_MODULE(ModernBertLayer);

class ModernBertEncoder : public HfEncoder {
 public:
  explicit ModernBertEncoder(const HfModelConfig& c);
  std::vector<torch::Tensor> hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask,
                                          const torch::Tensor& types,
                                          Keep keep = Keep::All) override;
  // What ModernBertForSequenceClassification's head reads (classifier_pooling): the first
  // token's final state ("cls") or the mean of the final states over the mask ("mean").
  torch::Tensor headState(const torch::Tensor& ids, const torch::Tensor& mask,
                          const torch::Tensor& types = {}) override;
  std::vector<nn::LoraLinear> loraLayers(const std::vector<std::string>& targets) const override;
  std::vector<std::pair<std::string, torch::Tensor>> headExtras() const override;
  const ModernBertKeys& keys() const { return m_keys; }

  torch::nn::Embedding tokens{nullptr};
  MbLayerNorm embedNorm{nullptr}, finalNorm{nullptr};
  std::vector<ModernBertLayer> layers;
  MbLayerNorm headNorm{nullptr};  // head.norm (head.dense is HfEncoder::poolerDense)

 protected:
  // head.dense + classifier_activation + head.norm, then classifier_dropout.
  torch::Tensor poolFirst(const torch::Tensor& pooled) override;

 private:
  Rotary rotary(const torch::Tensor& invFreq, int64_t t, const torch::Device& device) const;
  ModernBertKeys m_keys;
  torch::Tensor m_globalInvFreq, m_localInvFreq;  // [head_dim / 2]
};

}  // namespace rr::core::hf
