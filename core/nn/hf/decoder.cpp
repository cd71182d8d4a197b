#include <cmath>
#include <limits>

#include "nn/dropout.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"
#include "nn/torchcompat.h"

namespace rr::core::hf {

RmsNormImpl::RmsNormImpl(int64_t size, double eps, bool offsetOne)
    : m_eps(eps), m_offsetOne(offsetOne) {
  weight = register_parameter("weight", offsetOne ? torch::zeros({size}) : torch::ones({size}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor xf = x.to(torch::kFloat);
  const torch::Tensor n = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + m_eps);
  if (m_offsetOne) return (n * (1.0 + weight.to(torch::kFloat))).to(x.scalar_type());
  return weight * n.to(x.scalar_type());
}

namespace {

// [B, kv, T, d] -> [B, kv * n, T, d]: each key/value head serves n query heads.
torch::Tensor repeatKv(const torch::Tensor& x, int64_t n) {
  if (n == 1) return x;
  const int64_t b = x.size(0), kv = x.size(1), t = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, n, t, d}).reshape({b, kv * n, t, d});
}

}  // namespace

DecoderLayerImpl::DecoderLayerImpl(const HfModelConfig& c, int index)
    : m_heads(c.heads),
      m_kvHeads(c.kvHeads),
      m_headDim(c.headDim),
      m_window(c.slidingLayers[static_cast<size_t>(index)] ? c.slidingWindow : 0),
      m_scale(c.queryPreAttnScalar > 0 ? 1.0 / std::sqrt(c.queryPreAttnScalar)
                                       : 1.0 / std::sqrt(static_cast<double>(c.headDim))),
      m_softcap(c.attnLogitSoftcap),
      m_attnDrop(c.attentionDropout),
      m_act(c.hiddenAct),
      m_sandwich(c.arch == Arch::Gemma2) {
  const bool gemma = c.arch == Arch::Gemma2;
  const int h = c.hidden, qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim;
  // Qwen2 has q/k/v biases always (o none); the others as attention_bias says.
  const bool qkvBias = c.arch == Arch::Qwen2 || c.attentionBias;
  const bool oBias = c.arch != Arch::Qwen2 && c.attentionBias;
  auto attn = container(*this, "self_attn");
  q = attn->register_module("q_proj", nn::LoraLinear(h, qd, qkvBias));
  k = attn->register_module("k_proj", nn::LoraLinear(h, kvd, qkvBias));
  v = attn->register_module("v_proj", nn::LoraLinear(h, kvd, qkvBias));
  o = attn->register_module("o_proj", nn::LoraLinear(qd, h, oBias));
  if (c.arch == Arch::Qwen3) {
    qNorm = attn->register_module("q_norm", RmsNorm(c.headDim, c.rmsNormEps, false));
    kNorm = attn->register_module("k_norm", RmsNorm(c.headDim, c.rmsNormEps, false));
  }
  auto mlp = container(*this, "mlp");
  gate = mlp->register_module("gate_proj", nn::LoraLinear(h, c.intermediate, c.mlpBias));
  up = mlp->register_module("up_proj", nn::LoraLinear(h, c.intermediate, c.mlpBias));
  down = mlp->register_module("down_proj", nn::LoraLinear(c.intermediate, h, c.mlpBias));
  inputNorm = register_module("input_layernorm", RmsNorm(h, c.rmsNormEps, gemma));
  postAttnNorm = register_module("post_attention_layernorm", RmsNorm(h, c.rmsNormEps, gemma));
  if (gemma) {
    preFfnNorm = register_module("pre_feedforward_layernorm", RmsNorm(h, c.rmsNormEps, true));
    postFfnNorm = register_module("post_feedforward_layernorm", RmsNorm(h, c.rmsNormEps, true));
  }
}

