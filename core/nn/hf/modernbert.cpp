// ModernBERT: what transformers 5.25's modeling_modernbert.py computes (eager/SDPA paths, the
// padded layout), written here. docs/CHECKPOINTS.md, "ModernBERT", says what loads.
#include <cmath>
#include <limits>

#include "nn/dropout.h"
#include "nn/hf/arch_p.h"
#include "nn/hf/hfconfig_p.h"
#include "nn/hf/modernbert_p.h"
#include "nn/torchcompat.h"

namespace rr::core::hf {

// ---- config keys ----

namespace {

// rope_parameters[kind]: its rope_theta, else `fallback`; only the default (unscaled) RoPE.
double ropeTheta(const ConfigFile& f, const char* kind, double fallback) {
  const nlohmann::json& rp = f.j.at("rope_parameters");
  auto it = rp.find(kind);
  if (it == rp.end() || it->is_null()) return fallback;
  if (!it->is_object()) f.fail(std::string("'rope_parameters.") + kind + "' must be an object");
  const ConfigFile sub{f.path + ": 'rope_parameters." + kind + "'", *it};
  const std::string type = sub.string("rope_type", sub.string("type", "default"));
  if (type != "default") sub.fail("rope_type '" + type + "' is not supported (only default)");
  return sub.number("rope_theta", fallback);
}

double dropoutKey(const ConfigFile& f, const char* key) {
  const double p = f.number(key, 0.0);
  if (!(p >= 0 && p < 1))
    f.fail(std::string("'") + key + "' must be in [0, 1) (got " + std::to_string(p) + ")");
  return p;
}

}  // namespace

ModernBertKeys readModernBertKeys(const ConfigFile& f, const HfModelConfig& c) {
  ModernBertKeys k;
  k.localAttention = f.integer("local_attention", 128);
  if (k.localAttention < 2)
    f.fail("'local_attention' must be >= 2 (got " + std::to_string(k.localAttention) + ")");

  // Which layers are local: layer_types (transformers 5), else every n-th layer is global.
  k.localLayers.assign(static_cast<size_t>(c.layers), false);
  if (f.has("layer_types")) {
    const nlohmann::json& lt = f.j.at("layer_types");
    if (!lt.is_array() || lt.size() != static_cast<size_t>(c.layers))
      f.fail("'layer_types' must list one type per layer (" + std::to_string(c.layers) + ")");
    for (size_t i = 0; i < lt.size(); ++i) {
      const std::string t = lt[i].is_string() ? lt[i].get<std::string>() : "";
      if (t != "full_attention" && t != "sliding_attention")
        f.fail("layer_types[" + std::to_string(i) +
               "] must be full_attention or sliding_attention");
      k.localLayers[i] = t == "sliding_attention";
    }
  } else {
    const int every = f.integer("global_attn_every_n_layers", 3);
    if (every <= 0)
      f.fail("'global_attn_every_n_layers' must be > 0 (got " + std::to_string(every) + ")");
    for (int i = 0; i < c.layers; ++i) k.localLayers[static_cast<size_t>(i)] = i % every != 0;
  }
  if (f.has("global_attn_every_n_layers")) f.integer("global_attn_every_n_layers", 3);

  // RoPE: rope_parameters keyed by layer kind, else global_rope_theta / local_rope_theta.
  k.globalTheta = f.number("global_rope_theta", 160000.0);
  k.localTheta = f.number("local_rope_theta", 10000.0);
  // An old file's rope_scaling applies to both kinds (transformers updates each with it).
  if (f.has("rope_scaling")) {
    const nlohmann::json& rs = f.j.at("rope_scaling");
    if (!rs.is_object()) f.fail("'rope_scaling' must be an object");
    const ConfigFile sub{f.path + ": 'rope_scaling'", rs};
    const std::string type = sub.string("rope_type", sub.string("type", "default"));
    if (type != "default") sub.fail("rope_type '" + type + "' is not supported (only default)");
    if (sub.has("rope_theta")) k.globalTheta = k.localTheta = sub.number("rope_theta", 0);
  }
  if (f.has("rope_parameters")) {
    const nlohmann::json& rp = f.j.at("rope_parameters");
    if (!rp.is_object()) f.fail("'rope_parameters' must be an object");
    for (auto it = rp.begin(); it != rp.end(); ++it)
      if (it.key() != "full_attention" && it.key() != "sliding_attention")
        f.fail("'rope_parameters' must be keyed by full_attention and sliding_attention (has '" +
               it.key() + "')");
    k.globalTheta = ropeTheta(f, "full_attention", k.globalTheta);
    k.localTheta = ropeTheta(f, "sliding_attention", k.localTheta);
  }
  for (const auto& [key, theta] : {std::pair<const char*, double>{"full_attention", k.globalTheta},
                                   {"sliding_attention", k.localTheta}})
    if (!(theta > 0) || !std::isfinite(theta))
      f.fail(std::string("the rope_theta of ") + key + " layers must be a positive number (got " +
             std::to_string(theta) + ")");

  k.normBias = f.boolean("norm_bias", false);
  k.classifierBias = f.boolean("classifier_bias", false);
  k.attentionBias = f.boolean("attention_bias", false);
  k.mlpBias = f.boolean("mlp_bias", false);
  k.hiddenAct = f.activation("hidden_activation", "gelu");
  k.classifierAct = f.activation("classifier_activation", "gelu");
  k.classifierPooling = f.string("classifier_pooling", "cls");
  if (k.classifierPooling != "cls" && k.classifierPooling != "mean")
    f.fail("'classifier_pooling' is '" + k.classifierPooling + "', not cls or mean");
  k.normEps = f.number("norm_eps", 1e-5);
  if (!(k.normEps > 0) || !std::isfinite(k.normEps))
    f.fail("'norm_eps' must be a positive number (got " + std::to_string(k.normEps) + ")");
  k.embeddingDropout = dropoutKey(f, "embedding_dropout");
  k.attentionDropout = dropoutKey(f, "attention_dropout");
  k.mlpDropout = dropoutKey(f, "mlp_dropout");
  k.classifierDropout = dropoutKey(f, "classifier_dropout");
  return k;
}

ModernBertKeys modernBertKeys(const HfModelConfig& c) {
  return readModernBertKeys(
      ConfigFile{c.dir.empty() ? "config.json" : c.dir + "/config.json", c.raw}, c);
}

// ---- modules ----

MbLayerNormImpl::MbLayerNormImpl(int64_t size, double eps, bool bias) : m_size(size), m_eps(eps) {
  weight = register_parameter("weight", torch::ones({size}));
  if (bias) this->bias = register_parameter("bias", torch::zeros({size}));
}

torch::Tensor MbLayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {m_size}, weight, bias, m_eps);
}

