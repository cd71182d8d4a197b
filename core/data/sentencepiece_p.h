#pragma once
// Private to core/data: what the Hugging Face tokenizers need from a SentencePiece tokenizer
// beyond the Tokenizer interface.
#include <string>

#include "data/tokenizer.h"

namespace rr::core {

// The id of `piece` in the model behind a tokenizer from loadSentencePiece(); -1 when the model
// has no such piece or `tok` is not a SentencePiece tokenizer.
int sentencePieceId(const Tokenizer& tok, const std::string& piece);

}  // namespace rr::core
