#pragma once
// The experiment config's one schema: every key with its type, default, range, allowed values and
// help. The parser and the serializer (config.cpp), the workbench's Configure form, `rewardrouter-
// cli config --keys` and the key tables of docs/CONFIG.md are all built from it, so a range or a
// default is written once. Method options are in the same file (methodOptionSpecs, config.h).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace rr::core {

struct ConfigKey {
  enum class Type {
    Integer,
    Number,
    Bool,
    Text,
    Choice,     // one of `allowed`
    Path,       // a file, relative to the config file's folder
    ModelPath,  // a saved encoder file or a Hugging Face model folder
    List,       // array of strings; items from `allowed` when it is not empty
    Object,
    Array,
  };
  std::string path;  // dotted, without "$.": "training.lr"; array items: "data.files[].path"
  Type type = Type::Text;
  nlohmann::json defaultValue;  // what an absent key means; null for objects and required keys
  double lo = 0, hi = 0;        // Integer and Number range
  bool exclusiveLo = false;     // Number: must be > lo
  std::vector<std::string> allowed;
  bool required = false;
  std::string pattern, patternText;  // Text: a regex the whole value must match, and its words
  bool writeDefault = true;          // the serializer writes the key when it holds the default too
  std::string label;                 // the Configure form's label; empty: no field of its own
  std::string help;                  // one sentence: the form's tooltip, `config --keys`, the docs
  std::string details;               // more for the docs' table
  std::string typeText;     // the docs' "type, range" when the generated one does not say it all
  std::string defaultText;  // the docs' default when the JSON value does not say it
  std::string zeroText;     // Integer: what 0 means ("preset", "no limit")
  // For a key held by one member of ExperimentConfig: the parser reads and the serializer writes
  // it generically. Keys without them (lists with rules of their own, arrays of objects) are
  // read and written by hand in config.cpp, with the range and allowed values from here.
  std::function<nlohmann::json(const ExperimentConfig&)> get;
  std::function<void(ExperimentConfig&, const nlohmann::json&)> set;
};

// Every key, in the order of the docs and the form.
const std::vector<ConfigKey>& configSchema();
// The key at `path` ("training.lr"); throws std::logic_error for an unknown one.
const ConfigKey& configKey(const std::string& path);
// "int 100..1000000", "number in (0, 10]", "cls, mean", ... (the docs' type column).
std::string configKeyTypeText(const ConfigKey& k);
// The default as the docs show it: "2000", "unigram", "\"\"", "required".
std::string configKeyDefaultText(const ConfigKey& k);
std::string methodOptionTypeText(const MethodOptionSpec& s);
std::string methodOptionDefaultText(const MethodOptionSpec& s);

// The two tables of docs/CONFIG.md, as Markdown (a test keeps the docs equal to them).
std::string configKeysMarkdown();
std::string methodOptionsMarkdown();
// The schema as JSON: {"keys": [{"key", "type", "default", "min", "max", ...}], "methods": {...}}.
nlohmann::json configSchemaJson();

}  // namespace rr::core
