#include <algorithm>
#include <cmath>
#include <limits>

#include "common/errors.h"
#include "nn/dropout.h"
#include "nn/hf/arch_p.h"
#include "nn/hf/deberta_p.h"
#include "nn/hf/hfconfig_p.h"
#include "nn/torchcompat.h"

namespace rr::core::hf {

namespace {

bool has(const std::vector<std::string>& v, const char* s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// DeBERTa-v2's log buckets, in float32 as transformers computes them: distances under half the
// bucket count stay exact, longer ones share buckets logarithmically up to `maxPosition`.
torch::Tensor logBuckets(const torch::Tensor& rel, int buckets, int maxPosition) {
  const int64_t mid = buckets / 2;
  torch::Tensor sign = torch::sign(rel);
  torch::Tensor absPos =
      torch::where((rel < mid) & (rel > -mid), torch::full_like(rel, mid - 1), torch::abs(rel));
  torch::Tensor denom = torch::log(torch::tensor(
      static_cast<float>(static_cast<double>(maxPosition - 1) / static_cast<double>(mid))));
  torch::Tensor logPos =
      torch::ceil(torch::log(absPos.to(torch::kFloat) / static_cast<double>(mid)) / denom *
                  static_cast<double>(mid - 1)) +
      static_cast<double>(mid);
  return torch::where(absPos <= mid, rel.to(torch::kFloat), logPos * sign.to(torch::kFloat))
      .to(torch::kLong);
}

}  // namespace

DebertaLayerImpl::DebertaLayerImpl(const HfModelConfig& c)
    : m_heads(c.heads),
      m_c2p(has(c.posAttType, "c2p")),
      m_p2c(has(c.posAttType, "p2c")),
      m_shareKey(c.shareAttKey),
      m_relative(c.relativeAttention),
      m_scaleFactor(1.0 + (m_c2p ? 1 : 0) + (m_p2c ? 1 : 0)),
      m_act(c.hiddenAct),
      m_hiddenDrop(c.hiddenDropout),
      m_attnDrop(c.attentionDropout) {
  const int h = c.hidden;
  auto attention = container(*this, "attention");
  auto self = container(*attention, "self");
  query = self->register_module("query_proj", nn::LoraLinear(h, h));
  key = self->register_module("key_proj", nn::LoraLinear(h, h));
  value = self->register_module("value_proj", nn::LoraLinear(h, h));
  if (m_relative && !m_shareKey) {
    if (m_c2p) posKey = self->register_module("pos_key_proj", torch::nn::Linear(h, h));
    if (m_p2c) posQuery = self->register_module("pos_query_proj", torch::nn::Linear(h, h));
  }
  auto output = container(*attention, "output");
  attnOut = output->register_module("dense", nn::LoraLinear(h, h));
  attnNorm = layerNorm(*output, "LayerNorm", h, c.layerNormEps);
  ffnIn =
      container(*this, "intermediate")->register_module("dense", nn::LoraLinear(h, c.intermediate));
  auto out = container(*this, "output");
  ffnOut = out->register_module("dense", nn::LoraLinear(c.intermediate, h));
  outNorm = layerNorm(*out, "LayerNorm", h, c.layerNormEps);
}

torch::Tensor DebertaLayerImpl::project(nn::LoraLinear& shared, torch::nn::Linear& own,
                                        const torch::Tensor& rel, int64_t batch) {
  torch::Tensor r = rel.unsqueeze(0);
  if (!m_shareKey) return own->forward(r);
  // The shared projection carries the LoRA adapters (as PEFT applies them to every call of the
  // module); per-row adapters need one copy of the table per row.
  if (shared->adapterCount() > 0 && batch > 1) r = r.expand({batch, rel.size(0), rel.size(1)});
  return shared->forward(r);
}

torch::Tensor DebertaLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad,
                                        const RelativePositions& rp, bool firstOnly) {
  const int64_t b = x.size(0), t = x.size(1), hid = x.size(2), d = hid / m_heads;
  auto split = [&](const torch::Tensor& z) {
    return z.view({z.size(0), z.size(1), m_heads, d}).transpose(1, 2);
  };
  // The query positions: every token, or the first alone (firstOnly).
  const torch::Tensor xq = firstOnly ? x.narrow(1, 0, 1) : x;
  const int64_t tq = xq.size(1);
  torch::Tensor q = split(query->forward(xq)), k = split(key->forward(x)),
                v = split(value->forward(x));
  const double scale = std::sqrt(static_cast<double>(d) * m_scaleFactor);
  // The relative-position terms join the attention as an additive bias, with the padding.
  torch::Tensor bias;
  if (m_relative) {
    if (m_c2p) {
      // c2p[i, j] = q_i . Kr[c2p(i, j)]
      torch::Tensor pk = split(project(key, posKey, rp.rel, b));
      torch::Tensor c2p = torch::matmul(q, pk.transpose(-2, -1));
      const torch::Tensor idx = rp.c2p.narrow(0, 0, tq).expand({b, m_heads, tq, t});
      bias = torch::gather(c2p, -1, idx) / scale;
    }
    if (m_p2c) {
      // p2c[i, j] = k_j . Qr[p2c(j, i)]: gathered per key j, then transposed.
      torch::Tensor pq = split(project(query, posQuery, rp.rel, b));
      torch::Tensor p2c = torch::matmul(k, pq.transpose(-2, -1));
      const torch::Tensor idx = rp.p2c.narrow(1, 0, tq).expand({b, m_heads, t, tq});
      torch::Tensor term = torch::gather(p2c, -1, idx).transpose(-1, -2) / scale;
      bias = bias.defined() ? bias + term : term;
    }
  }
  if (!bias.defined()) bias = torch::zeros({b, 1, tq, t}, q.options().dtype(torch::kFloat));
  // Rows of padding tokens are all masked and so attend uniformly, as in transformers.
  bias = bias.masked_fill(pad.narrow(2, 0, tq), std::numeric_limits<float>::lowest());
  const bool train = is_training();
  torch::Tensor ctx = nn::attention(q, k, v, bias, 1.0 / scale, m_attnDrop, train);
  return postLnTail(
      ctx, xq, {attnOut, attnNorm, ffnIn, ffnOut, outNorm, m_act, m_hiddenDrop, m_attnDrop, train});
}

DebertaEncoder::DebertaEncoder(const HfModelConfig& c) : HfEncoder(c) {
  const int emb = c.embeddingSize > 0 ? c.embeddingSize : c.hidden;
  auto embeddings = container(*backbone, "embeddings");
  words = embeddings->register_module("word_embeddings", torch::nn::Embedding(c.vocabSize, emb));
  if (c.positionBiasedInput)
    positions = embeddings->register_module("position_embeddings",
                                            torch::nn::Embedding(c.maxPositions, emb));
  if (c.typeVocabSize > 0)
    tokenTypes = embeddings->register_module("token_type_embeddings",
                                             torch::nn::Embedding(c.typeVocabSize, emb));
  if (emb != c.hidden)
    embedProject = embeddings->register_module(
        "embed_proj", torch::nn::Linear(torch::nn::LinearOptions(emb, c.hidden).bias(false)));
  embedNorm = layerNorm(*embeddings, "LayerNorm", c.hidden, c.layerNormEps);

  auto encoder = container(*backbone, "encoder");
  auto list = encoder->register_module("layer", torch::nn::ModuleList());
  for (int i = 0; i < c.layers; ++i) {
    layers.push_back(DebertaLayer(c));
    list->push_back(layers.back());
  }
  if (c.relativeAttention) {
    m_maxRelative = c.maxRelativePositions < 1 ? c.maxPositions : c.maxRelativePositions;
    m_buckets = c.positionBuckets;
    m_span = m_buckets > 0 ? m_buckets : m_maxRelative;
    relEmbeddings =
        encoder->register_module("rel_embeddings", torch::nn::Embedding(2 * m_span, c.hidden));
  }
  if (c.normRelEbd == "layer_norm")
    relNorm = layerNorm(*encoder, "LayerNorm", c.hidden, c.layerNormEps);
  if (c.convKernelSize > 0) {
    const int groups = c.raw.value("conv_groups", 1);
    m_convAct = c.raw.value("conv_act", std::string("tanh"));
    auto convLayer = container(*encoder, "conv");
    conv = convLayer->register_module(
        "conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(c.hidden, c.hidden, c.convKernelSize)
                                      .padding((c.convKernelSize - 1) / 2)
                                      .groups(groups)));
    convNorm = layerNorm(*convLayer, "LayerNorm", c.hidden, c.layerNormEps);
  }
  initLikeTransformers(*this);
}