torch::Tensor DecoderLayerImpl::attend(const torch::Tensor& x, const Rotary& rot) {
  const int64_t b = x.size(0), t = x.size(1);
  auto heads = [&](const torch::Tensor& z, int n) {
    return z.view({b, t, n, m_headDim}).transpose(1, 2);
  };
  torch::Tensor qs = heads(q->forward(x), m_heads), ks = heads(k->forward(x), m_kvHeads),
                vs = heads(v->forward(x), m_kvHeads);
  if (qNorm) {
    qs = qNorm->forward(qs);
    ks = kNorm->forward(ks);
  }
  qs = applyRotary(qs, rot);
  ks = repeatKv(applyRotary(ks, rot), m_heads / m_kvHeads);
  vs = repeatKv(vs, m_heads / m_kvHeads);
  const bool train = is_training();
  torch::Tensor ctx;
  if (m_softcap > 0) {
    // Gemma2: the scores are capped (cap · tanh(s / cap)) before the mask, which no fused
    // kernel does; softmax in float32 as transformers' eager path.
    torch::Tensor s = torch::matmul(qs, ks.transpose(2, 3)).mul_(m_scale);
    s = torch::tanh(s / m_softcap) * m_softcap;
    s = s + nn::causalBias(t, m_window, x.device());
    torch::Tensor p = torch::softmax(s.to(torch::kFloat), -1).to(qs.scalar_type());
    ctx = torch::matmul(nn::dropout(p, m_attnDrop, train), vs);
  } else if (m_window > 0 && t > m_window) {
    ctx = nn::attention(qs, ks, vs, nn::causalBias(t, m_window, x.device()), m_scale, m_attnDrop,
                        train);
  } else {
    // Right padding: a real token's keys are all real (padding only follows), so the causal
    // mask alone is exact for every position the head reads.
    ctx = nn::attention(qs, ks, vs, {}, m_scale, m_attnDrop, train, true);
  }
  return o->forward(ctx.transpose(1, 2).reshape({b, t, m_heads * m_headDim}));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const Rotary& rot) {
  torch::Tensor a = attend(inputNorm->forward(x), rot);
  if (m_sandwich) a = postAttnNorm->forward(a);
  torch::Tensor h = x + a;
  torch::Tensor f = m_sandwich ? preFfnNorm->forward(h) : postAttnNorm->forward(h);
  f = down->forward(activate(m_act, gate->forward(f)) * up->forward(f));
  if (m_sandwich) f = postFfnNorm->forward(f);
  return h + f;
}

DecoderEncoder::DecoderEncoder(const HfModelConfig& c) : HfEncoder(c) {
  embed = backbone->register_module("embed_tokens", torch::nn::Embedding(c.vocabSize, c.hidden));
  auto list = backbone->register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.layers; ++i) {
    layers.push_back(DecoderLayer(c, i));
    list->push_back(layers.back());
  }
  finalNorm = backbone->register_module("norm", RmsNorm(c.hidden, c.rmsNormEps,
                                                        c.arch == Arch::Gemma2));
  // RoPE's inverse frequencies, in float32 as transformers computes them.
  const RopeConfig& r = c.rope;
  const int64_t d = c.headDim;
  torch::Tensor inv = ropeInvFreq(r.theta, d);
  if (r.type == "linear") {
    inv = inv / r.factor;
  } else if (r.type == "llama3") {
    // Llama 3.1's frequency-dependent scaling: long wavelengths divided by factor, short ones
    // kept, those between blended.
    const double lowWave = r.originalMaxPositions / r.lowFreqFactor;
    const double highWave = r.originalMaxPositions / r.highFreqFactor;
    const torch::Tensor wave = 2 * M_PI / inv;
    torch::Tensor scaled = torch::where(wave > lowWave, inv / r.factor, inv);
    const torch::Tensor smooth =
        (r.originalMaxPositions / wave - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
    const torch::Tensor blended = (1 - smooth) * scaled / r.factor + smooth * scaled;
    const torch::Tensor medium = (wave >= highWave).logical_and(wave <= lowWave);
    inv = torch::where(medium, blended, scaled);
  }
  m_invFreq = register_buffer("rope_inv_freq", inv);
}

Rotary DecoderEncoder::rotary(int64_t t, const torch::Device& device) const {
  return rotaryTables(m_invFreq, t, device);
}

std::vector<torch::Tensor> DecoderEncoder::hiddenStates(const torch::Tensor& ids,
                                                        const torch::Tensor& mask,
                                                        const torch::Tensor& /*types*/,
                                                        Keep keep) {
  torch::Tensor x = embed->forward(ids);
  // Gemma scales the embeddings by sqrt(hidden_size), rounded to the states' dtype.
  if (m_config.arch == Arch::Gemma2)
    x = x * torch::tensor(std::sqrt(static_cast<double>(m_config.hidden)), x.options());
  const Rotary rot = rotary(ids.size(1), ids.device());
  (void)mask;  // right padding: see DecoderLayerImpl::attend
  // The last layer's state is followed by the final norm, as the model's last hidden state.
  const Keep inner = keep == Keep::LastFirstToken ? Keep::Last : keep;
  std::vector<torch::Tensor> out = runLayers(x, layers.size(), inner,
                                             [&](size_t i, const torch::Tensor& in, bool) {
                                               return layers[i]->forward(in, rot);
                                             });
  out.back() = finalNorm->forward(out.back());
  if (keep == Keep::LastFirstToken) out.back() = out.back().narrow(1, 0, 1);
  return out;
}

