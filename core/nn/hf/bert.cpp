#include <cmath>
#include <limits>

#include "nn/dropout.h"
#include "nn/hf/bert_p.h"
#include "nn/torchcompat.h"

namespace rr::core::hf {

BertLayerImpl::BertLayerImpl(const HfModelConfig& c)
    : m_heads(c.heads),
      m_act(c.hiddenAct),
      m_hiddenDrop(c.hiddenDropout),
      m_attnDrop(c.attentionDropout) {
  const int h = c.hidden;
  auto attention = container(*this, "attention");
  auto self = container(*attention, "self");
  query = self->register_module("query", nn::LoraLinear(h, h));
  key = self->register_module("key", nn::LoraLinear(h, h));
  value = self->register_module("value", nn::LoraLinear(h, h));
  auto output = container(*attention, "output");
  attnOut = output->register_module("dense", nn::LoraLinear(h, h));
  attnNorm = layerNorm(*output, "LayerNorm", h, c.layerNormEps);
  ffnIn =
      container(*this, "intermediate")->register_module("dense", nn::LoraLinear(h, c.intermediate));
  auto out = container(*this, "output");
  ffnOut = out->register_module("dense", nn::LoraLinear(c.intermediate, h));
  outNorm = layerNorm(*out, "LayerNorm", h, c.layerNormEps);
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& padBias,
                                     bool firstOnly) {
  const int64_t b = x.size(0), hid = x.size(2), d = hid / m_heads;
  auto split = [&](const torch::Tensor& z) {
    return z.view({b, z.size(1), m_heads, d}).transpose(1, 2);
  };
  const torch::Tensor xq = firstOnly ? x.narrow(1, 0, 1) : x;
  torch::Tensor q = split(query->forward(xq)), k = split(key->forward(x)),
                v = split(value->forward(x));
  const bool train = is_training();
  torch::Tensor ctx = nn::attention(q, k, v, padBias, 1.0 / std::sqrt(static_cast<double>(d)),
                                    m_attnDrop, train);
  return postLnTail(
      ctx, xq, {attnOut, attnNorm, ffnIn, ffnOut, outNorm, m_act, m_hiddenDrop, m_attnDrop, train});
}

BertEncoder::BertEncoder(const HfModelConfig& c) : HfEncoder(c) {
  const int emb = c.embeddingSize > 0 ? c.embeddingSize : c.hidden;
  auto embeddings = container(*backbone, "embeddings");
  words = embeddings->register_module("word_embeddings", torch::nn::Embedding(c.vocabSize, emb));
  positions =
      embeddings->register_module("position_embeddings", torch::nn::Embedding(c.maxPositions, emb));
  tokenTypes = embeddings->register_module("token_type_embeddings",
                                           torch::nn::Embedding(std::max(c.typeVocabSize, 1), emb));
  embedNorm = layerNorm(*embeddings, "LayerNorm", emb, c.layerNormEps);
  if (emb != c.hidden)
    embedProject =
        backbone->register_module("embeddings_project", torch::nn::Linear(emb, c.hidden));
  auto list = container(*backbone, "encoder")->register_module("layer", torch::nn::ModuleList());
  for (int i = 0; i < c.layers; ++i) {
    layers.push_back(BertLayer(c));
    list->push_back(layers.back());
  }
  initLikeTransformers(*this);
}

std::vector<torch::Tensor> BertEncoder::hiddenStates(const torch::Tensor& ids,
                                                     const torch::Tensor& mask,
                                                     const torch::Tensor& types, Keep keep) {
  const int64_t t = ids.size(1);
  torch::Tensor pos = torch::arange(t, ids.options().dtype(torch::kLong));
  torch::Tensor tt = types.defined() ? types : torch::zeros_like(ids);
  torch::Tensor x = words->forward(ids) + tokenTypes->forward(tt) + positions->forward(pos);
  x = nn::dropout(embedNorm->forward(x), m_config.hiddenDropout, is_training());
  if (embedProject) x = embedProject->forward(x);
  const torch::Tensor padBias = paddingBias(mask);
  return runLayers(x, layers.size(), keep, [&](size_t i, const torch::Tensor& in, bool first) {
    return layers[i]->forward(in, padBias, first);
  });
}

std::vector<nn::LoraLinear> BertEncoder::loraLayers(const std::vector<std::string>& targets) const {
  auto wants = [&](const char* role) {
    return std::find(targets.begin(), targets.end(), role) != targets.end();
  };
  std::vector<nn::LoraLinear> out;
  for (const auto& l : layers) {
    if (wants("query")) out.push_back(l->query);
    if (wants("key")) out.push_back(l->key);
    if (wants("value")) out.push_back(l->value);
    if (wants("dense")) out.push_back(l->attnOut);
    if (wants("ffn")) {
      out.push_back(l->ffnIn);
      out.push_back(l->ffnOut);
    }
  }
  return out;
}

}  // namespace rr::core::hf