ModernBertLayerImpl::ModernBertLayerImpl(const HfModelConfig& c, const ModernBertKeys& k, int index)
    : local(k.localLayers[static_cast<size_t>(index)]),
      m_heads(c.heads),
      m_headDim(c.hidden / c.heads),
      m_act(k.hiddenAct),
      m_attnDrop(k.attentionDropout),
      m_mlpDrop(k.mlpDropout) {
  const int h = c.hidden;
  if (index > 0) attnNorm = register_module("attn_norm", MbLayerNorm(h, k.normEps, k.normBias));
  auto attn = container(*this, "attn");
  wqkv = attn->register_module("Wqkv", nn::LoraLinear(h, 3 * h, k.attentionBias));
  wo = attn->register_module("Wo", nn::LoraLinear(h, h, k.attentionBias));
  mlpNorm = register_module("mlp_norm", MbLayerNorm(h, k.normEps, k.normBias));
  auto mlp = container(*this, "mlp");
  wi = mlp->register_module("Wi", nn::LoraLinear(h, 2 * c.intermediate, k.mlpBias));
  mlpWo = mlp->register_module("Wo", nn::LoraLinear(c.intermediate, h, k.mlpBias));
}

torch::Tensor ModernBertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& bias,
                                           const Rotary& rot, bool firstOnly) {
  const int64_t b = x.size(0), t = x.size(1), hid = x.size(2);
  const torch::Tensor h = attnNorm ? attnNorm->forward(x) : x;
  // Wqkv's output is [q | k | v], each head-major: view [B, T, 3, heads, d].
  const torch::Tensor qkv = wqkv->forward(h).reshape({b, t, 3, m_heads, m_headDim});
  torch::Tensor q = applyRotary(qkv.select(2, 0).transpose(1, 2), rot);
  const torch::Tensor k = applyRotary(qkv.select(2, 1).transpose(1, 2), rot);
  const torch::Tensor v = qkv.select(2, 2).transpose(1, 2);
  torch::Tensor attnBias = bias;
  torch::Tensor xr = x;
  if (firstOnly) {
    q = q.narrow(2, 0, 1);
    if (attnBias.size(2) > 1) attnBias = attnBias.narrow(2, 0, 1);
    xr = x.narrow(1, 0, 1);
  }
  const int64_t tq = q.size(2);
  const bool train = is_training();
  const torch::Tensor ctx = nn::attention(
      q, k, v, attnBias, 1.0 / std::sqrt(static_cast<double>(m_headDim)), m_attnDrop, train);
  // out_drop after Wo uses attention_dropout too.
  const torch::Tensor a =
      nn::dropout(wo->forward(ctx.transpose(1, 2).reshape({b, tq, hid})), m_attnDrop, train);
  const torch::Tensor y = xr + a;
  // GeGLU: Wi's output is [input | gate]; act(input) * gate.
  const std::vector<torch::Tensor> parts = wi->forward(mlpNorm->forward(y)).chunk(2, -1);
  const torch::Tensor f = activate(m_act, parts[0]) * parts[1];
  return y + mlpWo->forward(nn::dropout(f, m_mlpDrop, train));
}

