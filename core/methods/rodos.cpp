// RODOS: an external router (encoder + classification head over domains, trained on prompts)
// picks one of N full reward models, each trained on its own domain only.
#include "methods/common_p.h"
#include "methods/factories_p.h"

namespace rr::core {
namespace {

class Rodos : public RewardSystem {
 public:
  explicit Rodos(const MethodContext& ctx) : m_ctx(ctx) {
    torch::manual_seed(static_cast<uint64_t>(ctx.seed));
    const int domains = static_cast<int>(ctx.data.domains.size());
    m_router = makeEncoderHead(ctx, domains);
    for (int d = 0; d < domains; ++d) m_models.push_back(makeEncoderHead(ctx, 1));
  }

  TrainingPlan plan() const override { return planFor(m_ctx); }
  static TrainingPlan planFor(const MethodContext& ctx) {
    return perDomainWithRouterPlan(ctx, "rm");
  }
  TrainingPlan extensionPlan() const override {
    return lastDomainWithRouterPlan(m_ctx, "rm");
  }

  ComponentJob job(const PlannedComponent& c) override {
    if (c.domain < 0)
      return routerJob(m_ctx, c, m_router);
    EncoderHead* m = &m_models.at(static_cast<size_t>(c.domain));
    return pairwiseJob(
        m_ctx, c, m->parameters(), [m] { m->train(true); }, [m] { m->train(false); },
        [m](const Batch& b) { return m->forward(b).squeeze(-1); }, &m->trainSeconds);
  }

  bool canAddDomain() const override { return true; }

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    m_router.train(false);
    for (auto& m : m_models) m.train(false);
    return scoreChunked(data, idx, [&](const std::vector<size_t>& part) {
      const auto routes =
          routePrompts(m_ctx, data, part, [&](const Batch& b) { return m_router.forward(b); });
      return scoreByRoute(
          part, routes, m_ctx.data.domains, [&](size_t d, const std::vector<size_t>& group) {
            return toPairScores(
                m_models[d].forward(pairBatch(data, group, m_ctx.device)).squeeze(-1),
                group.size());
          });
    });
  }

  std::vector<ComponentInfo> components() const override {
    std::vector<ComponentInfo> c;
    c.push_back({"router", m_router.size(), m_router.size(), m_router.trainSeconds});
    for (size_t d = 0; d < m_models.size(); ++d)
      c.push_back({"rm:" + m_ctx.data.domains[d], m_models[d].size(), m_models[d].size(),
                   m_models[d].trainSeconds});
    return c;
  }

  NamedModules namedModules() override {
    NamedModules out;
    m_router.addTo(out, "router");
    for (size_t d = 0; d < m_models.size(); ++d)
      m_models[d].addTo(out, "rm:" + m_ctx.data.domains[d]);
    return out;
  }

  std::vector<SingleModel> singleModels() override {
    std::vector<SingleModel> out;
    for (size_t d = 0; d < m_models.size(); ++d)
      out.push_back({m_ctx.data.domains[d], m_models[d].encoder.get(), "", m_models[d].head->weight,
                     m_models[d].head->bias});
    return out;
  }

  int64_t servedParameters() const override {
    int64_t n = m_router.size();
    for (const auto& m : m_models) n += m.size();
    return n;
  }

 protected:
  void addDomain() override {
    m_models.push_back(makeEncoderHead(m_ctx, 1));
    m_router = makeEncoderHead(m_ctx, static_cast<int>(m_ctx.data.domains.size()));
  }

 private:
  const MethodContext& m_ctx;
  EncoderHead m_router;
  std::vector<EncoderHead> m_models;
};

}  // namespace

MethodEntry rodosEntry() {
  return {[](const MethodContext& c) { return std::make_unique<Rodos>(c); },
          Rodos::planFor};
}

}  // namespace rr::core
