#pragma once
// The tokenizers of Hugging Face model folders, building the ids transformers builds
// (docs/CHECKPOINTS.md): no Python, no network. tokenizer.json, when the folder has one, is read
// and applied as the Rust `tokenizers` library does (data/tokenizerjson.h). Otherwise the slow
// files: added tokens are split off as the Rust library does (transformers 5 has no other); the
// rest as the Python ("slow") tokenizers of transformers 4.x, which agree with the Rust ones there.
//   bert, electra:  vocab.txt: BasicTokenizer (cleaning, CJK spacing, lower-casing and accent
//                   stripping when configured, punctuation splitting) + WordPiece ("##").
//   deberta-v2/v3:  spm.model: SentencePiece pieces (through the dlopen'ed wrapper), unknown pieces
//                   to [UNK], the tokenizer_config.json options (do_lower_case, split_by_punct).
//   roberta, gpt2:  vocab.json + merges.txt: byte-level BPE, <s> A </s></s> B </s>.
// Both split on special and added tokens first (tokenizer_config.json, special_tokens_map.json,
// added_tokens.json). Only regular files are read, each within a size bound, JSON with bounded
// nesting; wrong types and out-of-range ids are InputErrors naming the file and the field.
#include <memory>
#include <string>

#include "data/tokenizer.h"

namespace rr::core {

// The files an architecture's tokenizer was published in before tokenizer.json (transformers'
// "slow" tokenizers). The architecture registry (core/nn/hf/) says which one a model type has.
enum class SlowTokenizer {
  None,           // tokenizer.json only (ModernBERT, the decoders)
  WordPiece,      // vocab.txt (BERT, ELECTRA)
  SentencePiece,  // spm.model (DeBERTa-v2/v3)
  ByteLevelBpe,   // vocab.json + merges.txt (RoBERTa)
};

// The folder's tokenizer as transformers 5 loads it: tokenizer.json whenever the folder has one
// (data/tokenizerjson.h), else the slow files of `slow`. Throws InputError naming the file and
// what is wrong (missing files, unreadable JSON, an unsupported component, no [CLS]).
std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string& dir, SlowTokenizer slow);
// Which files loadHfTokenizer reads, for the user: "tokenizer.json", "tokenizer.json (vocab.txt
// also present, not used)", "vocab.txt", "vocab.json and merges.txt"; "" when the folder has
// neither tokenizer.json nor all of the slow files.
std::string hfTokenizerSource(const std::string& dir, SlowTokenizer slow);

// The tokenizer's own input limit: tokenizer_config.json's model_max_length, 0 when there is none
// (absent, or over a million: transformers writes 1e30 for "none"). InputError for a value that
// is not a whole number of at least kMinPairTokens.
int hfTokenizerMaxLength(const std::string& dir);

}  // namespace rr::core
