#include <cmath>
#include <limits>

#include "nn/dropout.h"
#include "nn/hf/arch_p.h"
#include "nn/hf/bert_p.h"
#include "nn/hf/hfconfig_p.h"
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
  if (m_config.arch == Arch::Roberta || m_config.arch == Arch::XlmRoberta) {
    // RoBERTa counts positions from padding_idx + 1 over the tokens that are not padding
    // (transformers' create_position_ids_from_input_ids); padding sits at padding_idx.
    const torch::Tensor real = ids.ne(m_config.padTokenId).to(torch::kLong);
    pos = torch::cumsum(real, 1) * real + m_config.padTokenId;
  }
  // Architectures whose tokenizer gives no token_type_ids (RoBERTa) see segment 0 throughout.
  torch::Tensor tt =
      types.defined() && m_config.row().tokenTypes ? types : torch::zeros_like(ids);
  torch::Tensor x = words->forward(ids) + tokenTypes->forward(tt) + positions->forward(pos);
  x = nn::dropout(embedNorm->forward(x), m_config.hiddenDropout, is_training());
  if (embedProject) x = embedProject->forward(x);
  const torch::Tensor padBias = paddingBias(mask);
  return runLayers(x, layers.size(), keep, [&](size_t i, const torch::Tensor& in, bool first) {
    return layers[i]->forward(in, padBias, first);
  });
}

std::vector<nn::LoraLinear> BertEncoder::loraLayers(const std::vector<std::string>& targets) const {
  auto wants = [&](nn::LoraRole r) { return nn::targetsRole(targets, r); };
  std::vector<nn::LoraLinear> out;
  for (const auto& l : layers) {
    if (wants(nn::LoraRole::Query)) out.push_back(l->query);
    if (wants(nn::LoraRole::Key)) out.push_back(l->key);
    if (wants(nn::LoraRole::Value)) out.push_back(l->value);
    if (wants(nn::LoraRole::Output)) out.push_back(l->attnOut);
    if (wants(nn::LoraRole::Up)) out.push_back(l->ffnIn);
    if (wants(nn::LoraRole::Down)) out.push_back(l->ffnOut);
  }
  return out;
}

int BertEncoder::maxLen() const {
  if (m_config.arch == Arch::Roberta || m_config.arch == Arch::XlmRoberta)
    return std::max(0, m_config.maxPositions - std::max(m_config.padTokenId, 0) - 1);
  return m_config.maxPositions;
}

// ---- registry rows ----

namespace {

void parseBert(const ConfigFile& f, HfModelConfig& c) {
  parseEncoderKeys(f, c, 1e-12, 2, c.hidden);
  const std::string pet = f.string("position_embedding_type", "absolute");
  if (pet != "absolute") f.fail("position_embedding_type '" + pet + "' is not supported (only absolute)");
  if (c.arch == Arch::Bert) c.embeddingSize = c.hidden;
}

void parseElectra(const ConfigFile& f, HfModelConfig& c) {
  parseEncoderKeys(f, c, 1e-12, 2, 128);
  const std::string pet = f.string("position_embedding_type", "absolute");
  if (pet != "absolute") f.fail("position_embedding_type '" + pet + "' is not supported (only absolute)");
}

nn::EncoderPtr buildBert(const HfModelConfig& c) { return std::make_shared<BertEncoder>(c); }

}  // namespace

double bertFamilyParameters(const HfModelConfig& c) {
  const double V = c.vocabSize, E = c.embeddingSize, H = c.hidden, F = c.intermediate, L = c.layers,
               T = c.typeVocabSize, P = c.maxPositions;
  const double n = (V + P + T + 2) * E + (E != H ? E * H + H : 0) + H * H + H;
  return n + L * (4 * H * H + 2 * H * F + 9 * H + F);
}

const ArchRow& bertRow() {
  static const ArchRow row{Arch::Bert,
                           "bert",
                           "BERT",
                           "BertForSequenceClassification",
                           "bert.",
                           "embeddings.word_embeddings.weight",
                           "bert.pooler.dense",
                           "pooler.dense",
                           "classifier",
                           true,
                           true,
                           SlowTokenizer::WordPiece,
                           "vocab.txt",
                           InputKind::Pair,
                           parseBert,
                           buildBert,
                           bertFamilyParameters};
  return row;
}

const ArchRow& electraRow() {
  static const ArchRow row{Arch::Electra,
                           "electra",
                           "ELECTRA",
                           "ElectraForSequenceClassification",
                           "electra.",
                           "embeddings.word_embeddings.weight",
                           "classifier.dense",
                           "",
                           "classifier.out_proj",
                           true,
                           true,
                           SlowTokenizer::WordPiece,
                           "vocab.txt",
                           InputKind::Pair,
                           parseElectra,
                           buildBert,
                           bertFamilyParameters};
  return row;
}

}  // namespace rr::core::hf
