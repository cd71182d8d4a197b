#include "config/config.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/jsonreader.h"
#include "data/synthetic.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rr::core {
namespace {

struct Preset {
  const char* name;
  EncoderShape shape;
};

// CPU presets for this project's machines, and the DeBERTa-v3 shapes (layers, hidden, heads, FFN
// as published in the models' config.json files) for GPU runs.
const Preset kPresets[] = {
    {"tiny", {128, 2, 2, 512}},
    {"mini", {256, 4, 4, 1024}},
    {"small-cpu", {384, 6, 6, 1536}},
    {"deberta-v3-xsmall", {384, 12, 6, 1536}},
    {"deberta-v3-small", {768, 6, 12, 3072}},
    {"deberta-v3-base", {768, 12, 12, 3072}},
    {"deberta-v3-large", {1024, 24, 16, 4096}},
};

using Kind = MethodOptionSpec::Kind;

const std::map<std::string, std::vector<MethodOptionSpec>>& schemas() {
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

std::vector<std::string> encoderPresetNames() {
  std::vector<std::string> out;
  for (const auto& p : kPresets) out.emplace_back(p.name);
  return out;
}

std::vector<std::string> methodNames() {
  std::vector<std::string> out;
  for (const auto& [k, v] : schemas()) out.push_back(k);
  return out;
}

const std::vector<MethodOptionSpec>& methodOptionSpecs(const std::string& method) {
  static const std::vector<MethodOptionSpec> none;
  auto it = schemas().find(method);
  return it == schemas().end() ? none : it->second;
}

double methodOption(const MethodConfig& m, const std::string& key) {
  if (auto it = m.options.find(key); it != m.options.end()) return it->second;
  for (const auto& spec : methodOptionSpecs(m.method))
    if (spec.key == key) return spec.defaultValue;
  throw std::logic_error("method " + m.method + " has no option " + key);
}

std::string methodTextOption(const MethodConfig& m, const std::string& key) {
  if (auto it = m.textOptions.find(key); it != m.textOptions.end()) return it->second;
  for (const auto& spec : methodOptionSpecs(m.method))
    if (spec.key == key) return spec.defaultText;
  throw std::logic_error("method " + m.method + " has no option " + key);
}

EncoderShape resolveEncoderShape(const EncoderConfig& c) {
  EncoderShape s;
  for (const auto& p : kPresets)
    if (c.preset == p.name) s = p.shape;
  if (c.hidden) s.hidden = c.hidden;
  if (c.layers) s.layers = c.layers;
  if (c.heads) s.heads = c.heads;
  if (c.ffn) s.ffn = c.ffn;
  return s;
}

std::string resolvePath(const std::string& p, const std::string& baseDir) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(baseDir) / p).lexically_normal().string();
}

std::string resolveConfigPath(const ExperimentConfig& c, const std::string& p) {
  return resolvePath(p, c.baseDir);
}

