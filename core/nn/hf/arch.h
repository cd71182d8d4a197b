#pragma once
// The architectures a Hugging Face model folder may hold, one registry row each (the shape of
// llama.cpp's src/llama-arch.h: an enum and its tables, with one file per architecture beside
// them; written here). Everything that depends on the architecture — config keys, weight names,
// pooler and head, tokenizer files, how an input is laid out, the builder — is in its row, so
// nothing outside core/nn/hf/ names an architecture by string. docs/CHECKPOINTS.md lists them.
#include <string>
#include <vector>

#include "data/hftokenizer.h"
#include "nn/encoder.h"

namespace rr::core::hf {

enum class Arch {
  Bert,
  Electra,
  Roberta,
  XlmRoberta,
  DebertaV2,
  ModernBert,
  Llama,
  Qwen2,
  Qwen3,
  Gemma2,
};

// How the architecture's inputs are laid out and where its reward is read.
enum class InputKind {
  // The tokenizer's pair template ([CLS] prompt [SEP] response [SEP], RoBERTa's
  // <s> prompt </s></s> response </s>); the reward reads the first token (through the pooler).
  Pair,
  // The folder's chat template renders [user: prompt, assistant: response]; the reward reads the
  // last token that is not padding, as *ForSequenceClassification of a decoder does.
  Chat,
};

struct HfModelConfig;
struct ConfigFile;

struct ArchRow {
  Arch arch;
  const char* modelType;       // config.json's model_type
  const char* displayName;     // "RoBERTa"
  const char* classification;  // the *ForSequenceClassification class export writes
  const char* prefix;          // the model's tensors in that class ("bert.", "model.")
  const char* embeddings;      // the word embeddings after the prefix: tells the prefix apart
  // The pooler's dense layer in the classification class ("" when it has none), and in a bare
  // model folder (BertModel keeps its pooler without the prefix).
  const char* pooler;
  const char* barePooler;
  const char* head;  // the classifier's last linear layer ("classifier", "score")
  bool headBias;     // false: `score` has no bias (decoders)
  bool tokenTypes;   // the model takes token_type_ids (else the segment ids are not passed)
  SlowTokenizer slowTokenizer;
  const char* slowFiles;  // the files of that tokenizer, for messages ("vocab.txt")
  InputKind input;
  // Reads the architecture's own keys of config.json into `c` (the shared ones are read).
  void (*parse)(const ConfigFile& f, HfModelConfig& c);
  nn::EncoderPtr (*build)(const HfModelConfig& c);
  // The parameters build allocates (doubles: products of int-sized keys overflow int64).
  double (*parameters)(const HfModelConfig& c);
};

const ArchRow& archRow(Arch a);
// nullptr for a model_type no row has.
const ArchRow* findArch(const std::string& modelType);
// "bert, electra, ..." for messages.
std::string supportedModelTypes();

}  // namespace rr::core::hf
