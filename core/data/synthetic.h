#pragma once
// The synthetic multi-domain preference benchmark (docs/DATA.md). Five domains mirror the
// paper's datasets; each has its own prompt vocabulary and preference rule, and two of them
// conflict on the same surface cue (longer wins in `summary`, shorter wins in `ranked`).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/pair.h"

namespace rr::core {

// harmless, summary, completion, instruct, ranked (in generation order).
std::vector<std::string> syntheticDomainNames();
// The capability dimensions every synthetic pair is labelled with ("style" only when
// SyntheticOptions::houseStyle > 0).
std::vector<std::string> syntheticCapabilityNames();

struct SyntheticOptions {
  int pairsPerDomain = 400;
  std::vector<std::string> domains;  // empty = all
  double labelNoise = 0.0;
  std::map<std::string, double> labelNoisePerDomain;
  // Share of each domain's pairs decided by the domain's house style (docs/DATA.md): the same
  // content under an opener the domain's readers like vs one they dislike. 0 = none (the
  // benchmark as first published); every domain likes a different half of the same openers.
  double houseStyle = 0.0;
  std::uint64_t seed = 7;
};

// The openers a house-style pair differs in, and whether `domain`'s readers like each one
// (an empty vector for a domain without a house style).
std::vector<std::string> houseStyleOpeners();
std::vector<bool> houseStyleLikes(const std::string& domain);

// Deterministic: the same options give the same pairs, byte for byte, on every platform.
std::vector<PreferencePair> generateSynthetic(const SyntheticOptions& options);

}  // namespace rr::core
