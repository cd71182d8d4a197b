#include "data/dataset.h"

#include <map>
#include <set>

#include "common/hash.h"
#include "data/pairsio.h"
#include "data/synthetic.h"

namespace rr::core {

std::string splitForPrompt(const std::string& prompt, const SplitConfig& ratios) {
  const double u = static_cast<double>(StableHash().add("split").add(prompt).value() >> 11) *
                   (1.0 / 9007199254740992.0);
  if (u < ratios.train) return "train";
  if (u < ratios.train + ratios.validation) return "validation";
  return "test";
}

void assignSplits(std::vector<PreferencePair>& pairs, const SplitConfig& ratios) {
  for (auto& p : pairs)
    if (p.split.empty()) p.split = splitForPrompt(p.prompt, ratios);
}

std::vector<PreferencePair> loadExperimentPairs(const ExperimentConfig& config) {
  std::vector<PreferencePair> all;
  const auto& syn = config.data.synthetic;
  if (syn.enabled) {
    SyntheticOptions o;
    o.pairsPerDomain = syn.pairsPerDomain;
    o.domains = syn.domains;
    o.labelNoise = syn.labelNoise;
    o.labelNoisePerDomain = syn.labelNoisePerDomain;
    o.houseStyle = syn.houseStyle;
    o.seed = static_cast<std::uint64_t>(syn.seed);
    all = generateSynthetic(o);
  }
  for (const auto& f : config.data.files) {
    auto pairs = readPairsFile(resolveConfigPath(config, f.path));
    for (auto& p : pairs) {
      if (!f.domain.empty()) {
        p.domain = f.domain;
        p.id = makePairId(p.domain, p.prompt, p.chosen, p.rejected);
      }
      if (!f.split.empty()) p.split = f.split;
      all.push_back(std::move(p));
    }
  }
  std::set<std::string> seen;
  std::map<std::string, int> perDomain;
  std::vector<PreferencePair> out;
  out.reserve(all.size());
  for (auto& p : all) {
    if (!seen.insert(p.id).second) continue;
    if (config.data.maxPairsPerDomain > 0 && ++perDomain[p.domain] > config.data.maxPairsPerDomain)
      continue;
    out.push_back(std::move(p));
  }
  assignSplits(out, config.data.split);
  return out;
}

}  // namespace rr::core