ModernBertEncoder::ModernBertEncoder(const HfModelConfig& c)
    : HfEncoder(c), m_keys(modernBertKeys(c)) {
  const int h = c.hidden;
  const ModernBertKeys& k = m_keys;
  auto embeddings = container(*backbone, "embeddings");
  tokens = embeddings->register_module("tok_embeddings", torch::nn::Embedding(c.vocabSize, h));
  embedNorm = embeddings->register_module("norm", MbLayerNorm(h, k.normEps, k.normBias));
  auto list = backbone->register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.layers; ++i) {
    layers.push_back(ModernBertLayer(c, k, i));
    list->push_back(layers.back());
  }
  finalNorm = backbone->register_module("final_norm", MbLayerNorm(h, k.normEps, k.normBias));

  // The head: head.dense (bias as classifier_bias says) replaces the HfEncoder's pooler dense,
  // head.norm beside it.
  std::shared_ptr<torch::nn::Module> pooler = named_children()["pooler"];
  poolerDense = pooler->replace_module(
      "dense", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(k.classifierBias)));
  headNorm = pooler->register_module("norm", MbLayerNorm(h, k.normEps, k.normBias));

  {
    // transformers' initialisation, near enough for a model trained from scratch: N(0, 0.02)
    // weights, zero biases, LayerNorm ones.
    torch::NoGradGuard ng;
    for (auto& p : named_parameters()) {
      const std::string& n = p.key();
      const bool isBias = n.size() >= 4 && n.compare(n.size() - 4, 4, "bias") == 0;
      if (n.find("norm") != std::string::npos)
        p.value().fill_(isBias ? 0.0 : 1.0);
      else if (isBias)
        p.value().zero_();
      else if (n.find("lora_") == std::string::npos)
        p.value().normal_(0.0, 0.02);
    }
  }
  // RoPE's inverse frequencies in float32 as transformers computes them, one per layer kind.
  const int64_t d = c.hidden / c.heads;
  auto invFreq = [&](double theta) { return ropeInvFreq(theta, d); };
  m_globalInvFreq = register_buffer("rope_global_inv_freq", invFreq(k.globalTheta));
  m_localInvFreq = register_buffer("rope_local_inv_freq", invFreq(k.localTheta));
}