RelativePositions DebertaEncoder::relativePositions(int64_t t, const torch::Device& device) {
  torch::Tensor q = torch::arange(t, torch::kLong);
  torch::Tensor rel = q.unsqueeze(1) - q.unsqueeze(0);
  if (m_buckets > 0 && m_maxRelative > 0) rel = logBuckets(rel, m_buckets, m_maxRelative);
  // Only the table rows the clamped indices can reach are projected: [span - m, span + m].
  const int64_t m = rel.abs().max().item<int64_t>();
  const int64_t lo = std::max<int64_t>(0, m_span - m),
                hi = std::min<int64_t>(2 * m_span - 1, m_span + m);
  RelativePositions rp;
  rp.c2p = (torch::clamp(rel + m_span, 0, 2 * m_span - 1) - lo).to(device);
  rp.p2c = (torch::clamp(-rel + m_span, 0, 2 * m_span - 1) - lo).to(device);
  torch::Tensor table = relEmbeddings->weight.slice(0, lo, hi + 1);
  rp.rel = relNorm ? relNorm->forward(table) : table;
  return rp;
}

std::vector<torch::Tensor> DebertaEncoder::hiddenStates(const torch::Tensor& ids,
                                                        const torch::Tensor& mask,
                                                        const torch::Tensor& types, Keep keep) {
  const int64_t b = ids.size(0), t = ids.size(1);
  torch::Tensor x = words->forward(ids);
  if (positions) x = x + positions->forward(torch::arange(t, ids.options().dtype(torch::kLong)));
  if (tokenTypes) x = x + tokenTypes->forward(types.defined() ? types : torch::zeros_like(ids));
  if (embedProject) x = embedProject->forward(x);
  torch::Tensor tokenMask = mask.to(x.dtype()).unsqueeze(-1);
  x = nn::dropout(embedNorm->forward(x) * tokenMask, m_config.hiddenDropout, is_training());

  torch::Tensor m = mask != 0;
  torch::Tensor pad = (m.view({b, 1, 1, t}) & m.view({b, 1, t, 1})).logical_not();
  RelativePositions rp;
  if (relEmbeddings) rp = relativePositions(t, ids.device());
  return runLayers(x, layers.size(), keep, [&](size_t i, const torch::Tensor& in, bool first) {
    torch::Tensor y = layers[i]->forward(in, pad, rp, first);
    if (i == 0 && conv) {
      // The ConvLayer: a convolution over the embeddings added to the first layer's output
      // (at the positions that layer computed).
      torch::Tensor c = conv->forward(x.permute({0, 2, 1})).permute({0, 2, 1});
      c = activate(m_convAct, c.masked_fill(m.logical_not().unsqueeze(-1), 0.0));
      const int64_t tq = y.size(1);
      y = convNorm->forward(y + c.narrow(1, 0, tq)) * tokenMask.narrow(1, 0, tq);
    }
    return y;
  });
}

