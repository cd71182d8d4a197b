#pragma once
// The tokenizers of Hugging Face model folders, built exactly as transformers' Python ("slow")
// tokenizers build inputs (docs/CHECKPOINTS.md): no Python, no network.
//   bert, electra:  vocab.txt: BasicTokenizer (cleaning, CJK spacing, lower-casing and accent
//                   stripping when configured, punctuation splitting) + WordPiece ("##").
//   deberta-v2/v3:  spm.model: SentencePiece pieces (through the dlopen'ed wrapper), unknown pieces
//                   to [UNK], the tokenizer_config.json options (do_lower_case, split_by_punct).
// Both split on special and added tokens first (tokenizer_config.json, special_tokens_map.json,
// added_tokens.json), as transformers does.
#include <memory>
#include <string>

#include "data/tokenizer.h"

namespace rr::core {

// `modelType` is config.json's model_type ("bert", "electra", "deberta-v2"). Throws InputError
// naming the file and what is wrong (missing vocab.txt/spm.model, unreadable JSON, no [CLS]).
std::unique_ptr<Tokenizer> loadHfTokenizer(const std::string& dir, const std::string& modelType);

// The tokenizer's own input limit: tokenizer_config.json's model_max_length when it is a sane
// number (transformers writes 1e30 for "none"), else 0.
int hfTokenizerMaxLength(const std::string& dir);

}  // namespace rr::core