namespace {

// An empty baseDir means the config is a stored copy whose files need not exist here.
bool isMissing(const std::string& path, const std::string& baseDir) {
  return !path.empty() && !baseDir.empty() && !fs::exists(resolvePath(path, baseDir));
}

// A directory opens as an empty stream: read as a data file it gives no lines and no error.
bool isDirectory(const std::string& path, const std::string& baseDir) {
  std::error_code ec;
  return !path.empty() && !baseDir.empty() && fs::is_directory(resolvePath(path, baseDir), ec);
}

std::vector<std::string> stringList(JsonObjectReader& r, const std::string& key,
                                    const std::vector<std::string>& def) {
  const json* v = r.raw(key);
  if (!v) return def;
  if (!v->is_array()) r.fail(r.pathOf(key), "must be an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string())
      r.fail(r.pathOf(key) + "[" + std::to_string(i) + "]",
             "must be a string (got " + JsonObjectReader::describe((*v)[i]) + ")");
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

void parseData(JsonObjectReader& top, DataConfig& d, const std::string& baseDir) {
  const json* v = top.raw("data");
  if (!v) top.fail("$.data", "missing (an experiment needs data.synthetic or data.files)");
  JsonObjectReader r(*v, "$.data", top.file());
  if (const json* s = r.raw("synthetic")) {
    JsonObjectReader sr(*s, "$.data.synthetic", top.file());
    d.synthetic.enabled = sr.boolean("enabled", true);
    d.synthetic.pairsPerDomain =
        static_cast<int>(sr.integer("pairs_per_domain", 400, 10, 10000000));
    const auto known = syntheticDomainNames();
    d.synthetic.domains = stringList(sr, "domains", {});
    std::set<std::string> seen;
    for (size_t i = 0; i < d.synthetic.domains.size(); ++i) {
      const auto& name = d.synthetic.domains[i];
      const std::string path = "$.data.synthetic.domains[" + std::to_string(i) + "]";
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        sr.fail(path, "unknown synthetic domain \"" + name + "\" (known: " + list + ")");
      }
      if (!seen.insert(name).second) sr.fail(path, "domain \"" + name + "\" listed twice");
    }
    if (const json* n = sr.raw("label_noise")) {
      if (n->is_object()) {
        for (auto it = n->begin(); it != n->end(); ++it) {
          const std::string path = "$.data.synthetic.label_noise." + it.key();
          if (std::find(known.begin(), known.end(), it.key()) == known.end())
            sr.fail(path, "unknown synthetic domain");
          if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 0.5)
            sr.fail(path, "must be a number in [0, 0.5] (got " + describeJson(*it) + ")");
          d.synthetic.labelNoisePerDomain[it.key()] = it->get<double>();
        }
      } else if (n->is_number() && n->get<double>() >= 0 && n->get<double>() <= 0.5) {
        d.synthetic.labelNoise = n->get<double>();
      } else {
        sr.fail("$.data.synthetic.label_noise",
                "must be a number in [0, 0.5] or an object {domain: rate} (got " +
                    describeJson(*n) + ")");
      }
    }
    d.synthetic.houseStyle = sr.number("house_style", 0.0, 0.0, 1.0);
    d.synthetic.seed = static_cast<int>(sr.integer("seed", 7, 0, 2147483647));
    sr.finish();
  }
  if (const json* f = r.raw("files")) {
    if (!f->is_array()) r.fail("$.data.files", "must be an array of {path, domain?, split?}");
    for (size_t i = 0; i < f->size(); ++i) {
      const std::string path = "$.data.files[" + std::to_string(i) + "]";
      JsonObjectReader fr((*f)[i], path, top.file());
      DataFileConfig fc;
      if (!fr.has("path")) fr.fail(path + ".path", "missing");
      fc.path = fr.str("path", "");
      if (isMissing(fc.path, baseDir))
        fr.fail(path + ".path", "file not found: " + resolvePath(fc.path, baseDir));
      if (isDirectory(fc.path, baseDir))
        fr.fail(path + ".path",
                "is a directory, not a pairs file: " + resolvePath(fc.path, baseDir));
      fc.domain = fr.str("domain", "");
      fc.split = fr.oneOf("split", "", {"", "train", "validation", "test"});
      fr.finish();
      d.files.push_back(fc);
    }
  }
  if (!d.synthetic.enabled && d.files.empty())
    r.fail("$.data", "needs synthetic data or at least one file in data.files");
  if (const json* s = r.raw("split")) {
    JsonObjectReader sr(*s, "$.data.split", top.file());
    d.split.train = sr.number("train", 0.8, 0, 1, true);
    d.split.validation = sr.number("validation", 0.1, 0, 1);
    d.split.test = sr.number("test", 0.1, 0, 1, true);
    d.split.method = sr.oneOf("method", "mix64", {"mix64", "fnv1a"});
    sr.finish();
    const double sum = d.split.train + d.split.validation + d.split.test;
    if (std::abs(sum - 1.0) > 1e-6) {
      std::ostringstream os;
      os << "train + validation + test must be 1 (got " << sum << ")";
      sr.fail("$.data.split", os.str());
    }
  }
  d.maxPairsPerDomain = static_cast<int>(r.integer("max_pairs_per_domain", 0, 0, 1000000000));
  r.finish();
}

void parseMethods(JsonObjectReader& top, std::vector<MethodConfig>& methods,
                  const std::string& baseDir) {
  const json* v = top.raw("methods");
  if (!v)
    top.fail("$.methods", "missing (list the methods to run, e.g. [{\"method\": \"baseline\"}])");
  if (!v->is_array() || v->empty()) top.fail("$.methods", "must be a non-empty array");
  std::set<std::string> names;
  const auto known = methodNames();
  for (size_t i = 0; i < v->size(); ++i) {
    const std::string path = "$.methods[" + std::to_string(i) + "]";
    JsonObjectReader r((*v)[i], path, top.file());
    MethodConfig m;
    if (!r.has("method")) r.fail(path + ".method", "missing");
    m.method = r.oneOf("method", "", known);
    m.name = r.str("name", m.method);
    if (!std::regex_match(m.name, std::regex("[A-Za-z0-9_.+-]{1,64}")))
      r.fail(path + ".name",
             "must be 1-64 letters, digits or _.+- (got \"" + shortPrefix(m.name) + "\")");
    if (!names.insert(m.name).second)
      r.fail(path + ".name", "\"" + m.name + "\" is used twice; give each entry its own name");
    for (const auto& spec : methodOptionSpecs(m.method)) {
      if (!r.has(spec.key)) continue;
      switch (spec.kind) {
        case Kind::Integer:
          m.options[spec.key] = static_cast<double>(r.integer(
              spec.key, 0, static_cast<long long>(spec.lo), static_cast<long long>(spec.hi)));
          break;
        case Kind::Number:
          m.options[spec.key] = r.number(spec.key, 0, spec.lo, spec.hi);
          break;
        case Kind::Text:
          m.textOptions[spec.key] = spec.allowedText.empty()
                                        ? r.str(spec.key, spec.defaultText)
                                        : r.oneOf(spec.key, spec.defaultText, spec.allowedText);
          break;
      }
    }
    if (m.method == "pretrained") {
      const std::string model = methodTextOption(m, "model");
      if (model.empty())
        r.fail(path + ".model", "missing (the Hugging Face reward-model folder to evaluate)");
      if (!baseDir.empty() && !fs::exists(fs::path(resolvePath(model, baseDir)) / "config.json"))
        r.fail(path + ".model", "not a Hugging Face model folder (no config.json in " +
                                    resolvePath(model, baseDir) + ")");
    }
    if (m.method == "more" && methodOption(m, "top_k") > methodOption(m, "experts"))
      r.fail(path + ".top_k",
             "must be <= experts (" + std::to_string(static_cast<int>(methodOption(m, "experts"))) +
                 "), got " + std::to_string(static_cast<int>(methodOption(m, "top_k"))));
    r.finish();
    methods.push_back(m);
  }
}

}  // namespace

