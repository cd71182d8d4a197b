// tokenizer.json as a whole: the file, its added tokens, the post-processor (as an InputLayout)
// and the decoders. The components are in tokenizerjson_text.cpp and tokenizerjson_models.cpp.
#include "data/tokenizerjson.h"

#include <algorithm>
#include <climits>
#include <set>

#include "common/errors.h"
#include "common/fileio.h"
#include "common/jsonparse.h"
#include "data/tokenizerjson_p.h"

namespace rr::core::tokjson {

// Published Qwen and Llama tokenizer.json files are 7-17 MB.
constexpr std::uint64_t kMaxTokenizerJsonBytes = 64u << 20;
constexpr size_t kMaxAddedTokens = 1u << 20;

struct Pipeline::Parts {
  Normalizer normalizer;
  PreTokenizer preTokenizer;
  Decoder decoder;
};

Pipeline::Pipeline() : m(std::make_unique<Parts>()) {}
Pipeline::~Pipeline() = default;

namespace {

// ---- decoders ----

bool isByteToken(const std::string& t, unsigned char& byte) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return false;
  const int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return false;
  byte = static_cast<unsigned char>(hi * 16 + lo);
  return true;
}

// Bytes as text: each byte of an invalid sequence becomes U+FFFD (String::from_utf8_lossy, near
// enough for reading).
std::string lossyUtf8(const std::string& bytes) { return toUtf8(fromUtf8(bytes)); }

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

Decoder readDecoder(const Reader& r, const json& v, const std::string& path, int depth) {
  if (depth > kMaxComponentDepth) r.fail(path, "Sequences nested too deep");
  const std::string t = r.type(v, path,
                               {"ByteLevel", "Metaspace", "WordPiece", "ByteFallback", "Fuse",
                                "Strip", "Replace", "BPEDecoder", "Sequence"});
  if (t == "ByteLevel") {
    return [](std::vector<std::string>& tokens) {
      std::string bytes;
      for (const std::string& tok : tokens) {
        std::string mine;
        bool all = true;
        for (char32_t c : fromUtf8(tok)) {
          const int b = charToByte(c);
          if (b < 0) {
            all = false;
            break;
          }
          mine.push_back(static_cast<char>(b));
        }
        bytes += all ? mine : tok;
      }
      tokens = {lossyUtf8(bytes)};
    };
  }
  if (t == "Metaspace") {
    const std::string rep = toUtf8(r.character(v, path, "replacement"));
    const bool strip = r.optString(v, path, "prepend_scheme", "always") != "never";
    return [rep, strip](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replaceAll(tokens[i], rep, " ");
        if (i == 0 && strip && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
      }
    };
  }
  if (t == "WordPiece") {
    const std::string prefix = r.optString(v, path, "prefix", "##");
    const bool cleanup = r.flag(v, path, "cleanup", true);
    return [prefix, cleanup](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string& tok = tokens[i];
        if (i > 0) {
          if (!prefix.empty() && tok.rfind(prefix, 0) == 0) {
            tok.erase(0, prefix.size());
          } else {
            tok = " " + tok;
          }
        }
        if (cleanup)
          for (const auto& [from, to] :
               std::vector<std::pair<const char*, const char*>>{{" .", "."},
                                                                {" ?", "?"},
                                                                {" !", "!"},
                                                                {" ,", ","},
                                                                {" ' ", "'"},
                                                                {" n't", "n't"},
                                                                {" 'm", "'m"},
                                                                {" do not", " don't"},
                                                                {" 's", "'s"},
                                                                {" 've", "'ve"},
                                                                {" 're", "'re"}})
            tok = replaceAll(tok, from, to);
      }
    };
  }
  if (t == "ByteFallback") {
    return [](std::vector<std::string>& tokens) {
      std::vector<std::string> out;
      std::string run;
      size_t runTokens = 0;
      auto flush = [&] {
        if (runTokens == 0) return;
        const std::string text = lossyUtf8(run);
        if (toUtf8(fromUtf8(run)) == run) {
          out.push_back(text);
        } else {
          for (size_t i = 0; i < runTokens; ++i) out.push_back("\xEF\xBF\xBD");
        }
        run.clear();
        runTokens = 0;
      };
      for (const std::string& tok : tokens) {
        unsigned char b = 0;
        if (isByteToken(tok, b)) {
          run.push_back(static_cast<char>(b));
          ++runTokens;
        } else {
          flush();
          out.push_back(tok);
        }
      }
      flush();
      tokens = std::move(out);
    };
  }
  if (t == "Fuse") {
    return [](std::vector<std::string>& tokens) {
      std::string all;
      for (const auto& tok : tokens) all += tok;
      tokens = {all};
    };
  }
  if (t == "Strip") {
    const char32_t c = r.character(v, path, "content");
    const long start = r.integer(r.required(v, path, "start"), path + ".start", 0, INT_MAX);
    const long stop = r.integer(r.required(v, path, "stop"), path + ".stop", 0, INT_MAX);
    return [c, start, stop](std::vector<std::string>& tokens) {
      for (std::string& tok : tokens) {
        U32 u = fromUtf8(tok);
        size_t b = 0, e = u.size();
        while (b < e && b < static_cast<size_t>(start) && u[b] == c) ++b;
        while (e > b && u.size() - e < static_cast<size_t>(stop) && u[e - 1] == c) --e;
        tok = toUtf8(u.substr(b, e - b));
      }
    };
  }
  if (t == "Replace") {
    auto pattern = std::make_shared<Pattern>(readPattern(r, v, path));
    const U32 content = fromUtf8(r.string(v, path, "content"));
    return [pattern, content](std::vector<std::string>& tokens) {
      for (std::string& tok : tokens) {
        const U32 u = fromUtf8(tok);
        U32 out;
        size_t done = 0;
        for (const auto& [b, e] : pattern->findAll(u)) {
          out.append(u, done, b - done);
          out += content;
          done = e;
        }
        out.append(u, done, U32::npos);
        tok = toUtf8(out);
      }
    };
  }
  if (t == "BPEDecoder") {
    const std::string suffix = r.optString(v, path, "suffix", "</w>");
    return [suffix](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = replaceAll(tokens[i], suffix, i + 1 == tokens.size() ? "" : " ");
    };
  }
  const json& list = r.array(v, path, "decoders");
  std::vector<Decoder> steps;
  for (size_t i = 0; i < list.size(); ++i)
    steps.push_back(
        readDecoder(r, list[i], path + ".decoders[" + std::to_string(i) + "]", depth + 1));
  return [steps](std::vector<std::string>& tokens) {
    for (const auto& d : steps) d(tokens);
  };
}

