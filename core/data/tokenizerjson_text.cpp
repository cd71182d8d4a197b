// tokenizer.json's text components: normalizers and pre-tokenizers, as the Rust `tokenizers`
// library applies them (its normalizers/ and pre_tokenizers/ modules), on code points. The regular
// expressions run on ICU, with \s and \S given the Unicode White_Space meaning they have in
// Oniguruma, which the library compiles them with.
#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <climits>

#include "common/errors.h"
#include "common/jsonparse.h"
#include "data/jsonline.h"
#include "data/tokenizerjson_p.h"

namespace rr::core::tokjson {

// ---- text ----

U32 fromUtf8(const std::string& s) {
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  U32 out;
  out.reserve(s.size());
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

std::string toUtf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
  return out;
}

std::string toUtf8(const U32& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) out += toUtf8(c);
  return out;
}

namespace {

icu::UnicodeString toIcu(const U32& s) {
  icu::UnicodeString u;
  for (char32_t c : s) u.append(static_cast<UChar32>(c));
  return u;
}

U32 fromIcu(const icu::UnicodeString& u) {
  U32 out;
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

// The code point index of every UTF-16 index of `s` (the positions ICU reports).
std::vector<size_t> codePointIndex(const icu::UnicodeString& u) {
  std::vector<size_t> at(static_cast<size_t>(u.length()) + 1, 0);
  size_t cp = 0;
  for (int32_t i = 0; i < u.length();) {
    const int32_t n = U16_LENGTH(u.char32At(i));
    for (int32_t k = 0; k < n; ++k) at[i + k] = cp;
    i += n;
    ++cp;
  }
  at[u.length()] = cp;
  return at;
}

bool inCategory(char32_t c, uint32_t mask) {
  return (U_MASK(u_charType(static_cast<UChar32>(c))) & mask) != 0;
}

// Whether Unicode `major` (.0) had assigned `c`. The library's own tables are old: its category
// tests (unicode_categories 0.1.1: BertNormalizer's cleaning and accent stripping, the BERT and
// Punctuation splitters) know Unicode 8.0, its normalization (unicode-normalization-alignments:
// NFC/NFD/NFKC/NFKD, StripAccents) Unicode 9.0; to them a later character is unassigned.
bool assignedIn(char32_t c, int major) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  return age[0] > 0 && age[0] <= major;
}
constexpr int kCategoryUnicode = 8;
constexpr int kNormalizationUnicode = 9;

}  // namespace

bool isWhitespace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

bool isPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  return inCategory(c, U_GC_P_MASK) && assignedIn(c, kCategoryUnicode);
}

