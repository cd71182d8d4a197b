#include "config/schema.h"

#include <climits>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

#include "data/synthetic.h"

namespace rr::core {
namespace {

using nlohmann::json;
using T = ConfigKey::Type;

// Builds one row of the table; the setters read like the columns of the docs.
struct Key {
  ConfigKey k;
  Key(std::string path, T type, json def = json()) {
    k.path = std::move(path);
    k.type = type;
    k.defaultValue = std::move(def);
  }
  Key& range(double lo, double hi, bool exclusiveLo = false) {
    k.lo = lo;
    k.hi = hi;
    k.exclusiveLo = exclusiveLo;
    return *this;
  }
  Key& allowed(std::vector<std::string> a) {
    k.allowed = std::move(a);
    return *this;
  }
  Key& required() {
    k.required = true;
    return *this;
  }
  Key& pattern(std::string re, std::string words) {
    k.pattern = std::move(re);
    k.patternText = std::move(words);
    return *this;
  }
  Key& onlyWhenSet() {
    k.writeDefault = false;
    return *this;
  }
  Key& label(std::string l) {
    k.label = std::move(l);
    return *this;
  }
  Key& help(std::string h, std::string details = {}) {
    k.help = std::move(h);
    k.details = std::move(details);
    return *this;
  }
  Key& typeText(std::string t) {
    k.typeText = std::move(t);
    return *this;
  }
  Key& defaultText(std::string t) {
    k.defaultText = std::move(t);
    return *this;
  }
  Key& zero(std::string t) {
    k.zeroText = std::move(t);
    return *this;
  }
  // `member` is a generic lambda returning the member for a const or a mutable config.
  template <class F>
  Key& bind(F member) {
    k.get = [member](const ExperimentConfig& c) { return json(member(c)); };
    k.set = [member](ExperimentConfig& c, const json& v) { v.get_to(member(c)); };
    return *this;
  }
  operator ConfigKey() const { return k; }
};

// A member's path is not a value a function could take, so a macro spells the accessor: a
// generic lambda, which serves both the const config (get) and the mutable one (set).
#define RR_MEMBER(expr) \
  [](auto& c) -> auto& { return c.expr; }

const double kIntMax = INT_MAX;

std::vector<ConfigKey> buildSchema() {
  std::vector<std::string> presets = encoderPresetNames();
  return {
      Key("name", T::Text)
          .required()
          .pattern("[A-Za-z0-9_.-]{1,64}", "1-64 letters, digits or _.-")
          .label("Name")
          .help("Experiment name; runs are grouped by it and the default store is "
                "runs/<name>.db")
          .typeText("1-64 of `A-Za-z0-9_.-`")
          .bind(RR_MEMBER(name)),
      Key("description", T::Text, "")
          .onlyWhenSet()
          .label("Description")
          .help("Free text shown with the runs")
          .bind(RR_MEMBER(description)),
      Key("data", T::Object).required().help("Where the pairs come from"),
      Key("data.synthetic", T::Object)
          .help("The built-in benchmark (docs/DATA.md); present = enabled")
          .defaultText("absent"),
      Key("data.synthetic.enabled", T::Bool, true)
          .onlyWhenSet()
          .label("Synthetic benchmark")
          .help("Generate the five-domain synthetic benchmark; false switches it off without "
                "deleting the block")
          .bind(RR_MEMBER(data.synthetic.enabled)),
      Key("data.synthetic.pairs_per_domain", T::Integer, 400)
          .range(10, 10000000)
          .label("Pairs per domain")
          .help("Synthetic pairs generated for each domain")
          .bind(RR_MEMBER(data.synthetic.pairsPerDomain)),
      Key("data.synthetic.domains", T::List, json::array())
          .allowed(syntheticDomainNames())
          .help("Domains generated, each at most once; empty = all")
          .defaultText("[] (all)"),
      Key("data.synthetic.label_noise", T::Number, 0)
          .range(0, 0.5)
          .label("Label noise")
          .help("Share of pairs whose label is flipped; an object {domain: rate} sets it per "
                "domain")
          .typeText("number in [0, 0.5], or {domain: rate}"),
      Key("data.synthetic.house_style", T::Number, 0)
          .range(0, 1)
          .label("House style")
          .help("Share of each domain's pairs decided by the domain's house style (the same "
                "content under an opener its readers like vs one they dislike)",
                "See docs/DATA.md; 0 gives the benchmark's first version")
          .bind(RR_MEMBER(data.synthetic.houseStyle)),
      Key("data.synthetic.seed", T::Integer, 7)
          .range(0, kIntMax)
          .label("Generator seed")
          .help("Seed of the synthetic generator (same seed, same pairs)")
          .bind(RR_MEMBER(data.synthetic.seed)),
      Key("data.files", T::Array, json::array())
          .help("Canonical pairs files (`rewardrouter-cli import` makes them)"),
      Key("data.files[].path", T::Path)
          .required()
          .help("A canonical pairs file, relative to the config file; must exist"),
      Key("data.files[].domain", T::Text, "")
          .help("Overrides the domain of every pair in the file"),
      Key("data.files[].split", T::Choice, "")
          .allowed({"", "train", "validation", "test"})
          .help("Put every pair of the file in this split; \"\" = split by prompt hash")
          .typeText("\"\", train, validation, test"),
      Key("data.split", T::Object)
          .help("Ratios of the deterministic split by a hash of the prompt; "
                "train + validation + test must be 1"),
      Key("data.split.train", T::Number, 0.8)
          .range(0, 1, true)
          .help("Share of each domain's pairs in the train split")
          .bind(RR_MEMBER(data.split.train)),
      Key("data.split.validation", T::Number, 0.1)
          .range(0, 1)
          .help("Share of each domain's pairs in the validation split")
          .bind(RR_MEMBER(data.split.validation)),
      Key("data.split.test", T::Number, 0.1)
          .range(0, 1, true)
          .help("Share of each domain's pairs in the test split")
          .bind(RR_MEMBER(data.split.test)),
      Key("data.split.method", T::Choice, "mix64")
          .allowed({"mix64", "fnv1a"})
          .help("The prompt hash of the split (docs/DATA.md \"Splits\")",
                "fnv1a reproduces runs made before mix64, and is what a stored config without "
                "the key means")
          .bind(RR_MEMBER(data.split.method)),
      Key("data.max_pairs_per_domain", T::Integer, 0)
          .range(0, 1000000000)
          .label("Max pairs per domain")
          .help("Caps each domain after loading, first pairs kept (0 = no limit)")
          .zero("no limit")
          .bind(RR_MEMBER(data.maxPairsPerDomain)),

      Key("tokenizer", T::Object).help("The SentencePiece tokenizer trained on the training text"),
      Key("tokenizer.vocab_size", T::Integer, 2000)
          .range(100, 1000000)
          .label("Vocabulary size")
          .help("SentencePiece vocabulary trained on the training texts (a small corpus may "
                "give fewer)")
          .bind(RR_MEMBER(tokenizer.vocabSize)),
      Key("tokenizer.type", T::Choice, "unigram")
          .allowed({"unigram", "bpe"})
          .label("Model type")
          .help("SentencePiece algorithm")
          .bind(RR_MEMBER(tokenizer.type)),
      Key("tokenizer.model", T::Path, "")
          .onlyWhenSet()
          .label("Existing model")
          .help("An existing SentencePiece .model file to use instead of training one")
          .bind(RR_MEMBER(tokenizer.model)),

      Key("encoder", T::Object).help("The shared transformer encoder"),
      Key("encoder.preset", T::Choice, "tiny")
          .allowed(presets)
          .label("Preset")
          .help("Encoder shape: tiny 128 hidden/2 layers, mini 256/4, small-cpu 384/6; the "
                "DeBERTa-v3 shapes are for GPU machines")
          .bind(RR_MEMBER(encoder.preset)),
      Key("encoder.hidden", T::Integer, 0)
          .range(0, 16384)
          .onlyWhenSet()
          .label("Hidden size")
          .help("Overrides the preset's hidden size (0 = the preset's)")
          .zero("preset")
          .bind(RR_MEMBER(encoder.hidden)),
      Key("encoder.layers", T::Integer, 0)
          .range(0, 128)
          .onlyWhenSet()
          .label("Layers")
          .help("Overrides the preset's layer count (0 = the preset's)")
          .zero("preset")
          .bind(RR_MEMBER(encoder.layers)),
      Key("encoder.heads", T::Integer, 0)
          .range(0, 256)
          .onlyWhenSet()
          .label("Heads")
          .help("Overrides the preset's attention heads (0 = the preset's); must divide the "
                "hidden size")
          .zero("preset")
          .bind(RR_MEMBER(encoder.heads)),
      Key("encoder.ffn", T::Integer, 0)
          .range(0, 65536)
          .onlyWhenSet()
          .label("FFN size")
          .help("Overrides the preset's feed-forward width (0 = the preset's)")
          .zero("preset")
          .bind(RR_MEMBER(encoder.ffn)),
      Key("encoder.max_len", T::Integer, 96)
          .range(8, 4096)
          .label("Max length")
          .help("Tokens per input (prompt [SEP] response); the prompt is cut from the left so "
                "the response survives",
                "With a Hugging Face backbone the model's own limit (`max_position_embeddings`, "
                "or `model_max_length` in tokenizer_config.json when smaller) caps it: set 512 "
                "to give DeBERTa-v3 its full length")
          .bind(RR_MEMBER(encoder.maxLen)),
      Key("encoder.dropout", T::Number, 0.1)
          .range(0, 0.9)
          .label("Dropout")
          .help("Dropout in the encoder's layers (on the CPU, p is applied in steps of 2^-16: "
                "docs/METHODS.md)")
          .bind(RR_MEMBER(encoder.dropout)),
      Key("encoder.pooling", T::Choice, "cls")
          .allowed({"cls", "mean"})
          .label("Pooling")
          .help("What every reward and router head reads: the [CLS] token's final state (the "
                "papers' DeBERTa pooler) or the mean of the tokens' final states",
                "On a frozen encoder pre-trained here by MLM, whose [CLS] state no pre-training "
                "loss shapes, `mean` is the better readout (docs/RESULTS.md)")
          .bind(RR_MEMBER(encoder.pooling)),
      Key("encoder.pretrained", T::ModelPath, "")
          .onlyWhenSet()
          .label("Pretrained")
          .help("A saved encoder to start from, or a Hugging Face model folder (config.json, "
                "weights, tokenizer files)",
                "Folders: DeBERTa-v2/v3, BERT, ELECTRA, bare or `*ForSequenceClassification` "
                "(docs/CHECKPOINTS.md). With a folder, the encoder's shape, weights and tokenizer "
                "come from it (the `preset`/`hidden`/`layers`/`heads`/`ffn`, `dropout` and "
                "`tokenizer` keys are not used; dropout is the checkpoint's), pre-training is "
                "skipped, and reward heads start from its classifier when it has a one-label "
                "one. The folder is loaded and checked completely before anything is written")
          .bind(RR_MEMBER(encoder.pretrained)),

      Key("lora", T::Object).help("LoRA adapters of the methods that use them"),
      Key("lora.rank", T::Integer, 12)
          .range(1, 4096)
          .label("Rank")
          .help("Adapter rank r (the paper's default)")
          .bind(RR_MEMBER(lora.rank)),
      Key("lora.alpha", T::Number, 768)
          .range(0, 1e6, true)
          .label("Alpha")
          .help("Scaling numerator: scale = alpha / rank (the paper's default)")
          .bind(RR_MEMBER(lora.alpha)),
      Key("lora.dropout", T::Number, 0.1)
          .range(0, 0.9)
          .label("Dropout")
          .help("Dropout on the adapters' input")
          .bind(RR_MEMBER(lora.dropout)),
      Key("lora.targets", T::List, json::array({"query", "key", "value", "dense"}))
          .allowed({"query", "key", "value", "dense", "ffn", "q", "k", "v", "o", "up", "gate",
                    "down"})
          .label("Targets")
          .help("Layers that get adapters (at least one): query/q, key/k, value/v, dense/o "
                "(attention output), up, gate, down, or ffn for every feed-forward layer")
          .bind(RR_MEMBER(lora.targets)),

      Key("pretrain", T::Object).help("Masked-LM pre-training of the shared encoder"),
      Key("pretrain.enabled", T::Bool, true)
          .label("Enabled")
          .help("Masked-language-model pre-training of the shared encoder on the experiment's "
                "text before any method trains; every method starts from the same weights",
                "Skipped with `encoder.pretrained`")
          .bind(RR_MEMBER(pretrain.enabled)),
      Key("pretrain.steps", T::Integer, 300)
          .range(0, 100000000)
          .label("Steps")
          .help("Pre-training optimizer steps (0 = no pre-training)",
                "The result is cached by a hash of corpus, tokenizer, shape and these settings, "
                "so every method and seed of an experiment starts from it. Methods that freeze "
                "the encoder (Base-LoRA, ARLISS, DMoERM's experts) need it trained until the loss "
                "flattens: the progress lines show the loss; on experiments/routing.json that is "
                "about 1500 steps (docs/RESULTS.md)")
          .bind(RR_MEMBER(pretrain.steps)),
      Key("pretrain.lr", T::Number, 1e-3)
          .range(0, 10, true)
          .label("Learning rate")
          .help("AdamW peak rate of pre-training (warm-up over a tenth of the steps, at most "
                "100, then linear decay)")
          .bind(RR_MEMBER(pretrain.lr)),
      Key("pretrain.batch_size", T::Integer, 32)
          .range(1, 65536)
          .label("Batch size")
          .help("Texts per pre-training step")
          .bind(RR_MEMBER(pretrain.batchSize)),
      Key("pretrain.mask_prob", T::Number, 0.15)
          .range(0.01, 0.9)
          .label("Mask probability")
          .help("Share of tokens masked (BERT's 80% [MASK], 10% random, 10% unchanged)")
          .bind(RR_MEMBER(pretrain.maskProb)),
      Key("pretrain.seed", T::Integer, 1)
          .range(0, kIntMax)
          .label("Seed")
          .help("Pre-training seed, the same for every training seed: the seeds share one "
                "encoder")
          .bind(RR_MEMBER(pretrain.seed)),
      Key("pretrain.texts", T::List, json::array())
          .label("Extra texts")
          .help("Extra plain-text files (one document a line) added to the pre-training text "
                "besides the training pairs' inputs")
          .typeText("array of paths")
          .bind(RR_MEMBER(pretrain.texts)),

      Key("training", T::Object).help("How every method's components are trained"),
      Key("training.lr", T::Number, 5e-4)
          .range(0, 10, true)
          .label("Learning rate")
          .help("AdamW peak learning rate (linear warm-up, then linear decay to 0)")
          .bind(RR_MEMBER(training.lr)),
      Key("training.batch_size", T::Integer, 16)
          .range(1, 65536)
          .label("Batch size")
          .help("Pairs per step")
          .bind(RR_MEMBER(training.batchSize)),
      Key("training.epochs", T::Integer, 1)
          .range(1, 10000)
          .label("Epochs")
          .help("Passes over the training split")
          .bind(RR_MEMBER(training.epochs)),
      Key("training.max_steps", T::Integer, 0)
          .range(0, 100000000)
          .label("Max steps")
          .help("Cap on optimizer steps per component (0 = no limit)")
          .zero("no limit")
          .bind(RR_MEMBER(training.maxSteps)),
      Key("training.eval_every", T::Integer, 0)
          .range(0, 100000000)
          .label("Evaluate every")
          .help("Steps between validation passes (0 = at the end only)")
          .zero("at the end")
          .bind(RR_MEMBER(training.evalEvery)),
      Key("training.checkpoint_every", T::Integer, 200)
          .range(0, 100000000)
          .label("Checkpoint every")
          .zero("at component ends")
          .help("Steps between resumable checkpoints of the component in training (0 = only at "
                "each component's end)",
                "A checkpoint holds the component's weights, optimizer state, schedule position, "
                "random-number states and data position, written atomically beside the run store; "
                "`run --resume` continues an interrupted run from the last one (docs/STORE.md "
                "\"Resume\"). It does not change what is trained")
          .bind(RR_MEMBER(training.checkpointEvery)),
      Key("training.weight_decay", T::Number, 0.01)
          .range(0, 10)
          .label("Weight decay")
          .help("AdamW weight decay")
          .bind(RR_MEMBER(training.weightDecay)),
      Key("training.warmup_steps", T::Integer, 0)
          .range(0, 100000000)
          .label("Warm-up steps")
          .help("Linear warm-up before the linear decay")
          .bind(RR_MEMBER(training.warmupSteps)),
      Key("training.grad_clip", T::Number, 1.0)
          .range(0, 1e6)
          .label("Gradient clip")
          .help("Global gradient norm clip (0 = off)")
          .bind(RR_MEMBER(training.gradClip)),
      Key("training.group_by_length", T::Bool, true)
          .label("Group by length")
          .help("Batches of examples of about one length: each epoch's shuffled order is cut into "
                "groups of 50 batches, each group sorted by length, its batches in shuffled order",
                "A batch is padded to its longest example, and padding costs as much as text: on "
                "real preference data (20 to 512 tokens) most of an ungrouped batch is padding. "
                "Seeded and resumable like the shuffle itself (TRL's and transformers' "
                "group_by_length do the same with megabatches of 50)")
          .bind(RR_MEMBER(training.groupByLength)),
      Key("training.seed", T::Integer, 1)
          .range(0, kIntMax)
          .label("Seed")
          .help("First seed; seeds run are seed, seed+1, ... (the last at most 2147483647)")
          .bind(RR_MEMBER(training.seed)),
      Key("training.seeds", T::Integer, 1)
          .range(1, 100)
          .label("Seeds")
          .help("Seeds run; tables report mean ± std over them (`run --seeds N` overrides it)")
          .bind(RR_MEMBER(training.seeds)),
      Key("training.device", T::Choice, "cpu")
          .allowed({"cpu", "cuda"})
          .label("Device")
          .help("Where to train; cuda needs a CUDA LibTorch build")
          .bind(RR_MEMBER(training.device)),
      Key("training.margin_scale", T::Number, 0)
          .range(0, 1000)
          .label("Margin scale")
          .help(
              "Loss -log sigmoid(r_c - r_r - scale x margin), with each pair's margin from its "
              "data (0 = the plain Bradley-Terry loss)",
              "Margins come from the dataset's scores (docs/DATA.md \"Margins\"); pairs "
              "without one have margin 0. The margin loss of Llama 2 (Touvron et al. 2023) and of "
              "TRL's `margin` column (docs/METHODS.md \"Loss\")")
          .bind(RR_MEMBER(training.marginScale)),
      Key("training.center_rewards", T::Number, 0)
          .range(0, 1000)
          .label("Reward centering")
          .help("Weight of the auxiliary term (r_c + r_r)^2, averaged over the batch, that "
                "keeps rewards centred on 0 (0 = off)",
                "As TRL's `center_rewards_coefficient` (Eisenstein et al. 2023, arXiv:2312.09244), "
                "commonly set to 0.01 (docs/METHODS.md \"Loss\")")
          .bind(RR_MEMBER(training.centerRewards)),

      Key("distributed", T::Object)
          .help("How a run over several processes (`run --nproc`, launcher variables) shares the "
                "work"),
      Key("distributed.mode", T::Choice, "auto")
          .allowed({"auto", "data", "components"})
          .onlyWhenSet()
          .label("Parallelism")
          .help("data: every component data-parallel over all processes; components: the "
                "method's independent components (domain models, adapters, DMoERM categories, the "
                "router) spread over the processes, each trained whole on one; auto: components "
                "when there are at least as many as processes",
                "Both give the weights one process gives (docs/DISTRIBUTED.md); which is faster "
                "depends on the method and the link (docs/SCALING.md). One process ignores it")
          .bind(RR_MEMBER(distributed.mode)),

      Key("methods", T::Array)
          .required()
          .help("What to train; each entry {\"method\": M, \"name\": N, ...options}")
          .typeText("non-empty array"),
      Key("methods[].method", T::Choice)
          .required()
          .allowed(methodNames())
          .help("The method; its options are in the table below"),
      Key("methods[].name", T::Text)
          .pattern("[A-Za-z0-9_.+-]{1,64}", "1-64 letters, digits or _.+-")
          .help("Display name, unique in the experiment, so one method can run twice with other "
                "options")
          .typeText("1-64 of `A-Za-z0-9_.+-`, unique")
          .defaultText("= method"),
  };
}

#undef RR_MEMBER

std::string numberText(double d) {
  if (d == static_cast<double>(static_cast<long long>(d)) && std::abs(d) < 1e15)
    return std::to_string(static_cast<long long>(d));
  return json(d).dump();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + (s.empty() ? "\"\"" : s);
  return out;
}

std::string valueText(const json& v) {
  if (v.is_string()) return v.get<std::string>().empty() ? "\"\"" : v.get<std::string>();
  if (v.is_number()) return numberText(v.get<double>());
  return v.dump();
}

std::string cell(std::string text) {
  // A '|' would end the cell early in Markdown.
  for (size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2))
    text.replace(at, 1, "\\|");
  return text;
}

std::string sentence(const std::string& help, const std::string& details) {
  return details.empty() ? help : help + ". " + details;
}

using Kind = MethodOptionSpec::Kind;

// Each method's own options, by method name: the list of methods the config accepts (a test
// keeps it equal to the method registry, methods/method.cpp).
const std::map<std::string, std::vector<MethodOptionSpec>>& methodSchemas() {
  static const std::map<std::string, std::vector<MethodOptionSpec>> s = {
      {"baseline", {}},
      {"base-lora", {}},
      {"pretrained",
       {{"model",
         Kind::Text,
         0,
         0,
         0,
         "",
         {},
         "a Hugging Face reward-model folder (config.json, weights, tokenizer): scored as it is, "
         "nothing trained"}}},
      {"more",
       {{"experts", Kind::Integer, 4, 2, 64, "", {}, "number of experts in the sparse MoE head"},
        {"top_k", Kind::Integer, 2, 1, 64, "", {}, "experts each input is routed to (k)"},
        {"expert_hidden",
         Kind::Integer,
         0,
         0,
         65536,
         "",
         {},
         "hidden width of each expert's feed-forward block (0 = 2 x encoder hidden)"},
        {"balance_weight",
         Kind::Number,
         0.01,
         0,
         10,
         "",
         {},
         "weight of the load-balancing auxiliary loss"},
        {"noise", Kind::Integer, 1, 0, 1, "", {}, "noisy gating during training (1 on, 0 off)"}}},
      {"rodos",
       {{"router_epochs",
         Kind::Integer,
         0,
         0,
         10000,
         "",
         {},
         "epochs of router training (0 = training.epochs)"}}},
      {"arliss",
       {{"inference",
         Kind::Text,
         0,
         0,
         0,
         "mixed",
         {"mixed", "switch"},
         "mixed: each row of a batch uses its own adapter in one pass; switch: one input at a "
         "time with adapter switching, as in the paper"},
        {"router_epochs",
         Kind::Integer,
         0,
         0,
         10000,
         "",
         {},
         "epochs of router-adapter training (0 = training.epochs)"}}},
      {"dmoerm",
       {{"aggregator_fraction",
         Kind::Number,
         0.25,
         0.05,
         0.9,
         "",
         {},
         "share of each category's training pairs held out from phase 1 for the aggregator"},
        {"min_capability_pairs",
         Kind::Integer,
         20,
         1,
         1000000,
         "",
         {},
         "a capability gets an expert in a category only with this many labelled pairs"},
        {"router_epochs",
         Kind::Integer,
         0,
         0,
         10000,
         "",
         {},
         "epochs of outer-router training (0 = training.epochs)"}}},
  };
  return s;
}

}  // namespace

