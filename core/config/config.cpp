#include "config/config.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "common/fileio.h"
#include "config/jsonreader.h"
#include "config/schema.h"
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

}  // namespace

std::vector<std::string> encoderPresetNames() {
  std::vector<std::string> out;
  for (const auto& p : kPresets) out.emplace_back(p.name);
  return out;
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

using Type = ConfigKey::Type;

// An empty baseDir means the config is a stored copy whose files need not exist here.
bool isMissing(const std::string& path, const std::string& baseDir) {
  return !path.empty() && !baseDir.empty() && !fs::exists(resolvePath(path, baseDir));
}

// A directory opens as an empty stream: read as a data file it gives no lines and no error.
bool isDirectory(const std::string& path, const std::string& baseDir) {
  std::error_code ec;
  return !path.empty() && !baseDir.empty() && fs::is_directory(resolvePath(path, baseDir), ec);
}

std::string leafOf(const std::string& path) { return path.substr(path.rfind('.') + 1); }

std::string parentOf(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::string joinedList(const std::vector<std::string>& items) {
  std::string list;
  for (const auto& a : items) list += (list.empty() ? "" : ", ") + a;
  return list;
}

// An array of strings; with `allowed`, each item must be one of them.
json stringList(JsonObjectReader& r, const std::string& key, const json& def,
                const std::vector<std::string>& allowed = {}) {
  const json* v = r.raw(key);
  if (!v) return def;
  if (!v->is_array()) r.fail(r.pathOf(key), "must be an array of strings");
  json out = json::array();
  for (size_t i = 0; i < v->size(); ++i) {
    const std::string at = r.pathOf(key) + "[" + std::to_string(i) + "]";
    if (!(*v)[i].is_string())
      r.fail(at, "must be a string (got " + JsonObjectReader::describe((*v)[i]) + ")");
    const std::string item = (*v)[i].get<std::string>();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), item) == allowed.end())
      r.fail(at, "must be one of " + joinedList(allowed) + " (got \"" + shortPrefix(item) + "\")");
    out.push_back(item);
  }
  return out;
}

// One key's value as the schema types it: the default when absent, else checked against the
// schema's range, allowed values and pattern.
json readKey(JsonObjectReader& r, const ConfigKey& k) {
  const std::string key = leafOf(k.path);
  if (k.required && !r.has(key)) r.fail(r.pathOf(key), "missing");
  const json& d = k.defaultValue;
  switch (k.type) {
    case Type::Integer:
      return r.integer(key, d.is_number() ? d.get<long long>() : 0, static_cast<long long>(k.lo),
                       static_cast<long long>(k.hi));
    case Type::Number:
      return r.number(key, d.is_number() ? d.get<double>() : 0.0, k.lo, k.hi, k.exclusiveLo);
    case Type::Bool:
      return r.boolean(key, d.is_boolean() && d.get<bool>());
    case Type::Choice:
      return r.oneOf(key, d.is_string() ? d.get<std::string>() : "", k.allowed);
    case Type::Text:
    case Type::Path:
    case Type::ModelPath: {
      const std::string s = r.str(key, d.is_string() ? d.get<std::string>() : "");
      if (!k.pattern.empty() && !std::regex_match(s, std::regex(k.pattern)))
        r.fail(r.pathOf(key), "must be " + k.patternText + " (got \"" + shortPrefix(s) + "\")");
      return s;
    }
    case Type::List:
      return stringList(r, key, d, k.allowed);
    case Type::Object:
    case Type::Array:
      break;
  }
  throw std::logic_error("config key " + k.path + " has no generic reader");
}

// Reads every key directly under `section` that the schema binds to a member of the config.
void readBoundKeys(JsonObjectReader& r, const std::string& section, ExperimentConfig& c) {
  for (const ConfigKey& k : configSchema())
    if (k.set && parentOf(k.path) == section) k.set(c, readKey(r, k));
}