namespace {

json parseJsonText(const std::string& jsonText, const std::string& fileLabel) {
  return parseJsonChecked(jsonText, fileLabel);
}

// One KEY=VALUE override: KEY is a dotted path of object keys; VALUE is read as JSON when it is
// JSON (numbers, true, arrays...) and as a string otherwise, so `encoder.pooling=mean` works
// without quotes. Missing objects on the way are created; the validator then judges the result.
void applyOverride(json& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set " + assignment + ": expected KEY=VALUE, e.g. encoder.pooling=mean");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = parseJsonChecked(text, "--set " + key);
  } catch (const InputError&) {
    value = text;  // not JSON (or too deep, or out of range): the validator judges the string
  }
  json* node = &root;
  std::string walked;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part =
        key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw InputError("--set " + assignment + ": empty key in '" + key + "'");
    if (!node->is_object())
      throw InputError("--set " + assignment + ": " + (walked.empty() ? "the config" : walked) +
                       " is not an object");
    walked += (walked.empty() ? "" : ".") + part;
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

ExperimentConfig configFromJson(const json& root, const std::string& fileLabel,
                                const std::string& baseDir) {
  ExperimentConfig c;
  c.sourcePath = fileLabel;
  c.baseDir = baseDir;
  JsonObjectReader r(root, "$", fileLabel);
  if (!r.has("name")) r.fail("$.name", "missing");
  c.name = r.str("name", "");
  if (!std::regex_match(c.name, std::regex("[A-Za-z0-9_.-]{1,64}")))
    r.fail("$.name", "must be 1-64 letters, digits or _.- (got \"" + shortPrefix(c.name) + "\")");
  c.description = r.str("description", "");
  parseData(r, c.data, baseDir);

  if (const json* t = r.raw("tokenizer")) {
    JsonObjectReader tr(*t, "$.tokenizer", fileLabel);
    c.tokenizer.vocabSize = static_cast<int>(tr.integer("vocab_size", 2000, 100, 1000000));
    c.tokenizer.model = tr.str("model", "");
    if (isMissing(c.tokenizer.model, baseDir))
      tr.fail("$.tokenizer.model", "file not found: " + resolvePath(c.tokenizer.model, baseDir));
    if (isDirectory(c.tokenizer.model, baseDir))
      tr.fail("$.tokenizer.model", "a directory, not a SentencePiece .model file: " +
                                       resolvePath(c.tokenizer.model, baseDir));
    c.tokenizer.type = tr.oneOf("type", "unigram", {"unigram", "bpe"});
    tr.finish();
  }
  if (const json* e = r.raw("encoder")) {
    JsonObjectReader er(*e, "$.encoder", fileLabel);
    c.encoder.preset = er.oneOf("preset", "tiny", encoderPresetNames());
    c.encoder.hidden = static_cast<int>(er.integer("hidden", 0, 0, 16384));
    c.encoder.layers = static_cast<int>(er.integer("layers", 0, 0, 128));
    c.encoder.heads = static_cast<int>(er.integer("heads", 0, 0, 256));
    c.encoder.ffn = static_cast<int>(er.integer("ffn", 0, 0, 65536));
    c.encoder.maxLen = static_cast<int>(er.integer("max_len", 96, 8, 4096));
    c.encoder.dropout = er.number("dropout", 0.1, 0, 0.9);
    c.encoder.pretrained = er.str("pretrained", "");
    c.encoder.pooling = er.oneOf("pooling", "cls", {"cls", "mean"});
    if (isMissing(c.encoder.pretrained, baseDir))
      er.fail("$.encoder.pretrained", "not found: " + resolvePath(c.encoder.pretrained, baseDir));
    if (!c.encoder.pretrained.empty() && !baseDir.empty()) {
      const fs::path p = resolvePath(c.encoder.pretrained, baseDir);
      if (fs::is_directory(p) && !fs::exists(p / "config.json"))
        er.fail("$.encoder.pretrained",
                "a directory but not a Hugging Face model folder (no config.json in " + p.string() +
                    ")");
    }
    er.finish();
    const EncoderShape s = resolveEncoderShape(c.encoder);
    if (s.hidden % s.heads != 0)
      er.fail("$.encoder.heads", "must divide hidden (" + std::to_string(s.hidden) + "), got " +
                                     std::to_string(s.heads));
  }
  if (const json* l = r.raw("lora")) {
    JsonObjectReader lr(*l, "$.lora", fileLabel);
    c.lora.rank = static_cast<int>(lr.integer("rank", 12, 1, 4096));
    c.lora.alpha = lr.number("alpha", 768, 0, 1e6, true);
    c.lora.dropout = lr.number("dropout", 0.1, 0, 0.9);
    c.lora.targets = stringList(lr, "targets", c.lora.targets);
    const std::vector<std::string> allowed = {"query", "key", "value", "dense", "ffn"};
    if (c.lora.targets.empty()) lr.fail("$.lora.targets", "must name at least one layer");
    for (size_t i = 0; i < c.lora.targets.size(); ++i)
      if (std::find(allowed.begin(), allowed.end(), c.lora.targets[i]) == allowed.end())
        lr.fail("$.lora.targets[" + std::to_string(i) + "]",
                "must be one of query, key, value, dense, ffn (got \"" + c.lora.targets[i] + "\")");
    lr.finish();
  }
  if (const json* p = r.raw("pretrain")) {
    JsonObjectReader pr(*p, "$.pretrain", fileLabel);
    c.pretrain.enabled = pr.boolean("enabled", true);
    c.pretrain.steps = static_cast<int>(pr.integer("steps", 300, 0, 100000000));
    c.pretrain.lr = pr.number("lr", 1e-3, 0, 10, true);
    c.pretrain.batchSize = static_cast<int>(pr.integer("batch_size", 32, 1, 65536));
    c.pretrain.maskProb = pr.number("mask_prob", 0.15, 0.01, 0.9);
    c.pretrain.seed = static_cast<int>(pr.integer("seed", 1, 0, 2147483647));
    c.pretrain.texts = stringList(pr, "texts", {});
    for (size_t i = 0; i < c.pretrain.texts.size(); ++i) {
      const std::string at = "$.pretrain.texts[" + std::to_string(i) + "]";
      if (isMissing(c.pretrain.texts[i], baseDir))
        pr.fail(at, "file not found: " + resolvePath(c.pretrain.texts[i], baseDir));
      if (isDirectory(c.pretrain.texts[i], baseDir))
        pr.fail(at,
                "is a directory, not a text file: " + resolvePath(c.pretrain.texts[i], baseDir));
    }
    pr.finish();
  }
  if (const json* t = r.raw("training")) {
    JsonObjectReader tr(*t, "$.training", fileLabel);
    c.training.lr = tr.number("lr", 5e-4, 0, 10, true);
    c.training.batchSize = static_cast<int>(tr.integer("batch_size", 16, 1, 65536));
    c.training.epochs = static_cast<int>(tr.integer("epochs", 1, 1, 10000));
    c.training.maxSteps = static_cast<int>(tr.integer("max_steps", 0, 0, 100000000));
    c.training.evalEvery = static_cast<int>(tr.integer("eval_every", 0, 0, 100000000));
    c.training.weightDecay = tr.number("weight_decay", 0.01, 0, 10);
    c.training.warmupSteps = static_cast<int>(tr.integer("warmup_steps", 0, 0, 100000000));
    c.training.gradClip = tr.number("grad_clip", 1.0, 0, 1e6);
    c.training.seed = static_cast<int>(tr.integer("seed", 1, 0, 2147483647));
    c.training.seeds = static_cast<int>(tr.integer("seeds", 1, 1, 100));
    c.training.device = tr.oneOf("device", "cpu", {"cpu", "cuda"});
    tr.finish();
    if (static_cast<long long>(c.training.seed) + c.training.seeds - 1 > INT_MAX)
      tr.fail("$.training.seed", "seed + seeds - 1 must be <= " + std::to_string(INT_MAX) +
                                     " (got " + std::to_string(c.training.seed) + " with " +
                                     std::to_string(c.training.seeds) + " seeds)");
  }
  parseMethods(r, c.methods, baseDir);
  r.finish();
  return c;
}

}  // namespace