const std::vector<char32_t>& byteToChar() {
  static const std::vector<char32_t> table = [] {
    std::vector<char32_t> t(256);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

int charToByte(char32_t c) {
  static const std::vector<int> inverse = [] {
    std::vector<int> inv(512, -1);
    const auto& t = byteToChar();
    for (int b = 0; b < 256; ++b) inv[t[b]] = b;
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

// ---- reading the JSON ----

void Reader::fail(const std::string& path, const std::string& what) const {
  throw InputError(m_file + ": " + path + ": " + what);
}

void Reader::mustBe(const std::string& path, const std::string& what, const json& v) const {
  fail(path, "must be " + what + " (got " + describeJson(v) + ")");
}

const json* Reader::find(const json& obj, const char* key) const {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

const json& Reader::required(const json& obj, const std::string& path, const char* key) const {
  const json* v = find(obj, key);
  if (!v) fail(path + "." + key, "missing");
  return *v;
}

const json& Reader::object(const json& obj, const std::string& path, const char* key) const {
  const json& v = required(obj, path, key);
  if (!v.is_object()) mustBe(path + "." + key, "an object", v);
  return v;
}

const json& Reader::array(const json& obj, const std::string& path, const char* key) const {
  const json& v = required(obj, path, key);
  if (!v.is_array()) mustBe(path + "." + key, "an array", v);
  return v;
}

bool Reader::flag(const json& obj, const std::string& path, const char* key, bool fallback) const {
  const json* v = find(obj, key);
  if (!v) return fallback;
  if (!v->is_boolean()) mustBe(path + "." + key, "true or false", *v);
  return v->get<bool>();
}

std::string Reader::string(const json& obj, const std::string& path, const char* key) const {
  const json& v = required(obj, path, key);
  if (!v.is_string()) mustBe(path + "." + key, "a string", v);
  return v.get<std::string>();
}

std::string Reader::optString(const json& obj, const std::string& path, const char* key,
                              const std::string& fallback) const {
  const json* v = find(obj, key);
  if (!v) return fallback;
  if (!v->is_string()) mustBe(path + "." + key, "a string", *v);
  return v->get<std::string>();
}

char32_t Reader::character(const json& obj, const std::string& path, const char* key) const {
  const std::string s = string(obj, path, key);
  const U32 u = fromUtf8(s);
  if (u.size() != 1) mustBe(path + "." + key, "one character", json(s));
  return u[0];
}

long Reader::integer(const json& v, const std::string& path, long lo, long hi) const {
  long n = 0;
  if (!asLong(v, n) || n < lo || n > hi)
    mustBe(path, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi), v);
  return n;
}

std::string Reader::type(const json& obj, const std::string& path,
                         std::initializer_list<const char*> supported) const {
  if (!obj.is_object()) mustBe(path, "an object", obj);
  const std::string t = string(obj, path, "type");
  std::string list;
  for (const char* s : supported) {
    if (t == s) return t;
    list += (list.empty() ? "" : ", ") + std::string(s);
  }
  throw InputError(m_file + ": " + path + ".type '" + shortPrefix(t) +
                   "' is not supported (supported: " + list + ")");
}

// ---- regular expressions ----

struct Regex::Impl {
  std::unique_ptr<icu::RegexPattern> pattern;
};

namespace {

// Oniguruma's \s is the White_Space property (ICU's lacks U+000B and U+0085); everything else in
// the published patterns (\p{L}, \p{N}, (?i:...), lookahead, {1,3}) means the same in both.
std::string onigToIcu(const std::string& p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      if (p[i + 1] == 's') {
        out += "\\p{White_Space}";
      } else if (p[i + 1] == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += p.substr(i, 2);
      }
      ++i;
    } else {
      out.push_back(p[i]);
    }
  }
  return out;
}

}  // namespace

Regex::Regex(const std::string& pattern, const Reader& r, const std::string& path)
    : m(std::make_unique<Impl>()) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError pe;
  m->pattern.reset(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(onigToIcu(pattern)), 0, pe, status));
  if (U_FAILURE(status) || !m->pattern)
    r.fail(path, "not a regular expression this build reads (" + std::string(u_errorName(status)) +
                     " at offset " + std::to_string(pe.offset) + ")");
}

Regex::~Regex() = default;

