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
#include "data/chatinput.h"
#include "data/hftokenizer.h"
#include "data/tokenizer.h"
#include "nn/dropout.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

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
  // Decoders read their last token through `score` alone: no pooler.
  if (!*m_config.row().pooler && !*m_config.row().barePooler) return;
  const int ph = m_config.poolerHiddenSize > 0 ? m_config.poolerHiddenSize : m_config.hidden;
  poolerDense = container(*this, "pooler")->register_module("dense", torch::nn::Linear(ph, ph));
}

torch::Tensor HfEncoder::poolFirst(const torch::Tensor& first) {
  if (!poolerDense) return first;
  // BERT: pooler.dense + tanh; ELECTRA: classifier.dense + gelu; DeBERTa: ContextPooler.
  // (RoBERTa's classification head: dense + tanh, like ELECTRA's with gelu.)
  const Arch a = m_config.arch;
  const std::string act = a == Arch::Bert || a == Arch::Roberta || a == Arch::XlmRoberta ? "tanh"
                          : a == Arch::Electra                                            ? "gelu"
                                                            : m_config.poolerHiddenAct;
  // The heads' dropout (before the pooler's dense for ELECTRA and DeBERTa's ContextPooler, and
  // before the classifier in all three), as transformers fine-tunes them; identity in eval mode.
  const bool tr = is_training();
  const double p = m_config.hiddenDropout;
  torch::Tensor in =
      a == Arch::Bert ? first : nn::dropout(first, m_config.poolerDropout, tr);
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

// config.json files are a few kB; this bounds what a hostile one makes us read.
constexpr std::uint64_t kMaxConfigBytes = 16u << 20;

}  // namespace

std::unique_ptr<Tokenizer> loadHfModelTokenizer(const std::string& dir) {
  const HfModelConfig c = readHfConfig(dir);
  std::unique_ptr<Tokenizer> tok = loadHfTokenizer(dir, c.row().slowTokenizer);
  if (c.row().input == InputKind::Chat)
    return std::make_unique<ChatInputTokenizer>(std::move(tok), dir);
  return tok;
}

std::string hfTokenizerDescription(const std::string& dir) {
  const HfModelConfig c = readHfConfig(dir);
  std::error_code ec;
  if (c.row().input == InputKind::Chat) {
    const auto tok = loadHfModelTokenizer(dir);
    return hfTokenizerSource(dir, c.row().slowTokenizer) + ", " +
           dynamic_cast<const ChatInputTokenizer&>(*tok).describe();
  }
  if (fs::exists(fs::path(dir) / "tokenizer.json", ec))
    return hfTokenizerSource(dir, c.row().slowTokenizer);
  switch (c.row().slowTokenizer) {
    case SlowTokenizer::WordPiece:
      return "WordPiece (vocab.txt)";
    case SlowTokenizer::SentencePiece:
      return "SentencePiece (spm.model)";
    case SlowTokenizer::ByteLevelBpe:
      return "byte-level BPE (vocab.json, merges.txt)";
    case SlowTokenizer::None:
      break;
  }
  return "none (tokenizer.json missing)";
}

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
  checkWeightsFit(c.row().parameters(c), availableMemoryBytes(),
                  path + ": vocab_size " + std::to_string(c.vocabSize) + ", hidden_size " +
                      std::to_string(c.hidden) + ", intermediate_size " +
                      std::to_string(c.intermediate) + ", num_hidden_layers " +
                      std::to_string(c.layers) + ", max_position_embeddings " +
                      std::to_string(c.maxPositions));
  return c;
}

void ConfigFile::fail(const std::string& what) const { throw InputError(path + ": " + what); }

void requireHeadsDivideHidden(const ConfigFile& f, const HfModelConfig& c) {
  if (c.hidden % c.heads != 0)
    f.fail("hidden_size " + std::to_string(c.hidden) + " is not a multiple of " +
           "num_attention_heads " + std::to_string(c.heads));
}