ExperimentConfig parseExperimentConfig(const std::string& jsonText, const std::string& fileLabel,
                                       const std::string& baseDir) {
  return configFromJson(parseJsonText(jsonText, fileLabel), fileLabel, baseDir);
}

ExperimentConfig parseStoredExperimentConfig(const std::string& jsonText,
                                             const std::string& fileLabel) {
  json root = parseJsonText(jsonText, fileLabel);
  const auto data = root.is_object() ? root.find("data") : root.end();
  if (data != root.end() && data->is_object()) {
    const auto split = data->find("split");
    if (split == data->end())
      (*data)["split"] = {{"method", "fnv1a"}};
    else if (split->is_object() && !split->contains("method"))
      (*split)["method"] = "fnv1a";
  }
  return configFromJson(root, fileLabel, "");
}

ExperimentConfig loadExperimentConfig(const std::string& path,
                                      const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open experiment config");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string baseDir = fs::path(path).parent_path().empty()
                                  ? std::string(".")
                                  : fs::path(path).parent_path().string();
  json root = parseJsonText(ss.str(), path);
  for (const auto& o : overrides) applyOverride(root, o);
  // An error caused by an override names it, so nobody searches the file for it.
  return configFromJson(root, overrides.empty() ? path : path + " (with --set)", baseDir);
}

