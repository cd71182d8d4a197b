// ARLISS: one frozen pre-trained encoder, one LoRA reward adapter (+ head) per domain and one LoRA
// router adapter (+ classification head). Inference routes the prompt with the router adapter,
// then scores with the routed domain's adapter: one input at a time with adapter switching
// ("switch", as the paper does), or every row of a batch with its own adapter in one pass
// ("mixed", shared/docs/METHODS.md's decision).
#include <algorithm>
#include <numeric>

#include "methods/common_p.h"
#include "methods/factories_p.h"

namespace rr::core {
namespace {

const std::string kRouter = "router";
std::string rewardAdapter(const std::string& domain) { return "reward:" + domain; }

class Arliss : public RewardSystem {
 public:
  explicit Arliss(const MethodContext& ctx) : m_ctx(ctx) {
    torch::manual_seed(static_cast<uint64_t>(ctx.seed));
    m_mixed = methodTextOption(ctx.method, "inference") == "mixed";
    m_encoder = makeEncoder(ctx);
    nn::setRequiresGrad(*m_encoder, false);
    m_baseParams = nn::countParameters(*m_encoder);
    const int h = m_encoder->hidden();
    for (const auto& d : ctx.data.domains) addRewardAdapter(d);
    m_router.params = nn::addAdapter(*m_encoder, ctx.config.lora, kRouter);
    m_router.head = torch::nn::Linear(h, static_cast<int64_t>(ctx.data.domains.size()));
    m_router.head->to(ctx.device);
  }

  TrainingPlan plan() const override { return planFor(m_ctx); }
  static TrainingPlan planFor(const MethodContext& ctx) {
    return perDomainWithRouterPlan(ctx, "adapter");
  }
  TrainingPlan extensionPlan() const override {
    return lastDomainWithRouterPlan(m_ctx, "adapter");
  }

  ComponentJob job(const PlannedComponent& c) override {
    const auto& lora = m_ctx.config.lora;
    auto train = [this] { m_encoder->train(); };
    auto eval = [this] { m_encoder->eval(); };
    if (c.domain < 0) {
      ComponentJob job =
          routerJob(m_ctx, c, m_router.trainable(), train, eval,
                    [this](const Batch& b) { return routerLogits(b); }, &m_router.trainSeconds);
      job.prepare = [this, &lora] { nn::activateAdapter(*m_encoder, lora, kRouter); };
      return job;
    }
    const auto d = static_cast<size_t>(c.domain);
    Adapter* a = &m_rewards.at(d);
    ComponentJob job = pairwiseJob(
        m_ctx, c, a->trainable(), train, eval,
        [this, a](const Batch& b) {
          return a->head->forward(m_encoder->pooled(b.ids, b.mask, b.types)).squeeze(-1);
        },
        &a->trainSeconds);
    job.prepare = [this, &lora, d] { nn::activateAdapter(*m_encoder, lora, m_rewardNames[d]); };
    return job;
  }

  bool canAddDomain() const override { return true; }

 protected:
  // A new adapter and head for the new domain; the router adapter and head start afresh.
  void addDomain() override {
    addRewardAdapter(m_ctx.data.domains.back());
    {
      torch::NoGradGuard ng;
      for (auto& l : m_encoder->loraLayers(m_ctx.config.lora.targets))
        l->resetAdapter(l->adapterIndex(kRouter));
    }
    m_router.head =
        torch::nn::Linear(m_encoder->hidden(), static_cast<int64_t>(m_ctx.data.domains.size()));
    m_router.head->to(m_ctx.device);
  }

 public:

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    m_encoder->eval();
    if (m_mixed)
      return scoreChunked(data, idx,
                          [&](const std::vector<size_t>& part) { return scoreMixed(data, part); });
    return scoreChunked(data, idx, [&](const std::vector<size_t>& part) {
      std::vector<PairScore> out;
      for (size_t i : part) out.push_back(scoreSwitch(data, i));
      return out;
    });
  }

  std::vector<ComponentInfo> components() const override {
    std::vector<ComponentInfo> c;
    c.push_back({"encoder (frozen)", m_baseParams, 0, 0});
    c.push_back({"router", m_router.size(), m_router.size(), m_router.trainSeconds});
    for (size_t d = 0; d < m_rewards.size(); ++d)
      c.push_back({"adapter:" + m_ctx.data.domains[d], m_rewards[d].size(), m_rewards[d].size(),
                   m_rewards[d].trainSeconds});
    return c;
  }

  // The encoder module holds the frozen weights and every LoRA adapter.
  NamedModules namedModules() override {
    NamedModules out = {{"encoder", m_encoder.get()}, {"router.head", m_router.head.ptr().get()}};
    for (size_t d = 0; d < m_rewards.size(); ++d)
      out.push_back({"head:" + m_ctx.data.domains[d], m_rewards[d].head.ptr().get()});
    return out;
  }