void parseData(JsonObjectReader& top, ExperimentConfig& c, const std::string& baseDir) {
  DataConfig& d = c.data;
  const json* v = top.raw("data");
  if (!v) top.fail("$.data", "missing (an experiment needs data.synthetic or data.files)");
  JsonObjectReader r(*v, "$.data", top.file());
  if (const json* s = r.raw("synthetic")) {
    JsonObjectReader sr(*s, "$.data.synthetic", top.file());
    readBoundKeys(sr, "data.synthetic", c);
    const auto known = syntheticDomainNames();
    for (const auto& name : stringList(sr, "domains", json::array()))
      d.synthetic.domains.push_back(name.get<std::string>());
    std::set<std::string> seen;
    for (size_t i = 0; i < d.synthetic.domains.size(); ++i) {
      const auto& name = d.synthetic.domains[i];
      const std::string path = "$.data.synthetic.domains[" + std::to_string(i) + "]";
      if (std::find(known.begin(), known.end(), name) == known.end())
        sr.fail(path,
                "unknown synthetic domain \"" + name + "\" (known: " + joinedList(known) + ")");
      if (!seen.insert(name).second) sr.fail(path, "domain \"" + name + "\" listed twice");
    }
    const ConfigKey& noiseKey = configKey("data.synthetic.label_noise");
    auto noiseOk = [&](const json& n) {
      return n.is_number() && n.get<double>() >= noiseKey.lo && n.get<double>() <= noiseKey.hi;
    };
    std::ostringstream range;
    range << "[" << noiseKey.lo << ", " << noiseKey.hi << "]";
    if (const json* n = sr.raw("label_noise")) {
      if (n->is_object()) {
        for (auto it = n->begin(); it != n->end(); ++it) {
          const std::string path = "$.data.synthetic.label_noise." + it.key();
          if (std::find(known.begin(), known.end(), it.key()) == known.end())
            sr.fail(path, "unknown synthetic domain");
          if (!noiseOk(*it))
            sr.fail(path,
                    "must be a number in " + range.str() + " (got " + describeJson(*it) + ")");
          d.synthetic.labelNoisePerDomain[it.key()] = it->get<double>();
        }
      } else if (noiseOk(*n)) {
        d.synthetic.labelNoise = n->get<double>();
      } else {
        sr.fail("$.data.synthetic.label_noise", "must be a number in " + range.str() +
                                                    " or an object {domain: rate} (got " +
                                                    describeJson(*n) + ")");
      }
    }
    sr.finish();
  }
  if (const json* f = r.raw("files")) {
    if (!f->is_array()) r.fail("$.data.files", "must be an array of {path, domain?, split?}");
    for (size_t i = 0; i < f->size(); ++i) {
      const std::string path = "$.data.files[" + std::to_string(i) + "]";
      JsonObjectReader fr((*f)[i], path, top.file());
      DataFileConfig fc;
      fc.path = readKey(fr, configKey("data.files[].path")).get<std::string>();
      if (isMissing(fc.path, baseDir))
        fr.fail(path + ".path", "file not found: " + resolvePath(fc.path, baseDir));
      if (isDirectory(fc.path, baseDir))
        fr.fail(path + ".path",
                "is a directory, not a pairs file: " + resolvePath(fc.path, baseDir));
      fc.domain = readKey(fr, configKey("data.files[].domain")).get<std::string>();
      fc.split = readKey(fr, configKey("data.files[].split")).get<std::string>();
      fr.finish();
      d.files.push_back(fc);
    }
  }
  if (!d.synthetic.enabled && d.files.empty())
    r.fail("$.data", "needs synthetic data or at least one file in data.files");
  if (const json* s = r.raw("split")) {
    JsonObjectReader sr(*s, "$.data.split", top.file());
    readBoundKeys(sr, "data.split", c);
    sr.finish();
    const double sum = d.split.train + d.split.validation + d.split.test;
    if (std::abs(sum - 1.0) > 1e-6) {
      std::ostringstream os;
      os << "train + validation + test must be 1 (got " << sum << ")";
      sr.fail("$.data.split", os.str());
    }
  }
  readBoundKeys(r, "data", c);
  r.finish();
}