std::vector<std::string> methodNames() {
  std::vector<std::string> out;
  for (const auto& [k, v] : methodSchemas()) out.push_back(k);
  return out;
}

const std::vector<MethodOptionSpec>& methodOptionSpecs(const std::string& method) {
  static const std::vector<MethodOptionSpec> none;
  auto it = methodSchemas().find(method);
  return it == methodSchemas().end() ? none : it->second;
}

const std::vector<ConfigKey>& configSchema() {
  static const std::vector<ConfigKey> s = buildSchema();
  return s;
}

const ConfigKey& configKey(const std::string& path) {
  for (const auto& k : configSchema())
    if (k.path == path) return k;
  throw std::logic_error("no config key " + path);
}

std::string configKeyTypeText(const ConfigKey& k) {
  if (!k.typeText.empty()) return k.typeText;
  switch (k.type) {
    case T::Integer:
      return "int " + numberText(k.lo) + ".." + numberText(k.hi);
    case T::Number:
      return std::string("number in ") + (k.exclusiveLo ? "(" : "[") + numberText(k.lo) + ", " +
             numberText(k.hi) + "]";
    case T::Bool:
      return "bool";
    case T::Text:
      return "string";
    case T::Choice:
      return joined(k.allowed);
    case T::Path:
      return "path";
    case T::ModelPath:
      return "path (file or folder)";
    case T::List:
      return k.allowed.empty() ? "array of strings" : "array of: " + joined(k.allowed);
    case T::Object:
      return "object";
    case T::Array:
      return "array";
  }
  return "";
}

