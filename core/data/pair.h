#pragma once
// The preference pair: the unit of data every method trains and is evaluated on.
#include <map>
#include <string>
#include <vector>

#include "data/chattemplate.h"

namespace rr::core {

// Where a pair came from, so any row can be traced back to its input record.
struct PairSource {
  std::string format;  // "synthetic", "hh-rlhf", "shp", ... or "pairs"
  std::string file;    // input file as given by the user; empty for generated data
  long line = 0;       // 1-based line (or record) number in that file; 0 if not applicable
};

struct PreferencePair {
  std::string id;  // stable hash of domain+prompt+chosen+rejected(+group) (see makePairId)
  std::string domain;
  std::string prompt;
  std::string chosen;
  std::string rejected;
  // Capability name -> +1 chosen better, -1 rejected better, 0 tie/unknown.
  std::map<std::string, int> capabilities;
  std::string capabilitySource;  // who labelled the capabilities: "synthetic", "dataset", ...
  std::string split;             // "train", "validation", "test" or empty (assign by hash)
  // How strongly chosen beats rejected, from the dataset's own scores (docs/DATA.md "Margins"):
  // 0 when the format has none. Scaled by training.margin_scale in the loss.
  double margin = 0;
  // Benchmark bookkeeping (import --format rewardbench): the RewardBench section of the pair's
  // subset (not part of the id), and the best-of-N group (the RewardBench 2 row) it belongs to,
  // part of the id when set: RewardBench 2's Ties rows ref:N and tied:N share completions, and
  // each group must keep all of its pairs.
  std::string section, group;
  PairSource source;
  // A conversation to score instead of prompt + chosen (`score` lines with "messages"; never
  // stored): the last message is the response, the others its context.
  std::vector<ChatMessage> conversation;
};

// Without a group, the hash of the four texts (ids of files written before groups existed stay).
std::string makePairId(const std::string& domain, const std::string& prompt,
                       const std::string& chosen, const std::string& rejected,
                       const std::string& group = "");

// The one rule for the texts of a pair (docs/DATA.md, "Text"): no NUL character, raw or written
// \u0000 in JSON. C strings and SQLite's text functions end at one, so a text would be tokenized
// or stored cut there. The name of the first of domain, prompt, chosen and rejected that has
// one, or nullptr.
const char* fieldWithNul(const PreferencePair& pair);

// Sorted list of the distinct domains in `pairs`.
std::vector<std::string> domainsOf(const std::vector<PreferencePair>& pairs);

}  // namespace rr::core
