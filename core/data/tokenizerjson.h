#pragma once
// tokenizer.json, the file of the Rust `tokenizers` library (the only tokenizer file transformers
// 5 saves), read and applied as that library does: normalizer, pre-tokenizer, model (WordPiece,
// BPE, Unigram), post-processor (as an InputLayout) and decoder. Hand-written: no Debian package
// implements this format in C++ (the library is Rust, and its bindings are for Python and Node).
// The added tokens are split off by the caller (hftokenizer.cpp's HfTokenizer, the library's
// AddedVocabulary); this runs the rest on each piece between them. docs/CHECKPOINTS.md,
// "tokenizer.json", lists what is read and what is refused.
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace rr::core::tokjson {

class Model;

// One entry of tokenizer.json's added_tokens.
struct AddedTokenSpec {
  std::string content;
  int id = -1;
  bool singleWord = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

class Pipeline {
 public:
  ~Pipeline();
  // Reads tokenizer.json at `file`: a regular file of at most 64 MiB, JSON nested at most 128
  // deep. Throws InputError "FILE: $.json.path: what is wrong" for anything it cannot apply as
  // the library would.
  static std::unique_ptr<Pipeline> fromFile(const std::string& file);
  // vocab.json + merges.txt: a byte-level BPE with the ByteLevel pre-tokenizer (GPT-2's regex)
  // and decoder, as RoBERTa's and GPT-2's slow files describe; no post-processor (setLayout).
  static std::unique_ptr<Pipeline> byteLevelBpe(const std::string& vocabFile,
                                                const std::string& mergesFile, bool addPrefixSpace);

  // The normalizer (identity when there is none). `shifted`, when given, is set when it removed
  // the text's first character.
  std::u32string normalize(const std::u32string& text, bool* shifted = nullptr) const;
  // Pre-tokenizes a normalized piece of text that holds no added token and appends the model's
  // ids. `atStart`: the piece's first character is the input's first (Metaspace's
  // prepend_scheme "first"; not so when the normalizer removed the input's first character).
  void encode(const std::u32string& normalized, bool atStart, std::vector<int>& ids) const;
  // The decoder's text for `ids`; ids in `skip` (the special tokens) are left out.
  std::string decode(const std::vector<int>& ids, const std::vector<int>& skip) const;

  int tokenToId(const std::string& token) const;  // the model's id, or an added token's; -1
  int vocabSize() const { return m_vocabSize; }   // highest id + 1, added tokens included
  int unkId() const;
  const InputLayout& layout() const { return m_layout; }
  void setLayout(InputLayout layout) { m_layout = std::move(layout); }
  const std::vector<AddedTokenSpec>& added() const { return m_added; }

 private:
  Pipeline();
  struct Parts;
  std::unique_ptr<Parts> m;
  std::unique_ptr<Model> m_model;
  std::vector<std::string> m_tokens;  // id -> token
  std::vector<AddedTokenSpec> m_added;
  InputLayout m_layout;
  int m_vocabSize = 0;
};

}  // namespace rr::core::tokjson