std::string configKeyDefaultText(const ConfigKey& k) {
  if (!k.defaultText.empty()) return k.defaultText;
  if (k.required) return "required";
  if (k.type == T::Object) return "{} (all defaults)";
  if (k.defaultValue.is_null()) return "";
  return valueText(k.defaultValue);
}

std::string methodOptionTypeText(const MethodOptionSpec& s) {
  switch (s.kind) {
    case MethodOptionSpec::Kind::Integer:
      return "int " + numberText(s.lo) + ".." + numberText(s.hi);
    case MethodOptionSpec::Kind::Number:
      return "number in [" + numberText(s.lo) + ", " + numberText(s.hi) + "]";
    case MethodOptionSpec::Kind::Text:
      return s.allowedText.empty() ? "path" : joined(s.allowedText);
  }
  return "";
}

std::string methodOptionDefaultText(const MethodOptionSpec& s) {
  if (s.kind == MethodOptionSpec::Kind::Text)
    return s.defaultText.empty() ? "required" : s.defaultText;
  return numberText(s.defaultValue);
}

std::string configKeysMarkdown() {
  std::ostringstream os;
  os << "| key | type, range | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : configSchema())
    os << "| `" << k.path << "` | " << cell(configKeyTypeText(k)) << " | "
       << cell(configKeyDefaultText(k)) << " | " << cell(sentence(k.help, k.details)) << " |\n";
  return os.str();
}