std::vector<std::pair<size_t, size_t>> Regex::findAll(const U32& text) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (text.empty()) return out;
  const icu::UnicodeString u = toIcu(text);
  const std::vector<size_t> at = codePointIndex(u);
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> matcher(m->pattern->matcher(u, status));
  if (U_FAILURE(status)) throw std::runtime_error("ICU regex matcher failed");
  // Backtracking state lives on the heap: a 100k-character run of spaces against \s+(?!\S) must
  // not hit ICU's default 8 MB limit.
  matcher->setStackLimit(0, status);
  while (matcher->find()) {
    const int32_t b = matcher->start(status), e = matcher->end(status);
    if (U_FAILURE(status)) break;
    out.emplace_back(at[b], at[e]);
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> Pattern::findAll(const U32& text) const {
  if (regex) return regex->findAll(text);
  std::vector<std::pair<size_t, size_t>> out;
  if (literal.empty()) return out;
  for (size_t pos = text.find(literal); pos != U32::npos; pos = text.find(literal, pos)) {
    out.emplace_back(pos, pos + literal.size());
    pos += literal.size();
  }
  return out;
}

Pattern readPattern(const Reader& r, const json& obj, const std::string& path) {
  const json& p = r.object(obj, path, "pattern");
  const std::string at = path + ".pattern";
  Pattern out;
  if (p.size() == 1 && p.contains("String")) {
    out.literal = fromUtf8(r.string(p, at, "String"));
  } else if (p.size() == 1 && p.contains("Regex")) {
    out.regex = std::make_shared<Regex>(r.string(p, at, "Regex"), r, at + ".Regex");
  } else {
    r.mustBe(at, "{\"String\": ...} or {\"Regex\": ...}", p);
  }
  return out;
}

// ---- normalizers ----

namespace {

// Characters after Unicode 9.0 are left as they are and, being unassigned to the library, stop
// composition and reordering across them (an unassigned character is a starter that decomposes
// to itself): the runs between them are normalized on their own.
U32 icuNormalize(const U32& s, const char* form, UNormalization2Mode mode) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getInstance(nullptr, form, mode, status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalizer unavailable");
  U32 out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && (s[j] < 0x80 || assignedIn(s[j], kNormalizationUnicode))) ++j;
    if (j > i) {
      const icu::UnicodeString run = n->normalize(toIcu(s.substr(i, j - i)), status);
      if (U_FAILURE(status)) throw std::runtime_error("ICU normalization failed");
      out += fromIcu(run);
    }
    for (; j < s.size() && !(s[j] < 0x80 || assignedIn(s[j], kNormalizationUnicode)); ++j)
      out.push_back(s[j]);
    i = j;
  }
  return out;
}
U32 nfd(const U32& s) { return icuNormalize(s, "nfc", UNORM2_DECOMPOSE); }

// Rust's char::to_lowercase one character at a time (NormalizedString::lowercase): the full
// mappings ("İ" -> "i̇") but no final-sigma rule. ICU's root locale gives the same.
void lowercase(U32& s) {
  U32 out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    icu::UnicodeString u(static_cast<UChar32>(c));
    u.toLower(icu::Locale::getRoot());
    out += fromIcu(u);
  }
  s = std::move(out);
}

void removeIf(U32& s, bool& shifted, const std::function<bool(char32_t)>& drop) {
  if (!s.empty() && drop(s[0])) shifted = true;
  s.erase(std::remove_if(s.begin(), s.end(), drop), s.end());
}

