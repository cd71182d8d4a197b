#pragma once
// Shared machinery of the format readers: line input, record-level errors, the context that
// collects pairs, and typed field access that reports what is wrong with a record.
#include <zlib.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/importer.h"

namespace rr::core::formats {

using nlohmann::json;

// Reads lines of a plain or gzip-compressed file (zlib detects which) of any length.
class LineReader {
 public:
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its "\n" or "\r\n"; false at the end of the file.
  bool next(std::string& line);
  long lineNumber() const { return m_line; }

 private:
  bool fill();

  std::string m_path;
  gzFile m_file = nullptr;
  std::vector<char> m_buf;
  size_t m_pos = 0;
  size_t m_len = 0;
  long m_line = 0;
};

// A malformed record. `reason` is what the summary counts; `detail` adds the offending value.
class BadRecord : public std::runtime_error {
 public:
  explicit BadRecord(const std::string& reason, const std::string& detail = "")
      : std::runtime_error(detail.empty() ? reason : reason + " (" + detail + ")"),
        m_reason(reason) {}
  const std::string& reason() const { return m_reason; }

 private:
  std::string m_reason;
};

// Receives the pairs of a whole import (duplicates are dropped across files) and applies the
// rules every format shares: the domain override, ids, source, identical responses.
class ImportContext {
 public:
  ImportContext(const ImportOptions& options, ImportSummary& summary,
                std::vector<PreferencePair>& out)
      : m_options(options), m_summary(summary), m_out(out) {}

  const std::string& file() const { return m_file; }
  // `rowNumbers`: the file's records are numbered rows (Parquet), named "FILE: row N" in errors.
  void beginFile(const std::string& file, bool rowNumbers = false) {
    m_file = file;
    m_rowNumbers = rowNumbers;
  }

  // Runs the work of one record at `line`. Its pairs are kept only if it completes; a BadRecord
  // (or a JSON type error) stops the import with "FILE:LINE: ...", or is counted with skipBad.
  void guard(long line, const std::function<void()>& work);
  // A pair with its format's domain, from input `line` (0: the guarded record's line).
  void emit(PreferencePair pair, long line = 0);
  void notUsed(const std::string& rule) { m_summary.notUsed[rule]++; }

 private:
  void commit(PreferencePair& pair);

  const ImportOptions& m_options;
  ImportSummary& m_summary;
  std::vector<PreferencePair>& m_out;
  std::set<std::string> m_seenIds;
  std::vector<PreferencePair> m_pending;
  std::string m_file;
  long m_line = 0;
  bool m_guarded = false;
  bool m_rowNumbers = false;
};

// Reads one input file. A fresh reader is made per file, so rows are grouped within a file.
class FormatReader {
 public:
  virtual ~FormatReader() = default;
  // One non-blank line at `line`, parsed as a JSON object (`text` is the raw line).
  virtual void record(const json& row, const std::string& text, long line, ImportContext& ctx) = 0;
  // After the last line: formats that combine rows across the file emit their pairs here.
  virtual void finish(ImportContext&) {}
};

// Formats whose every pair comes from one line: row -> pairs.
using RowFunction =
    std::function<void(const json& row, const std::string& text, long line, ImportContext& ctx)>;
std::unique_ptr<FormatReader> rowFormat(RowFunction fn);

// A Parquet row as JSON text (the `text` formats receive); BadRecord when a string is not UTF-8.
std::string rowText(const json& row);

// Field access that throws BadRecord naming the field as `prefix + key`.
const json& field(const json& obj, const std::string& key, const std::string& prefix = "");
// Null when the field is absent or JSON null.
const json* optionalField(const json& obj, const std::string& key);
std::string stringField(const json& obj, const std::string& key, const std::string& prefix = "");
long integerField(const json& obj, const std::string& key, const std::string& prefix = "");
double numberField(const json& obj, const std::string& key, const std::string& prefix = "");
const json& arrayField(const json& obj, const std::string& key, const std::string& prefix = "");

PreferencePair makePair(std::string domain, std::string prompt, std::string chosen,
                        std::string rejected);

std::unique_ptr<FormatReader> makeHhRlhf(const ImportOptions&);
std::unique_ptr<FormatReader> makeShp(const ImportOptions&);
std::unique_ptr<FormatReader> makeHellaswag(const ImportOptions&);
std::unique_ptr<FormatReader> makeDahoas(const ImportOptions&);
std::unique_ptr<FormatReader> makeOasst(const ImportOptions&);
std::unique_ptr<FormatReader> makeUltrafeedback(const ImportOptions&);
std::unique_ptr<FormatReader> makeUltrafeedbackBinarized(const ImportOptions&);
std::unique_ptr<FormatReader> makeHelpsteer(const ImportOptions&);
std::unique_ptr<FormatReader> makePairs(const ImportOptions&);
std::unique_ptr<FormatReader> makeJsonl(const ImportOptions&);
std::unique_ptr<FormatReader> makeRewardBench(const ImportOptions&);

}  // namespace rr::core::formats
