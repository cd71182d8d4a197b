// Baseline (one fully fine-tuned reward model) and Base-LoRA (the same with a frozen encoder and
// LoRA adapters), trained on all domains mixed (shared/docs/METHODS.md).
#include "eval/evaluate.h"
#include "methods/factories_p.h"
#include "nn/encoder.h"

namespace rr::core {
namespace {

LoopOptions loopOptions(const MethodContext& ctx, bool lora) {
  return loopOptionsFor(ctx, lora ? "base-lora" : "model", ctx.data.train.size(), 0);
}

class SingleRewardModel : public RewardSystem {
 public:
  SingleRewardModel(const MethodContext& ctx, bool lora)
      : m_ctx(ctx), m_lora(lora), m_device(ctx.device) {
    torch::manual_seed(static_cast<uint64_t>(ctx.seed));
    const auto& e = ctx.config.encoder;
    m_encoder = nn::TransformerEncoder(ctx.data.vocabSize, resolveEncoderShape(e),
                                       ctx.data.maxLen, e.dropout);
    m_head = torch::nn::Linear(m_encoder->hidden(), 1);
    m_encoder->to(m_device);
    m_head->to(m_device);
    if (m_lora) {
      nn::setRequiresGrad(*m_encoder, false);
      m_trainable = nn::addAdapter(m_encoder, ctx.config.lora, "reward");
      nn::activateAdapter(m_encoder, ctx.config.lora, "reward");
    } else {
      m_trainable = m_encoder->parameters();
    }
    for (auto& p : m_head->parameters()) m_trainable.push_back(p);
  }

  void train(RunReporter& reporter) override {
    auto step = [&](const std::vector<size_t>& batch) {
      m_encoder->train();
      Batch b = pairBatch(m_ctx.data, batch, m_device);
      return StepResult{bradleyTerryLoss(rewards(b)), {}};
    };
    auto eval = [&] { return validationMetrics(*this, m_ctx.data); };
    m_trainSeconds = runLoop(options(), m_ctx.data.train, m_trainable, step, eval, reporter);
  }

  std::vector<PairScore> scorePairs(const std::vector<size_t>& idx) override {
    torch::NoGradGuard ng;
    m_encoder->eval();
    std::vector<PairScore> out;
    out.reserve(idx.size());
    constexpr size_t kChunk = 64;
    for (size_t at = 0; at < idx.size(); at += kChunk) {
      std::vector<size_t> part(idx.begin() + static_cast<long>(at),
                               idx.begin() + static_cast<long>(std::min(idx.size(), at + kChunk)));
      torch::Tensor r = rewards(pairBatch(m_ctx.data, part, m_device)).to(torch::kCPU);
      const int64_t n = static_cast<int64_t>(part.size());
      auto acc = r.accessor<float, 1>();
      for (int64_t i = 0; i < n; ++i) out.push_back({acc[i], acc[n + i], "", {}});
    }
    return out;
  }

  std::vector<ComponentInfo> components() const override {
    const int64_t encoderParams = nn::countParameters(*m_encoder);
    const int64_t headParams = nn::countParameters(*m_head);
    return {{m_lora ? "base-lora" : "model", encoderParams + headParams,
             nn::countParameters(m_trainable), m_trainSeconds}};
  }

  int64_t servedParameters() const override {
    return nn::countParameters(*m_encoder) + nn::countParameters(*m_head);
  }

 private:
  LoopOptions options() const { return loopOptions(m_ctx, m_lora); }
  torch::Tensor rewards(const Batch& b) {
    return m_head->forward(m_encoder->pooled(b.ids, b.mask)).squeeze(-1);
  }

  const MethodContext& m_ctx;
  bool m_lora;
  torch::Device m_device;
  nn::TransformerEncoder m_encoder{nullptr};
  torch::nn::Linear m_head{nullptr};
  std::vector<torch::Tensor> m_trainable;
  double m_trainSeconds = 0;
};

}  // namespace

MethodEntry baselineEntry() {
  return {[](const MethodContext& c) { return std::make_unique<SingleRewardModel>(c, false); },
          [](const MethodContext& c) { return loopSteps(loopOptions(c, false)); }};
}

MethodEntry baseLoraEntry() {
  return {[](const MethodContext& c) { return std::make_unique<SingleRewardModel>(c, true); },
          [](const MethodContext& c) { return loopSteps(loopOptions(c, true)); }};
}

}  // namespace rr::core
