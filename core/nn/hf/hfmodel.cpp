#include "nn/hf/hfmodel.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>

#include "common/errors.h"
#include "common/jsonparse.h"
#include "config/memoryestimate.h"
#include "data/tokenizer.h"
#include "nn/dropout.h"
#include "nn/hf/bert_p.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/deberta_p.h"

namespace rr::core::hf {

namespace fs = std::filesystem;

// ---- shared by the encoders (hfencoder_p.h) ----

bool isKnownActivation(const std::string& act) {
  static const std::set<std::string> known{
      "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "relu",
      "silu", "swish",    "tanh",      "quick_gelu"};
  return known.count(act) > 0;
}

torch::Tensor activate(const std::string& act, const torch::Tensor& x) {
  if (act == "gelu") return torch::gelu(x);
  if (act == "gelu_new" || act == "gelu_fast" || act == "gelu_pytorch_tanh")
    return torch::gelu(x, "tanh");
  if (act == "relu") return torch::relu(x);
  if (act == "silu" || act == "swish") return torch::silu(x);
  if (act == "tanh") return torch::tanh(x);
  if (act == "quick_gelu") return x * torch::sigmoid(1.702 * x);
  throw std::logic_error("activation '" + act + "' was not checked");
}

std::shared_ptr<torch::nn::Module> container(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::nn::LayerNorm layerNorm(torch::nn::Module& parent, const std::string& name, int size,
                               double eps) {
  return parent.register_module(name,
                                torch::nn::LayerNorm(torch::nn::LayerNormOptions({size}).eps(eps)));
}

HfEncoder::HfEncoder(HfModelConfig config) : m_config(std::move(config)) {
  backbone = register_module("backbone", std::make_shared<torch::nn::Module>());
  const int ph = m_config.poolerHiddenSize > 0 ? m_config.poolerHiddenSize : m_config.hidden;
  poolerDense = container(*this, "pooler")->register_module("dense", torch::nn::Linear(ph, ph));
}

torch::Tensor HfEncoder::poolFirst(const torch::Tensor& first) {
  // BERT: pooler.dense + tanh; ELECTRA: classifier.dense + gelu; DeBERTa: ContextPooler.
  const std::string act = m_config.modelType == "bert"      ? "tanh"
                          : m_config.modelType == "electra" ? "gelu"
                                                            : m_config.poolerHiddenAct;
  // The heads' dropout (before the pooler's dense for ELECTRA and DeBERTa's ContextPooler, and
  // before the classifier in all three), as transformers fine-tunes them; identity in eval mode.
  const bool tr = is_training();
  const double p = m_config.hiddenDropout;
  torch::Tensor in =
      m_config.modelType == "bert" ? first : nn::dropout(first, m_config.poolerDropout, tr);
  return nn::dropout(activate(act, poolerDense->forward(in)), p, tr);
}

torch::Tensor postLnTail(const torch::Tensor& ctx, const torch::Tensor& x, const PostLnParts& p) {
  const torch::Tensor joined = ctx.transpose(1, 2).reshape({x.size(0), x.size(1), x.size(2)});
  torch::Tensor a =
      p.attnNorm->forward(nn::dropout(p.attnOut->forward(joined), p.hiddenDrop, p.training) + x);
  torch::Tensor f = p.ffnOut->forward(activate(p.act, p.ffnIn->forward(a)));
  return p.outNorm->forward(nn::dropout(f, p.hiddenDrop, p.training) + a);
}

torch::Tensor paddingBias(const torch::Tensor& mask) {
  const int64_t b = mask.size(0), t = mask.size(1);
  return torch::zeros({b, 1, 1, t}, torch::kFloat)
      .masked_fill((mask == 0).view({b, 1, 1, t}), std::numeric_limits<float>::lowest());
}

void initLikeTransformers(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& p : m.named_parameters()) {
    const std::string& name = p.key();
    if (name.find("LayerNorm.weight") != std::string::npos)
      p.value().fill_(1.0);
    else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0)
      p.value().zero_();
    else
      p.value().normal_(0.0, 0.02);
  }
}