bool isChineseChar(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

Normalizer bertNormalizer(const Reader& r, const json& v, const std::string& path) {
  const bool clean = r.flag(v, path, "clean_text", true);
  const bool chinese = r.flag(v, path, "handle_chinese_chars", true);
  const bool lower = r.flag(v, path, "lowercase", true);
  const bool strip = r.flag(v, path, "strip_accents", lower);  // null follows lowercase
  return [=](U32& s, bool& shifted) {
    if (clean) {
      // is_other: Cc, Cf and Co (not Cn), in Unicode 8.0.
      removeIf(s, shifted, [](char32_t c) {
        return c == 0 || c == 0xFFFD ||
               (c != '\t' && c != '\n' && c != '\r' &&
                inCategory(c, U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK) &&
                assignedIn(c, kCategoryUnicode));
      });
      for (char32_t& c : s)
        if (isWhitespace(c)) c = U' ';
    }
    if (chinese) {
      U32 out;
      for (char32_t c : s) {
        if (isChineseChar(c)) {
          out += U32{U' ', c, U' '};
        } else {
          out.push_back(c);
        }
      }
      s = std::move(out);
    }
    if (strip) {
      s = nfd(s);
      removeIf(s, shifted, [](char32_t c) {
        return inCategory(c, U_GC_MN_MASK) && assignedIn(c, kCategoryUnicode);
      });
    }
    if (lower) lowercase(s);
  };
}

// The sentencepiece precompiled charsmap (spm_precompiled): a little-endian u32 byte size, a
// double-array trie of that many bytes (u32 units) over the UTF-8 bytes of the strings it maps,
// and the replacement strings, NUL-terminated, that the trie's values point into.
class Precompiled {
 public:
  Precompiled(const std::string& blob, const Reader& r, const std::string& path) {
    if (blob.size() < 4) r.fail(path, "a precompiled charsmap of fewer than 4 bytes");
    const uint32_t trieBytes = unit(blob, 0);
    if (trieBytes / 4 > (blob.size() - 4) / 4)
      r.fail(path, "the charsmap's trie (" + std::to_string(trieBytes) +
                       " bytes) is longer than the charsmap");
    m_array.resize(trieBytes / 4);
    for (size_t i = 0; i < m_array.size(); ++i) m_array[i] = unit(blob, 4 + 4 * i);
    m_normalized = blob.substr(4 + 4 * m_array.size());
    std::string roundTrip;
    icu::UnicodeString::fromUTF8(m_normalized).toUTF8String(roundTrip);
    if (roundTrip != m_normalized) r.fail(path, "the charsmap's strings are not UTF-8");
    if (m_array.empty()) r.fail(path, "the charsmap's trie is empty");
  }

  // The graphemes (extended clusters), each replaced whole when shorter than 6 bytes and mapped,
  // else one character at a time: the library's rule, including that a mapped prefix of a
  // grapheme replaces all of it.
  void apply(U32& s, bool& shifted) const {
    if (s.empty()) return;
    const icu::UnicodeString u = toIcu(s);
    const std::vector<size_t> at = codePointIndex(u);
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(
        icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) throw std::runtime_error("ICU break iterator unavailable");
    it->setText(u);
    U32 out;
    out.reserve(s.size());
    for (int32_t b = it->first(), e = it->next(); e != icu::BreakIterator::DONE;
         b = e, e = it->next()) {
      const U32 g = s.substr(at[b], at[e] - at[b]);
      const std::string bytes = toUtf8(g);
      std::string norm;
      if (bytes.size() < 6 && transform(bytes, norm)) {
        if (b == 0 && norm.empty()) shifted = true;
        out += fromUtf8(norm);
        continue;
      }
      for (char32_t c : g) {
        if (transform(toUtf8(c), norm)) {
          if (out.empty() && norm.empty()) shifted = true;
          out += fromUtf8(norm);
        } else {
          out.push_back(c);
        }
      }
    }
    s = std::move(out);
  }

 private:
  static uint32_t unit(const std::string& b, size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(b[at])) |
           static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
  }
  static bool hasLeaf(uint32_t u) { return (u >> 8) & 1; }
  static uint32_t value(uint32_t u) { return u & ((1u << 31) - 1); }
  static uint32_t label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static size_t offset(uint32_t u) {
    return static_cast<size_t>(u >> 10) << ((u & (1u << 9)) >> 6);
  }

  // The first (shortest) prefix of `key` the trie maps; positions outside the array end the walk
  // (a hostile charsmap cannot read past it).
  bool transform(const std::string& key, std::string& norm) const {
    size_t pos = 0;
    pos ^= offset(m_array[0]);
    for (unsigned char c : key) {
      if (c == 0) return false;
      pos ^= c;
      if (pos >= m_array.size()) return false;
      const uint32_t u = m_array[pos];
      if (label(u) != c) return false;
      pos ^= offset(u);
      if (hasLeaf(u)) {
        if (pos >= m_array.size()) return false;
        const size_t index = value(m_array[pos]);
        if (index > m_normalized.size()) return false;
        const size_t end = std::min(m_normalized.find('\0', index), m_normalized.size());
        norm = m_normalized.substr(index, end - index);
        return true;
      }
    }
    return false;
  }

  std::vector<uint32_t> m_array;
  std::string m_normalized;
};

std::string base64Decode(const std::string& in, const Reader& r, const std::string& path) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = value(in[i]);
    if (v < 0)
      r.fail(path,
             "not base64 (a '" + shortPrefix(in.substr(i, 1)) + "' at " + std::to_string(i) + ")");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=') r.fail(path, "not base64 (characters after the '=' padding)");
  return out;
}

const std::initializer_list<const char*> kNormalizers = {
    "BertNormalizer", "NFC",     "NFD",   "NFKC",        "NFKD",     "Lowercase", "StripAccents",
    "Replace",        "Prepend", "Strip", "Precompiled", "Sequence", "ByteLevel"};

}  // namespace

