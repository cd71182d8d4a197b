// MoRE: one reward model whose head is a sparse mixture of experts with noisy top-k gating
// (Shazeer et al. 2017): pooled h -> LayerNorm -> MoE -> LayerNorm -> linear regression layer.
#include "methods/common_p.h"
#include "methods/factories_p.h"
#include "methods/moe_p.h"

namespace rr::core {

namespace nn {

SparseMoEImpl::SparseMoEImpl(int hidden, int experts, int expertHidden, int topK, bool noisy)
    : m_topK(topK), m_noisy(noisy) {
  gate = register_module("gate",
                         torch::nn::Linear(torch::nn::LinearOptions(hidden, experts).bias(false)));
  noise = register_module("noise",
                          torch::nn::Linear(torch::nn::LinearOptions(hidden, experts).bias(false)));
  // Zero gates start every expert equally likely; the noise lets them separate.
  torch::NoGradGuard ng;
  gate->weight.zero_();
  noise->weight.zero_();
  for (int e = 0; e < experts; ++e) {
    torch::nn::Sequential ffn(torch::nn::Linear(hidden, expertHidden), torch::nn::GELU(),
                              torch::nn::Linear(expertHidden, hidden));
    this->experts.push_back(register_module("expert" + std::to_string(e), ffn));
  }
}

MoEOutput SparseMoEImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), e = static_cast<int64_t>(experts.size());
  torch::Tensor clean = gate->forward(x);
  torch::Tensor logits = clean;
  if (is_training() && m_noisy)
    logits = clean + torch::randn_like(clean) * torch::softplus(noise->forward(x));
  auto [topVals, topIdx] = logits.topk(m_topK, -1);
  torch::Tensor weights = torch::zeros_like(logits).scatter(1, topIdx, torch::softmax(topVals, -1));
  // Each expert runs on the rows routed to it only: the compute is sparse, not just the weights.
  torch::Tensor y = torch::zeros_like(x);
  for (int64_t k = 0; k < e; ++k) {
    torch::Tensor rows = (weights.select(1, k) > 0).nonzero().view(-1);
    if (rows.numel() == 0) continue;
    torch::Tensor out = experts[static_cast<size_t>(k)]->forward(x.index_select(0, rows));
    // Under autocast the expert's output is bf16; the sum over experts is kept in x's dtype.
    y = y.index_add(0, rows,
                    (out * weights.index_select(0, rows).select(1, k).unsqueeze(1)).to(y.dtype()));
  }
  // Switch-style balance loss: experts x sum_e (share of routed slots) x (mean gate probability).
  torch::Tensor load = (weights > 0).to(x.dtype()).sum(0) / static_cast<double>(n * m_topK);
  torch::Tensor importance = torch::softmax(clean, -1).mean(0);
  torch::Tensor balance = static_cast<double>(e) * (load * importance).sum();
  return {y, weights, balance, load.detach()};
}

}  // namespace nn

