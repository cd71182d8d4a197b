// The import driver: picks a format reader, feeds it every line of every input, and keeps the
// pairs of the records that read cleanly.
#include <filesystem>
#include <sstream>

#include "common/errors.h"
#include "data/formats/importer_p.h"
#include "data/jsonline.h"
#include "data/pairsio.h"
#include "data/parquet/parquet.h"

namespace rr::core {
namespace formats {

struct FormatEntry {
  const char* name;
  std::unique_ptr<FormatReader> (*make)(const ImportOptions&);
};

const FormatEntry kFormats[] = {
    {"hh-rlhf", makeHhRlhf},
    {"shp", makeShp},
    {"hellaswag", makeHellaswag},
    {"dahoas", makeDahoas},
    {"oasst", makeOasst},
    {"ultrafeedback", makeUltrafeedback},
    {"ultrafeedback-binarized", makeUltrafeedbackBinarized},
    {"helpsteer", makeHelpsteer},
    {"rewardbench", makeRewardBench},
    {"pairs", makePairs},
    {"jsonl", makeJsonl},
};

namespace {

class RowReader : public FormatReader {
 public:
  explicit RowReader(RowFunction fn) : m_fn(std::move(fn)) {}
  void record(const json& row, const std::string& text, long line, ImportContext& ctx) override {
    m_fn(row, text, line, ctx);
  }

