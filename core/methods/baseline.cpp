// Baseline (one fully fine-tuned reward model) and Base-LoRA (the same with a frozen encoder and
// LoRA adapters), trained on all domains mixed (shared/docs/METHODS.md).
#include "methods/common_p.h"
#include "methods/factories_p.h"

namespace rr::core {
namespace {

class SingleRewardModel : public RewardSystem {
 public:
  SingleRewardModel(const MethodContext& ctx, bool lora) : m_ctx(ctx), m_lora(lora) {
    torch::manual_seed(static_cast<uint64_t>(ctx.seed));
    m_model = makeEncoderHead(ctx, 1);
    if (m_lora) {
      nn::setRequiresGrad(*m_model.encoder, false);
      m_trainable = nn::addAdapter(*m_model.encoder, ctx.config.lora, "reward");
      nn::activateAdapter(*m_model.encoder, ctx.config.lora, "reward");
    } else {
      m_trainable = m_model.encoder->parameters();
    }
    for (auto& p : m_model.head->parameters()) m_trainable.push_back(p);
  }

  void train(RunReporter& reporter) override {
    m_trainSeconds = trainPairwise(
        m_ctx, component(), m_ctx.data.train, m_ctx.data.validation, m_trainable,
        [&] { m_model.encoder->train(); }, [&] { m_model.encoder->eval(); },
        [&](const Batch& b) { return rewards(b); }, reporter);
  }

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    m_model.encoder->eval();
    return scoreChunked(idx, [&](const std::vector<size_t>& part) {
      return toPairScores(rewards(pairBatch(data, part, m_ctx.device)));
    });
  }

  std::vector<ComponentInfo> components() const override {
    return {{component(), servedParameters(), nn::countParameters(m_trainable), m_trainSeconds}};
  }

  int64_t servedParameters() const override { return m_model.size(); }

  NamedModules namedModules() override {
    return {{"encoder", m_model.encoder.get()}, {"head", m_model.head.ptr().get()}};
  }

  std::vector<SingleModel> singleModels() override {
    return {{"", m_model.encoder.get(), m_lora ? "reward" : "", m_model.head->weight,
             m_model.head->bias}};
  }

 private:
  std::string component() const { return m_lora ? "base-lora" : "model"; }
  torch::Tensor rewards(const Batch& b) { return m_model.forward(b).squeeze(-1); }

  const MethodContext& m_ctx;
  bool m_lora;
  EncoderHead m_model;
  std::vector<torch::Tensor> m_trainable;
  double m_trainSeconds = 0;
};

MethodEntry entry(bool lora) {
  return {[lora](const MethodContext& c) { return std::make_unique<SingleRewardModel>(c, lora); },
          [](const MethodContext& c) { return pairwiseSteps(c, c.data.train.size()); }};
}

}  // namespace

MethodEntry baselineEntry() { return entry(false); }
MethodEntry baseLoraEntry() { return entry(true); }

}  // namespace rr::core
