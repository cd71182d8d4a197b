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

  TrainingPlan plan() const override { return planFor(m_ctx, m_lora); }

  ComponentJob job(const PlannedComponent& c) override {
    return pairwiseJob(
        m_ctx, c, m_trainable, [this] { m_model.encoder->train(); },
        [this] { m_model.encoder->eval(); }, [this](const Batch& b) { return rewards(b); },
        &m_trainSeconds);
  }

  static TrainingPlan planFor(const MethodContext& ctx, bool lora) {
    return {pairwiseComponent(ctx, componentName(lora), ctx.data.train, ctx.data.validation)};
  }

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    m_model.encoder->eval();
    return scoreChunked(data, idx, [&](const std::vector<size_t>& part) {
      return toPairScores(rewards(pairBatch(data, part, m_ctx.device)), part.size());
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
  static std::string componentName(bool lora) { return lora ? "base-lora" : "model"; }
  std::string component() const { return componentName(m_lora); }
  torch::Tensor rewards(const Batch& b) { return m_model.forward(b).squeeze(-1); }

  const MethodContext& m_ctx;
  bool m_lora;
  EncoderHead m_model;
  std::vector<torch::Tensor> m_trainable;
  double m_trainSeconds = 0;
};

MethodEntry entry(bool lora) {
  return {[lora](const MethodContext& c) { return std::make_unique<SingleRewardModel>(c, lora); },
          [lora](const MethodContext& c) { return SingleRewardModel::planFor(c, lora); }};
}

}  // namespace

MethodEntry baselineEntry() { return entry(false); }
MethodEntry baseLoraEntry() { return entry(true); }

}  // namespace rr::core