namespace {

class MoreRewardModel : public RewardSystem {
 public:
  explicit MoreRewardModel(const MethodContext& ctx) : m_ctx(ctx) {
    torch::manual_seed(static_cast<uint64_t>(ctx.seed));
    m_encoder = makeEncoder(ctx);
    const int h = m_encoder->hidden();
    const int experts = static_cast<int>(methodOption(ctx.method, "experts"));
    int eh = static_cast<int>(methodOption(ctx.method, "expert_hidden"));
    if (eh == 0) eh = 2 * h;
    m_balanceWeight = methodOption(ctx.method, "balance_weight");
    m_normIn = torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}));
    m_moe = nn::SparseMoE(h, experts, eh, static_cast<int>(methodOption(ctx.method, "top_k")),
                          methodOption(ctx.method, "noise") > 0);
    m_normOut = torch::nn::LayerNorm(torch::nn::LayerNormOptions({h}));
    m_out = torch::nn::Linear(h, 1);
    for (torch::nn::Module* m : headModules()) m->to(ctx.device);
  }

  TrainingPlan plan() const override { return planFor(m_ctx); }

  static TrainingPlan planFor(const MethodContext& ctx) {
    return {pairwiseComponent(ctx, "model", ctx.data.train, ctx.data.validation)};
  }

  ComponentJob job(const PlannedComponent& c) override {
    ComponentJob job;
    job.params = m_encoder->parameters();
    for (torch::nn::Module* m : headModules())
      for (auto& p : m->parameters()) job.params.push_back(p);
    job.seconds = &m_trainSeconds;
    job.step = [this](const std::vector<size_t>& batch) {
      setTraining(true);
      Forward f = forward(pairBatch(m_ctx.data, batch, m_ctx.device));
      StepResult r{pairwiseLoss(f.rewards, pairMargins(m_ctx.data, batch),
                                pairLossOptions(m_ctx.config.training)) +
                       m_balanceWeight * f.balance,
                   {}};
      r.metrics["balance_loss"] = f.balance.item<double>();
      auto load = f.load.to(torch::kCPU);
      for (int64_t e = 0; e < load.size(0); ++e)
        r.metrics["load/expert" + std::to_string(e)] = load[e].item<double>();
      return r;
    };
    if (!c.validation.empty())
      job.validate = [this](const std::vector<size_t>& part) {
        double right = 0;
        for (const auto& s : scorePairs(m_ctx.data, part)) right += s.chosen > s.rejected ? 1 : 0;
        return std::map<std::string, std::pair<double, double>>{
            {"val_accuracy", {right, static_cast<double>(part.size())}}};
      };
    return job;
  }

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    setTraining(false);
    return scoreChunked(data, idx, [&](const std::vector<size_t>& part) {
      Forward f = forward(pairBatch(data, part, m_ctx.device));
      auto scores = toPairScores(f.rewards, part.size());
      torch::Tensor w = f.weights.to(torch::kCPU);
      for (size_t i = 0; i < scores.size(); ++i)
        for (int64_t e = 0; e < w.size(1); ++e) {
          const float g = w[static_cast<int64_t>(i)][e].item<float>();
          if (g > 0) scores[i].detail["expert" + std::to_string(e)] = g;
        }
      return scores;
    });
  }

  std::vector<ComponentInfo> components() const override {
    return {{"model", servedParameters(), servedParameters(), m_trainSeconds}};
  }

  NamedModules namedModules() override {
    return {{"encoder", m_encoder.get()},
            {"norm_in", m_normIn.ptr().get()},
            {"moe", m_moe.ptr().get()},
            {"norm_out", m_normOut.ptr().get()},
            {"out", m_out.ptr().get()}};
  }

  int64_t servedParameters() const override {
    int64_t n = nn::countParameters(*m_encoder);
    for (torch::nn::Module* m : headModules()) n += nn::countParameters(*m);
    return n;
  }

 private:
  struct Forward {
    torch::Tensor rewards, weights, balance, load;
  };
  Forward forward(const Batch& b) {
    torch::Tensor h = m_normIn->forward(m_encoder->pooled(b.ids, b.mask, b.types));
    nn::MoEOutput o = m_moe->forward(h);
    return {m_out->forward(m_normOut->forward(o.output)).squeeze(-1), o.weights, o.balanceLoss,
            o.load};
  }
  std::vector<torch::nn::Module*> headModules() const {
    return {m_normIn.ptr().get(), m_moe.ptr().get(), m_normOut.ptr().get(), m_out.ptr().get()};
  }
  void setTraining(bool on) {
    m_encoder->train(on);
    for (torch::nn::Module* m : headModules()) m->train(on);
  }

  const MethodContext& m_ctx;
  nn::EncoderPtr m_encoder;
  torch::nn::LayerNorm m_normIn{nullptr}, m_normOut{nullptr};
  nn::SparseMoE m_moe{nullptr};
  torch::nn::Linear m_out{nullptr};
  double m_balanceWeight = 0.01;
  double m_trainSeconds = 0;
};

}  // namespace

MethodEntry moreEntry() {
  return {[](const MethodContext& c) { return std::make_unique<MoreRewardModel>(c); },
          MoreRewardModel::planFor};
}

}  // namespace rr::core