Normalizer readNormalizer(const Reader& r, const json& v, const std::string& path, int depth) {
  if (depth > kMaxComponentDepth) r.fail(path, "Sequences nested too deep");
  const std::string t = r.type(v, path, kNormalizers);
  if (t == "BertNormalizer") return bertNormalizer(r, v, path);
  if (t == "NFC") return [](U32& s, bool&) { s = icuNormalize(s, "nfc", UNORM2_COMPOSE); };
  if (t == "NFD") return [](U32& s, bool&) { s = nfd(s); };
  if (t == "NFKC") return [](U32& s, bool&) { s = icuNormalize(s, "nfkc", UNORM2_COMPOSE); };
  if (t == "NFKD") return [](U32& s, bool&) { s = icuNormalize(s, "nfkc", UNORM2_DECOMPOSE); };
  if (t == "Lowercase") return [](U32& s, bool&) { lowercase(s); };
  if (t == "StripAccents")
    return [](U32& s, bool& shifted) {
      removeIf(s, shifted, [](char32_t c) {
        return inCategory(c, U_GC_M_MASK) && assignedIn(c, kNormalizationUnicode);
      });
    };
  if (t == "Replace") {
    auto pattern = std::make_shared<Pattern>(readPattern(r, v, path));
    const U32 content = fromUtf8(r.string(v, path, "content"));
    return [pattern, content](U32& s, bool& shifted) {
      const auto matches = pattern->findAll(s);
      if (matches.empty()) return;
      if (matches[0].first == 0 && matches[0].second > 0 && content.empty()) shifted = true;
      U32 out;
      size_t done = 0;
      for (const auto& [b, e] : matches) {
        out.append(s, done, b - done);
        out += content;
        done = e;
      }
      out.append(s, done, U32::npos);
      s = std::move(out);
    };
  }
  if (t == "Prepend") {
    const U32 prefix = fromUtf8(r.string(v, path, "prepend"));
    return [prefix](U32& s, bool&) {
      if (!s.empty()) s = prefix + s;
    };
  }
  if (t == "Strip") {
    const bool left = r.flag(v, path, "strip_left", true);
    const bool right = r.flag(v, path, "strip_right", true);
    return [left, right](U32& s, bool& shifted) {
      size_t b = 0, e = s.size();
      if (left)
        while (b < e && isWhitespace(s[b])) ++b;
      if (b > 0) shifted = true;
      if (right)
        while (e > b && isWhitespace(s[e - 1])) --e;
      s = s.substr(b, e - b);
    };
  }
  if (t == "Precompiled") {
    const std::string at = path + ".precompiled_charsmap";
    auto map = std::make_shared<Precompiled>(
        base64Decode(r.string(v, path, "precompiled_charsmap"), r, at), r, at);
    return [map](U32& s, bool& shifted) { map->apply(s, shifted); };
  }
  if (t == "ByteLevel") {
    return [](U32& s, bool&) {
      U32 out;
      for (unsigned char b : toUtf8(s)) out.push_back(byteToChar()[b]);
      s = std::move(out);
    };
  }
  // Sequence
  const json& list = r.array(v, path, "normalizers");
  std::vector<Normalizer> steps;
  for (size_t i = 0; i < list.size(); ++i)
    steps.push_back(
        readNormalizer(r, list[i], path + ".normalizers[" + std::to_string(i) + "]", depth + 1));
  return [steps](U32& s, bool& shifted) {
    for (const auto& n : steps) n(s, shifted);
  };
}

// ---- pre-tokenizers ----

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Span {
  size_t begin, end;
  bool match;
};

// The spans a split sees: every match and the text between them, in order (the library's
// Pattern::find_matches).
std::vector<Span> spans(size_t length, const std::vector<std::pair<size_t, size_t>>& matches,
                        bool invert) {
  std::vector<Span> out;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) out.push_back({prev, b, invert});
    out.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != length) out.push_back({prev, length, invert});
  return out;
}

// Each character for which `is` holds is a match of its own.
std::vector<std::pair<size_t, size_t>> charMatches(const U32& s,
                                                   const std::function<bool(char32_t)>& is) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < s.size(); ++i)
    if (is(s[i])) out.emplace_back(i, i + 1);
  return out;
}