void parseMethods(JsonObjectReader& top, std::vector<MethodConfig>& methods,
                  const std::string& baseDir) {
  const json* v = top.raw("methods");
  if (!v)
    top.fail("$.methods", "missing (list the methods to run, e.g. [{\"method\": \"baseline\"}])");
  if (!v->is_array() || v->empty()) top.fail("$.methods", "must be a non-empty array");
  std::set<std::string> names;
  for (size_t i = 0; i < v->size(); ++i) {
    const std::string path = "$.methods[" + std::to_string(i) + "]";
    JsonObjectReader r((*v)[i], path, top.file());
    MethodConfig m;
    m.method = readKey(r, configKey("methods[].method")).get<std::string>();
    ConfigKey nameKey = configKey("methods[].name");
    nameKey.defaultValue = m.method;
    m.name = readKey(r, nameKey).get<std::string>();
    if (!names.insert(m.name).second)
      r.fail(path + ".name", "\"" + m.name + "\" is used twice; give each entry its own name");
    for (const auto& spec : methodOptionSpecs(m.method)) {
      if (!r.has(spec.key)) continue;
      switch (spec.kind) {
        case MethodOptionSpec::Kind::Integer:
          m.options[spec.key] = static_cast<double>(r.integer(
              spec.key, 0, static_cast<long long>(spec.lo), static_cast<long long>(spec.hi)));
          break;
        case MethodOptionSpec::Kind::Number:
          m.options[spec.key] = r.number(spec.key, 0, spec.lo, spec.hi);
          break;
        case MethodOptionSpec::Kind::Text:
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
  readBoundKeys(r, "", c);
  parseData(r, c, baseDir);

  if (const json* t = r.raw("tokenizer")) {
    JsonObjectReader tr(*t, "$.tokenizer", fileLabel);
    readBoundKeys(tr, "tokenizer", c);
    if (isMissing(c.tokenizer.model, baseDir))
      tr.fail("$.tokenizer.model", "file not found: " + resolvePath(c.tokenizer.model, baseDir));
    if (isDirectory(c.tokenizer.model, baseDir))
      tr.fail("$.tokenizer.model", "a directory, not a SentencePiece .model file: " +
                                       resolvePath(c.tokenizer.model, baseDir));
    tr.finish();
  }
  if (const json* e = r.raw("encoder")) {
    JsonObjectReader er(*e, "$.encoder", fileLabel);
    readBoundKeys(er, "encoder", c);
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
    readBoundKeys(lr, "lora", c);
    if (c.lora.targets.empty()) lr.fail("$.lora.targets", "must name at least one layer");
    lr.finish();
  }
  if (const json* p = r.raw("pretrain")) {
    JsonObjectReader pr(*p, "$.pretrain", fileLabel);
    readBoundKeys(pr, "pretrain", c);
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
    readBoundKeys(tr, "training", c);
    tr.finish();
    if (static_cast<long long>(c.training.seed) + c.training.seeds - 1 > INT_MAX)
      tr.fail("$.training.seed", "seed + seeds - 1 must be <= " + std::to_string(INT_MAX) +
                                     " (got " + std::to_string(c.training.seed) + " with " +
                                     std::to_string(c.training.seeds) + " seeds)");
  }
  if (const json* d = r.raw("distributed")) {
    JsonObjectReader dr(*d, "$.distributed", fileLabel);
    readBoundKeys(dr, "distributed", c);
    dr.finish();
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
  // A regular file only (a FIFO would block the read), of a size a config can have.
  const std::string text = readRegularFile(path, std::uint64_t{64} << 20, "experiment config");
  const std::string baseDir = fs::path(path).parent_path().empty()
                                  ? std::string(".")
                                  : fs::path(path).parent_path().string();
  json root = parseJsonText(text, path);
  for (const auto& o : overrides) applyOverride(root, o);
  // An error caused by an override names it, so nobody searches the file for it.
  return configFromJson(root, overrides.empty() ? path : path + " (with --set)", baseDir);
}

std::string experimentConfigToJson(const ExperimentConfig& c, int indent) {
  json j = json::object();
  for (const ConfigKey& k : configSchema()) {
    if (!k.get) continue;
    if (k.path.rfind("data.synthetic.", 0) == 0 && !c.data.synthetic.enabled) continue;
    const json v = k.get(c);
    if (!k.writeDefault && v == k.defaultValue) continue;
    std::string pointer = "/" + k.path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    j[json::json_pointer(pointer)] = v;
  }
  if (c.data.synthetic.enabled) {
    json& s = j["data"]["synthetic"];
    s["domains"] = c.data.synthetic.domains;
    if (c.data.synthetic.labelNoisePerDomain.empty())
      s["label_noise"] = c.data.synthetic.labelNoise;
    else
      s["label_noise"] = json(c.data.synthetic.labelNoisePerDomain);
  }
  if (!c.data.files.empty()) {
    json files = json::array();
    for (const auto& f : c.data.files) {
      json fj = {{"path", f.path}};
      if (!f.domain.empty()) fj["domain"] = f.domain;
      if (!f.split.empty()) fj["split"] = f.split;
      files.push_back(fj);
    }
    j["data"]["files"] = files;
  }
  json methods = json::array();
  for (const auto& m : c.methods) {
    json mj = {{"method", m.method}};
    if (m.name != m.method) mj["name"] = m.name;
    for (const auto& spec : methodOptionSpecs(m.method)) {
      if (spec.kind == MethodOptionSpec::Kind::Text) {
        mj[spec.key] = methodTextOption(m, spec.key);
      } else if (spec.kind == MethodOptionSpec::Kind::Integer) {
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