// ---- config.json ----

namespace {

struct ConfigFile {
  std::string path;
  const nlohmann::json& j;

  [[noreturn]] void fail(const std::string& what) const { throw InputError(path + ": " + what); }
  int integer(const char* key, int def, bool required = false) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) fail(std::string("no key '") + key + "'");
      return def;
    }
    if (!it->is_number_integer())
      fail(std::string("'") + key + "' must be an integer (got " + describeJson(*it) + ")");
    // Compared as written: narrowing first showed 10^12 as -727379968 and 2^64-1 as -1.
    const bool fits = it->is_number_unsigned() ? it->get<std::uint64_t>() <= INT_MAX
                                               : it->get<std::int64_t>() >= INT_MIN &&
                                                     it->get<std::int64_t>() <= INT_MAX;
    if (!fits)
      fail(std::string("'") + key + "' is " + it->dump() +
           (it->is_number_unsigned() || it->get<std::int64_t>() > 0 ? ", more than 2147483647"
                                                                    : ", less than -2147483648"));
    return it->get<int>();
  }
  int positive(const char* key) const {
    const int v = integer(key, 0, true);
    if (v <= 0) fail(std::string("'") + key + "' must be > 0 (got " + std::to_string(v) + ")");
    return v;
  }
  double number(const char* key, double def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_number()) fail(std::string("'") + key + "' must be a number");
    return it->get<double>();
  }
  bool boolean(const char* key, bool def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_boolean()) fail(std::string("'") + key + "' must be true or false");
    return it->get<bool>();
  }
  std::string string(const char* key, const std::string& def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_string()) fail(std::string("'") + key + "' must be a string");
    return it->get<std::string>();
  }
  std::string activation(const char* key, const std::string& def) const {
    std::string act = string(key, def);
    if (!isKnownActivation(act))
      fail(std::string("'") + key + "' is '" + act +
           "', not one of gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, relu, silu, swish, "
           "tanh, quick_gelu");
    return act;
  }
};

// config.json files are a few kB; this bounds what a hostile one makes us read.
constexpr std::uint64_t kMaxConfigBytes = 16u << 20;