void parseEncoderKeys(const ConfigFile& f, HfModelConfig& c, double layerNormEps,
                      int typeVocabSize, int embeddingSize) {
  requireHeadsDivideHidden(f, c);
  c.typeVocabSize = f.integer("type_vocab_size", typeVocabSize);
  if (c.typeVocabSize < 0) f.fail("'type_vocab_size' must be >= 0");
  c.embeddingSize = f.integer("embedding_size", embeddingSize);
  if (c.embeddingSize <= 0) f.fail("'embedding_size' must be > 0");
  c.layerNormEps = f.number("layer_norm_eps", layerNormEps);
  c.hiddenDropout = f.number("hidden_dropout_prob", 0.1);
  c.attentionDropout = f.number("attention_probs_dropout_prob", 0.1);
  // The heads' dropout: DeBERTa's ContextPooler has pooler_dropout (default 0); ELECTRA's and
  // RoBERTa's classification heads use classifier_dropout, else the hidden dropout.
  c.poolerDropout = c.arch == Arch::DebertaV2 ? f.number("pooler_dropout", 0.0)
                                              : f.number("classifier_dropout", c.hiddenDropout);
  // transformers takes any number here; a non-positive epsilon makes LayerNorm divide by zero or
  // take the root of a negative on a constant row, and every reward NaN.
  if (!(c.layerNormEps > 0) || !std::isfinite(c.layerNormEps))
    f.fail("'layer_norm_eps' must be a positive number (got " + std::to_string(c.layerNormEps) +
           ")");
  for (const auto& [key, p] : {std::pair<const char*, double>{"hidden_dropout_prob", c.hiddenDropout},
                               {"attention_probs_dropout_prob", c.attentionDropout},
                               {c.arch == Arch::DebertaV2 ? "pooler_dropout" : "classifier_dropout",
                                c.poolerDropout}})
    if (!(p >= 0 && p < 1))
      f.fail(std::string("'") + key + "' must be in [0, 1) (got " + std::to_string(p) + ")");
  c.hiddenAct = f.activation("hidden_act", "gelu");
}

HfModelConfig parseHfConfig(const nlohmann::json& raw, const std::string& label) {
  const std::string& path = label;
  HfModelConfig c;
  c.raw = raw;
  if (!c.raw.is_object()) throw InputError(path + ": not a JSON object");
  const ConfigFile f{path, c.raw};
  c.modelType = f.string("model_type", "");
  const ArchRow* row = findArch(c.modelType);
  if (!row)
    f.fail("model_type '" + c.modelType + "' is not supported (supported: " +
           supportedModelTypes() + ")");
  c.arch = row->arch;
  if (auto it = c.raw.find("architectures"); it != c.raw.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string()) c.architectures.push_back(a.get<std::string>());
  c.vocabSize = f.positive("vocab_size");
  c.hidden = f.positive("hidden_size");
  c.layers = f.positive("num_hidden_layers");
  c.heads = f.positive("num_attention_heads");
  c.intermediate = f.positive("intermediate_size");
  // The architectures' own class defaults where a key is absent.
  c.maxPositions = f.integer("max_position_embeddings", 512);
  // The input limit when tokenizer_config.json sets none: below 5 no input holds [CLS] prompt
  // [SEP] response [SEP] with a token of each, and every input would get the same reward.
  if (c.maxPositions < kMinPairTokens)
    f.fail("'max_position_embeddings' is " + std::to_string(c.maxPositions) +
           "; an input needs at least " + std::to_string(kMinPairTokens) +
           " ([CLS] prompt [SEP] response [SEP])");
  // Decoders publish no pad id as often as one (the reward is then read at the last token).
  c.padTokenId = f.integer("pad_token_id", row->input == InputKind::Chat ? -1 : 0);
  if (auto it = c.raw.find("num_labels"); it != c.raw.end() && !it->is_null())
    c.numLabels = f.integer("num_labels", 2);
  else if (auto id2 = c.raw.find("id2label"); id2 != c.raw.end() && id2->is_object())
    c.numLabels = static_cast<int>(id2->size());
  else
    c.numLabels = 2;
  c.embeddingSize = c.hidden;
  row->parse(f, c);
  return c;
}

