#pragma once
// Tokenizers behind one interface: a SentencePiece model trained here on an experiment's text,
// or one loaded from a .model file (e.g. a DeBERTa-v3 spm.model).
#include <memory>
#include <string>
#include <vector>

#include "data/chattemplate.h"

namespace rr::core {

struct SpecialIds {
  int pad = 0;
  int unk = 1;
  int cls = 2;
  int sep = 3;
  int mask = -1;  // -1 when the vocabulary has no mask token
  int bos = -1, eos = -1;  // a decoder's begin/end of text (tokenizer_config.json); -1 when none
};

// Where a model's special ids go around the text's own ids: the post-processor of tokenizer.json
// (TemplateProcessing, BertProcessing, RobertaProcessing) or, for every other tokenizer,
// [CLS] A [SEP] and [CLS] A [SEP] B [SEP]. Token-type ids are 1 from B on.
struct InputLayout {
  std::vector<int> singleBefore, singleAfter;           // [CLS] | [SEP]
  std::vector<int> pairBefore, pairBetween, pairAfter;  // [CLS] | [SEP] | [SEP]; RoBERTa <s> | </s></s> | </s>
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  virtual int vocabSize() const = 0;
  virtual SpecialIds special() const = 0;
  // Path of the model file this tokenizer was loaded from (recorded with every run); for a
  // Hugging Face tokenizer, its folder.
  virtual std::string modelPath() const = 0;
  // The files that make up this tokenizer (copied into saved systems and exported folders).
  virtual std::vector<std::string> files() const { return {modelPath()}; }
  // The default: special()'s cls and sep around the pieces.
  virtual InputLayout layout() const;

  // A model's input for (prompt, response), at most maxLen ids, and through secondSegment the
  // index of the response's first id. The default: layout()'s pair form around encode()'s ids,
  // the prompt cut from the left and the response from the right when too long. A decoder's
  // (data/chatinput.h) renders its chat template instead.
  virtual std::vector<int> encodeInput(const std::string& prompt, const std::string& response,
                                       int maxLen, int* secondSegment) const;
  // The prompt alone (routers read it): layout()'s single form, cut from the left.
  virtual std::vector<int> encodePromptInput(const std::string& prompt, int maxLen) const;
  // A conversation whose last message is the one scored. The default: the earlier messages'
  // contents joined by blank lines as the prompt, the last as the response (encodeInput); a
  // decoder's renders its chat template. Empty `messages`: no ids.
  virtual std::vector<int> encodeConversationInput(const std::vector<ChatMessage>& messages,
                                                   int maxLen, int* secondSegment) const;
};

// Loads a SentencePiece .model file. Throws InputError naming the file on failure.
std::unique_ptr<Tokenizer> loadSentencePiece(const std::string& modelPath);

struct TokenizerTrainOptions {
  int vocabSize = 2000;
  std::string modelType = "unigram";  // unigram | bpe
  std::string cacheDir;               // where trained models are cached; see defaultCacheDir()
};

// Trains a SentencePiece model on `texts` unless one trained on the same texts with the same
// options is cached; returns the model path. Special pieces: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3,
// [MASK].
std::string trainSentencePiece(const std::vector<std::string>& texts,
                               const TokenizerTrainOptions& options);

// $RR_CACHE_DIR, else $XDG_CACHE_HOME/rewardrouter, else ~/.cache/rewardrouter.
std::string defaultCacheDir();

// [CLS] prompt [SEP] response [SEP] with one token of each: a model's input limit below this
// cuts every input to the same ids.
constexpr int kMinPairTokens = 5;

// [CLS] prompt [SEP] response [SEP] (the tokenizer's layout()), at most maxLen ids. When too long,
// the prompt is cut from the left (its end, nearest the response, survives); a response that
// alone does not fit keeps its beginning. Returns the ids and, through secondSegment, the index
// of the response's first id (token-type ids are 1 from there).
std::vector<int> encodePromptResponse(const Tokenizer& tok, const std::string& prompt,
                                      const std::string& response, int maxLen,
                                      int* secondSegment = nullptr);

// [CLS] text [SEP] (the layout's single form), cut from the left when too long (used for routing
// on the prompt).
std::vector<int> encodeSingle(const Tokenizer& tok, const std::string& text, int maxLen);

}  // namespace rr::core