// The encoder's weights as buildHfEncoder allocates them (embeddings, layers, DeBERTa's relative
// embeddings and projections, the pooler; DeBERTa-v2's one ConvLayer left out), in doubles: the
// products of int-sized keys overflow 64-bit integers.
double parameterCount(const HfModelConfig& c) {
  const double V = c.vocabSize, E = c.embeddingSize, H = c.hidden, F = c.intermediate, L = c.layers,
               T = c.typeVocabSize;
  const bool deberta = c.modelType == "deberta-v2";
  const double P = !deberta || c.positionBiasedInput ? c.maxPositions : 0;
  double n = (V + P + T + 2) * E + (E != H ? E * H + H : 0) + H * H + H;
  double layer = 4 * H * H + 2 * H * F + 9 * H + F;
  if (deberta && c.relativeAttention) {
    const double span = c.positionBuckets > 0        ? c.positionBuckets
                        : c.maxRelativePositions < 1 ? c.maxPositions
                                                     : c.maxRelativePositions;
    n += 2 * span * H + 2 * H;
    if (!c.shareAttKey) layer += 2 * H * H + 2 * H;
  }
  return n + L * layer;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

bool isHfFolder(const std::string& dir) {
  // Anything named config.json counts: readHfConfig then says what is wrong with it (a FIFO, a
  // folder) rather than the folder passing for something else.
  std::error_code ec;
  return fs::is_directory(dir, ec) &&
         fs::exists(fs::symlink_status(fs::path(dir) / "config.json", ec));
}

HfModelConfig readHfConfig(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  HfModelConfig c = parseHfConfig(parseJsonFile(path, kMaxConfigBytes), path);
  c.dir = dir;
  // The shape is checked against the memory there is before any tensor of it is allocated: a
  // hidden_size of 10^9 is one line here, not LibTorch's allocation failure later.
  checkWeightsFit(parameterCount(c), availableMemoryBytes(),
                  path + ": vocab_size " + std::to_string(c.vocabSize) + ", hidden_size " +
                      std::to_string(c.hidden) + ", intermediate_size " +
                      std::to_string(c.intermediate) + ", num_hidden_layers " +
                      std::to_string(c.layers) + ", max_position_embeddings " +
                      std::to_string(c.maxPositions));
  return c;
}

HfModelConfig parseHfConfig(const nlohmann::json& raw, const std::string& label) {
  const std::string& path = label;
  HfModelConfig c;
  c.raw = raw;
  if (!c.raw.is_object()) throw InputError(path + ": not a JSON object");
  const ConfigFile f{path, c.raw};
  c.modelType = f.string("model_type", "");
  if (c.modelType != "bert" && c.modelType != "electra" && c.modelType != "deberta-v2")
    f.fail("model_type '" + c.modelType +
           "' is not supported (supported: bert, electra, deberta-v2)");
  const bool deberta = c.modelType == "deberta-v2";
  if (auto it = c.raw.find("architectures"); it != c.raw.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string()) c.architectures.push_back(a.get<std::string>());
  c.vocabSize = f.positive("vocab_size");
  c.hidden = f.positive("hidden_size");
  c.layers = f.positive("num_hidden_layers");
  c.heads = f.positive("num_attention_heads");
  c.intermediate = f.positive("intermediate_size");
  if (c.hidden % c.heads != 0)
    f.fail("hidden_size " + std::to_string(c.hidden) + " is not a multiple of " +
           "num_attention_heads " + std::to_string(c.heads));
  // The architectures' own class defaults where a key is absent.
  c.maxPositions = f.integer("max_position_embeddings", 512);
  // The input limit when tokenizer_config.json sets none: below 5 no input holds [CLS] prompt
  // [SEP] response [SEP] with a token of each, and every input would get the same reward.
  if (c.maxPositions < kMinPairTokens)
    f.fail("'max_position_embeddings' is " + std::to_string(c.maxPositions) +
           "; an input needs at least " + std::to_string(kMinPairTokens) +
           " ([CLS] prompt [SEP] response [SEP])");
  c.typeVocabSize = f.integer("type_vocab_size", deberta ? 0 : 2);
  if (c.typeVocabSize < 0) f.fail("'type_vocab_size' must be >= 0");
  c.embeddingSize = f.integer("embedding_size", c.modelType == "electra" ? 128 : c.hidden);
  if (c.embeddingSize <= 0) f.fail("'embedding_size' must be > 0");
  c.padTokenId = f.integer("pad_token_id", 0);
  if (auto it = c.raw.find("num_labels"); it != c.raw.end() && !it->is_null())
    c.numLabels = f.integer("num_labels", 2);
  else if (auto id2 = c.raw.find("id2label"); id2 != c.raw.end() && id2->is_object())
    c.numLabels = static_cast<int>(id2->size());
  else
    c.numLabels = 2;
  c.layerNormEps = f.number("layer_norm_eps", deberta ? 1e-7 : 1e-12);
  c.hiddenDropout = f.number("hidden_dropout_prob", 0.1);
  c.attentionDropout = f.number("attention_probs_dropout_prob", 0.1);
  // ContextPooler's pooler_dropout (DeBERTa, default 0); ELECTRA's head uses hidden dropout.
  c.poolerDropout = c.modelType == "deberta-v2" ? f.number("pooler_dropout", 0.0) : c.hiddenDropout;
  // transformers takes any number here; a non-positive epsilon makes LayerNorm divide by zero or
  // take the root of a negative on a constant row, and every reward NaN.
  if (!(c.layerNormEps > 0) || !std::isfinite(c.layerNormEps))
    f.fail("'layer_norm_eps' must be a positive number (got " + std::to_string(c.layerNormEps) +
           ")");
  for (const auto& [key, p] : {std::pair<const char*, double>{"hidden_dropout_prob", c.hiddenDropout},
                               {"attention_probs_dropout_prob", c.attentionDropout},
                               {"pooler_dropout", c.poolerDropout}})
    if (!(p >= 0 && p < 1))
      f.fail(std::string("'") + key + "' must be in [0, 1) (got " + std::to_string(p) + ")");
  c.hiddenAct = f.activation("hidden_act", "gelu");
  if (!deberta) {
    const std::string pet = f.string("position_embedding_type", "absolute");
    if (pet != "absolute")
      f.fail("position_embedding_type '" + pet + "' is not supported (only absolute)");
    if (c.modelType == "bert") c.embeddingSize = c.hidden;
    return c;
  }
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
  return c;
}

nn::EncoderPtr buildHfEncoder(const HfModelConfig& config) {
  nn::EncoderPtr enc;
  if (config.modelType == "deberta-v2")
    enc = std::make_shared<DebertaEncoder>(config);
  else
    enc = std::make_shared<BertEncoder>(config);
  enc->eval();
  return enc;
}

// ---- weights ----

namespace {

// The checkpoint's model prefix ("bert.", ...) as *ForSequenceClassification writes it.
std::string modelPrefix(const std::string& type) {
  return type == "deberta-v2" ? "deberta." : type + ".";
}

// Where the pooler's dense layer and the final classifier live in *ForSequenceClassification.
std::string poolerName(const std::string& type) {
  if (type == "bert") return "bert.pooler.dense";
  if (type == "electra") return "classifier.dense";
  return "pooler.dense";
}
std::string classifierName(const std::string& type) {
  return type == "electra" ? "classifier.out_proj" : "classifier";
}

// Our parameter name without the LoraLinear's ".base" (adapters are not checkpoint tensors).
std::string publishedPath(std::string name) {
  for (size_t at; (at = name.find(".base.")) != std::string::npos;) name.erase(at, 5);
  return name;
}

std::string weightFile(const std::string& dir) {
  for (const char* f : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                        "pytorch_model.bin.index.json"})
    if (fs::exists(fs::path(dir) / f)) return (fs::path(dir) / f).string();
  return (fs::path(dir) / "model.safetensors").string();
}

std::string shapeText(const std::vector<int64_t>& s) { return c10::str(c10::IntArrayRef(s)); }

}  // namespace