Rotary ModernBertEncoder::rotary(const torch::Tensor& invFreq, int64_t t,
                                   const torch::Device& device) const {
  return rotaryTables(invFreq, t, device);
}

std::vector<torch::Tensor> ModernBertEncoder::hiddenStates(const torch::Tensor& ids,
                                                           const torch::Tensor& maskIn,
                                                           const torch::Tensor& /*types*/,
                                                           Keep keep) {
  const int64_t t = ids.size(1);
  const torch::Tensor mask = maskIn.defined() ? maskIn : torch::ones_like(ids);
  const bool train = is_training();
  torch::Tensor x =
      nn::dropout(embedNorm->forward(tokens->forward(ids)), m_keys.embeddingDropout, train);
  // Global layers: every token that is not padding. Local layers: those within
  // local_attention / 2 positions on either side too (|i - j| <= local_attention // 2, as
  // transformers' sliding_window_bidirectional_overlay); the window is left out when it spans
  // the whole input.
  const torch::Tensor globalBias = paddingBias(mask).to(ids.device());
  torch::Tensor localBias = globalBias;
  const int64_t half = m_keys.localAttention / 2;
  if (t - 1 > half) {
    const torch::Tensor i = torch::arange(t, ids.options().dtype(torch::kLong));
    const torch::Tensor outside = (i.unsqueeze(1) - i.unsqueeze(0)).abs() > half;
    const torch::Tensor window =
        torch::zeros({t, t}, torch::TensorOptions(torch::kFloat).device(ids.device()))
            .masked_fill(outside, std::numeric_limits<float>::lowest());
    // Two lowests add to -inf; clamped, a padding row outside every window stays finite.
    localBias = (globalBias + window).clamp_min(std::numeric_limits<float>::lowest());
  }
  const Rotary globalRot = rotary(m_globalInvFreq, t, ids.device());
  const Rotary localRot = rotary(m_localInvFreq, t, ids.device());
  std::vector<torch::Tensor> out =
      runLayers(x, layers.size(), keep, [&](size_t i, const torch::Tensor& in, bool first) {
        const bool local = layers[i]->local;
        return layers[i]->forward(in, local ? localBias : globalBias, local ? localRot : globalRot,
                                  first);
      });
  // The last hidden state is after final_norm, as transformers returns it.
  out.back() = finalNorm->forward(out.back());
  return out;
}

torch::Tensor ModernBertEncoder::headState(const torch::Tensor& ids, const torch::Tensor& mask,
                                           const torch::Tensor& types) {
  if (m_keys.classifierPooling == "cls") return firstState(ids, mask, types);
  const torch::Tensor h = forward(ids, mask, types);
  const torch::Tensor m =
      (mask.defined() ? mask : torch::ones_like(ids)).to(h.dtype()).unsqueeze(-1);
  return (h * m).sum(1) / m.sum(1).clamp_min(1.0);
}

torch::Tensor ModernBertEncoder::poolFirst(const torch::Tensor& pooled) {
  const torch::Tensor y =
      headNorm->forward(activate(m_keys.classifierAct, poolerDense->forward(pooled)));
  return nn::dropout(y, m_keys.classifierDropout, is_training());
}

std::vector<std::pair<std::string, torch::Tensor>> ModernBertEncoder::headExtras() const {
  std::vector<std::pair<std::string, torch::Tensor>> out{{"head.norm.weight", headNorm->weight}};
  if (headNorm->bias.defined()) out.emplace_back("head.norm.bias", headNorm->bias);
  return out;
}

