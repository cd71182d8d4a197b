#include "data/hftokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "common/errors.h"
#include "data/sentencepiece_p.h"

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

U32 pyStrip(U32 s, bool left, bool right) {
  if (right)
    while (!s.empty() && isPySpace(s.back())) s.pop_back();
  if (left) {
    size_t i = 0;
    while (i < s.size() && isPySpace(s[i])) ++i;
    s.erase(0, i);
  }
  return s;
}

// ---- the files of a tokenizer folder ----

std::optional<json> readJson(const fs::path& file, std::vector<std::string>* read) {
  if (!fs::exists(file)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot read");
  try {
    json j = json::parse(in);
    if (read) read->push_back(file.string());
    return j;
  } catch (const json::parse_error& e) {
    throw InputError(file.string() + ": invalid JSON: " + e.what());
  }
}

// One added or special token, with the AddedToken flags transformers honours when splitting.
struct AddedToken {
  U32 content;
  int id = -1;
  bool lstrip = false;
  bool rstrip = false;
  bool singleWord = false;
  bool normalized = false;
  bool special = false;
};

// The special tokens by role and every added token, gathered from the three JSON files the way
// PreTrainedTokenizer.from_pretrained merges them (tokenizer_config.json wins).
struct TokenizerFiles {
  std::vector<std::string> read;
  json config = json::object();
  std::map<std::string, std::string> roles;  // "cls" -> "[CLS]"
  std::vector<AddedToken> added;
};

AddedToken tokenFromJson(const json& v, bool special) {
  AddedToken t;
  t.special = special;
  t.normalized = !special;
  if (v.is_string()) {
    t.content = fromUtf8(v.get<std::string>());
  } else if (v.is_object() && v.contains("content")) {
    t.content = fromUtf8(v.at("content").get<std::string>());
    t.lstrip = v.value("lstrip", false);
    t.rstrip = v.value("rstrip", false);
    t.singleWord = v.value("single_word", false);
    t.special = v.value("special", special);
    t.normalized = v.value("normalized", !t.special);
  }
  return t;
}

TokenizerFiles readTokenizerFiles(const fs::path& dir, const std::string& modelFile) {
  TokenizerFiles f;
  f.read.push_back((dir / modelFile).string());
  const auto config = readJson(dir / "tokenizer_config.json", &f.read);
  const auto specialMap = readJson(dir / "special_tokens_map.json", &f.read);
  const auto addedJson = readJson(dir / "added_tokens.json", &f.read);
  if (config && config->is_object()) f.config = *config;

  // The tokenizer classes' defaults (BertTokenizer, ElectraTokenizer, DebertaV2Tokenizer all
  // name these), which the files only override: a folder without special_tokens_map.json still
  // has its [CLS]/[SEP]/[PAD]/[UNK]/[MASK].
  std::map<std::string, AddedToken> roleTokens;
  for (const auto& [role, content] :
       std::vector<std::pair<const char*, const char*>>{{"pad", "[PAD]"},
                                                        {"unk", "[UNK]"},
                                                        {"cls", "[CLS]"},
                                                        {"sep", "[SEP]"},
                                                        {"mask", "[MASK]"}}) {
    AddedToken t;
    t.content = fromUtf8(content);
    t.special = true;
    t.normalized = false;
    roleTokens[role] = t;
    f.roles[role] = content;
  }
  for (const json* src : {specialMap ? &*specialMap : nullptr, config ? &*config : nullptr}) {
    if (!src || !src->is_object()) continue;
    for (const char* role : {"pad", "unk", "cls", "sep", "mask", "bos", "eos"}) {
      const std::string key = std::string(role) + "_token";
      if (!src->contains(key) || src->at(key).is_null()) continue;
      AddedToken t = tokenFromJson(src->at(key), true);
      if (t.content.empty()) continue;
      roleTokens[role] = t;
      f.roles[role] = toUtf8(t.content);
    }
  }
  std::map<U32, AddedToken> byContent;
  for (const auto& [role, t] : roleTokens) byContent[t.content] = t;
  if (addedJson && addedJson->is_object())
    for (const auto& [content, id] : addedJson->items()) {
      AddedToken t;
      t.content = fromUtf8(content);
      t.id = id.get<int>();
      t.normalized = true;
      if (auto it = byContent.find(t.content); it != byContent.end()) {
        it->second.id = t.id;
      } else {
        byContent[t.content] = t;
      }
    }
  if (f.config.contains("added_tokens_decoder") && f.config["added_tokens_decoder"].is_object())
    for (const auto& [id, v] : f.config["added_tokens_decoder"].items()) {
      AddedToken t = tokenFromJson(v, false);
      t.id = std::stoi(id);
      byContent[t.content] = t;
    }
  for (auto& [content, t] : byContent) f.added.push_back(t);
  return f;
}

bool configFlag(const json& config, const char* key, bool fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  return config[key].get<bool>();
}

// ---- the shared part of PreTrainedTokenizer.tokenize ----

class HfTokenizer : public Tokenizer {
 public:
  std::vector<int> encode(const std::string& text) const override {
    std::vector<int> ids;
    for (const Segment& s : split(fromUtf8(text))) {
      if (s.token) {
        ids.push_back(s.token->id);
      } else if (!s.text.empty()) {
        encodeText(s.text, ids);
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
  };

  virtual void encodeText(const U32& text, std::vector<int>& ids) const = 0;
  virtual int lookup(const std::string& token) const = 0;

  void setUp(const std::string& dir, TokenizerFiles f, bool lowerCase, int baseVocab) {
    m_dir = dir;
    m_files = std::move(f.read);
    m_lowerCase = lowerCase;
    m_added = std::move(f.added);
    m_vocabSize = baseVocab;
    for (auto& t : m_added) {
      if (t.id < 0) t.id = lookup(toUtf8(t.content));
      m_vocabSize = std::max(m_vocabSize, t.id + 1);
    }
    // Longest first, so that the first match at a position is the longest, as transformers'
    // trie and lower-casing regex find it.
    std::stable_sort(m_added.begin(), m_added.end(), [](const AddedToken& a, const AddedToken& b) {
      return a.content.size() > b.content.size();
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

  bool isNeverSplit(const U32& word) const {
    for (const auto& t : m_added)
      if (t.special && t.content == word) return true;
    return false;
  }

  const std::vector<AddedToken>& added() const { return m_added; }

 private:
  const AddedToken* matchAt(const U32& text, size_t pos) const {
    for (const auto& t : m_added)
      if (!t.content.empty() && text.compare(pos, t.content.size(), t.content) == 0) return &t;
    return nullptr;
  }

  std::vector<Segment> split(U32 text) const {
    if (m_lowerCase) {
      // transformers lowers everything except special tokens and the normalized added tokens
      // before it splits on added tokens.
      U32 lowered;
      for (size_t i = 0; i < text.size();) {
        const AddedToken* t = matchAt(text, i);
        if (t && (t->special || t->normalized)) {
          lowered += t->content;
          i += t->content.size();
        } else {
          lowered += lowerEach(U32(1, text[i]));
          ++i;
        }
      }
      text = std::move(lowered);
    }
    std::vector<Segment> parts;
    U32 cur;
    for (size_t i = 0; i < text.size();) {
      if (const AddedToken* t = matchAt(text, i)) {
        parts.push_back({std::move(cur), nullptr});
        cur.clear();
        parts.push_back({t->content, t});
        i += t->content.size();
      } else {
        cur.push_back(text[i++]);
      }
    }
    parts.push_back({std::move(cur), nullptr});
    // lstrip/rstrip/single_word, as PreTrainedTokenizer.tokenize applies them.
    for (size_t i = 0; i < parts.size(); ++i) {
      const AddedToken* t = parts[i].token;
      if (!t) continue;
      Segment* left = i > 0 ? &parts[i - 1] : nullptr;
      Segment* right = i + 1 < parts.size() ? &parts[i + 1] : nullptr;
      if (t->rstrip && right && !right->token) right->text = pyStrip(right->text, true, false);
      if (t->lstrip && left && !left->token) left->text = pyStrip(left->text, false, true);
      if (t->singleWord) {
        if (left && !left->token && !left->text.empty() && left->text.back() != ' ') {
          left->text += t->content;
          parts[i] = {U32(), nullptr};
        } else if (right && !right->token && !right->text.empty() && right->text[0] != ' ') {
          right->text = t->content + right->text;
          parts[i] = {U32(), nullptr};
        }
      }
    }
    return parts;
  }

  std::string m_dir;
  std::vector<std::string> m_files;
  bool m_lowerCase = false;
  std::vector<AddedToken> m_added;
  int m_vocabSize = 0;
  SpecialIds m_special;
};

// ---- BERT and ELECTRA: BasicTokenizer + WordPiece ----

class WordPieceTokenizer : public HfTokenizer {
 public:
  WordPieceTokenizer(const std::string& dir, const std::string& modelType) {
    const fs::path vocabFile = fs::path(dir) / "vocab.txt";
    if (!fs::exists(vocabFile))
      throw InputError(vocabFile.string() + ": not found (a " + modelType +
                       " tokenizer needs vocab.txt)");
    TokenizerFiles f = readTokenizerFiles(dir, "vocab.txt");
    std::ifstream in(vocabFile, std::ios::binary);
    std::string line;
    int index = 0;
    while (std::getline(in, line)) {
      m_vocab[line] = index;
      if (static_cast<size_t>(index) >= m_pieces.size()) m_pieces.resize(index + 1);
      m_pieces[index] = line;
      ++index;
    }
    if (m_vocab.empty()) throw InputError(vocabFile.string() + ": the vocabulary is empty");
    const json& c = f.config;
    m_lower = configFlag(c, "do_lower_case", true);
    m_chinese = configFlag(c, "tokenize_chinese_chars", true);
    if (c.contains("strip_accents") && !c["strip_accents"].is_null())
      m_stripAccents = c["strip_accents"].get<bool>();
    m_basic = configFlag(c, "do_basic_tokenize", true);
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
    setUp(dir, std::move(f), m_lower, static_cast<int>(m_vocab.size()));
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

  void encodeText(const U32& text, std::vector<int>& ids) const override {
    if (!m_basic) {
      for (const U32& w : pySplit(text)) wordPiece(w, ids);
      return;
    }
    U32 clean;
    for (char32_t c : text) {
      if (c == 0 || c == 0xFFFD || isBertControl(c)) continue;
      if (isBertWhitespace(c)) {
        clean.push_back(' ');
      } else if (m_chinese && isCjk(c)) {
        clean += U32{' ', c, ' '};
      } else {
        clean.push_back(c);
      }
    }
    for (U32 word : pySplit(normalize(clean, true))) {
      if (isNeverSplit(word)) {
        wordPiece(word, ids);
        continue;
      }
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
      throw InputError(model.string() + ": not found (a deberta-v2 tokenizer needs spm.model)");
    TokenizerFiles f = readTokenizerFiles(dir, "spm.model");
    m_spm = loadSentencePiece(model.string());
    m_lower = configFlag(f.config, "do_lower_case", false);
    m_splitByPunct = configFlag(f.config, "split_by_punct", false);
    m_unk = m_spm->special().unk;
    for (const char* role : {"cls", "sep"}) {
      const std::string name =
          f.roles.count(role) ? f.roles[role] : (std::string(role) == "cls" ? "[CLS]" : "[SEP]");
      if (sentencePieceId(*m_spm, name) < 0)
        throw InputError(model.string() + ": the model has no " + name + " piece");
    }
    setUp(dir, std::move(f), m_lower, m_spm->vocabSize());
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

  // SentencePiece's ids equal transformers' PieceToId of its pieces: an unknown piece is the
  // model's unk id either way.
  void encodeText(const U32& text, std::vector<int>& ids) const override {
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

}  // namespace

std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string& dir, const std::string& modelType) {
  if (!fs::is_directory(dir)) throw InputError(dir + ": tokenizer folder not found");
  if (modelType == "bert" || modelType == "electra")
    return std::make_unique<WordPieceTokenizer>(dir, modelType);
  if (modelType == "deberta-v2") return std::make_unique<DebertaV2Tokenizer>(dir);
  throw InputError(dir + ": unsupported tokenizer model type '" + modelType +
                   "' (supported: bert, electra, deberta-v2)");
}

int hfTokenizerMaxLength(const std::string& dir) {
  const auto config = readJson(fs::path(dir) / "tokenizer_config.json", nullptr);
  if (!config || !config->is_object() || !config->contains("model_max_length")) return 0;
  const json& v = config->at("model_max_length");
  if (!v.is_number()) return 0;
  const double n = v.get<double>();
  return n > 0 && n <= 1e6 ? static_cast<int>(n) : 0;
}

}  // namespace rr::core