HfBackbone loadHfBackbone(const std::string& dir) {
  HfBackbone out;
  out.config = readHfConfig(dir);
  const HfModelConfig& c = out.config;
  std::unique_ptr<CheckpointReader> reader = CheckpointReader::openFolder(dir);
  const std::string file = weightFile(dir);
  out.encoder = buildHfEncoder(c);
  auto* enc = dynamic_cast<HfEncoder*>(out.encoder.get());

  // A classification model's tensors sit under the model prefix; a bare model's have none.
  const std::string probe = "embeddings.word_embeddings.weight";
  std::string prefix;
  if (reader->has(modelPrefix(c.modelType) + probe))
    prefix = modelPrefix(c.modelType);
  else if (!reader->has(probe))
    throw InputError(file + ": no tensor '" + modelPrefix(c.modelType) + probe + "' (nor '" +
                     probe + "'): not a " + c.modelType + " checkpoint");

  std::set<std::string> used;
  // The name present in the checkpoint: old checkpoints call LayerNorm's weight/bias gamma/beta.
  auto find = [&](const std::string& name) -> std::string {
    if (reader->has(name)) return name;
    for (const auto& [now, old] :
         {std::pair<std::string, std::string>{".weight", ".gamma"}, {".bias", ".beta"}}) {
      if (name.size() > now.size() &&
          name.compare(name.size() - now.size(), now.size(), now) == 0 &&
          name.find("LayerNorm") != std::string::npos) {
        std::string alt = name.substr(0, name.size() - now.size()) + old;
        if (reader->has(alt)) return alt;
      }
    }
    return {};
  };
  torch::NoGradGuard ng;
  auto load = [&](const std::string& name, torch::Tensor& target) {
    const std::string stored = find(name);
    if (stored.empty()) throw InputError(file + ": no tensor '" + name + "'");
    const TensorInfo info = reader->info(stored);
    if (c10::IntArrayRef(info.shape) != target.sizes())
      throw InputError(info.file + ": tensor '" + stored + "' has shape " + shapeText(info.shape) +
                       " but the model needs " + c10::str(target.sizes()));
    target.copy_(reader->load(stored, torch::kFloat));
    used.insert(stored);
  };

  for (auto& p : enc->backbone->named_parameters())
    load(prefix + publishedPath(p.key()), p.value());
  // The pooler: bare models (BertModel) keep BERT's under the (empty) prefix.
  std::string pooler = poolerName(c.modelType);
  if (c.modelType == "bert") pooler = prefix + "pooler.dense";
  if (!find(pooler + ".weight").empty()) {
    load(pooler + ".weight", enc->poolerDense->weight);
    load(pooler + ".bias", enc->poolerDense->bias);
    out.hasPooler = true;
  }
  const std::string head = classifierName(c.modelType);
  if (reader->has(head + ".weight") && reader->has(head + ".bias")) {
    const TensorInfo w = reader->info(head + ".weight");
    if (w.shape.size() == 2 && w.shape[0] == 1) {
      out.encoder->checkpointHeadWeight = torch::empty({1, c.hidden});
      out.encoder->checkpointHeadBias = torch::empty({1});
      load(head + ".weight", out.encoder->checkpointHeadWeight);
      load(head + ".bias", out.encoder->checkpointHeadBias);
      out.hasClassifier = true;
    }
  }
  for (const auto& n : reader->names())
    if (!used.count(n)) out.unusedTensors.push_back(n);
  out.encoder->eval();
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> exportState(const nn::Encoder& encoder,
                                                               const HfModelConfig& config,
                                                               const std::string& adapter,
                                                               const torch::Tensor& headWeight,
                                                               const torch::Tensor& headBias) {
  const auto* enc = dynamic_cast<const HfEncoder*>(&encoder);
  if (!enc) throw std::invalid_argument("exportState: not a Hugging Face encoder");
  torch::NoGradGuard ng;
  // Merged weights of the LoraLinear layers that carry `adapter`, by our parameter name.
  std::map<std::string, torch::Tensor> merged;
  bool found = adapter.empty();
  for (const auto& m : enc->backbone->named_modules()) {
    const auto* lora = m.value()->as<nn::LoraLinearImpl>();
    if (!lora || adapter.empty()) continue;
    const int idx = lora->adapterIndex(adapter);
    if (idx < 0) continue;
    merged[m.key() + ".base.weight"] = lora->mergedWeight(idx);
    found = true;
  }
  if (!found) throw InputError("the encoder has no LoRA adapter '" + adapter + "'");

  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto put = [&](const std::string& name, const torch::Tensor& t) {
    out.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat).contiguous().clone());
  };
  const std::string prefix = modelPrefix(config.modelType);
  for (const auto& p : enc->backbone->named_parameters()) {
    if (p.key().find("lora_") != std::string::npos) continue;
    auto it = merged.find(p.key());
    put(prefix + publishedPath(p.key()), it != merged.end() ? it->second : p.value());
  }
  const std::string pooler = poolerName(config.modelType);
  put(pooler + ".weight", enc->poolerDense->weight);
  put(pooler + ".bias", enc->poolerDense->bias);
  if (headWeight.defined()) {
    const std::string head = classifierName(config.modelType);
    put(head + ".weight", headWeight.reshape({1, config.hidden}));
    put(head + ".bias", headBias.defined() ? headBias.reshape({1}) : torch::zeros({1}));
  }
  return out;
}

nlohmann::json exportConfig(const HfModelConfig& config) {
  nlohmann::json j = config.raw;
  static const std::map<std::string, std::string> names{
      {"bert", "BertForSequenceClassification"},
      {"electra", "ElectraForSequenceClassification"},
      {"deberta-v2", "DebertaV2ForSequenceClassification"}};
  j["model_type"] = config.modelType;
  j["architectures"] = nlohmann::json::array({names.at(config.modelType)});
  j["num_labels"] = 1;
  j["id2label"] = {{"0", "LABEL_0"}};
  j["label2id"] = {{"LABEL_0", 0}};
  j["problem_type"] = "regression";
  return j;
}

}  // namespace rr::core::hf
