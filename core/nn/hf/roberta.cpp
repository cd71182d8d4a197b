// RoBERTa and XLM-RoBERTa: BERT's layers (BertEncoder) with positions counted from
// padding_idx + 1, no token types from the tokenizer, and a classification head of dense + tanh
// + out_proj on the first token (<s>), no pooler.
#include "nn/hf/arch_p.h"
#include "nn/hf/bert_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

void parseRoberta(const ConfigFile& f, HfModelConfig& c) {
  parseEncoderKeys(f, c, 1e-12, 2, c.hidden);
  c.embeddingSize = c.hidden;
  c.padTokenId = f.integer("pad_token_id", 1);
  if (c.padTokenId < 0 || c.padTokenId >= c.vocabSize)
    f.fail("'pad_token_id' " + std::to_string(c.padTokenId) + " is not a token id (vocab_size " +
           std::to_string(c.vocabSize) + ")");
  if (c.maxPositions - c.padTokenId - 1 < kMinPairTokens)
    f.fail("'max_position_embeddings' " + std::to_string(c.maxPositions) +
           " leaves fewer than " + std::to_string(kMinPairTokens) +
           " positions after padding_idx " + std::to_string(c.padTokenId));
  const std::string pet = f.string("position_embedding_type", "absolute");
  if (pet != "absolute") f.fail("position_embedding_type '" + pet + "' is not supported (only absolute)");
}

nn::EncoderPtr buildRoberta(const HfModelConfig& c) { return std::make_shared<BertEncoder>(c); }

}  // namespace

const ArchRow& robertaRow() {
  static const ArchRow row{Arch::Roberta,
                           "roberta",
                           "RoBERTa",
                           "RobertaForSequenceClassification",
                           "roberta.",
                           "embeddings.word_embeddings.weight",
                           "classifier.dense",
                           "",
                           "classifier.out_proj",
                           true,
                           false,
                           SlowTokenizer::ByteLevelBpe,
                           "vocab.json and merges.txt",
                           InputKind::Pair,
                           parseRoberta,
                           buildRoberta,
                           bertFamilyParameters};
  return row;
}

const ArchRow& xlmRobertaRow() {
  static const ArchRow row{Arch::XlmRoberta,
                           "xlm-roberta",
                           "XLM-RoBERTa",
                           "XLMRobertaForSequenceClassification",
                           "roberta.",
                           "embeddings.word_embeddings.weight",
                           "classifier.dense",
                           "",
                           "classifier.out_proj",
                           true,
                           false,
                           SlowTokenizer::None,
                           "tokenizer.json",
                           InputKind::Pair,
                           parseRoberta,
                           buildRoberta,
                           bertFamilyParameters};
  return row;
}

}  // namespace rr::core::hf