std::vector<nn::LoraLinear> DebertaEncoder::loraLayers(
    const std::vector<std::string>& targets) const {
  std::vector<nn::LoraLinear> out;
  for (const auto& l : layers) {
    if (nn::targetsRole(targets, nn::LoraRole::Query)) out.push_back(l->query);
    if (nn::targetsRole(targets, nn::LoraRole::Key)) out.push_back(l->key);
    if (nn::targetsRole(targets, nn::LoraRole::Value)) out.push_back(l->value);
    if (nn::targetsRole(targets, nn::LoraRole::Output)) out.push_back(l->attnOut);
    if (nn::targetsRole(targets, nn::LoraRole::Up)) out.push_back(l->ffnIn);
    if (nn::targetsRole(targets, nn::LoraRole::Down)) out.push_back(l->ffnOut);
  }
  return out;
}

// ---- registry row ----

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

void parseDeberta(const ConfigFile& f, HfModelConfig& c) {
  parseEncoderKeys(f, c, 1e-7, 0, c.hidden);
  c.relativeAttention = f.boolean("relative_attention", false);
  c.maxRelativePositions = f.integer("max_relative_positions", -1);
  c.positionBuckets = f.integer("position_buckets", -1);
  if (auto it = c.raw.find("pos_att_type"); it != c.raw.end() && !it->is_null()) {
    std::vector<std::string> parts;
    if (it->is_string()) {
      std::string s = lower(it->get<std::string>());
      for (size_t start = 0;;) {
        const size_t bar = s.find('|', start);
        parts.push_back(trim(s.substr(start, bar - start)));
        if (bar == std::string::npos) break;
        start = bar + 1;
      }
    } else if (it->is_array()) {
      for (const auto& p : *it) {
        if (!p.is_string()) f.fail("'pos_att_type' must be a list of strings or a string");
        parts.push_back(lower(p.get<std::string>()));
      }
    } else {
      f.fail("'pos_att_type' must be a list of strings or a string");
    }
    for (const auto& p : parts) {
      if (p.empty() || p == "none") continue;
      if (p != "c2p" && p != "p2c") f.fail("pos_att_type '" + p + "' is not supported (c2p, p2c)");
      if (std::find(c.posAttType.begin(), c.posAttType.end(), p) == c.posAttType.end())
        c.posAttType.push_back(p);
    }
  }
  c.positionBiasedInput = f.boolean("position_biased_input", true);
  c.shareAttKey = f.boolean("share_att_key", false);
  c.normRelEbd = lower(f.string("norm_rel_ebd", "none"));
  if (c.normRelEbd != "none" && c.normRelEbd != "layer_norm")
    f.fail("norm_rel_ebd '" + c.normRelEbd + "' is not supported (none, layer_norm)");
  c.convKernelSize = f.integer("conv_kernel_size", 0);
  if (c.convKernelSize > 0) {
    f.activation("conv_act", "tanh");
    const int groups = f.integer("conv_groups", 1);
    if (groups <= 0 || c.hidden % groups != 0)
      f.fail("'conv_groups' must divide hidden_size (got " + std::to_string(groups) + ")");
    if (c.convKernelSize % 2 == 0)
      f.fail("conv_kernel_size " + std::to_string(c.convKernelSize) +
             " is even; only odd kernels keep the sequence length");
  }
  c.poolerHiddenAct = f.activation("pooler_hidden_act", "gelu");
  c.poolerHiddenSize = f.integer("pooler_hidden_size", c.hidden);
  if (c.poolerHiddenSize != c.hidden)
    f.fail("pooler_hidden_size " + std::to_string(c.poolerHiddenSize) +
           " differs from hidden_size " + std::to_string(c.hidden) + " (not supported)");
  if (c.relativeAttention) {
    const int maxRel = c.maxRelativePositions < 1 ? c.maxPositions : c.maxRelativePositions;
    if (c.positionBuckets > 0 && (c.positionBuckets < 4 || maxRel <= c.positionBuckets / 2 + 1))
      f.fail("position_buckets " + std::to_string(c.positionBuckets) +
             " does not fit max_relative_positions " + std::to_string(maxRel));
  }
}

