#include "common/jsonparse.h"

#include <vector>

#include "common/errors.h"
#include "common/fileio.h"

using nlohmann::json;

namespace rr::core {
namespace {

// Builds the document like nlohmann's own DOM parser, and also knows where it is: the JSON path
// of the value being read, for the message when the parser stops on a bad token or the depth
// limit. (nlohmann's DOM builder lives in its detail namespace and tracks no path.)
class CheckedBuilder : public nlohmann::json_sax<json> {
 public:
  CheckedBuilder(json& root, int maxDepth) : m_root(root), m_maxDepth(maxDepth) {}

  bool null() override { return put(json(nullptr)); }
  bool boolean(bool v) override { return put(json(v)); }
  bool number_integer(number_integer_t v) override { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return put(json(v)); }
  bool string(string_t& v) override { return put(json(std::move(v))); }
  bool binary(binary_t& v) override { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool key(string_t& k) override {
    m_levels.back().key = k;
    m_slot = &(*m_levels.back().node)[k];
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& lastToken,
                   const nlohmann::detail::exception& ex) override {
    m_errorPosition = position;
    m_errorToken = lastToken;
    m_errorId = ex.id;
    m_errorWhat = ex.what();
    return false;
  }

  bool tooDeep() const { return m_tooDeep; }
  size_t m_errorPosition = 0;
  std::string m_errorToken, m_errorWhat;
  int m_errorId = 0;

  // The JSON path of the value being read, e.g. $.data.files[2].path; long paths keep their first
  // segments only.
  std::string path() const {
    std::string p = "$";
    for (size_t i = 0; i < m_levels.size(); ++i) {
      if (i == 8) {
        p += "...";
        break;
      }
      const Level& l = m_levels[i];
      if (l.node->is_object()) {
        p += "." + shortPrefix(l.key, 40);
      } else {
        // Containers are inserted when they open, so an inner level's own entry is the last one.
        const size_t n = l.node->size();
        p += "[" + std::to_string(i + 1 < m_levels.size() && n > 0 ? n - 1 : n) + "]";
      }
    }
    return p;
  }

 private:
  struct Level {
    json* node;
    std::string key;
  };

  json* insert(json&& v) {
    if (m_levels.empty()) {
      m_root = std::move(v);
      return &m_root;
    }
    json& parent = *m_levels.back().node;
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *m_slot = std::move(v);
    return m_slot;
  }
  bool put(json&& v) {
    insert(std::move(v));
    return true;
  }
  bool open(json&& container) {
    if (static_cast<int>(m_levels.size()) >= m_maxDepth) {
      m_tooDeep = true;
      return false;
    }
    json* node = insert(std::move(container));
    m_levels.push_back({node, {}});
    return true;
  }
  bool close() {
    m_levels.pop_back();
    return true;
  }

  json& m_root;
  int m_maxDepth;
  std::vector<Level> m_levels;
  json* m_slot = nullptr;
  bool m_tooDeep = false;
};

// nlohmann reports positions as byte offsets; people look for lines and columns.
std::string lineColumn(const std::string& text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

}  // namespace

std::string shortPrefix(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t cut = limit;
  // Back up over UTF-8 continuation bytes so the message stays valid UTF-8.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

std::string describeJson(const json& v, size_t limit) {
  if (v.is_string()) return "\"" + shortPrefix(v.get_ref<const std::string&>(), limit) + "\"";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return shortPrefix(v.dump(), limit);
}

json parseJsonLimited(const std::string& text, int maxDepth, JsonFailure& failure) {
  failure = JsonFailure{};
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    failure.kind = JsonFailure::Kind::Invalid;
    failure.at = lineColumn(text, nul);
    failure.detail = "a NUL byte";
    return json();
  }
  json root;
  CheckedBuilder sax(root, maxDepth);
  const bool ok = json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true,
                                  /*ignore_comments=*/false);
  if (ok) return root;
  failure.path = sax.path();
  // The parser only reports the nesting limit as a handler refusal, without a position.
  if (sax.tooDeep()) {
    failure.kind = JsonFailure::Kind::TooDeep;
    failure.detail = "nested deeper than " + std::to_string(maxDepth) + " levels";
    return json();
  }
  const size_t pos = sax.m_errorPosition;
  if (sax.m_errorId == 406) {  // out_of_range.406: a number beyond the double range, e.g. 1e400
    // The parser stops after the number: point at its first character.
    const size_t start = pos >= sax.m_errorToken.size() ? pos - sax.m_errorToken.size() : 0;
    failure.kind = JsonFailure::Kind::OutOfRange;
    failure.at = lineColumn(text, start);
    failure.detail = shortPrefix(sax.m_errorToken);  // the number as written
    return json();
  }
  failure.kind = JsonFailure::Kind::Invalid;
  failure.at = lineColumn(text, pos > 0 ? pos - 1 : 0);
  std::string what = sax.m_errorWhat;
  if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
  failure.detail = shortPrefix(what, 200);
  return json();
}

json parseJsonChecked(const std::string& text, const std::string& label, int maxDepth) {
  JsonFailure f;
  json root = parseJsonLimited(text, maxDepth, f);
  switch (f.kind) {
    case JsonFailure::Kind::None:
      return root;
    case JsonFailure::Kind::TooDeep:
      throw InputError(label + ": " + f.path + ": " + f.detail);
    case JsonFailure::Kind::OutOfRange:
      throw InputError(label + ":" + f.at + ": " + f.path + ": number out of range (got " +
                       f.detail + ")");
    case JsonFailure::Kind::Invalid:
      break;
  }
  throw InputError(label + ":" + f.at + ": invalid JSON: " + f.detail);
}

json parseJsonFile(const std::string& path, std::uint64_t maxBytes, int maxDepth) {
  return parseJsonChecked(readRegularFile(path, maxBytes, "JSON file"), path, maxDepth);
}

}  // namespace rr::core