// NormalizedString::split: which spans become pieces under each behavior; empty ones are dropped.
void splitPiece(const Piece& p, const std::vector<Span>& sp, Behavior behavior,
                std::vector<Piece>& out) {
  std::vector<std::pair<size_t, size_t>> parts;
  bool prevMatch = false;
  switch (behavior) {
    case Behavior::Removed:
      for (const Span& s : sp)
        if (!s.match) parts.emplace_back(s.begin, s.end);
      break;
    case Behavior::Isolated:
      for (const Span& s : sp) parts.emplace_back(s.begin, s.end);
      break;
    case Behavior::MergedWithPrevious:
      for (const Span& s : sp) {
        if (s.match && !prevMatch && !parts.empty()) {
          parts.back().second = s.end;
        } else {
          parts.emplace_back(s.begin, s.end);
        }
        prevMatch = s.match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = sp.rbegin(); it != sp.rend(); ++it) {
        if (it->match && !prevMatch && !parts.empty()) {
          parts.back().first = it->begin;
        } else {
          parts.emplace_back(it->begin, it->end);
        }
        prevMatch = it->match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
    case Behavior::Contiguous:
      for (const Span& s : sp) {
        if (s.match == prevMatch && !parts.empty()) {
          parts.back().second = s.end;
        } else {
          parts.emplace_back(s.begin, s.end);
        }
        prevMatch = s.match;
      }
      break;
  }
  for (const auto& [b, e] : parts)
    if (e > b) out.push_back({p.text.substr(b, e - b), p.atStart && b == 0});
}

using Splitter = std::function<std::vector<Span>(const U32&)>;

PreTokenizer splitting(Splitter f, Behavior behavior) {
  return [f, behavior](std::vector<Piece>& pieces) {
    std::vector<Piece> out;
    for (const Piece& p : pieces) splitPiece(p, f(p.text), behavior, out);
    pieces = std::move(out);
  };
}

PreTokenizer charSplitting(std::function<bool(char32_t)> is, Behavior behavior) {
  return splitting([is](const U32& s) { return spans(s.size(), charMatches(s, is), false); },
                   behavior);
}

Behavior readBehavior(const Reader& r, const json& v, const std::string& path,
                      const char* fallback) {
  const std::string b = r.optString(v, path, "behavior", fallback);
  if (b == "Removed") return Behavior::Removed;
  if (b == "Isolated") return Behavior::Isolated;
  if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::MergedWithNext;
  if (b == "Contiguous") return Behavior::Contiguous;
  r.fail(path + ".behavior", "'" + shortPrefix(b) +
                                 "' is not a behavior (Removed, Isolated, MergedWithPrevious, "
                                 "MergedWithNext, Contiguous)");
}

// The regex of GPT-2, which ByteLevel splits with when use_regex is set.
const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const std::initializer_list<const char*> kPreTokenizers = {
    "BertPreTokenizer", "ByteLevel",   "Metaspace",          "Split",   "Digits", "Whitespace",
    "WhitespaceSplit",  "Punctuation", "CharDelimiterSplit", "Sequence"};

}  // namespace