torch::Tensor DecoderEncoder::headState(const torch::Tensor& ids, const torch::Tensor& mask,
                                        const torch::Tensor& types) {
  const torch::Tensor h = forward(ids, mask, types);
  const int64_t t = ids.size(1);
  torch::Tensor counted = mask.defined() ? mask.ne(0) : torch::ones_like(ids, torch::kBool);
  if (m_config.padTokenId >= 0) counted = counted.logical_and(ids.ne(m_config.padTokenId));
  // The rightmost counted position (0 when there is none, as transformers' argmax gives).
  const torch::Tensor pos = torch::arange(t, ids.options().dtype(torch::kLong));
  const torch::Tensor last = (pos * counted.to(torch::kLong)).argmax(1);
  return h.index({torch::arange(ids.size(0), last.options()), last});
}

std::vector<nn::LoraLinear> DecoderEncoder::loraLayers(
    const std::vector<std::string>& targets) const {
  auto wants = [&](nn::LoraRole r) { return nn::targetsRole(targets, r); };
  std::vector<nn::LoraLinear> out;
  for (const auto& l : layers) {
    if (wants(nn::LoraRole::Query)) out.push_back(l->q);
    if (wants(nn::LoraRole::Key)) out.push_back(l->k);
    if (wants(nn::LoraRole::Value)) out.push_back(l->v);
    if (wants(nn::LoraRole::Output)) out.push_back(l->o);
    if (wants(nn::LoraRole::Gate)) out.push_back(l->gate);
    if (wants(nn::LoraRole::Up)) out.push_back(l->up);
    if (wants(nn::LoraRole::Down)) out.push_back(l->down);
  }
  return out;
}

// ---- config keys ----

namespace {

RopeConfig parseRope(const ConfigFile& f) {
  RopeConfig r;
  r.theta = f.number("rope_theta", 10000.0);
  // transformers 5 writes rope_parameters; earlier files rope_scaling (null when unscaled).
  const char* key = f.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (!f.has(key)) return r;
  const nlohmann::json& o = f.j.at(key);
  if (!o.is_object()) f.fail(std::string("'") + key + "' must be an object");
  const ConfigFile sub{f.path + ": '" + key + "'", o};
  r.type = sub.string("rope_type", sub.string("type", "default"));
  r.theta = sub.number("rope_theta", r.theta);
  if (r.type == "default") {
  } else if (r.type == "linear") {
    r.factor = sub.number("factor", 1.0);
  } else if (r.type == "llama3") {
    r.factor = sub.number("factor", 8.0);
    r.lowFreqFactor = sub.number("low_freq_factor", 1.0);
    r.highFreqFactor = sub.number("high_freq_factor", 4.0);
    r.originalMaxPositions = sub.integer("original_max_position_embeddings",
                                         f.integer("max_position_embeddings", 8192));
    if (!(r.highFreqFactor > r.lowFreqFactor) || r.lowFreqFactor <= 0 || r.originalMaxPositions <= 0)
      sub.fail("low_freq_factor < high_freq_factor and original_max_position_embeddings > 0 "
               "are needed");
  } else {
    sub.fail("rope_type '" + r.type + "' is not supported (default, linear, llama3)");
  }
  if (sub.has("partial_rotary_factor") && sub.number("partial_rotary_factor", 1.0) != 1.0)
    sub.fail("partial_rotary_factor other than 1 is not supported");
  if (!(r.theta > 0) || !std::isfinite(r.theta) || !(r.factor > 0) || !std::isfinite(r.factor))
    sub.fail("rope_theta and factor must be positive numbers");
  return r;
}

}  // namespace

