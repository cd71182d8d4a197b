#pragma once
// BERT and ELECTRA (post-LayerNorm) behind nn::Encoder, parameter names as in transformers'
// BertModel / ElectraModel (private to core/nn/hf/).
#include <string>
#include <vector>

#include "nn/hf/hfencoder_p.h"

namespace rr::core::hf {

class BertLayerImpl : public torch::nn::Module {
 public:
  BertLayerImpl(const HfModelConfig& c);
  // padBias: paddingBias(mask). firstOnly: the output holds the first token alone ([B, 1, H]).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& padBias,
                        bool firstOnly = false);

  nn::LoraLinear query{nullptr}, key{nullptr}, value{nullptr}, attnOut{nullptr};
  nn::LoraLinear ffnIn{nullptr}, ffnOut{nullptr};
  torch::nn::LayerNorm attnNorm{nullptr}, outNorm{nullptr};

 private:
  int m_heads;
  std::string m_act;
  double m_hiddenDrop, m_attnDrop;
};
TORCH_MODULE(BertLayer);

class BertEncoder : public HfEncoder {
 public:
  explicit BertEncoder(const HfModelConfig& c);
  std::vector<torch::Tensor> hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask,
                                          const torch::Tensor& types,
                                          Keep keep = Keep::All) override;
  std::vector<nn::LoraLinear> loraLayers(const std::vector<std::string>& targets) const override;
  // RoBERTa's positions start after padding_idx: max_position_embeddings - padding_idx - 1.
  int maxLen() const override;

  torch::nn::Embedding words{nullptr}, positions{nullptr}, tokenTypes{nullptr};
  torch::nn::LayerNorm embedNorm{nullptr};
  torch::nn::Linear embedProject{nullptr};  // ELECTRA when embedding_size != hidden_size
  std::vector<BertLayer> layers;
};

// BERT, ELECTRA and RoBERTa's parameters as BertEncoder allocates them.
double bertFamilyParameters(const HfModelConfig& c);

}  // namespace rr::core::hf