// LoRA roles on the fused layers: attn.Wqkv computes q, k and v in one product, so query/q,
// key/k and value/v each target it (once, however many of them are named); dense/o targets
// attn.Wo. mlp.Wi computes the GeGLU's input and gate in one product, so up and gate each target
// it (once); down targets mlp.Wo; ffn targets Wi and mlp.Wo.
std::vector<nn::LoraLinear> ModernBertEncoder::loraLayers(
    const std::vector<std::string>& targets) const {
  auto wants = [&](nn::LoraRole r) { return nn::targetsRole(targets, r); };
  const bool qkv =
      wants(nn::LoraRole::Query) || wants(nn::LoraRole::Key) || wants(nn::LoraRole::Value);
  const bool in = wants(nn::LoraRole::Up) || wants(nn::LoraRole::Gate);
  std::vector<nn::LoraLinear> out;
  for (const auto& l : layers) {
    if (qkv) out.push_back(l->wqkv);
    if (wants(nn::LoraRole::Output)) out.push_back(l->wo);
    if (in) out.push_back(l->wi);
    if (wants(nn::LoraRole::Down)) out.push_back(l->mlpWo);
  }
  return out;
}

// ---- registry row ----

namespace {

void parse(const ConfigFile& f, HfModelConfig& c) {
  requireHeadsDivideHidden(f, c);
  c.maxPositions = f.integer("max_position_embeddings", 8192);
  if (c.maxPositions < kMinPairTokens)
    f.fail("'max_position_embeddings' is " + std::to_string(c.maxPositions) +
           "; an input needs at least " + std::to_string(kMinPairTokens) +
           " ([CLS] prompt [SEP] response [SEP])");
  c.headDim = c.hidden / c.heads;
  if (c.headDim % 2 != 0)
    f.fail("hidden_size / num_attention_heads is " + std::to_string(c.headDim) +
           "; rotary positions need an even head size");
  c.padTokenId = f.integer("pad_token_id", 50283);
  const ModernBertKeys k = readModernBertKeys(f, c);
  // The shared fields that mean the same here (for the bench's and the estimates' readers).
  c.hiddenAct = k.hiddenAct;
  c.layerNormEps = k.normEps;
  c.attentionBias = k.attentionBias;
  c.mlpBias = k.mlpBias;
  c.slidingWindow = k.localAttention;
  c.slidingLayers = k.localLayers;
  c.rope.theta = k.globalTheta;
  c.attentionDropout = k.attentionDropout;
  c.hiddenDropout = k.mlpDropout;
  c.poolerDropout = k.classifierDropout;
  c.poolerHiddenAct = k.classifierAct;
  c.typeVocabSize = 0;
  c.embeddingSize = c.hidden;
}

nn::EncoderPtr build(const HfModelConfig& c) { return std::make_shared<ModernBertEncoder>(c); }

double parameters(const HfModelConfig& c) {
  const ModernBertKeys k = modernBertKeys(c);
  const double V = c.vocabSize, H = c.hidden, F = c.intermediate, L = c.layers;
  const double norm = k.normBias ? 2 * H : H;
  double layer = 3 * H * H + H * H + 2 * F * H + F * H + 2 * norm;
  if (k.attentionBias) layer += 4 * H;
  if (k.mlpBias) layer += 2 * F + H;
  const double head = H * H + (k.classifierBias ? H : 0) + norm;
  // Embeddings + their norm, the layers (layer 0 without attn_norm), final_norm, the head.
  return V * H + norm + (L * layer - norm) + norm + head;
}

}  // namespace

const ArchRow& modernBertRow() {
  static const ArchRow row{Arch::ModernBert,
                           "modernbert",
                           "ModernBERT",
                           "ModernBertForSequenceClassification",
                           "model.",
                           "embeddings.tok_embeddings.weight",
                           "head.dense",
                           "",
                           "classifier",
                           true,
                           false,
                           SlowTokenizer::None,
                           "tokenizer.json",
                           InputKind::Pair,
                           parse,
                           build,
                           parameters};
  return row;
}

}  // namespace rr::core::hf
