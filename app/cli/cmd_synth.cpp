#include <algorithm>
#include <iostream>
#include <map>

#include "args.h"
#include "commands.h"
#include "data/dataset.h"
#include "data/pairsio.h"
#include "data/synthetic.h"

namespace rr::cli {

int cmdSynth(const Argv& argv) {
  Args args(
      "synth", "-o OUT.jsonl [options]",
      "Writes the synthetic multi-domain benchmark (docs/DATA.md) as a canonical pairs file.\n"
      "The same options give the same bytes.",
      {{"output", "FILE", "pairs file to write", false, 'o'},
       {"pairs-per-domain", "N", "pairs per domain (default 400)"},
       {"domain", "NAME", "only this domain (repeatable; default all)", true},
       {"noise", "RATE", "label noise for every domain, 0..0.5 (default 0)"},
       {"house-style", "SHARE",
        "share of pairs decided by the domain's house style, 0..1 (default 0)"},
       {"seed", "N", "generator seed (default 7)"},
       {"with-splits", "", "write each pair's split (80/10/10 by prompt hash)"}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.has("output")) throw core::InputError("synth: -o OUT.jsonl is required");
  core::SyntheticOptions o;
  o.pairsPerDomain = static_cast<int>(args.integer("pairs-per-domain", 400, 1, 10000000));
  o.domains = args.values("domain");
  const auto known = core::syntheticDomainNames();
  for (const auto& d : o.domains)
    if (std::find(known.begin(), known.end(), d) == known.end())
      throw core::InputError("synth: unknown domain '" + d + "'");
  o.labelNoise = args.number("noise", 0.0);
  if (o.labelNoise < 0 || o.labelNoise > 0.5)
    throw core::InputError("synth: --noise must be in [0, 0.5]");
  o.houseStyle = args.number("house-style", 0.0);
  if (o.houseStyle < 0 || o.houseStyle > 1)
    throw core::InputError("synth: --house-style must be in [0, 1]");
  o.seed = static_cast<std::uint64_t>(args.integer("seed", 7, 0, 2147483647));
  auto pairs = core::generateSynthetic(o);
  if (args.has("with-splits")) core::assignSplits(pairs, core::SplitConfig{});
  core::writePairsFile(args.value("output"), pairs);
  std::map<std::string, int> perDomain;
  for (const auto& p : pairs) perDomain[p.domain]++;
  std::cerr << "wrote " << pairs.size() << " pairs to " << args.value("output") << ":";
  for (const auto& [d, n] : perDomain) std::cerr << " " << d << " " << n;
  std::cerr << "\n";
  return 0;
}

}  // namespace rr::cli
