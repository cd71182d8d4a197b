#pragma once
// Scoring new text with a trained run: what `rewardrouter-cli score` and the workbench's
// "score this" box use. No LibTorch types here.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/chattemplate.h"

namespace rr::core {

struct ScoreInput {
  std::string prompt, response;
  // A conversation instead (not empty): the last message, the assistant's, is the one scored.
  // A decoder reward model reads it through its chat template; an encoder reads the earlier
  // messages' contents joined by blank lines as the prompt and the last as the response.
  std::vector<ChatMessage> messages;
};

// {"messages": [...]} of a `score` line: a non-empty list of {"role": string, "content":
// string}, the last one the assistant's. InputError "WHERE[i].field: what".
std::vector<ChatMessage> readMessages(const nlohmann::json& v, const std::string& where);

struct ScoreOutput {
  double reward = 0;
  std::string route;                     // the domain a router picked; "" for single models
  std::map<std::string, double> detail;  // per-expert / per-capability contributions
  // Set by RunScorer::normalize: the reward before, and the domain whose training reward scale
  // was used ("*" for the system-wide one); "" when not normalised.
  double rawReward = 0;
  std::string normalizedBy;
};

class RunScorer {
 public:
  // Loads the system a finished run saved (see modelDirFor), or a model directory directly: a
  // saved system, or a Hugging Face reward-model folder (config.json, weights, tokenizer).
  // maxLen > 0 cuts inputs to at most that many tokens (never beyond the model's own limit).
  static std::unique_ptr<RunScorer> openRun(const std::string& dbPath, std::int64_t runId,
                                            int maxLen = 0);
  static std::unique_ptr<RunScorer> openDirectory(const std::string& modelDir, int maxLen = 0);
  ~RunScorer();

  std::string method() const;
  std::vector<std::string> domains() const;
  // Scores in the inputs' order; the prompt is routed once per input. The inputs are run in order
  // of length, in chunks the system chooses (methods/common_p.h, scoreChunked): the more given
  // at once, the less padding.
  std::vector<ScoreOutput> score(const std::vector<ScoreInput>& inputs);

  // Whether the system was saved with its reward scale on the training pairs (systems saved
  // before it was, and Hugging Face reward models, were not).
  bool hasNormalization() const;
  // Throws InputError naming the model folder unless hasNormalization().
  void requireNormalization() const;
  // Replaces each reward by (reward - mean_d) / std_d (docs/EVALUATION.md), d the domain the
  // system routed the input to, else domains[i] when given and not "", else the system-wide
  // figures (also for a domain without training rewards). InputError when domains[i] names a
  // domain the system does not have, or the system has no scale.
  void normalize(std::vector<ScoreOutput>& scores,
                 const std::vector<std::string>& domains = {}) const;

 private:
  struct Impl;
  explicit RunScorer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace rr::core
