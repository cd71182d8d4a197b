// A published reward model (a Hugging Face *ForSequenceClassification folder with one label) as
// a system of its own: nothing is trained; it reads each pair with its own tokenizer, so it can
// stand in any experiment beside the systems trained on top of it.
#include "common/errors.h"
#include "methods/common_p.h"
#include "methods/factories_p.h"
#include "nn/hf/hfmodel.h"
#include "train/backbone.h"

namespace rr::core {
namespace {

class PretrainedRewardModel : public RewardSystem {
 public:
  explicit PretrainedRewardModel(const MethodContext& ctx) : m_ctx(ctx) {
    if (ctx.backboneDir.empty())
      throw std::logic_error("pretrained: the context names no model folder");
    m_model = makeEncoderHead(ctx, 1);
    // The checkpoint was trained on its own head's reading (its pooler over [CLS], a decoder's
    // last token), whatever encoder.pooling says.
    m_model.encoder->setPooling(nn::Pooling::Cls);
    if (ctx.backboneWeights && !m_model.encoder->checkpointHeadWeight.defined())
      throw InputError(ctx.backboneDir +
                       ": not a reward model (no one-label classifier in its weights); use it "
                       "as encoder.pretrained to train reward models on it");
    const hf::HfModelConfig config = hf::readHfConfig(ctx.backboneDir);
    m_tokenizer = hf::loadHfModelTokenizer(ctx.backboneDir);
    m_limit = hfInputLimit(ctx.backboneDir, config.maxPositions);
  }

  // Scored as it is: nothing to train.
  TrainingPlan plan() const override { return {}; }
  ComponentJob job(const PlannedComponent& c) override {
    throw std::logic_error("pretrained: no component '" + c.name + "' to train");
  }

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    m_model.encoder->eval();
    return scoreChunked(data, idx, [&](const std::vector<size_t>& part) {
      std::vector<PreferencePair> pairs;
      pairs.reserve(part.size());
      for (size_t i : part) pairs.push_back(data.pairs[i]);
      // Re-read with this model's tokenizer: the experiment's data may be tokenized otherwise.
      EncodedData own = encodeData(std::move(pairs), *m_tokenizer,
                                   effectiveMaxLen(m_ctx.data.maxLen, m_limit), data.domains);
      own.responsesOnly = data.responsesOnly;
      std::vector<size_t> all(own.pairs.size());
      for (size_t k = 0; k < all.size(); ++k) all[k] = k;
      return toPairScores(m_model.forward(pairBatch(own, all, m_ctx.device)).squeeze(-1),
                          part.size());
    });
  }

  std::vector<ComponentInfo> components() const override {
    return {{"model", servedParameters(), 0, 0}};
  }
  int64_t servedParameters() const override { return m_model.size(); }
  NamedModules namedModules() override {
    return {{"encoder", m_model.encoder.get()}, {"head", m_model.head.ptr().get()}};
  }
  std::vector<SingleModel> singleModels() override {
    return {{"", m_model.encoder.get(), "", m_model.head->weight, m_model.head->bias}};
  }
  const Tokenizer* ownTokenizer() const override { return m_tokenizer.get(); }

 private:
  const MethodContext& m_ctx;
  EncoderHead m_model;
  std::unique_ptr<Tokenizer> m_tokenizer;
  int m_limit = 0;  // the model's own input limit
};

}  // namespace

MethodEntry pretrainedEntry() {
  return {[](const MethodContext& c) { return std::make_unique<PretrainedRewardModel>(c); },
          [](const MethodContext&) { return TrainingPlan{}; }};
}

}  // namespace rr::core