PreTokenizer readPreTokenizer(const Reader& r, const json& v, const std::string& path, int depth) {
  if (depth > kMaxComponentDepth) r.fail(path, "Sequences nested too deep");
  const std::string t = r.type(v, path, kPreTokenizers);
  if (t == "BertPreTokenizer") {
    auto ws = charSplitting(isWhitespace, Behavior::Removed);
    auto punct = charSplitting(isPunctuation, Behavior::Isolated);
    return [ws, punct](std::vector<Piece>& p) {
      ws(p);
      punct(p);
    };
  }
  if (t == "WhitespaceSplit") return charSplitting(isWhitespace, Behavior::Removed);
  if (t == "Punctuation") return charSplitting(isPunctuation, readBehavior(r, v, path, "Isolated"));
  if (t == "CharDelimiterSplit") {
    const char32_t d = r.character(v, path, "delimiter");
    return charSplitting([d](char32_t c) { return c == d; }, Behavior::Removed);
  }
  if (t == "Digits") {
    const bool individual = r.flag(v, path, "individual_digits", false);
    return charSplitting([](char32_t c) { return inCategory(c, U_GC_N_MASK); },
                         individual ? Behavior::Isolated : Behavior::Contiguous);
  }
  if (t == "Whitespace") {
    // The library's regex \w+|[^\w\s]+, the matches kept (regex crate: \w is Unicode).
    auto re = std::make_shared<Regex>("\\w+|[^\\w\\s]+", r, path);
    return splitting([re](const U32& s) { return spans(s.size(), re->findAll(s), true); },
                     Behavior::Removed);
  }
  if (t == "Split") {
    auto pattern = std::make_shared<Pattern>(readPattern(r, v, path));
    const bool invert = r.flag(v, path, "invert", false);
    const Behavior behavior = readBehavior(r, v, path, "Isolated");
    return splitting(
        [pattern, invert](const U32& s) { return spans(s.size(), pattern->findAll(s), invert); },
        behavior);
  }
  if (t == "Metaspace") {
    const char32_t replacement = r.character(v, path, "replacement");
    const bool split = r.flag(v, path, "split", true);
    std::string scheme = r.optString(v, path, "prepend_scheme", "always");
    if (const json* aps = r.find(v, "add_prefix_space")) {
      if (!aps->is_boolean()) r.mustBe(path + ".add_prefix_space", "true or false", *aps);
      if (!aps->get<bool>()) {
        if (scheme != "never")
          r.fail(path + ".add_prefix_space",
                 "false does not match prepend_scheme '" + shortPrefix(scheme) + "'");
      }
    }
    if (scheme != "always" && scheme != "first" && scheme != "never")
      r.fail(path + ".prepend_scheme",
             "'" + shortPrefix(scheme) + "' is not a scheme (always, first, never)");
    return [replacement, split, scheme](std::vector<Piece>& pieces) {
      std::vector<Piece> out;
      for (Piece p : pieces) {
        std::replace(p.text.begin(), p.text.end(), U' ', replacement);
        const bool starts = !p.text.empty() && p.text[0] == replacement;
        if (!starts && (scheme == "always" || (scheme == "first" && p.atStart)))
          p.text.insert(p.text.begin(), replacement);
        if (!split) {
          if (!p.text.empty()) out.push_back(std::move(p));
          continue;
        }
        splitPiece(
            p,
            spans(p.text.size(),
                  charMatches(p.text, [replacement](char32_t c) { return c == replacement; }),
                  false),
            Behavior::MergedWithNext, out);
      }
      pieces = std::move(out);
    };
  }
  if (t == "ByteLevel") {
    const bool prefix = r.flag(v, path, "add_prefix_space", true);
    const bool useRegex = r.flag(v, path, "use_regex", true);
    auto re = useRegex ? std::make_shared<Regex>(kGpt2Regex, r, path) : nullptr;
    return [prefix, re](std::vector<Piece>& pieces) {
      std::vector<Piece> out;
      for (Piece p : pieces) {
        if (prefix && (p.text.empty() || p.text[0] != U' ')) p.text.insert(p.text.begin(), U' ');
        if (re) {
          splitPiece(p, spans(p.text.size(), re->findAll(p.text), false), Behavior::Isolated, out);
        } else if (!p.text.empty()) {
          out.push_back(std::move(p));
        }
      }
      for (Piece& p : out) {
        U32 mapped;
        for (unsigned char b : toUtf8(p.text)) mapped.push_back(byteToChar()[b]);
        p.text = std::move(mapped);
      }
      pieces = std::move(out);
    };
  }
  // Sequence
  const json& list = r.array(v, path, "pretokenizers");
  std::vector<PreTokenizer> steps;
  for (size_t i = 0; i < list.size(); ++i)
    steps.push_back(readPreTokenizer(r, list[i], path + ".pretokenizers[" + std::to_string(i) + "]",
                                     depth + 1));
  return [steps](std::vector<Piece>& p) {
    for (const auto& s : steps) s(p);
  };
}

}  // namespace rr::core::tokjson