std::string methodOptionsMarkdown() {
  std::ostringstream os;
  os << "| method | option | type, range | default | meaning |\n|---|---|---|---|---|\n";
  for (const auto& m : methodNames()) {
    const auto& specs = methodOptionSpecs(m);
    if (specs.empty()) os << "| `" << m << "` | none | | | |\n";
    for (const auto& s : specs)
      os << "| `" << m << "` | `" << s.key << "` | " << cell(methodOptionTypeText(s)) << " | "
         << cell(methodOptionDefaultText(s)) << " | " << cell(s.help) << " |\n";
  }
  return os.str();
}

json configSchemaJson() {
  static const char* const kTypeNames[] = {"integer", "number", "bool", "string", "choice",
                                           "path",    "model",  "list", "object", "array"};
  json keys = json::array();
  for (const auto& k : configSchema()) {
    json e = {{"key", k.path},
              {"type", kTypeNames[static_cast<int>(k.type)]},
              {"required", k.required},
              {"help", sentence(k.help, k.details)}};
    if (!k.defaultValue.is_null() && !k.required) e["default"] = k.defaultValue;
    if (k.type == T::Integer || k.type == T::Number) {
      e["min"] = k.lo;
      e["max"] = k.hi;
      if (k.exclusiveLo) e["exclusive_min"] = true;
    }
    if (!k.allowed.empty()) e["allowed"] = k.allowed;
    keys.push_back(e);
  }
  json methods = json::object();
  for (const auto& m : methodNames()) {
    json options = json::array();
    for (const auto& s : methodOptionSpecs(m)) {
      json o = {{"key", s.key}, {"help", s.help}};
      if (s.kind == MethodOptionSpec::Kind::Text) {
        o["type"] = s.allowedText.empty() ? "path" : "choice";
        o["default"] = s.defaultText;
        if (!s.allowedText.empty()) o["allowed"] = s.allowedText;
      } else {
        o["type"] = s.kind == MethodOptionSpec::Kind::Integer ? "integer" : "number";
        o["default"] = s.defaultValue;
        o["min"] = s.lo;
        o["max"] = s.hi;
      }
      options.push_back(o);
    }
    methods[m] = options;
  }
  return {{"keys", keys}, {"methods", methods}};
}

}  // namespace rr::core
