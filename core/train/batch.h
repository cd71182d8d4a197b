#pragma once
// Tokenized experiment data and padded batches (internal; includes LibTorch).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/pair.h"
#include "data/tokenizer.h"

namespace rr::core {

struct EncodedPair {
  std::vector<int64_t> chosen, rejected;  // [CLS] prompt [SEP] response [SEP]
  std::vector<int64_t> prompt;            // [CLS] prompt [SEP], what routers see
  // Tokens of segment 0 ([CLS] prompt [SEP]) in chosen/rejected; the rest is segment 1
  // (token-type id 1 for BERT-style backbones).
  int chosenFirst = 0, rejectedFirst = 0;
  int domain = 0;  // index into EncodedData::domains
};

struct EncodedData {
  std::vector<PreferencePair> pairs;  // same order as `encoded`
  std::vector<EncodedPair> encoded;
  std::vector<std::string> domains;
  std::vector<size_t> train, validation, test;  // indices into pairs
  int vocabSize = 0;
  SpecialIds special;
  int maxLen = 0;
  // Scoring single responses (`score`, the scoring box): pairs carry no rejected side, and
  // pairBatch builds the chosen rows alone (toPairScores then gives rejected = NaN), so an input
  // costs one row, not a second prompt-only one.
  bool responsesOnly = false;
};

// Domains are numbered in sorted order, or in `domainOrder` when given (an extended system keeps
// its old domains' numbers and appends the new one).
EncodedData encodeData(std::vector<PreferencePair> pairs, const Tokenizer& tok, int maxLen,
                       std::vector<std::string> domainOrder = {});

struct Batch {
  torch::Tensor ids;    // int64 [N, T], padded to the longest row
  torch::Tensor mask;   // int64 [N, T], 1 for tokens
  torch::Tensor types;  // int64 [N, T], token-type ids: 1 from a row's second segment on
};
// firstSegment[i]: how many leading tokens of row i are segment 0 (empty = all of them).
Batch makeBatch(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad,
                const torch::Device& device, const std::vector<int>& firstSegment = {});

// Chosen rows first, then rejected rows: rewards[:n] are chosen, rewards[n:] rejected (chosen
// rows alone for data.responsesOnly).
Batch pairBatch(const EncodedData& data, const std::vector<size_t>& idx,
                const torch::Device& device);
// The margins (PreferencePair::margin) of data.pairs[idx[i]], in batch order.
std::vector<double> pairMargins(const EncodedData& data, const std::vector<size_t>& idx);
// Tokens in pair i's longest row: what it costs in a batch.
size_t pairLength(const EncodedData& data, size_t i);
Batch promptBatch(const EncodedData& data, const std::vector<size_t>& idx,
                  const torch::Device& device);

}  // namespace rr::core