// ---- post-processors ----

struct Layout {
  InputLayout l;
  bool addsTokens() const {
    return !l.singleBefore.empty() || !l.singleAfter.empty() || !l.pairBefore.empty() ||
           !l.pairBetween.empty() || !l.pairAfter.empty();
  }
};

int idOf(const Reader& r, const json& v, const std::string& path) {
  return static_cast<int>(r.integer(v, path, 0, INT_MAX - 1));
}

// ["token", id] of BertProcessing and RobertaProcessing.
int tokenPairId(const Reader& r, const json& v, const std::string& path, const char* key) {
  const json& p = r.required(v, path, key);
  const std::string at = path + "." + key;
  if (!p.is_array() || p.size() != 2 || !p[0].is_string()) r.mustBe(at, "[\"token\", id]", p);
  return idOf(r, p[1], at + "[1]");
}

// A TemplateProcessing template: the special tokens before $A, between $A and $B, after the last
// sequence. Token types are not kept (the layout's are 1 from B on).
void readTemplate(const Reader& r, const json& tmpl, const std::string& path, const json& specials,
                  const std::string& specialsPath, bool pair, std::vector<int>& before,
                  std::vector<int>& between, std::vector<int>& after) {
  if (!tmpl.is_array()) r.mustBe(path, "an array of template pieces", tmpl);
  int seen = 0;  // sequences met so far
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    const json& item = tmpl[i];
    if (!item.is_object() || item.size() != 1)
      r.mustBe(at, "{\"SpecialToken\": ...} or {\"Sequence\": ...}", item);
    if (item.contains("Sequence")) {
      const json& s = item["Sequence"];
      if (!s.is_object()) r.mustBe(at + ".Sequence", "an object", s);
      const std::string id = r.string(s, at + ".Sequence", "id");
      const std::string want = seen == 0 ? "A" : "B";
      if (id != want || (!pair && seen == 1))
        r.fail(at + ".Sequence.id", "'" + shortPrefix(id) + "' where " +
                                        (pair ? "$A then $B" : "$A alone") +
                                        " is expected (other orders are not supported)");
      ++seen;
      continue;
    }
    if (!item.contains("SpecialToken"))
      r.mustBe(at, "{\"SpecialToken\": ...} or {\"Sequence\": ...}", item);
    const json& st = item["SpecialToken"];
    if (!st.is_object()) r.mustBe(at + ".SpecialToken", "an object", st);
    const std::string name = r.string(st, at + ".SpecialToken", "id");
    auto it = specials.find(name);
    if (it == specials.end())
      r.fail(at + ".SpecialToken.id", "'" + shortPrefix(name) + "' is not in " + specialsPath);
    const std::string sp = specialsPath + "[\"" + shortPrefix(name) + "\"]";
    if (!it->is_object()) r.mustBe(sp, "an object", *it);
    const json& ids = r.array(*it, sp, "ids");
    std::vector<int>& into = seen == 0 ? before : (pair && seen == 1 ? between : after);
    for (size_t k = 0; k < ids.size(); ++k)
      into.push_back(idOf(r, ids[k], sp + ".ids[" + std::to_string(k) + "]"));
  }
  if (seen != (pair ? 2 : 1))
    r.fail(path, pair ? "must hold $A and $B once each" : "must hold $A once");
}

