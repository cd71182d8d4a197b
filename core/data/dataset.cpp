#include "data/dataset.h"

#include <map>
#include <set>

#include "common/errors.h"
#include "common/hash.h"
#include "data/pairsio.h"
#include "data/synthetic.h"

namespace rr::core {

namespace {

// The finalizer of MurmurHash3 (fmix64): every input bit flips each output bit with probability
// about 1/2. FNV-1a alone is not enough for a split: a change in a prompt's last bytes moves
// mostly low bits, and the split reads the high ones. Written here for the reason common/hash.h
// gives: the splits of stored runs depend on these exact bits, forever.
std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

}  // namespace

std::string splitForPrompt(const std::string& prompt, const SplitConfig& ratios) {
  std::uint64_t h = StableHash().add("split").add(prompt).value();
  if (ratios.method != "fnv1a") h = fmix64(h);
  const double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
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

void requireTestPairs(const std::vector<PreferencePair>& pairs, const std::string& where) {
  std::map<std::string, std::map<std::string, long>> perDomain;  // domain -> split -> pairs
  for (const auto& p : pairs) perDomain[p.domain][p.split]++;
  for (const auto& [domain, splits] : perDomain) {
    if (splits.count("test")) continue;
    std::string counts;
    for (const auto& [split, n] : splits)
      counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + split;
    throw InputError(
        where + ": domain '" + domain + "' has no test pairs (" + counts +
        "), so its accuracy cannot be measured; give the domain more pairs or put some "
        "in the test split");
  }
}

}  // namespace rr::core