nn::EncoderPtr buildHfEncoder(const HfModelConfig& config) {
  nn::EncoderPtr enc = config.row().build(config);
  if (config.row().input == InputKind::Chat) initDecoder(*enc);
  enc->eval();
  return enc;
}

// ---- weights ----

namespace {

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
  // Every weight comes from the file: built without drawing fresh ones where the architecture
  // allows it (the decoders).
  out.encoder = c.row().build(c);
  out.encoder->eval();
  auto* enc = dynamic_cast<HfEncoder*>(out.encoder.get());

  // A classification model's tensors sit under the model prefix; a bare model's have none.
  const ArchRow& row = c.row();
  const std::string probe = row.embeddings;
  std::string prefix;
  if (reader->has(row.prefix + probe))
    prefix = row.prefix;
  else if (!reader->has(probe))
    throw InputError(file + ": no tensor '" + row.prefix + probe + "' (nor '" + probe +
                     "'): not a " + row.displayName + " checkpoint");

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
  const std::string pooler = prefix.empty() ? row.barePooler : row.pooler;
  if (!pooler.empty() && !find(pooler + ".weight").empty()) {
    load(pooler + ".weight", enc->poolerDense->weight);
    if (enc->poolerDense->bias.defined()) load(pooler + ".bias", enc->poolerDense->bias);
    for (auto& [name, t] : enc->headExtras()) load(name, t);
    out.hasPooler = true;
  }
  const std::string head = row.head;
  if (reader->has(head + ".weight") && (!row.headBias || reader->has(head + ".bias"))) {
    const TensorInfo w = reader->info(head + ".weight");
    if (w.shape.size() == 2 && w.shape[0] == 1) {
      out.encoder->checkpointHeadWeight = torch::empty({1, c.hidden});
      out.encoder->checkpointHeadBias = torch::zeros({1});
      load(head + ".weight", out.encoder->checkpointHeadWeight);
      if (row.headBias) load(head + ".bias", out.encoder->checkpointHeadBias);
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
  const ArchRow& row = config.row();
  const std::string prefix = row.prefix;
  for (const auto& p : enc->backbone->named_parameters()) {
    if (p.key().find("lora_") != std::string::npos) continue;
    auto it = merged.find(p.key());
    put(prefix + publishedPath(p.key()), it != merged.end() ? it->second : p.value());
  }
  if (*row.pooler) {
    put(std::string(row.pooler) + ".weight", enc->poolerDense->weight);
    if (enc->poolerDense->bias.defined())
      put(std::string(row.pooler) + ".bias", enc->poolerDense->bias);
    for (const auto& [name, t] : enc->headExtras()) put(name, t);
  }
  if (headWeight.defined()) {
    const std::string head = row.head;
    put(head + ".weight", headWeight.reshape({1, config.hidden}));
    // A decoder's `score` has no bias: a trained head's constant is left out, which moves every
    // reward by the same amount and changes no comparison (docs/CHECKPOINTS.md).
    if (row.headBias)
      put(head + ".bias", headBias.defined() ? headBias.reshape({1}) : torch::zeros({1}));
  }
  return out;
}

nlohmann::json exportConfig(const HfModelConfig& config) {
  nlohmann::json j = config.raw;
  j["model_type"] = config.row().modelType;
  j["architectures"] = nlohmann::json::array({config.row().classification});
  j["num_labels"] = 1;
  j["id2label"] = {{"0", "LABEL_0"}};
  j["label2id"] = {{"LABEL_0", 0}};
  j["problem_type"] = "regression";
  return j;
}

}  // namespace rr::core::hf
