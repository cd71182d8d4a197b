#pragma once
// The experiment config (docs/CONFIG.md): a JSON file parsed into value types and validated
// completely before any work starts. Every error names the file and the JSON path.
#include <map>
#include <string>
#include <vector>

namespace rr::core {

struct SyntheticDataConfig {
  bool enabled = false;
  int pairsPerDomain = 400;
  std::vector<std::string> domains;  // empty = all benchmark domains
  double labelNoise = 0.0;           // fraction of pairs whose label is flipped, every domain
  std::map<std::string, double> labelNoisePerDomain;  // overrides labelNoise per domain
  double houseStyle = 0.0;  // share of pairs decided by the domain's house style (docs/DATA.md)
  int seed = 7;
};

struct DataFileConfig {
  std::string path;    // resolved against the config file's directory
  std::string domain;  // overrides the file's domain field when set
  std::string split;   // "" = split by prompt hash; or train | validation | test
};

struct SplitConfig {
  double train = 0.8;
  double validation = 0.1;
  double test = 0.1;
  // How a prompt's hash picks its split (data/dataset.h): "mix64", or "fnv1a", the method of runs
  // made before it, under which prompts differing only at the end mostly shared a split.
  std::string method = "mix64";
};

struct DataConfig {
  SyntheticDataConfig synthetic;
  std::vector<DataFileConfig> files;
  SplitConfig split;
  int maxPairsPerDomain = 0;  // 0 = no limit
};

struct TokenizerConfig {
  int vocabSize = 2000;
  std::string model;  // existing .model file; empty = train on the experiment's training text
  std::string type = "unigram";
};

struct EncoderConfig {
  std::string preset = "tiny";
  int hidden = 0;  // 0 = the preset's value
  int layers = 0;
  int heads = 0;
  int ffn = 0;
  int maxLen = 96;
  double dropout = 0.1;
  std::string pretrained;  // a saved encoder to start from
  // How a reward or router head reads the encoder: "cls" (the first token's final state, as
  // DeBERTa's pooler and the papers do) or "mean" (the average of the tokens' final states).
  std::string pooling = "cls";
};

struct LoraConfig {
  int rank = 12;
  double alpha = 768;
  double dropout = 0.1;
  std::vector<std::string> targets = {"query", "key", "value", "dense"};
};

// Masked-language-model pre-training of the shared encoder on the experiment's text (every method
// of an experiment starts from the same weights; ARLISS and DMoERM freeze them).
struct PretrainConfig {
  bool enabled = true;
  int steps = 300;
  double lr = 1e-3;
  int batchSize = 32;
  double maskProb = 0.15;
  int seed = 1;
  std::vector<std::string> texts;  // extra plain-text files, one document a line
};

struct TrainingConfig {
  double lr = 5e-4;
  int batchSize = 16;
  int epochs = 1;
  int maxSteps = 0;   // 0 = no limit beyond epochs
  int evalEvery = 0;  // steps between validation passes; 0 = at the end only
  // Steps between resumable checkpoints of the component in training (0 = only at each
  // component's end); `run --resume` continues from the last one.
  int checkpointEvery = 200;
  double weightDecay = 0.01;
  int warmupSteps = 0;
  double gradClip = 1.0;
  int seed = 1;
  int seeds = 1;  // seeds run: seed, seed+1, ...
  // Batches of examples of about one length (LoopOptions::lengthGroups): fewer padded tokens.
  bool groupByLength = true;
  std::string device = "cpu";
  // Pairwise loss -log sigmoid(r_c - r_r - marginScale * m) with m the pair's margin from the
  // data; 0 = the plain Bradley-Terry loss of runs made before the key existed.
  double marginScale = 0;
  // Weight of the reward-centering term centerRewards * (r_c + r_r)^2, averaged over the batch.
  double centerRewards = 0;
};

// How a run over several processes shares the work (docs/DISTRIBUTED.md).
struct DistributedConfig {
  std::string mode = "auto";  // auto | data | components
};

// One method to run. `options` holds the method's own keys (validated by the method's schema).
struct MethodConfig {
  std::string method;  // baseline | base-lora | more | rodos | arliss | dmoerm
  std::string name;    // display name, unique in the experiment; defaults to `method`
  std::map<std::string, double> options;
  std::map<std::string, std::string> textOptions;
};

struct ExperimentConfig {
  std::string name;
  std::string description;
  std::string sourcePath;     // the file it was read from ("" when built in code)
  std::string baseDir = ".";  // relative paths in the config are relative to this directory
  DataConfig data;
  TokenizerConfig tokenizer;
  EncoderConfig encoder;
  LoraConfig lora;
  PretrainConfig pretrain;
  TrainingConfig training;
  DistributedConfig distributed;
  std::vector<MethodConfig> methods;
};

// `p` relative to `baseDir` (absolute and empty paths unchanged).
std::string resolvePath(const std::string& p, const std::string& baseDir);
// A path from the config, resolved against the config file's directory.
std::string resolveConfigPath(const ExperimentConfig& c, const std::string& p);

// Resolved encoder shape after applying a preset and the overrides.
struct EncoderShape {
  int hidden = 0, layers = 0, heads = 0, ffn = 0;
};
EncoderShape resolveEncoderShape(const EncoderConfig& c);
std::vector<std::string> encoderPresetNames();
std::vector<std::string> methodNames();

// Throws InputError "FILE: $.path: message" on the first problem. `overrides` are KEY=VALUE
// assignments (`encoder.pooling=mean`, `pretrain.steps=300`) applied to the file's JSON before
// it is validated; VALUE is JSON, or a string when it is not.
ExperimentConfig loadExperimentConfig(const std::string& path,
                                      const std::vector<std::string>& overrides = {});
// baseDir: where relative paths point; "" to skip checking that files exist (a config stored
// with a run, read back on a machine that may not have its data files).
ExperimentConfig parseExperimentConfig(const std::string& jsonText, const std::string& fileLabel,
                                       const std::string& baseDir = ".");
// A config stored with a run (a saved model's manifest): keys added since it was written take the
// value that reproduces what that run did (data.split.method absent = "fnv1a").
ExperimentConfig parseStoredExperimentConfig(const std::string& jsonText,
                                             const std::string& fileLabel);
// Full canonical JSON (every key, defaults included); parse(toJson(c)) == c.
std::string experimentConfigToJson(const ExperimentConfig& c, int indent = 2);

}  // namespace rr::core

namespace rr::core {

// A method's own option: the GUI builds its form from these, the parser validates with them.
struct MethodOptionSpec {
  std::string key;
  enum class Kind { Integer, Number, Text } kind = Kind::Number;
  double defaultValue = 0;
  double lo = 0, hi = 0;
  std::string defaultText;
  std::vector<std::string> allowedText;
  std::string help;
};
const std::vector<MethodOptionSpec>& methodOptionSpecs(const std::string& method);

// A method option's value with the schema default applied.
double methodOption(const MethodConfig& m, const std::string& key);
std::string methodTextOption(const MethodConfig& m, const std::string& key);

}  // namespace rr::core