std::string experimentConfigToJson(const ExperimentConfig& c, int indent) {
  json j;
  j["name"] = c.name;
  if (!c.description.empty()) j["description"] = c.description;
  json data = json::object();
  if (c.data.synthetic.enabled) {
    json s;
    s["pairs_per_domain"] = c.data.synthetic.pairsPerDomain;
    s["domains"] = c.data.synthetic.domains;
    if (c.data.synthetic.labelNoisePerDomain.empty()) {
      s["label_noise"] = c.data.synthetic.labelNoise;
    } else {
      s["label_noise"] = json(c.data.synthetic.labelNoisePerDomain);
    }
    s["house_style"] = c.data.synthetic.houseStyle;
    s["seed"] = c.data.synthetic.seed;
    data["synthetic"] = s;
  }
  if (!c.data.files.empty()) {
    json files = json::array();
    for (const auto& f : c.data.files) {
      json fj = {{"path", f.path}};
      if (!f.domain.empty()) fj["domain"] = f.domain;
      if (!f.split.empty()) fj["split"] = f.split;
      files.push_back(fj);
    }
    data["files"] = files;
  }
  data["split"] = {{"train", c.data.split.train},
                   {"validation", c.data.split.validation},
                   {"test", c.data.split.test},
                   {"method", c.data.split.method}};
  data["max_pairs_per_domain"] = c.data.maxPairsPerDomain;
  j["data"] = data;
  json tok = {{"vocab_size", c.tokenizer.vocabSize}, {"type", c.tokenizer.type}};
  if (!c.tokenizer.model.empty()) tok["model"] = c.tokenizer.model;
  j["tokenizer"] = tok;
  json enc = {{"preset", c.encoder.preset},
              {"max_len", c.encoder.maxLen},
              {"dropout", c.encoder.dropout},
              {"pooling", c.encoder.pooling}};
  if (c.encoder.hidden) enc["hidden"] = c.encoder.hidden;
  if (c.encoder.layers) enc["layers"] = c.encoder.layers;
  if (c.encoder.heads) enc["heads"] = c.encoder.heads;
  if (c.encoder.ffn) enc["ffn"] = c.encoder.ffn;
  if (!c.encoder.pretrained.empty()) enc["pretrained"] = c.encoder.pretrained;
  j["encoder"] = enc;
  j["lora"] = {{"rank", c.lora.rank},
               {"alpha", c.lora.alpha},
               {"dropout", c.lora.dropout},
               {"targets", c.lora.targets}};
  j["pretrain"] = {{"enabled", c.pretrain.enabled},
                   {"steps", c.pretrain.steps},
                   {"lr", c.pretrain.lr},
                   {"batch_size", c.pretrain.batchSize},
                   {"mask_prob", c.pretrain.maskProb},
                   {"seed", c.pretrain.seed},
                   {"texts", c.pretrain.texts}};
  j["training"] = {{"lr", c.training.lr},
                   {"batch_size", c.training.batchSize},
                   {"epochs", c.training.epochs},
                   {"max_steps", c.training.maxSteps},
                   {"eval_every", c.training.evalEvery},
                   {"weight_decay", c.training.weightDecay},
                   {"warmup_steps", c.training.warmupSteps},
                   {"grad_clip", c.training.gradClip},
                   {"seed", c.training.seed},
                   {"seeds", c.training.seeds},
                   {"device", c.training.device}};
  json methods = json::array();
  for (const auto& m : c.methods) {
    json mj = {{"method", m.method}};
    if (m.name != m.method) mj["name"] = m.name;
    for (const auto& spec : methodOptionSpecs(m.method)) {
      if (spec.kind == Kind::Text) {
        mj[spec.key] = methodTextOption(m, spec.key);
      } else if (spec.kind == Kind::Integer) {
        mj[spec.key] = static_cast<long long>(methodOption(m, spec.key));
      } else {
        mj[spec.key] = methodOption(m, spec.key);
      }
    }
    methods.push_back(mj);
  }
  j["methods"] = methods;
  return j.dump(indent);
}

}  // namespace rr::core
