#pragma once
// Importers for the published preference datasets (docs/DATA.md): each reads its native files,
// plain or gzip-compressed, and turns them into canonical preference pairs.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/errors.h"
#include "data/pair.h"

namespace rr::core {

struct ImportOptions {
  std::string format;                   // one of importFormatNames()
  std::string domainOverride;           // non-empty: every pair gets this domain
  bool skipBad = false;                 // skip and count malformed records instead of stopping
  std::string lang = "en";              // oasst: language of the replies that give pairs
  std::optional<double> minScoreRatio;  // shp: drop pairs whose score_ratio is below this
  std::optional<long> maxPairsPerPost;  // shp: keep the first N pairs of each post_id
  // jsonl: canonical field (prompt, chosen, rejected, domain) -> field name in the input.
  // Unmapped prompt/chosen/rejected keep their own names; an unmapped domain is not read.
  std::map<std::string, std::string> fieldMap;
};

// What an import did, so that no record is lost without a count and a reason.
struct ImportSummary {
  long files = 0;
  long records = 0;  // non-blank input lines
  std::map<std::string, long> pairsPerDomain;
  // Malformed records skipped with skipBad, by what was wrong with them.
  std::map<std::string, long> malformed;
  // Well-formed rows or candidate pairs that the format's rules leave out (a HellaSwag row
  // without a label, a tie, a reply without rank, an option's filter), by rule.
  std::map<std::string, long> notUsed;
  long duplicates = 0;  // pairs whose id an earlier pair already had

  long pairs() const;
};

std::vector<std::string> importFormatNames();

// Reads `inputs` in order. Throws InputError "FILE:LINE: what is wrong" on the first malformed
// record unless options.skipBad, and InputError for bad options or unreadable files.
// Pairs with an id seen before are dropped; the first one is kept.
std::vector<PreferencePair> importFiles(const std::vector<std::string>& inputs,
                                        const ImportOptions& options, ImportSummary& summary);

// An import that read everything and yielded no pairs (see importToFile).
class EmptyImportError : public InputError {
 public:
  EmptyImportError(const std::string& what, bool outputExists)
      : InputError(what), m_outputExists(outputExists) {}
  bool outputExists() const { return m_outputExists; }

 private:
  bool m_outputExists;
};

// importFiles, then writes the pairs to `output` atomically, with the guarantees users of
// `import` rely on: an `output` that is one of the inputs, under any name (another path, a
// link), is refused before anything is read (InputError); an import that yields no pairs throws
// EmptyImportError and leaves `output` as it was, unless `allowEmpty` and no file is there, when
// an empty file is written. `summary` is complete whenever EmptyImportError is thrown.
std::vector<PreferencePair>::size_type importToFile(const std::vector<std::string>& inputs,
                                                    const ImportOptions& options,
                                                    const std::string& output, bool allowEmpty,
                                                    ImportSummary& summary);

// Multi-line human-readable report of `summary` (the CLI prints it to stderr).
std::string summaryText(const ImportSummary& summary);

}  // namespace rr::core
