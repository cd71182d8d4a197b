#pragma once
// The parts of the tokenizer.json reader (tokenizerjson.h), shared by its three files:
// tokenizerjson_text.cpp (Unicode helpers, regular expressions, normalizers, pre-tokenizers),
// tokenizerjson_models.cpp (WordPiece, BPE, Unigram) and tokenizerjson.cpp (the file, the
// post-processor, the decoders). Each component is a function built from its JSON; every wrong
// value is an InputError "FILE: $.json.path: what is wrong".
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rr::core::tokjson {

using json = nlohmann::json;
using U32 = std::u32string;

// ---- text ----
U32 fromUtf8(const std::string& s);  // invalid UTF-8 becomes U+FFFD
std::string toUtf8(const U32& s);
std::string toUtf8(char32_t c);
// Rust's char::is_whitespace (the Unicode White_Space property).
bool isWhitespace(char32_t c);
// The tokenizers' is_bert_punc: ASCII punctuation or a Unicode P* character.
bool isPunctuation(char32_t c);
// The GPT-2 byte-to-character table of the ByteLevel components (printable bytes are themselves,
// the others 256 + n in order).
const std::vector<char32_t>& byteToChar();
// The inverse of byteToChar(): -1 for a character that stands for no byte.
int charToByte(char32_t c);

// ---- reading the JSON ----
class Reader {
 public:
  explicit Reader(std::string file) : m_file(std::move(file)) {}
  const std::string& file() const { return m_file; }
  [[noreturn]] void fail(const std::string& path, const std::string& what) const;
  [[noreturn]] void mustBe(const std::string& path, const std::string& what, const json& v) const;
  // The member `key` of `obj`; nullptr when absent or null.
  const json* find(const json& obj, const char* key) const;
  const json& required(const json& obj, const std::string& path, const char* key) const;
  const json& object(const json& obj, const std::string& path, const char* key) const;
  const json& array(const json& obj, const std::string& path, const char* key) const;
  bool flag(const json& obj, const std::string& path, const char* key, bool fallback) const;
  std::string string(const json& obj, const std::string& path, const char* key) const;
  std::string optString(const json& obj, const std::string& path, const char* key,
                        const std::string& fallback) const;
  // A single Unicode character written as a string (Metaspace's replacement).
  char32_t character(const json& obj, const std::string& path, const char* key) const;
  long integer(const json& v, const std::string& path, long lo, long hi) const;
  // The "type" of a component, one of `supported`.
  std::string type(const json& obj, const std::string& path,
                   std::initializer_list<const char*> supported) const;

 private:
  std::string m_file;
};

// ---- regular expressions (ICU, with the Oniguruma meaning of \s and \S) ----
class Regex {
 public:
  // InputError at `path` when the pattern does not compile.
  Regex(const std::string& pattern, const Reader& r, const std::string& path);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // The non-overlapping matches, leftmost first, as [begin, end) code point indices.
  std::vector<std::pair<size_t, size_t>> findAll(const U32& text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m;
};

// A Split/Replace pattern: {"String": "..."} (literal) or {"Regex": "..."}.
struct Pattern {
  U32 literal;
  std::shared_ptr<Regex> regex;
  std::vector<std::pair<size_t, size_t>> findAll(const U32& text) const;
};
Pattern readPattern(const Reader& r, const json& obj, const std::string& path);

// ---- the pipeline's components ----
struct Piece {
  U32 text;
  // Begins at the input's first character (the library's offsets_original() is 0: Metaspace's
  // prepend_scheme "first").
  bool atStart = false;
};
// Normalizes in place; sets `shifted` when it removes the text's first character (a removed
// character's neighbour keeps its own place in the original text).
using Normalizer = std::function<void(U32&, bool& shifted)>;
using PreTokenizer = std::function<void(std::vector<Piece>&)>;
// Turns the tokens of decode() into the pieces of text, in place.
using Decoder = std::function<void(std::vector<std::string>&)>;

Normalizer readNormalizer(const Reader& r, const json& v, const std::string& path, int depth = 0);
PreTokenizer readPreTokenizer(const Reader& r, const json& v, const std::string& path,
                              int depth = 0);

class Model {
 public:
  virtual ~Model() = default;
  virtual void encode(const std::string& piece, std::vector<int>& ids) const = 0;
  virtual int tokenToId(const std::string& token) const = 0;  // -1 when absent
  // Every id the model has, to its token ("" for an id it lacks).
  virtual std::vector<std::string> tokens() const = 0;
  virtual int unkId() const = 0;  // -1 when none
};
std::unique_ptr<Model> readModel(const Reader& r, const json& v, const std::string& path);
// vocab.json + merges.txt (RoBERTa's and GPT-2's files before tokenizer.json): a byte-level BPE.
std::unique_ptr<Model> byteLevelBpeModel(const std::string& vocabFile, const json& vocab,
                                         const std::string& mergesFile, const std::string& merges);

// Bounds on what a hostile file makes us build.
constexpr size_t kMaxVocab = 4u << 20;
constexpr size_t kMaxMerges = 4u << 20;
constexpr size_t kMaxTokenBytes = 4096;
constexpr int kMaxComponentDepth = 16;  // Sequence inside Sequence

}  // namespace rr::core::tokjson
