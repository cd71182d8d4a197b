#pragma once
// Parsing JSON text from users (configs, manifests, input lines) into nlohmann::json with the
// limits a hostile file needs: nesting depth is bounded (nlohmann's parser is iterative, but
// dump(), copies and comparisons recurse, so a value nested 100k deep overflows the stack later),
// and every error is one line that names the place: "FILE:LINE:COL: $.json.path: message".
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace rr::core {

// Deep enough for any config, manifest or data row we read; shallow enough that the recursive
// parts of nlohmann (dump, copy, ==) stay far from the stack limit.
constexpr int kMaxJsonDepth = 128;

// What stopped a parse: the kind, the JSON path reached, "LINE:COL" where the parser stopped
// (none for TooDeep) and a message without any file label (for OutOfRange: the number as
// written).
struct JsonFailure {
  enum class Kind { None, TooDeep, OutOfRange, Invalid };
  Kind kind = Kind::None;
  std::string path, at, detail;
};

// The one bounded parser under every JSON reader (parseJsonChecked for configs and manifests,
// parseJsonLine for data lines): the value, or a null value and `failure` saying why.
nlohmann::json parseJsonLimited(const std::string& text, int maxDepth, JsonFailure& failure);

// Throws InputError on bad JSON, numbers outside the double range (1e400), nesting deeper than
// maxDepth and a NUL byte anywhere in the text (nlohmann's lexer takes one for the end of the
// input and would ignore what follows). `label` starts the message (a file name, or "line 12").
nlohmann::json parseJsonChecked(const std::string& text, const std::string& label,
                                int maxDepth = kMaxJsonDepth);

// The JSON file at `path` (a regular file of at most `maxBytes`: common/fileio.h), parsed as
// parseJsonChecked does with the path as the label.
nlohmann::json parseJsonFile(const std::string& path, std::uint64_t maxBytes,
                             int maxDepth = kMaxJsonDepth);

// At most `limit` bytes of `text` (cut on a UTF-8 character boundary), with "..." when cut: for
// quoting a bad value in an error message without pasting megabytes into a terminal.
std::string shortPrefix(const std::string& text, size_t limit = 40);

// A JSON value for an error message: short, never recursing into a deep value.
std::string describeJson(const nlohmann::json& v, size_t limit = 40);

}  // namespace rr::core