 private:
  RowFunction m_fn;
};

const json& typedField(const json& obj, const std::string& key, const std::string& prefix,
                       bool (json::*is)() const noexcept, const char* what) {
  const json& v = field(obj, key, prefix);
  if (!(v.*is)()) throw BadRecord("field '" + prefix + key + "' must be " + what);
  return v;
}

// The pair's text fields and names, checked where every format's pairs pass: a pair that cannot
// be written and read back as it was read (invalid UTF-8, a NUL character) is refused rather than
// altered.
void requireUtf8Pair(const PreferencePair& p) {
  if (const char* field = fieldWithNul(p))
    throw BadRecord(std::string("the pair's ") + field + " contains a NUL character (\\u0000)");
  const std::pair<const char*, const std::string*> fields[] = {{"domain", &p.domain},
                                                               {"prompt", &p.prompt},
                                                               {"chosen", &p.chosen},
                                                               {"rejected", &p.rejected}};
  for (const auto& [name, text] : fields) {
    const size_t at = invalidUtf8At(*text);
    if (at != std::string::npos)
      throw BadRecord(std::string("the pair's ") + name + " is not valid UTF-8",
                      "byte " + std::to_string(at));
  }
  for (const auto& [capability, label] : p.capabilities)
    if (invalidUtf8At(capability) != std::string::npos)
      throw BadRecord("a capability name is not valid UTF-8");
}

}  // namespace

// A Parquet row's JSON text, for the formats that read a record's raw text (pairs). Text that is
// not UTF-8 is refused here, as a JSON line with it is refused by the parser.
std::string rowText(const json& row) {
  try {
    return row.dump();
  } catch (const json::type_error& e) {
    throw BadRecord("a string is not valid UTF-8", withoutJsonExceptionId(e.what()));
  }
}

std::unique_ptr<FormatReader> rowFormat(RowFunction fn) {
  return std::make_unique<RowReader>(std::move(fn));
}

const json& field(const json& obj, const std::string& key, const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end()) throw BadRecord("missing field '" + prefix + key + "'");
  return *it;
}

const json* optionalField(const json& obj, const std::string& key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string stringField(const json& obj, const std::string& key, const std::string& prefix) {
  return typedField(obj, key, prefix, &json::is_string, "a string").get<std::string>();
}

long integerField(const json& obj, const std::string& key, const std::string& prefix) {
  const json& v = typedField(obj, key, prefix, &json::is_number_integer, "an integer");
  long out = 0;
  if (!asLong(v, out))
    throw BadRecord("field '" + prefix + key + "' is out of range", "got " + quoteJson(v));
  return out;
}

double numberField(const json& obj, const std::string& key, const std::string& prefix) {
  return typedField(obj, key, prefix, &json::is_number, "a number").get<double>();
}

const json& arrayField(const json& obj, const std::string& key, const std::string& prefix) {
  return typedField(obj, key, prefix, &json::is_array, "an array");
}

PreferencePair makePair(std::string domain, std::string prompt, std::string chosen,
                        std::string rejected) {
  PreferencePair p;
  p.domain = std::move(domain);
  p.prompt = std::move(prompt);
  p.chosen = std::move(chosen);
  p.rejected = std::move(rejected);
  return p;
}

void ImportContext::guard(long line, const std::function<void()>& work) {
  m_line = line;
  m_guarded = true;
  m_pending.clear();
  std::string reason, message;
  try {
    work();
  } catch (const BadRecord& e) {
    reason = e.reason();
    message = e.what();
  } catch (const json::exception& e) {
    reason = "unexpected JSON value";
    message = reason + " (" + withoutJsonExceptionId(e.what()) + ")";
  }
  m_guarded = false;
  if (!reason.empty()) {
    m_pending.clear();
    if (!m_options.skipBad)
      throw InputError(m_file + (m_rowNumbers ? ": row " : ":") + std::to_string(line) + ": " +
                       message);
    m_summary.malformed[reason]++;
    return;
  }
  for (auto& p : m_pending) commit(p);
  m_pending.clear();
}

void ImportContext::emit(PreferencePair pair, long line) {
  pair.source = {m_options.format, m_file, line > 0 ? line : m_line};
  if (m_guarded) {
    requireUtf8Pair(pair);
    m_pending.push_back(std::move(pair));
    return;
  }
  // Pairs emitted after the last line (formats that group rows) are checked as their own record.
  guard(pair.source.line, [&] {
    requireUtf8Pair(pair);
    m_pending.push_back(std::move(pair));
  });
}

void ImportContext::commit(PreferencePair& pair) {
  if (!m_options.domainOverride.empty()) pair.domain = m_options.domainOverride;
  if (pair.chosen == pair.rejected) {
    notUsed("chosen and rejected are identical");
    return;
  }
  pair.id = makePairId(pair.domain, pair.prompt, pair.chosen, pair.rejected, pair.group);
  if (!m_seenIds.insert(pair.id).second) {
    m_summary.duplicates++;
    return;
  }
  m_summary.pairsPerDomain[pair.domain]++;
  m_out.push_back(std::move(pair));
}

}  // namespace formats

using formats::json;

long ImportSummary::pairs() const {
  long n = 0;
  for (const auto& [domain, count] : pairsPerDomain) n += count;
  return n;
}

std::vector<std::string> importFormatNames() {
  std::vector<std::string> names;
  for (const auto& f : formats::kFormats) names.push_back(f.name);
  return names;
}

std::vector<PreferencePair> importFiles(const std::vector<std::string>& inputs,
                                        const ImportOptions& options, ImportSummary& summary) {
  const formats::FormatEntry* format = nullptr;
  std::string known;
  for (const auto& f : formats::kFormats) {
    if (options.format == f.name) format = &f;
    known += std::string(known.empty() ? "" : ", ") + f.name;
  }
  if (!format)
    throw InputError("unknown import format '" + options.format + "' (known: " + known + ")");
  for (const auto& [canonical, input] : options.fieldMap) {
    if (canonical != "prompt" && canonical != "chosen" && canonical != "rejected" &&
        canonical != "domain")
      throw InputError("field map: '" + canonical +
                       "' is not a canonical field (prompt, chosen, rejected, domain)");
    if (input.empty()) throw InputError("field map: '" + canonical + "' maps to an empty name");
  }
  if (inputs.empty()) throw InputError("no input files");
  requireUtf8(options.domainOverride, "--domain");
  for (const auto& path : inputs)
    // The file name goes into every pair's source.file; a name that cannot be written as read
    // would be altered there.
    requireUtf8(path, path + ": the file name");

  std::vector<PreferencePair> out;
  formats::ImportContext ctx(options, summary, out);
  for (const auto& path : inputs) {
    // Parquet is told by its magic bytes, so any format reads its published Parquet copy; its
    // rows reach the format exactly as parsed JSON lines do.
    if (parquet::hasParquetMagic(path)) {
      auto reader = format->make(options);
      ctx.beginFile(path, true);
      summary.files++;
      parquet::readRows(path, [&](json& row, long rowNo) {
        summary.records++;
        ctx.guard(rowNo, [&] { reader->record(row, formats::rowText(row), rowNo, ctx); });
      });
      reader->finish(ctx);
      continue;
    }
    formats::LineReader in(path);
    auto reader = format->make(options);
    ctx.beginFile(path);
    summary.files++;
    std::string line;
    while (in.next(line)) {
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      summary.records++;
      const long lineNo = in.lineNumber();
      ctx.guard(lineNo, [&] {
        json row;
        try {
          row = parseJsonLine(line);
        } catch (const JsonLineError& e) {
          throw formats::BadRecord(e.reason(), e.detail());
        }
        if (!row.is_object()) throw formats::BadRecord("not a JSON object");
        reader->record(row, line, lineNo, ctx);
      });
    }
    reader->finish(ctx);
  }
  return out;
}

std::vector<PreferencePair>::size_type importToFile(const std::vector<std::string>& inputs,
                                                    const ImportOptions& options,
                                                    const std::string& output, bool allowEmpty,
                                                    ImportSummary& summary) {
  namespace fs = std::filesystem;
  if (output.empty()) throw InputError("the output file name is empty");
  std::error_code ec;
  const bool exists = fs::exists(output, ec);
  // The output replaces its file only once the import is complete, but an input replaced by it
  // would be lost.
  if (exists)
    for (const auto& input : inputs)
      if (fs::equivalent(output, input, ec))
        throw InputError("the output " + output + " is the input file " + input +
                         "; write the pairs to another file");
  const std::vector<PreferencePair> pairs = importFiles(inputs, options, summary);
  if (pairs.empty() && exists)
    throw EmptyImportError("no pairs; " + output + " is left as it was", true);
  if (pairs.empty() && !allowEmpty)
    throw EmptyImportError("no pairs; nothing written to " + output, false);
  writePairsFile(output, pairs);
  return pairs.size();
}

std::string summaryText(const ImportSummary& s) {
  std::ostringstream os;
  auto reasons = [&os](const char* title, const std::map<std::string, long>& counts) {
    long total = 0;
    for (const auto& [reason, n] : counts) total += n;
    os << title << ": " << total << "\n";
    for (const auto& [reason, n] : counts) os << "  " << n << "  " << reason << "\n";
  };
  os << "read " << s.records << " records from " << s.files << " file" << (s.files == 1 ? "" : "s")
     << "; " << s.pairs() << " pairs\n";
  os << "pairs per domain:";
  for (const auto& [domain, n] : s.pairsPerDomain) os << " " << domain << " " << n;
  os << (s.pairsPerDomain.empty() ? " none\n" : "\n");
  reasons("malformed records skipped", s.malformed);
  reasons("rows or pairs left out by the format's rules", s.notUsed);
  os << "duplicate pairs dropped: " << s.duplicates << "\n";
  return os.str();
}

}  // namespace rr::core