nn::EncoderPtr buildDeberta(const HfModelConfig& c) { return std::make_shared<DebertaEncoder>(c); }

// The encoder's weights as DebertaEncoder allocates them (embeddings, layers, the relative
// embeddings and projections, the pooler; DeBERTa-v2's one ConvLayer left out).
double debertaParameters(const HfModelConfig& c) {
  const double V = c.vocabSize, E = c.embeddingSize, H = c.hidden, F = c.intermediate, L = c.layers,
               T = c.typeVocabSize;
  const double P = c.positionBiasedInput ? c.maxPositions : 0;
  double n = (V + P + T + 2) * E + (E != H ? E * H + H : 0) + H * H + H;
  double layer = 4 * H * H + 2 * H * F + 9 * H + F;
  if (c.relativeAttention) {
    const double span = c.positionBuckets > 0        ? c.positionBuckets
                        : c.maxRelativePositions < 1 ? c.maxPositions
                                                     : c.maxRelativePositions;
    n += 2 * span * H + 2 * H;
    if (!c.shareAttKey) layer += 2 * H * H + 2 * H;
  }
  return n + L * layer;
}

}  // namespace

const ArchRow& debertaV2Row() {
  static const ArchRow row{Arch::DebertaV2,
                           "deberta-v2",
                           "DeBERTa-v2/v3",
                           "DebertaV2ForSequenceClassification",
                           "deberta.",
                           "embeddings.word_embeddings.weight",
                           "pooler.dense",
                           "",
                           "classifier",
                           true,
                           true,
                           SlowTokenizer::SentencePiece,
                           "spm.model",
                           InputKind::Pair,
                           parseDeberta,
                           buildDeberta,
                           debertaParameters};
  return row;
}

}  // namespace rr::core::hf
