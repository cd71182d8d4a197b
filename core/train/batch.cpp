#include "train/batch.h"

#include <algorithm>

namespace rr::core {

EncodedData encodeData(std::vector<PreferencePair> pairs, const Tokenizer& tok, int maxLen,
                       std::vector<std::string> domainOrder) {
  EncodedData d;
  d.domains = domainOrder.empty() ? domainsOf(pairs) : std::move(domainOrder);
  d.vocabSize = tok.vocabSize();
  d.special = tok.special();
  d.maxLen = maxLen;
  d.encoded.reserve(pairs.size());
  auto widen = [](const std::vector<int>& v) { return std::vector<int64_t>(v.begin(), v.end()); };
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    EncodedPair e;
    if (!p.conversation.empty()) {
      // A conversation to score (no rejected side): routers read its earlier turns joined.
      e.chosen = widen(tok.encodeConversationInput(p.conversation, maxLen, &e.chosenFirst));
      std::string before;
      for (size_t k = 0; k + 1 < p.conversation.size(); ++k)
        before += (k ? "\n\n" : "") + p.conversation[k].content;
      e.prompt = widen(encodeSingle(tok, before, maxLen));
    } else {
      e.chosen = widen(encodePromptResponse(tok, p.prompt, p.chosen, maxLen, &e.chosenFirst));
      e.rejected =
          widen(encodePromptResponse(tok, p.prompt, p.rejected, maxLen, &e.rejectedFirst));
      e.prompt = widen(encodeSingle(tok, p.prompt, maxLen));
    }
    e.domain = static_cast<int>(std::find(d.domains.begin(), d.domains.end(), p.domain) -
                                d.domains.begin());
    d.encoded.push_back(std::move(e));
    if (p.split == "train")
      d.train.push_back(i);
    else if (p.split == "validation")
      d.validation.push_back(i);
    else
      d.test.push_back(i);
  }
  d.pairs = std::move(pairs);
  return d;
}

Batch makeBatch(const std::vector<const std::vector<int64_t>*>& rows, int64_t pad,
                const torch::Device& device, const std::vector<int>& firstSegment) {
  size_t t = 1;
  for (const auto* r : rows) t = std::max(t, r->size());
  const int64_t n = static_cast<int64_t>(rows.size()), tl = static_cast<int64_t>(t);
  torch::Tensor ids = torch::full({n, tl}, pad, torch::kLong);
  torch::Tensor mask = torch::zeros({n, tl}, torch::kLong);
  torch::Tensor types = torch::zeros({n, tl}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  auto ta = types.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = *rows[static_cast<size_t>(i)];
    const size_t first =
        firstSegment.empty() ? r.size() : static_cast<size_t>(firstSegment[static_cast<size_t>(i)]);
    for (size_t j = 0; j < r.size(); ++j) {
      ia[i][static_cast<int64_t>(j)] = r[j];
      ma[i][static_cast<int64_t>(j)] = 1;
      ta[i][static_cast<int64_t>(j)] = j >= first ? 1 : 0;
    }
  }
  return {ids.to(device), mask.to(device), types.to(device)};
}

Batch pairBatch(const EncodedData& data, const std::vector<size_t>& idx,
                const torch::Device& device) {
  std::vector<const std::vector<int64_t>*> rows;
  std::vector<int> first;
  rows.reserve(idx.size() * 2);
  first.reserve(idx.size() * 2);
  for (size_t i : idx) {
    rows.push_back(&data.encoded[i].chosen);
    first.push_back(data.encoded[i].chosenFirst);
  }
  if (!data.responsesOnly)
    for (size_t i : idx) {
      rows.push_back(&data.encoded[i].rejected);
      first.push_back(data.encoded[i].rejectedFirst);
    }
  return makeBatch(rows, data.special.pad, device, first);
}

size_t pairLength(const EncodedData& data, size_t i) {
  const EncodedPair& e = data.encoded[i];
  return data.responsesOnly ? e.chosen.size() : std::max(e.chosen.size(), e.rejected.size());
}

std::vector<double> pairMargins(const EncodedData& data, const std::vector<size_t>& idx) {
  std::vector<double> out;
  out.reserve(idx.size());
  for (size_t i : idx) out.push_back(data.pairs[i].margin);
  return out;
}

Batch promptBatch(const EncodedData& data, const std::vector<size_t>& idx,
                  const torch::Device& device) {
  std::vector<const std::vector<int64_t>*> rows;
  rows.reserve(idx.size());
  for (size_t i : idx) rows.push_back(&data.encoded[i].prompt);
  return makeBatch(rows, data.special.pad, device);
}

}  // namespace rr::core