  std::vector<SingleModel> singleModels() override {
    std::vector<SingleModel> out;
    for (size_t d = 0; d < m_rewards.size(); ++d)
      out.push_back({m_ctx.data.domains[d], m_encoder.get(), m_rewardNames[d],
                     m_rewards[d].head->weight, m_rewards[d].head->bias});
    return out;
  }

  int64_t servedParameters() const override {
    int64_t n = m_baseParams + m_router.size();
    for (const auto& a : m_rewards) n += a.size();
    return n;
  }

 private:
  struct Adapter {
    std::vector<torch::Tensor> params;  // LoRA A/B of every target layer
    torch::nn::Linear head{nullptr};
    double trainSeconds = 0;
    std::vector<torch::Tensor> trainable() const {
      auto p = params;
      for (auto& t : head->parameters()) p.push_back(t);
      return p;
    }
    int64_t size() const { return nn::countParameters(params) + nn::countParameters(*head); }
  };

  void addRewardAdapter(const std::string& domain) {
    m_rewardNames.push_back(rewardAdapter(domain));
    Adapter a;
    a.params = nn::addAdapter(*m_encoder, m_ctx.config.lora, rewardAdapter(domain));
    a.head = torch::nn::Linear(m_encoder->hidden(), 1);
    fitHeadBias(a.head, *m_encoder);
    initFromCheckpoint(a.head, *m_encoder);
    a.head->to(m_ctx.device);
    m_rewards.push_back(std::move(a));
  }

  torch::Tensor routerLogits(const Batch& b) {
    return m_router.head->forward(m_encoder->pooled(b.ids, b.mask, b.types));
  }

  // The paper's way: route this one pair's prompt, switch to its adapter, score both responses.
  PairScore scoreSwitch(const EncodedData& data, size_t i) {
    const auto& lora = m_ctx.config.lora;
    nn::activateAdapter(*m_encoder, lora, kRouter);
    const int64_t d =
        routePrompts(m_ctx, data, {i}, [&](const Batch& b) { return routerLogits(b); })[0];
    nn::activateAdapter(*m_encoder, lora, m_rewardNames[static_cast<size_t>(d)]);
    Batch b = pairBatch(data, {i}, m_ctx.device);
    PairScore s = toPairScores(m_rewards[static_cast<size_t>(d)]
                                   .head->forward(m_encoder->pooled(b.ids, b.mask, b.types))
                                   .squeeze(-1),
                               1)[0];
    s.route = m_ctx.data.domains[static_cast<size_t>(d)];
    return s;
  }

  // One routing pass for all prompts, then one scoring pass where each row uses its own adapter
  // and its own head.
  std::vector<PairScore> scoreMixed(const EncodedData& data, const std::vector<size_t>& given) {
    const auto& lora = m_ctx.config.lora;
    nn::activateAdapter(*m_encoder, lora, kRouter);
    const auto routed =
        routePrompts(m_ctx, data, given, [&](const Batch& b) { return routerLogits(b); });
    // The pairs grouped by route, so that each adapter's rows are one slice of the batch
    // (nn::setRowAdapters); the scores go back in the given order at the end.
    std::vector<size_t> order(given.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return routed[a] < routed[b]; });
    std::vector<size_t> part;
    std::vector<int64_t> routes;
    for (size_t k : order) {
      part.push_back(given[k]);
      routes.push_back(routed[k]);
    }
    torch::Tensor dom = torch::tensor(routes, torch::kLong).to(m_ctx.device);
    torch::Tensor rowDom = data.responsesOnly ? dom : torch::cat({dom, dom});
    nn::setRowAdapters(*m_encoder, lora, m_rewardNames, rowDom);
    Batch b = pairBatch(data, part, m_ctx.device);
    torch::Tensor pooled = m_encoder->pooled(b.ids, b.mask, b.types);
    std::vector<torch::Tensor> w, bias;
    for (const auto& a : m_rewards) {
      w.push_back(a.head->weight.view(-1));
      bias.push_back(a.head->bias);
    }
    torch::Tensor rewards = (pooled * torch::stack(w).index_select(0, rowDom)).sum(-1) +
                            torch::cat(bias).index_select(0, rowDom);
    nn::deactivateAdapters(*m_encoder);
    const auto sorted = toPairScores(rewards, part.size());
    std::vector<PairScore> scores(sorted.size());
    for (size_t k = 0; k < sorted.size(); ++k) {
      scores[order[k]] = sorted[k];
      scores[order[k]].route = m_ctx.data.domains[static_cast<size_t>(routes[k])];
    }
    return scores;
  }

  const MethodContext& m_ctx;
  bool m_mixed = true;
  nn::EncoderPtr m_encoder;
  int64_t m_baseParams = 0;
  std::vector<Adapter> m_rewards;
  std::vector<std::string> m_rewardNames;
  Adapter m_router;
};

}  // namespace

MethodEntry arlissEntry() {
  return {[](const MethodContext& c) { return std::make_unique<Arliss>(c); },
          Arliss::planFor};
}

}  // namespace rr::core
