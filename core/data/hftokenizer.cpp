#include "data/hftokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/errors.h"
#include "common/fileio.h"
#include "common/jsonparse.h"
#include "data/jsonline.h"
#include "data/sentencepiece_p.h"
#include "data/tokenizerjson.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace rr::core {
namespace {

// Text is handled as code points because transformers' rules (the 100-character word limit,
// punctuation splitting, lstrip/rstrip) count Python str characters.
using U32 = std::u32string;

U32 fromUtf8(const std::string& s) {
  // Invalid UTF-8 becomes U+FFFD, which the BERT cleaning step then drops as Python never sees
  // such bytes.
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  U32 out;
  out.reserve(s.size());
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

std::string toUtf8(const U32& s) {
  icu::UnicodeString u;
  for (char32_t c : s) u.append(static_cast<UChar32>(c));
  std::string out;
  u.toUTF8String(out);
  return out;
}

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

bool inCategory(char32_t c, uint32_t mask) {
  return (U_MASK(u_charType(static_cast<UChar32>(c))) & mask) != 0;
}

// Python's str.isspace() (what str.split() and str.strip() use): bidirectional class WS, B or S,
// or category Zs. No single ICU property is that set, so it is listed; it has not changed since
// Unicode 6.
bool isPySpace(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// transformers' _is_whitespace, _is_control and _is_punctuation (tokenization_utils.py).
bool isBertWhitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || inCategory(c, U_GC_ZS_MASK);
}
bool isBertControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return inCategory(c, U_GC_C_MASK);
}
bool isBertPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  return inCategory(c, U_GC_P_MASK);
}
bool isCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// The regex class \w of the Rust tokenizers (the regex crate's Unicode definition): what a
// single_word added token may not have beside it.
bool isWordChar(char32_t c) {
  const auto u = static_cast<UChar32>(c);
  return u_hasBinaryProperty(u, UCHAR_ALPHABETIC) || u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL) ||
         inCategory(c, U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK);
}

// Python's str.lower() applied one character at a time, as transformers' tokenize() does (its
// regex lowers each character on its own, so the final-sigma rule never applies). ICU's root
// locale gives the same full mappings ("İ" -> "i̇").
U32 lowerEach(const U32& s) {
  U32 out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    icu::UnicodeString u(static_cast<UChar32>(c));
    u.toLower(icu::Locale::getRoot());
    const U32 l = fromIcu(u);
    out += l;
  }
  return out;
}

U32 normalize(const U32& s, bool compose) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n =
      compose ? icu::Normalizer2::getNFCInstance(status) : icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalizer unavailable");
  const icu::UnicodeString out = n->normalize(toIcu(s), status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalization failed");
  return fromIcu(out);
}

U32 stripAccents(const U32& s) {
  U32 out;
  for (char32_t c : normalize(s, false))
    if (!inCategory(c, U_GC_MN_MASK)) out.push_back(c);
  return out;
}

