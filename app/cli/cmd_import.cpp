#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>

#include "args.h"
#include "commands.h"
#include "data/importer.h"

namespace rr::cli {
namespace {

// Options that only one format reads: given with another format they would be silently ignored.
const std::pair<const char*, const char*> kFormatOptions[] = {{"lang", "oasst"},
                                                              {"min-score-ratio", "shp"},
                                                              {"max-pairs-per-post", "shp"},
                                                              {"field", "jsonl"}};

// "prompt=q,chosen=a,rejected=b" (the option may also be repeated).
std::map<std::string, std::string> parseFieldMap(const std::vector<std::string>& values) {
  std::map<std::string, std::string> map;
  for (const auto& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      const size_t comma = std::min(value.find(',', start), value.size());
      const std::string item = value.substr(start, comma - start);
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        throw core::InputError("import: --field expects NAME=FIELD[,NAME=FIELD...] (got '" + item +
                               "')");
      map[item.substr(0, eq)] = item.substr(eq + 1);
      start = comma + 1;
    }
  }
  return map;
}

}  // namespace

int cmdImport(const Argv& argv) {
  std::string formats;
  for (const auto& f : core::importFormatNames()) formats += (formats.empty() ? "" : ", ") + f;
  Args args("import", "--format F [options] INPUT... -o OUT.jsonl",
            "Converts published preference datasets (plain or .gz files) into one canonical pairs\n"
            "file (docs/DATA.md). The first malformed record stops the import with FILE:LINE and\n"
            "nothing is written, unless --skip-bad. No pairs is an error unless --allow-empty,\n"
            "and never replaces an existing file. A summary goes to stderr.\n"
            "formats: " +
                formats,
            {{"format", "F", "input format (see above)"},
             {"output", "FILE", "pairs file to write", false, 'o'},
             {"domain", "NAME", "domain of every pair (default: the format's or the data's)"},
             {"skip-bad", "", "skip malformed records and count them instead of stopping"},
             {"allow-empty", "", "with no pairs, write an empty OUT (when it does not exist)"},
             {"lang", "CODE", "oasst: language of the replies to use (default en)"},
             {"min-score-ratio", "X", "shp: drop pairs whose score_ratio is below X"},
             {"max-pairs-per-post", "N", "shp: keep the first N pairs of each post"},
             {"field", "MAP", "jsonl: prompt=NAME,chosen=NAME,rejected=NAME[,domain=NAME]", true}});
  if (args.parseOrPrintHelp(argv)) return 0;
  if (!args.has("format")) throw core::InputError("import: --format F is required (see --help)");
  if (!args.has("output")) throw core::InputError("import: -o OUT.jsonl is required");
  if (args.positional().empty()) throw core::InputError("import: no input files given");
  const std::string output = args.value("output");

  core::ImportOptions o;
  o.format = args.value("format");
  for (const auto& [option, format] : kFormatOptions)
    if (args.has(option) && o.format != format)
      throw core::InputError("import: --" + std::string(option) + " applies to --format " + format +
                             " only");
  o.domainOverride = args.value("domain");
  if (args.has("domain") && o.domainOverride.empty())
    throw core::InputError("import: --domain must not be empty");
  o.skipBad = args.has("skip-bad");
  o.lang = args.value("lang", "en");
  if (args.has("min-score-ratio")) {
    o.minScoreRatio = args.number("min-score-ratio", 0);
    // NaN compares false with every ratio and would switch the filter off.
    if (!std::isfinite(*o.minScoreRatio))
      throw core::InputError("import: --min-score-ratio must be a finite number (got '" +
                             args.value("min-score-ratio") + "')");
  }
  if (args.has("max-pairs-per-post"))
    o.maxPairsPerPost = args.integer("max-pairs-per-post", 0, 1, 1000000000);
  o.fieldMap = parseFieldMap(args.values("field"));

  core::ImportSummary summary;
  size_t written = 0;
  try {
    written = core::importToFile(args.positional(), o, output, args.has("allow-empty"), summary);
  } catch (const core::EmptyImportError& e) {
    std::cerr << core::summaryText(summary);
    throw core::InputError("import: " + std::string(e.what()) +
                           (e.outputExists() ? "" : " (--allow-empty writes an empty file)"));
  }
  std::cerr << core::summaryText(summary) << "wrote " << written << " pairs to " << output << "\n";
  return 0;
}

}  // namespace rr::cli
