#pragma once
// Reading one JSON record per line safely: every data reader (importers, pairs files, `score`
// input) goes through these, so that a hostile line is one clear error and never a crash or a
// silently shortened record.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/errors.h"

namespace rr::core {

// Deeper nesting is refused. Legitimate records are shallow; OASST's nested tree export needs two
// levels per message, so threads up to ~500 messages deep fit (the flat message table has no
// limit). The limit keeps recursive code over a parsed value (dump, our tree walks) within the
// stack of any thread.
constexpr int kMaxJsonLineDepth = 1000;

// A line that is not a usable JSON value. `reason` is short and fixed (importers count skipped
// records by it); what() adds the detail. The message carries no file or line: callers prefix it.
class JsonLineError : public InputError {
 public:
  JsonLineError(const std::string& reason, const std::string& detail)
      : InputError(detail.empty() ? reason : reason + " (" + detail + ")"),
        m_reason(reason),
        m_detail(detail) {}
  const std::string& reason() const { return m_reason; }
  const std::string& detail() const { return m_detail; }

 private:
  std::string m_reason, m_detail;
};

// Parses `line` as one JSON value. Refuses a NUL byte anywhere in the line (nlohmann's lexer
// takes it for the end of the input and would drop the rest), nesting deeper than kMaxJsonLineDepth,
// numbers beyond the double range (1e400) and invalid JSON (including ill-formed UTF-8 inside
// strings). Parsed by common/jsonparse's bounded parser, as configs and manifests are.
nlohmann::json parseJsonLine(const std::string& line);

// An exception's message without nlohmann's "[json.exception.type_error.302] " prefix.
std::string withoutJsonExceptionId(const std::string& what);

// Byte offset of the first ill-formed UTF-8 sequence in `text`, or npos when it is valid.
size_t invalidUtf8At(std::string_view text);

// Throws InputError "<what> is not valid UTF-8 (byte N)" when `text` is not.
void requireUtf8(std::string_view text, const std::string& what);

// A value for an error message: its JSON text, cut to about `maxChars` with "..." when longer.
std::string quoteJson(const nlohmann::json& value, size_t maxChars = 40);

// The integer `value` holds, when it is an integer that fits in a long; unsigned values past
// LONG_MAX and floats are not integers here.
bool asLong(const nlohmann::json& value, long& out);

}  // namespace rr::core
