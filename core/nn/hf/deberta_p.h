#pragma once
// DeBERTa-v2/v3 (disentangled attention) behind nn::Encoder, parameter names as in transformers'
// DebertaV2Model (private to core/nn/hf/).
#include <string>
#include <vector>

#include "nn/hf/hfencoder_p.h"

namespace rr::core::hf {

// The relative positions of one sequence length, shared by every layer of one forward pass.
struct RelativePositions {
  torch::Tensor c2p, p2c;  // int64 [T, T] row indices into `rel` (the window of the table in use)
  torch::Tensor rel;       // [R, H] rel_embeddings rows lo..hi (after encoder.LayerNorm)
};

class DebertaLayerImpl : public torch::nn::Module {
 public:
  DebertaLayerImpl(const HfModelConfig& c);
  // firstOnly: the output holds the first token alone ([B, 1, H]).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad,
                        const RelativePositions& rp, bool firstOnly = false);

  nn::LoraLinear query{nullptr}, key{nullptr}, value{nullptr}, attnOut{nullptr};
  nn::LoraLinear ffnIn{nullptr}, ffnOut{nullptr};
  torch::nn::Linear posKey{nullptr}, posQuery{nullptr};  // when share_att_key is false
  torch::nn::LayerNorm attnNorm{nullptr}, outNorm{nullptr};

 private:
  torch::Tensor project(nn::LoraLinear& shared, torch::nn::Linear& own, const torch::Tensor& rel,
                        int64_t batch);
  int m_heads;
  bool m_c2p, m_p2c, m_shareKey, m_relative;
  double m_scaleFactor;
  std::string m_act;
  double m_hiddenDrop, m_attnDrop;
};
TORCH_MODULE(DebertaLayer);

class DebertaEncoder : public HfEncoder {
 public:
  explicit DebertaEncoder(const HfModelConfig& c);
  std::vector<torch::Tensor> hiddenStates(const torch::Tensor& ids, const torch::Tensor& mask,
                                          const torch::Tensor& types,
                                          Keep keep = Keep::All) override;
  std::vector<nn::LoraLinear> loraLayers(const std::vector<std::string>& targets) const override;

  torch::nn::Embedding words{nullptr}, positions{nullptr}, tokenTypes{nullptr};
  torch::nn::Linear embedProject{nullptr};
  torch::nn::LayerNorm embedNorm{nullptr};
  std::vector<DebertaLayer> layers;
  torch::nn::Embedding relEmbeddings{nullptr};
  torch::nn::LayerNorm relNorm{nullptr};
  torch::nn::Conv1d conv{nullptr};  // encoder.conv (conv_kernel_size > 0)
  torch::nn::LayerNorm convNorm{nullptr};

 private:
  RelativePositions relativePositions(int64_t t, const torch::Device& device);
  int m_span = 0;         // att_span: position_buckets, else max_relative_positions
  int m_maxRelative = 0;  // max_relative_positions (-1 -> max_position_embeddings)
  int m_buckets = 0;
  std::string m_convAct;
};

}  // namespace rr::core::hf