Layout readPostProcessor(const Reader& r, const json& v, const std::string& path, int depth) {
  if (depth > kMaxComponentDepth) r.fail(path, "Sequences nested too deep");
  const std::string t = r.type(
      v, path,
      {"TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"});
  Layout out;
  InputLayout& l = out.l;
  if (t == "ByteLevel") return out;
  if (t == "BertProcessing" || t == "RobertaProcessing") {
    const int cls = tokenPairId(r, v, path, "cls"), sep = tokenPairId(r, v, path, "sep");
    l.singleBefore = {cls};
    l.singleAfter = {sep};
    l.pairBefore = {cls};
    l.pairBetween = t == "BertProcessing" ? std::vector<int>{sep} : std::vector<int>{sep, sep};
    l.pairAfter = {sep};
    return out;
  }
  if (t == "TemplateProcessing") {
    const json& specials = r.object(v, path, "special_tokens");
    std::vector<int> unused;
    readTemplate(r, r.required(v, path, "single"), path + ".single", specials,
                 path + ".special_tokens", false, l.singleBefore, unused, l.singleAfter);
    readTemplate(r, r.required(v, path, "pair"), path + ".pair", specials, path + ".special_tokens",
                 true, l.pairBefore, l.pairBetween, l.pairAfter);
    return out;
  }
  const json& list = r.array(v, path, "processors");
  bool have = false;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = path + ".processors[" + std::to_string(i) + "]";
    Layout one = readPostProcessor(r, list[i], at, depth + 1);
    if (!one.addsTokens()) continue;
    if (have) r.fail(at, "a second post-processor that adds tokens is not supported");
    have = true;
    out = one;
  }
  return out;
}

AddedTokenSpec readAddedToken(const Reader& r, const json& v, const std::string& path) {
  if (!v.is_object()) r.mustBe(path, "an object", v);
  AddedTokenSpec t;
  t.id = static_cast<int>(r.integer(r.required(v, path, "id"), path + ".id", 0, INT_MAX - 1));
  t.content = r.string(v, path, "content");
  if (t.content.size() > kMaxTokenBytes)
    r.fail(path + ".content", "longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  t.special = r.flag(v, path, "special", false);
  t.singleWord = r.flag(v, path, "single_word", false);
  t.lstrip = r.flag(v, path, "lstrip", false);
  t.rstrip = r.flag(v, path, "rstrip", false);
  t.normalized = r.flag(v, path, "normalized", !t.special);
  return t;
}

void checkIds(const Reader& r, const std::vector<int>& ids, int vocabSize,
              const std::string& where) {
  for (int id : ids)
    if (id >= vocabSize)
      r.fail(where, "token id " + std::to_string(id) + " is beyond the vocabulary (" +
                        std::to_string(vocabSize) + " ids)");
}

}  // namespace