std::vector<U32> pySplit(const U32& s) {
  std::vector<U32> out;
  U32 cur;
  for (char32_t c : s) {
    if (isPySpace(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<U32> splitOnPunctuation(const U32& s) {
  std::vector<U32> out;
  bool startNew = true;
  for (char32_t c : s) {
    if (isBertPunctuation(c)) {
      out.push_back(U32(1, c));
      startNew = true;
    } else {
      if (startNew) out.emplace_back();
      startNew = false;
      out.back().push_back(c);
    }
  }
  return out;
}

// ---- the files of a tokenizer folder ----

// Bounds on what a hostile folder makes us read: the JSON files are kilobytes, the vocabularies
// of published models a few megabytes.
constexpr std::uint64_t kMaxJsonBytes = 64u << 20;
constexpr std::uint64_t kMaxVocabBytes = 64u << 20;

[[noreturn]] void badValue(const fs::path& file, const std::string& field, const std::string& what,
                           const json& value) {
  throw InputError(file.string() + ": " + field + ": " + what + " (got " + describeJson(value) +
                   ")");
}

// A JSON object file of the folder, if there is one (common/jsonparse.h bounds size and depth).
std::optional<json> readJson(const fs::path& file, std::vector<std::string>* read) {
  if (!fs::exists(file)) return std::nullopt;
  json j = parseJsonFile(file.string(), kMaxJsonBytes);
  if (!j.is_object()) throw InputError(file.string() + ": not a JSON object");
  if (read) read->push_back(file.string());
  return j;
}

// One added or special token, with the AddedToken flags the tokenizers honour when splitting.
struct AddedToken {
  U32 content;
  U32 pattern;  // what is matched: the content, normalized when `normalized`
  int id = -1;
  bool lstrip = false;
  bool rstrip = false;
  bool singleWord = false;
  bool normalized = false;
  bool special = false;
};

// The special tokens by role and every added token, gathered from the three JSON files the way
// from_pretrained merges them (tokenizer_config.json wins).
struct TokenizerFiles {
  std::vector<std::string> read;
  fs::path configFile;  // tokenizer_config.json, for messages
  json config = json::object();
  std::map<std::string, std::string> roles;  // "cls" -> "[CLS]"
  std::vector<AddedToken> added;
};

AddedToken tokenFromJson(const json& v, bool special, const fs::path& file,
                         const std::string& field) {
  AddedToken t;
  t.special = special;
  t.normalized = !special;
  if (v.is_string()) {
    t.content = fromUtf8(v.get<std::string>());
    return t;
  }
  if (!v.is_object() || !v.contains("content") || !v["content"].is_string())
    badValue(file, field, "must be a string or an object with a string \"content\"", v);
  t.content = fromUtf8(v["content"].get<std::string>());
  auto flag = [&](const char* key, bool fallback) {
    auto it = v.find(key);
    if (it == v.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) badValue(file, field + "." + key, "must be true or false", *it);
    return it->get<bool>();
  };
  t.lstrip = flag("lstrip", false);
  t.rstrip = flag("rstrip", false);
  t.singleWord = flag("single_word", false);
  t.special = flag("special", special);
  t.normalized = flag("normalized", !t.special);
  return t;
}

// A token id as written: narrowing turned 2^32 + 5 into 5 and let -1 through.
int tokenId(const json& v, const fs::path& file, const std::string& field) {
  long id = 0;
  if (!asLong(v, id) || id < 0 || id >= INT_MAX)
    badValue(file, field, "must be a token id, an integer from 0 to 2147483646", v);
  return static_cast<int>(id);
}

int tokenIdKey(const std::string& key, const fs::path& file) {
  if (key.empty() || key.size() > 10 || key.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(key) >= INT_MAX)
    badValue(file, "added_tokens_decoder", "keys must be token ids, integers from 0 to 2147483646",
             json(key));
  return std::stoi(key);
}

using RoleDefaults = std::vector<std::pair<const char*, const char*>>;

// The tokenizer classes' defaults (BertTokenizer, ElectraTokenizer, DebertaV2Tokenizer all name
// these), which the files only override: a folder without special_tokens_map.json still has its
// [CLS]/[SEP]/[PAD]/[UNK]/[MASK].
const RoleDefaults kBertRoles = {
    {"pad", "[PAD]"}, {"unk", "[UNK]"}, {"cls", "[CLS]"}, {"sep", "[SEP]"}, {"mask", "[MASK]"}};
// RobertaTokenizer's.
const RoleDefaults kRobertaRoles = {{"pad", "<pad>"}, {"unk", "<unk>"},   {"cls", "<s>"},
                                    {"sep", "</s>"},  {"mask", "<mask>"}, {"bos", "<s>"},
                                    {"eos", "</s>"}};

// `modelFiles` are listed first among the files read. With `addedFiles`, added_tokens.json and
// tokenizer_config.json's added_tokens_decoder are read too (tokenizer.json has its own list).
TokenizerFiles readTokenizerFiles(const fs::path& dir, const std::vector<std::string>& modelFiles,
                                  const RoleDefaults& defaults, bool addedFiles = true) {
  TokenizerFiles f;
  for (const auto& m : modelFiles) f.read.push_back((dir / m).string());
  f.configFile = dir / "tokenizer_config.json";
  const fs::path mapFile = dir / "special_tokens_map.json", addedFile = dir / "added_tokens.json";
  const auto config = readJson(f.configFile, &f.read);
  const auto specialMap = readJson(mapFile, &f.read);
  const auto addedJson = addedFiles ? readJson(addedFile, &f.read) : std::nullopt;
  if (config) f.config = *config;

  std::map<std::string, AddedToken> roleTokens;
  for (const auto& [role, content] : defaults) {
    AddedToken t;
    t.content = fromUtf8(content);
    t.special = true;
    t.normalized = false;
    roleTokens[role] = t;
    f.roles[role] = content;
  }
  for (const auto& [src, file] :
       {std::pair<const std::optional<json>*, const fs::path*>{&specialMap, &mapFile},
        {&config, &f.configFile}}) {
    if (!*src) continue;
    for (const char* role : {"pad", "unk", "cls", "sep", "mask", "bos", "eos"}) {
      const std::string key = std::string(role) + "_token";
      auto it = (*src)->find(key);
      if (it == (*src)->end() || it->is_null()) continue;
      AddedToken t = tokenFromJson(*it, true, *file, key);
      if (t.content.empty()) continue;
      roleTokens[role] = t;
      f.roles[role] = toUtf8(t.content);
    }
  }
  if (!addedFiles) return f;
  std::map<U32, AddedToken> byContent;
  for (const auto& [role, t] : roleTokens) byContent[t.content] = t;
  if (addedJson)
    for (const auto& [content, id] : addedJson->items()) {
      AddedToken t;
      t.content = fromUtf8(content);
      t.id = tokenId(id, addedFile, content);
      t.normalized = true;
      if (auto it = byContent.find(t.content); it != byContent.end()) {
        it->second.id = t.id;
      } else {
        byContent[t.content] = t;
      }
    }
  if (auto it = f.config.find("added_tokens_decoder"); it != f.config.end() && !it->is_null()) {
    if (!it->is_object()) badValue(f.configFile, "added_tokens_decoder", "must be an object", *it);
    for (const auto& [id, v] : it->items()) {
      AddedToken t = tokenFromJson(v, false, f.configFile, "added_tokens_decoder." + id);
      t.id = tokenIdKey(id, f.configFile);
      byContent[t.content] = t;
    }
  }
  for (auto& [content, t] : byContent) f.added.push_back(t);
  return f;
}

// A true/false option of tokenizer_config.json; none when absent or null.
std::optional<bool> configFlag(const TokenizerFiles& f, const char* key) {
  auto it = f.config.find(key);
  if (it == f.config.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) badValue(f.configFile, key, "must be true or false", *it);
  return it->get<bool>();
}

// model_max_length: 0 for none (absent, or transformers' 1e30 for "no limit": anything over a
// million here). A limit that cannot hold [CLS] prompt [SEP] response [SEP] with a token of each
// would give every input the same ids, and is refused.
int modelMaxLength(const json& config, const fs::path& file) {
  auto it = config.find("model_max_length");
  if (it == config.end() || it->is_null()) return 0;
  if (!it->is_number()) badValue(file, "model_max_length", "must be a number", *it);
  const double n = it->get<double>();
  if (n > 1e6) return 0;
  if (n != std::floor(n)) badValue(file, "model_max_length", "must be a whole number", *it);
  if (n < kMinPairTokens)
    throw InputError(file.string() + ": model_max_length: " + it->dump() +
                     " cannot hold [CLS] prompt [SEP] response [SEP] with a token of each (at "
                     "least " +
                     std::to_string(kMinPairTokens) + ")");
  return static_cast<int>(n);
}

// ---- the shared part: added tokens split off, then the model ----

class HfTokenizer : public Tokenizer {
 public:
  std::vector<int> encode(const std::string& text) const override {
    std::vector<int> ids;
    for (const Segment& s : split(fromUtf8(text))) {
      if (s.token) {
        ids.push_back(s.token->id);
      } else if (!s.text.empty()) {
        encodeText(s.text, s.atStart, ids);
      }
    }
    return ids;
  }
  int vocabSize() const override { return m_vocabSize; }
  SpecialIds special() const override { return m_special; }
  std::string modelPath() const override { return m_dir; }
  std::vector<std::string> files() const override { return m_files; }

 protected:
  struct Segment {
    U32 text;
    const AddedToken* token = nullptr;
    bool atStart = false;  // its first character is the input's first
  };

  // `atStart`: the piece's first character is the input's first (tokenizer.json's Metaspace
  // prepend_scheme "first").
  virtual void encodeText(const U32& text, bool atStart, std::vector<int>& ids) const = 0;
  virtual int lookup(const std::string& token) const = 0;
  // The tokenizer's normalizer, as the Rust tokenizers run it on text between the tokens that
  // are not normalized, before the normalized added tokens are matched in it.
  virtual U32 applyNormalizer(const U32& text) const = 0;
  // applyNormalizer, saying whether it removed the text's first character.
  virtual U32 normalizeText(const U32& text, bool& shifted) const {
    shifted = false;
    return applyNormalizer(text);
  }

  void setUp(const std::string& dir, TokenizerFiles f, int baseVocab) {
    m_dir = dir;
    m_files = std::move(f.read);
    m_added = std::move(f.added);
    m_vocabSize = baseVocab;
    for (auto& t : m_added) {
      if (t.id < 0) t.id = lookup(toUtf8(t.content));
      m_vocabSize = std::max(m_vocabSize, t.id + 1);
      t.pattern = t.normalized ? applyNormalizer(t.content) : t.content;
    }
    // Longest first, so that the first match at a position is the longest (the tokenizers'
    // leftmost-longest matching).
    std::stable_sort(m_added.begin(), m_added.end(), [](const AddedToken& a, const AddedToken& b) {
      return a.pattern.size() > b.pattern.size();
    });
    auto role = [&](const char* name, int fallback) {
      auto it = f.roles.find(name);
      if (it == f.roles.end()) return fallback;
      for (const auto& t : m_added)
        if (t.content == fromUtf8(it->second)) return t.id;
      return lookup(it->second);
    };
    m_special.unk = role("unk", -1);
    m_special.pad = role("pad", m_special.unk);
    m_special.cls = role("cls", -1);
    m_special.sep = role("sep", -1);
    m_special.mask = role("mask", -1);
  }

  const std::vector<AddedToken>& added() const { return m_added; }
  void setSpecial(const SpecialIds& s) { m_special = s; }

 private:
  const AddedToken* matchAt(const U32& text, size_t pos, bool normalized) const {
    for (const auto& t : m_added)
      if (t.normalized == normalized && !t.pattern.empty() &&
          text.compare(pos, t.pattern.size(), t.pattern) == 0)
        return &t;
    return nullptr;
  }

  // The added tokens in `text`, as the Rust tokenizers' AddedVocabulary finds them (transformers
  // 5 has only those): first the tokens that are not normalized, in the text as given; then the
  // normalized ones, in each piece between those, normalized. The pieces that are no token come
  // back normalized.
  std::vector<Segment> split(const U32& text) const {
    std::vector<Segment> out;
    for (Segment& s : findTokens(text, false, true)) {
      if (s.token) {
        out.push_back(std::move(s));
        continue;
      }
      // A normalizer that removes the first character moves the piece off the input's start.
      bool shifted = false;
      const U32 normalized = normalizeText(s.text, shifted);
      for (Segment& n : findTokens(normalized, true, s.atStart && !shifted))
        out.push_back(std::move(n));
    }
    return out;
  }

  // One pass: the leftmost longest match wins and the scan goes on after it. A single_word token
  // with a word character (regex \w) beside it in `text` is passed over; lstrip and rstrip take
  // the whitespace beside a token into it (not past the previous token).
  std::vector<Segment> findTokens(const U32& text, bool normalized, bool atStart) const {
    std::vector<Segment> parts;
    size_t done = 0;  // the text before this is in `parts`
    for (size_t i = 0; i < text.size();) {
      const AddedToken* t = matchAt(text, i, normalized);
      if (!t) {
        ++i;
        continue;
      }
      size_t begin = i, end = i + t->pattern.size();
      i = end;
      if (t->singleWord && ((begin > 0 && isWordChar(text[begin - 1])) ||
                            (end < text.size() && isWordChar(text[end]))))
        continue;
      if (t->lstrip)
        while (begin > done && u_isUWhiteSpace(static_cast<UChar32>(text[begin - 1]))) --begin;
      if (t->rstrip)
        while (end < text.size() && u_isUWhiteSpace(static_cast<UChar32>(text[end]))) ++end;
      if (begin > done)
        parts.push_back({text.substr(done, begin - done), nullptr, atStart && done == 0});
      parts.push_back({U32(), t});
      done = i = end;
    }
    if (done < text.size()) parts.push_back({text.substr(done), nullptr, atStart && done == 0});
    return parts;
  }

  std::string m_dir;
  std::vector<std::string> m_files;
  std::vector<AddedToken> m_added;
  int m_vocabSize = 0;
  SpecialIds m_special;
};

// ---- BERT and ELECTRA: BasicTokenizer + WordPiece ----

class WordPieceTokenizer : public HfTokenizer {
 public:
  explicit WordPieceTokenizer(const std::string& dir) {
    const fs::path vocabFile = fs::path(dir) / "vocab.txt";
    if (!fs::exists(vocabFile))
      throw InputError(vocabFile.string() +
                       ": not found (a BERT or ELECTRA tokenizer needs tokenizer.json or "
                       "vocab.txt)");
    TokenizerFiles f = readTokenizerFiles(dir, {"vocab.txt"}, kBertRoles);
    // One token a line, its id the line number; a device or FIFO named vocab.txt is refused
    // before it is read.
    const std::string text = readRegularFile(vocabFile.string(), kMaxVocabBytes, "vocabulary");
    int index = 0;
    for (size_t start = 0; start < text.size(); ++index) {
      const size_t nl = std::min(text.find('\n', start), text.size());
      const std::string line = text.substr(start, nl - start);
      m_vocab[line] = index;
      m_pieces.push_back(line);
      start = nl + 1;
    }
    if (m_vocab.empty()) throw InputError(vocabFile.string() + ": the vocabulary is empty");
    m_lower = configFlag(f, "do_lower_case").value_or(true);
    m_chinese = configFlag(f, "tokenize_chinese_chars").value_or(true);
    m_stripAccents = configFlag(f, "strip_accents");
    m_basic = configFlag(f, "do_basic_tokenize").value_or(true);
    modelMaxLength(f.config, f.configFile);
    const std::string unk = f.roles.count("unk") ? f.roles["unk"] : "[UNK]";
    for (const char* role : {"cls", "sep"}) {
      const std::string name =
          f.roles.count(role) ? f.roles[role] : (std::string(role) == "cls" ? "[CLS]" : "[SEP]");
      if (!m_vocab.count(name))
        throw InputError(vocabFile.string() + ": the vocabulary has no " + name + " token");
    }
    if (!m_vocab.count(unk))
      throw InputError(vocabFile.string() + ": the vocabulary has no " + unk + " token");
    m_unk = m_vocab.at(unk);
    setUp(dir, std::move(f), static_cast<int>(m_vocab.size()));
  }

  std::string decode(const std::vector<int>& ids) const override {
    const SpecialIds sp = special();
    std::string out;
    for (int id : ids) {
      if (id == sp.pad || id == sp.cls || id == sp.sep) continue;
      std::string tok = id >= 0 && static_cast<size_t>(id) < m_pieces.size() ? m_pieces[id] : "";
      for (const auto& t : added())
        if (t.id == id) tok = toUtf8(t.content);
      if (tok.rfind("##", 0) == 0) {
        out += tok.substr(2);
      } else {
        if (!out.empty()) out += ' ';
        out += tok;
      }
    }
    return out;
  }

 protected:
  int lookup(const std::string& token) const override {
    auto it = m_vocab.find(token);
    return it == m_vocab.end() ? m_unk : it->second;
  }

  // The Rust tokenizers' BertNormalizer: cleaning, CJK spacing, accents stripped and lower-cased
  // as configured. encodeText's own steps leave text it has normalized as it is.
  U32 applyNormalizer(const U32& text) const override {
    U32 out = clean(text);
    if (m_stripAccents.value_or(m_lower)) out = stripAccents(out);
    return m_lower ? lowerEach(out) : out;
  }

  void encodeText(const U32& text, bool, std::vector<int>& ids) const override {
    if (!m_basic) {
      for (const U32& w : pySplit(text)) wordPiece(w, ids);
      return;
    }
    // No word is kept whole as a special token (BasicTokenizer's never_split): text that was not
    // split off as a token is tokenized as text, as by the Rust tokenizers.
    for (U32 word : pySplit(normalize(clean(text), true))) {
      if (m_lower) {
        word = lowerEach(word);
        if (m_stripAccents != false) word = stripAccents(word);
      } else if (m_stripAccents == true) {
        word = stripAccents(word);
      }
      for (const U32& piece : splitOnPunctuation(word))
        for (const U32& w : pySplit(piece)) wordPiece(w, ids);
    }
  }

 private:
  // Cleaning (NUL, U+FFFD and control characters dropped, whitespace to spaces) and CJK
  // ideographs spaced, as BasicTokenizer and the Rust BertNormalizer both begin.
  U32 clean(const U32& text) const {
    U32 out;
    for (char32_t c : text) {
      if (c == 0 || c == 0xFFFD || isBertControl(c)) continue;
      if (isBertWhitespace(c)) {
        out.push_back(' ');
      } else if (m_chinese && isCjk(c)) {
        out += U32{' ', c, ' '};
      } else {
        out.push_back(c);
      }
    }
    return out;
  }

  // Greedy longest-match-first; a word longer than max_input_chars_per_word (100) or with a
  // part that matches nothing becomes [UNK] as a whole.
  void wordPiece(const U32& word, std::vector<int>& ids) const {
    if (word.size() > 100) {
      ids.push_back(m_unk);
      return;
    }
    std::vector<int> pieces;
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      int found = -1;
      while (start < end) {
        std::string sub = toUtf8(word.substr(start, end - start));
        if (start > 0) sub = "##" + sub;
        auto it = m_vocab.find(sub);
        if (it != m_vocab.end()) {
          found = it->second;
          break;
        }
        --end;
      }
      if (found < 0) {
        ids.push_back(m_unk);
        return;
      }
      pieces.push_back(found);
      start = end;
    }
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }

  std::unordered_map<std::string, int> m_vocab;
  std::vector<std::string> m_pieces;
  int m_unk = 0;
  bool m_lower = true;
  bool m_chinese = true;
  bool m_basic = true;
  std::optional<bool> m_stripAccents;
};

// ---- DeBERTa-v2/v3: SentencePiece pieces ----

class DebertaV2Tokenizer : public HfTokenizer {
 public:
  explicit DebertaV2Tokenizer(const std::string& dir) {
    const fs::path model = fs::path(dir) / "spm.model";
    if (!fs::exists(model))
      throw InputError(model.string() + ": not found (a DeBERTa-v2/v3 tokenizer needs tokenizer.json or spm.model)");
    TokenizerFiles f = readTokenizerFiles(dir, {"spm.model"}, kBertRoles);
    m_spm = loadSentencePiece(model.string());
    m_lower = configFlag(f, "do_lower_case").value_or(false);
    m_splitByPunct = configFlag(f, "split_by_punct").value_or(false);
    modelMaxLength(f.config, f.configFile);
    m_unk = m_spm->special().unk;
    for (const char* role : {"cls", "sep"}) {
      const std::string name =
          f.roles.count(role) ? f.roles[role] : (std::string(role) == "cls" ? "[CLS]" : "[SEP]");
      if (sentencePieceId(*m_spm, name) < 0)
        throw InputError(model.string() + ": the model has no " + name + " piece");
    }
    setUp(dir, std::move(f), m_spm->vocabSize());
  }

  std::string decode(const std::vector<int>& ids) const override {
    const SpecialIds sp = special();
    std::string out;
    std::vector<int> run;
    auto flush = [&] {
      if (run.empty()) return;
      if (!out.empty()) out += ' ';
      out += m_spm->decode(run);
      run.clear();
    };
    for (int id : ids) {
      if (id == sp.pad || id == sp.cls || id == sp.sep) continue;
      const AddedToken* a = nullptr;
      for (const auto& t : added())
        if (t.id == id && id >= m_spm->vocabSize()) a = &t;
      if (a) {
        flush();
        if (!out.empty()) out += ' ';
        out += toUtf8(a->content);
      } else {
        run.push_back(id);
      }
    }
    flush();
    return out;
  }

 protected:
  int lookup(const std::string& token) const override {
    const int id = sentencePieceId(*m_spm, token);
    return id >= 0 ? id : m_unk;
  }

  // Lower-casing only: SentencePiece applies the model's own normalization when it encodes.
  U32 applyNormalizer(const U32& text) const override { return m_lower ? lowerEach(text) : text; }

  // SentencePiece's ids equal transformers' PieceToId of its pieces: an unknown piece is the
  // model's unk id either way.
  void encodeText(const U32& text, bool, std::vector<int>& ids) const override {
    if (!m_splitByPunct) {
      const auto p = m_spm->encode(toUtf8(text));
      ids.insert(ids.end(), p.begin(), p.end());
      return;
    }
    for (const U32& word : splitOnPunctuation(text)) {
      const auto p = m_spm->encode(toUtf8(word));
      ids.insert(ids.end(), p.begin(), p.end());
    }
  }

 private:
  std::unique_ptr<Tokenizer> m_spm;
  bool m_lower = false;
  bool m_splitByPunct = false;
  int m_unk = 0;
};

// ---- tokenizer.json, and RoBERTa's vocab.json + merges.txt: tokjson::Pipeline ----

// The Pipeline (tokenizerjson.h) between the added tokens; the special ids from the files' roles.
class PipelineTokenizer : public HfTokenizer {
 public:
  std::string decode(const std::vector<int>& ids) const override {
    std::vector<int> skip;
    for (const auto& t : added())
      if (t.special) skip.push_back(t.id);
    return m_pipeline->decode(ids, skip);
  }
  InputLayout layout() const override { return m_pipeline->layout(); }

 protected:
  int lookup(const std::string& token) const override { return m_pipeline->tokenToId(token); }
  U32 applyNormalizer(const U32& text) const override { return m_pipeline->normalize(text); }
  U32 normalizeText(const U32& text, bool& shifted) const override {
    return m_pipeline->normalize(text, &shifted);
  }
  void encodeText(const U32& text, bool atStart, std::vector<int>& ids) const override {
    m_pipeline->encode(text, atStart, ids);
  }

  // Roles the files name (tokenizer_config.json, special_tokens_map.json); a role naming a token
  // the vocabulary lacks is -1.
  int roleId(const std::map<std::string, std::string>& roles, const char* role) const {
    auto it = roles.find(role);
    return it == roles.end() ? -1 : m_pipeline->tokenToId(it->second);
  }

  std::unique_ptr<tokjson::Pipeline> m_pipeline;
};

class TokenizerJson : public PipelineTokenizer {
 public:
  explicit TokenizerJson(const std::string& dir) {
    const fs::path file = fs::path(dir) / "tokenizer.json";
    m_pipeline = tokjson::Pipeline::fromFile(file.string());
    TokenizerFiles f = readTokenizerFiles(dir, {"tokenizer.json"}, {}, false);
    modelMaxLength(f.config, f.configFile);
    for (const auto& a : m_pipeline->added()) {
      AddedToken t;
      t.content = fromUtf8(a.content);
      t.id = a.id;
      t.lstrip = a.lstrip;
      t.rstrip = a.rstrip;
      t.singleWord = a.singleWord;
      t.normalized = a.normalized;
      t.special = a.special;
      f.added.push_back(t);
    }
    const auto roles = f.roles;
    setUp(dir, std::move(f), m_pipeline->vocabSize());
    // Roles from the files; else cls/sep from an encoder's post-processor (a token before $A and
    // one after $B), which decoders (Llama, Qwen2, Gemma) do not have: -1.
    const InputLayout& l = m_pipeline->layout();
    const bool encoderLayout = !l.pairBefore.empty() && !l.pairAfter.empty();
    SpecialIds sp;
    sp.unk = roles.count("unk") ? roleId(roles, "unk") : m_pipeline->unkId();
    sp.pad = roleId(roles, "pad");
    sp.cls = roles.count("cls") ? roleId(roles, "cls") : encoderLayout ? l.pairBefore.front() : -1;
    sp.sep = roles.count("sep") ? roleId(roles, "sep") : encoderLayout ? l.pairAfter.back() : -1;
    sp.mask = roleId(roles, "mask");
    sp.bos = roleId(roles, "bos");
    sp.eos = roleId(roles, "eos");
    setSpecial(sp);
  }
};

// RoBERTa and GPT-2 as transformers 4 saved them: vocab.json + merges.txt, the ByteLevel
// pre-tokenizer (add_prefix_space from tokenizer_config.json, default false) and <s> A </s> /
// <s> A </s></s> B </s>.
class ByteLevelBpeTokenizer : public PipelineTokenizer {
 public:
  explicit ByteLevelBpeTokenizer(const std::string& dir) {
    const fs::path vocab = fs::path(dir) / "vocab.json", merges = fs::path(dir) / "merges.txt";
    for (const auto& p : {vocab, merges})
      if (!fs::exists(p))
        throw InputError(p.string() +
                         ": not found (a byte-level BPE tokenizer needs vocab.json and merges.txt, "
                         "or tokenizer.json)");
    TokenizerFiles f = readTokenizerFiles(dir, {"vocab.json", "merges.txt"}, kRobertaRoles);
    const bool prefix = configFlag(f, "add_prefix_space").value_or(false);
    modelMaxLength(f.config, f.configFile);
    m_pipeline = tokjson::Pipeline::byteLevelBpe(vocab.string(), merges.string(), prefix);
    const auto roles = f.roles;
    setUp(dir, std::move(f), m_pipeline->vocabSize());
    SpecialIds sp = special();
    for (const char* role : {"cls", "sep"})
      if (roleId(roles, role) < 0)
        throw InputError(vocab.string() + ": the vocabulary has no " + roles.at(role) + " token");
    sp.unk = roleId(roles, "unk");
    sp.pad = roleId(roles, "pad");
    sp.bos = roleId(roles, "bos");
    sp.eos = roleId(roles, "eos");
    setSpecial(sp);
    InputLayout l;
    l.singleBefore = l.pairBefore = {sp.cls};
    l.singleAfter = l.pairAfter = {sp.sep};
    l.pairBetween = {sp.sep, sp.sep};
    m_pipeline->setLayout(l);
  }
};

// The slow files of each kind: tokenizer.json, when present, is used instead.
std::vector<std::string> slowFiles(SlowTokenizer slow) {
  switch (slow) {
    case SlowTokenizer::WordPiece:
      return {"vocab.txt"};
    case SlowTokenizer::SentencePiece:
      return {"spm.model"};
    case SlowTokenizer::ByteLevelBpe:
      return {"vocab.json", "merges.txt"};
    case SlowTokenizer::None:
      break;
  }
  return {};
}

std::string joinAnd(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? " and " : "") + names[i];
  return out;
}

// Something at the path, a FIFO or a folder included (the readers refuse those with the reason).
bool somethingAt(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

}  // namespace

std::string hfTokenizerSource(const std::string& dir, SlowTokenizer slow) {
  std::vector<std::string> present, all = slowFiles(slow);
  for (const auto& name : all)
    if (somethingAt(fs::path(dir) / name)) present.push_back(name);
  if (somethingAt(fs::path(dir) / "tokenizer.json"))
    return present.empty() ? "tokenizer.json"
                           : "tokenizer.json (" + joinAnd(present) + " also present, not used)";
  if (!all.empty() && present.size() == all.size()) return joinAnd(all);
  return "";
}

// transformers 5 reads tokenizer.json whenever a folder has one; the slow files only without it.
std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string& dir, SlowTokenizer slow) {
  if (!fs::is_directory(dir)) throw InputError(dir + ": tokenizer folder not found");
  const fs::path json = fs::path(dir) / "tokenizer.json";
  if (somethingAt(json)) return std::make_unique<TokenizerJson>(dir);
  switch (slow) {
    case SlowTokenizer::WordPiece:
      return std::make_unique<WordPieceTokenizer>(dir);
    case SlowTokenizer::SentencePiece:
      return std::make_unique<DebertaV2Tokenizer>(dir);
    case SlowTokenizer::ByteLevelBpe:
      return std::make_unique<ByteLevelBpeTokenizer>(dir);
    case SlowTokenizer::None:
      break;
  }
  throw InputError(json.string() +
                   ": not found (a tokenizer.json-only tokenizer, such as ModernBERT's or a "
                   "decoder's, needs tokenizer.json)");
}

int hfTokenizerMaxLength(const std::string& dir) {
  const fs::path file = fs::path(dir) / "tokenizer_config.json";
  const auto config = readJson(file, nullptr);
  return config ? modelMaxLength(*config, file) : 0;
}

}  // namespace rr::core