void parseDecoderKeys(const ConfigFile& f, HfModelConfig& c, const DecoderDefaults& d) {
  c.maxPositions = f.integer("max_position_embeddings", d.maxPositions);
  if (c.maxPositions < kMinPairTokens)
    f.fail("'max_position_embeddings' is " + std::to_string(c.maxPositions) +
           "; an input needs at least " + std::to_string(kMinPairTokens));
  c.kvHeads = f.integer("num_key_value_heads", c.heads);
  if (c.kvHeads <= 0 || c.heads % c.kvHeads != 0)
    f.fail("'num_key_value_heads' " + std::to_string(c.kvHeads) +
           " must divide num_attention_heads " + std::to_string(c.heads));
  c.headDim = f.integer("head_dim", d.headDim > 0 ? d.headDim : c.hidden / c.heads);
  if (c.headDim <= 0 || c.headDim % 2 != 0)
    f.fail("'head_dim' must be a positive even number (got " + std::to_string(c.headDim) + ")");
  c.rmsNormEps = f.number("rms_norm_eps", 1e-6);
  if (!(c.rmsNormEps > 0) || !std::isfinite(c.rmsNormEps))
    f.fail("'rms_norm_eps' must be a positive number");
  c.hiddenAct = f.activation(d.actKey, d.act);
  c.attentionDropout = f.number("attention_dropout", 0.0);
  c.hiddenDropout = 0;
  if (!(c.attentionDropout >= 0 && c.attentionDropout < 1))
    f.fail("'attention_dropout' must be in [0, 1)");
  c.attentionBias = f.boolean("attention_bias", false);
  c.mlpBias = f.boolean("mlp_bias", false);
  c.rope = parseRope(f);
  c.typeVocabSize = 0;
  c.embeddingSize = c.hidden;
  if (c.padTokenId >= c.vocabSize)
    f.fail("'pad_token_id' " + std::to_string(c.padTokenId) + " is not below vocab_size " +
           std::to_string(c.vocabSize));
}

void parseLayerTypes(const ConfigFile& f, HfModelConfig& c,
                     bool (*fallback)(const HfModelConfig&, int)) {
  c.slidingLayers.assign(static_cast<size_t>(c.layers), false);
  if (f.has("layer_types")) {
    const nlohmann::json& lt = f.j.at("layer_types");
    if (!lt.is_array() || lt.size() != static_cast<size_t>(c.layers))
      f.fail("'layer_types' must list one type per layer (" + std::to_string(c.layers) + ")");
    for (size_t i = 0; i < lt.size(); ++i) {
      const std::string t = lt[i].is_string() ? lt[i].get<std::string>() : "";
      if (t != "full_attention" && t != "sliding_attention")
        f.fail("layer_types[" + std::to_string(i) + "] must be full_attention or sliding_attention");
      c.slidingLayers[i] = t == "sliding_attention";
    }
  } else {
    for (int i = 0; i < c.layers; ++i) c.slidingLayers[static_cast<size_t>(i)] = fallback(c, i);
  }
  bool any = false;
  for (bool s : c.slidingLayers) any = any || s;
  if (any && c.slidingWindow <= 0) f.fail("'sliding_window' must be > 0 for sliding_attention layers");
}

nn::EncoderPtr buildDecoder(const HfModelConfig& c) { return std::make_shared<DecoderEncoder>(c); }

namespace {

bool qwenSlides(const HfModelConfig& c, int i) {
  return c.slidingWindow > 0 && i >= c.raw.value("max_window_layers", 28);
}

}  // namespace

void parseQwenWindows(const ConfigFile& f, HfModelConfig& c) {
  const bool use = f.boolean("use_sliding_window", false);
  c.slidingWindow = use ? f.integer("sliding_window", 4096) : 0;
  f.integer("max_window_layers", 28);
  parseLayerTypes(f, c, qwenSlides);
  if (!use) c.slidingLayers.assign(c.slidingLayers.size(), false);
}

ArchRow decoderRow(Arch arch, const char* modelType, const char* displayName,
                   const char* classification, void (*parse)(const ConfigFile&, HfModelConfig&)) {
  return {arch,     modelType, displayName,          classification,   "model.",
          "embed_tokens.weight", "", "",             "score",          false,
          false,    SlowTokenizer::None,             "tokenizer.json", InputKind::Chat,
          parse,    buildDecoder, decoderParameters};
}

void initDecoder(nn::Encoder& encoder) {
  // transformers' _init_weights: N(0, initializer_range 0.02) for the projections and
  // embeddings, zero biases; the norms keep their ones (Gemma's zeros).
  torch::NoGradGuard ng;
  for (auto& p : encoder.named_parameters()) {
    const std::string& k = p.key();
    if (k.find("norm") != std::string::npos) continue;
    if (k.size() > 4 && k.compare(k.size() - 4, 4, "bias") == 0)
      p.value().zero_();
    else
      p.value().normal_(0.0, 0.02);
  }
}

double decoderParameters(const HfModelConfig& c) {
  const double V = c.vocabSize, H = c.hidden, F = c.intermediate, L = c.layers,
               Q = static_cast<double>(c.heads) * c.headDim,
               KV = static_cast<double>(c.kvHeads) * c.headDim;
  double layer = H * Q + 2 * H * KV + Q * H + 3 * H * F + 4 * H + 2 * c.headDim;
  if (c.attentionBias || c.arch == Arch::Qwen2) layer += Q + 2 * KV + H;
  return V * H + H + L * layer;
}

}  // namespace rr::core::hf