std::unique_ptr<Pipeline> Pipeline::fromFile(const std::string& file) {
  const json j = parseJsonFile(file, kMaxTokenizerJsonBytes);
  const Reader r(file);
  if (!j.is_object()) r.mustBe("$", "an object", j);
  std::unique_ptr<Pipeline> p(new Pipeline());
  if (const json* n = r.find(j, "normalizer"))
    p->m->normalizer = readNormalizer(r, *n, "$.normalizer");
  if (const json* pt = r.find(j, "pre_tokenizer"))
    p->m->preTokenizer = readPreTokenizer(r, *pt, "$.pre_tokenizer");
  p->m_model = readModel(r, r.required(j, "$", "model"), "$.model");
  if (const json* d = r.find(j, "decoder")) p->m->decoder = readDecoder(r, *d, "$.decoder", 0);
  p->m_tokens = p->m_model->tokens();
  if (const json* a = r.find(j, "added_tokens")) {
    if (!a->is_array()) r.mustBe("$.added_tokens", "an array", *a);
    if (a->size() > kMaxAddedTokens)
      r.fail("$.added_tokens", std::to_string(a->size()) + " tokens, more than the " +
                                   std::to_string(kMaxAddedTokens) + " this build reads");
    for (size_t i = 0; i < a->size(); ++i)
      p->m_added.push_back(readAddedToken(r, (*a)[i], "$.added_tokens[" + std::to_string(i) + "]"));
  }
  p->m_vocabSize = static_cast<int>(p->m_tokens.size());
  for (const auto& t : p->m_added) {
    p->m_vocabSize = std::max(p->m_vocabSize, t.id + 1);
    if (t.id >= static_cast<int>(p->m_tokens.size()) && t.id < static_cast<int>(kMaxVocab))
      p->m_tokens.resize(t.id + 1);
    if (t.id < static_cast<int>(p->m_tokens.size())) p->m_tokens[t.id] = t.content;
  }
  if (p->m_vocabSize > static_cast<int>(kMaxVocab) + static_cast<int>(kMaxAddedTokens))
    r.fail("$.added_tokens", "an id of " + std::to_string(p->m_vocabSize - 1) +
                                 " leaves the vocabulary far larger than its tokens");
  if (const json* pp = r.find(j, "post_processor")) {
    p->m_layout = readPostProcessor(r, *pp, "$.post_processor", 0).l;
    const InputLayout& l = p->m_layout;
    for (const auto* ids :
         {&l.singleBefore, &l.singleAfter, &l.pairBefore, &l.pairBetween, &l.pairAfter})
      checkIds(r, *ids, p->m_vocabSize, "$.post_processor");
  }
  return p;
}

std::unique_ptr<Pipeline> Pipeline::byteLevelBpe(const std::string& vocabFile,
                                                 const std::string& mergesFile,
                                                 bool addPrefixSpace) {
  const json vocab = parseJsonFile(vocabFile, kMaxTokenizerJsonBytes);
  const std::string merges = readRegularFile(mergesFile, kMaxTokenizerJsonBytes, "merges file");
  std::unique_ptr<Pipeline> p(new Pipeline());
  p->m_model = byteLevelBpeModel(vocabFile, vocab, mergesFile, merges);
  const Reader r("(built in)");
  p->m->preTokenizer =
      readPreTokenizer(r, json{{"type", "ByteLevel"}, {"add_prefix_space", addPrefixSpace}}, "$");
  p->m->decoder = readDecoder(r, json{{"type", "ByteLevel"}}, "$", 0);
  p->m_tokens = p->m_model->tokens();
  p->m_vocabSize = static_cast<int>(p->m_tokens.size());
  return p;
}

std::u32string Pipeline::normalize(const std::u32string& text, bool* shifted) const {
  if (!m->normalizer) return text;
  U32 s = text;
  bool moved = false;
  m->normalizer(s, moved);
  if (shifted) *shifted = moved;
  return s;
}

void Pipeline::encode(const std::u32string& normalized, bool atStart, std::vector<int>& ids) const {
  std::vector<Piece> pieces{{normalized, atStart}};
  if (m->preTokenizer) m->preTokenizer(pieces);
  for (const Piece& p : pieces)
    if (!p.text.empty()) m_model->encode(toUtf8(p.text), ids);
}

std::string Pipeline::decode(const std::vector<int>& ids, const std::vector<int>& skip) const {
  std::vector<std::string> tokens;
  for (int id : ids) {
    if (std::find(skip.begin(), skip.end(), id) != skip.end()) continue;
    if (id >= 0 && static_cast<size_t>(id) < m_tokens.size()) tokens.push_back(m_tokens[id]);
  }
  if (!m->decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  m->decoder(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

int Pipeline::tokenToId(const std::string& token) const {
  for (const auto& t : m_added)
    if (t.content == token) return t.id;
  return m_model->tokenToId(token);
}

int Pipeline::unkId() const { return m_model->unkId(); }

}  // namespace rr::core::tokjson
