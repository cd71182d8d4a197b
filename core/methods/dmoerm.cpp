// DMoERM (Quan 2024): an outer sparse router sends the input to its task category's inner model;
// the inner model is a dense mixture of LoRA experts, one per capability, aggregated by an MLP.
// Per category, in three phases on disjoint splits (shared/docs/METHODS.md):
//   1. a base reward model fine-tuned on the category's preference pairs (phase-1 split);
//   2. base frozen: one LoRA expert + value head per capability on that capability's labels
//      (from the phase-1 split);
//   3. experts frozen: MLP Linear(K*H -> H) -> PReLU -> Linear(H -> 1) over the concatenated
//      pooled states [z_1 ... z_K], trained on the held-out phase-3 split.
// A category with no capability that has enough labels keeps its phase-1 reward model alone.
#include "common/hash.h"
#include "methods/common_p.h"
#include "methods/factories_p.h"

namespace rr::core {
namespace {

std::string expertAdapter(const std::string& cap) { return "cap:" + cap; }

struct CategoryPlan {
  std::vector<size_t> phase1, phase3, validation;
  std::vector<std::string> capabilities;
  std::vector<std::vector<size_t>> capabilityPairs;  // phase-1 pairs labelled +1/-1 for each
};

CategoryPlan planCategory(const MethodContext& ctx, int category) {
  CategoryPlan p;
  const double holdout = methodOption(ctx.method, "aggregator_fraction");
  const auto minPairs = static_cast<size_t>(methodOption(ctx.method, "min_capability_pairs"));
  for (size_t i : ofDomain(ctx.data, ctx.data.train, category)) {
    // By prompt, so no prompt is in both phases.
    const double u =
        static_cast<double>(
            StableHash().add("dmoerm-phase").add(ctx.data.pairs[i].prompt).value() >> 11) /
        9007199254740992.0;
    (u < holdout ? p.phase3 : p.phase1).push_back(i);
  }
  p.validation = ofDomain(ctx.data, ctx.data.validation, category);
  std::map<std::string, std::vector<size_t>> labelled;
  for (size_t i : p.phase1)
    for (const auto& [cap, v] : ctx.data.pairs[i].capabilities)
      if (v != 0) labelled[cap].push_back(i);
  for (auto& [cap, idx] : labelled)
    if (idx.size() >= minPairs) {
      p.capabilities.push_back(cap);
      p.capabilityPairs.push_back(std::move(idx));
    }
  return p;
}

struct Expert {
  std::string capability;
  std::vector<torch::Tensor> params;
  torch::nn::Linear head{nullptr};
  double trainSeconds = 0;
  int64_t size() const { return nn::countParameters(params) + nn::countParameters(*head); }
};

struct Category {
  CategoryPlan plan;
  EncoderHead base;
  std::vector<Expert> experts;
  std::vector<std::string> adapterNames;
  torch::nn::Sequential aggregator{nullptr};
  double aggregatorSeconds = 0;
};

class Dmoerm : public RewardSystem {
 public:
  explicit Dmoerm(const MethodContext& ctx) : m_ctx(ctx) {
    torch::manual_seed(static_cast<uint64_t>(ctx.seed));
    const int domains = static_cast<int>(ctx.data.domains.size());
    m_router = makeEncoderHead(ctx, domains);
    for (int c = 0; c < domains; ++c) {
      Category cat;
      cat.plan = planCategory(ctx, c);
      // A saved system is rebuilt with the experts it was trained with.
      if (ctx.structure.contains("capabilities"))
        cat.plan.capabilities = ctx.structure["capabilities"]
                                    .at(ctx.data.domains[static_cast<size_t>(c)])
                                    .get<std::vector<std::string>>();
      cat.base = makeEncoderHead(ctx, 1);
      const int h = cat.base.encoder->hidden();
      for (const auto& cap : cat.plan.capabilities) {
        Expert e;
        e.capability = cap;
        e.params = nn::addAdapter(*cat.base.encoder, ctx.config.lora, expertAdapter(cap));
        e.head = torch::nn::Linear(h, 1);
        e.head->to(ctx.device);
        cat.adapterNames.push_back(expertAdapter(cap));
        cat.experts.push_back(std::move(e));
      }
      const int64_t k = static_cast<int64_t>(cat.experts.size());
      if (k > 0) {
        cat.aggregator = torch::nn::Sequential(torch::nn::Linear(k * h, h), torch::nn::PReLU(),
                                               torch::nn::Linear(h, 1));
        cat.aggregator->to(ctx.device);
      }
      m_categories.push_back(std::move(cat));
    }
  }

  TrainingPlan plan() const override { return planFor(m_ctx); }

  // Per category its base, its experts and its aggregator, in this order on one process (each
  // starts from what the one before trained); the router last.
  static TrainingPlan planFor(const MethodContext& ctx) {
    TrainingPlan plan;
    for (size_t c = 0; c < ctx.data.domains.size(); ++c) {
      const CategoryPlan p = planCategory(ctx, static_cast<int>(c));
      const std::string name = ctx.data.domains[c];
      auto add = [&](PlannedComponent pc, int part) {
        pc.group = "category:" + name;
        pc.domain = static_cast<int>(c);
        pc.part = part;
        plan.push_back(std::move(pc));
      };
      // Phase 1: the base reward model on the category's human preferences.
      add(pairwiseComponent(ctx, "base:" + name, p.phase1, p.validation), -1);
      // Phase 2: one LoRA expert per capability on the frozen base.
      for (size_t k = 0; k < p.capabilities.size(); ++k)
        add(pairwiseComponent(ctx, "expert:" + name + "/" + p.capabilities[k],
                              p.capabilityPairs[k], {}),
            static_cast<int>(k));
      // Phase 3: the aggregator on held-out pairs, experts frozen.
      if (!p.capabilities.empty())
        add(pairwiseComponent(ctx, "aggregator:" + name, p.phase3, p.validation),
            static_cast<int>(p.capabilities.size()));
    }
    plan.push_back(routerComponent(ctx, "router", ctx.data.train, ctx.data.validation));
    return plan;
  }

  ComponentJob job(const PlannedComponent& c) override {
    if (c.domain < 0)
      return routerJob(m_ctx, c, m_router);
    Category* cat = &m_categories.at(static_cast<size_t>(c.domain));
    nn::Encoder* enc = cat->base.encoder.get();
    auto train = [enc] { enc->train(); };
    auto eval = [enc] { enc->eval(); };
    if (c.part < 0) {  // phase 1
      ComponentJob job = pairwiseJob(
          m_ctx, c, baseParams(*cat), train, eval,
          [cat](const Batch& b) { return cat->base.forward(b).squeeze(-1); },
          &cat->base.trainSeconds);
      job.prepare = [enc] { nn::deactivateAdapters(*enc); };
      return job;
    }
    const auto k = static_cast<size_t>(c.part);
    if (k < cat->experts.size()) {  // phase 2
      Expert* e = &cat->experts[k];
      std::vector<torch::Tensor> params = e->params;
      for (auto& p : e->head->parameters()) params.push_back(p);
      ComponentJob job = pairwiseJob(
          m_ctx, c, params, train, eval,
          [e, enc](const Batch& b) {
            return e->head->forward(enc->pooled(b.ids, b.mask, b.types)).squeeze(-1);
          },
          &e->trainSeconds,
          [this, e](const std::vector<size_t>& idx) { return capabilityBatch(idx, e->capability); });
      job.prepare = [this, cat, enc, k] {
        for (auto& p : baseParams(*cat)) p.set_requires_grad(false);
        nn::activateAdapter(*enc, m_ctx.config.lora, cat->adapterNames[k]);
      };
      return job;
    }
    // Phase 3.
    ComponentJob job = pairwiseJob(
        m_ctx, c, cat->aggregator->parameters(),
        [cat, enc] {
          cat->aggregator->train();
          enc->eval();
        },
        [cat, enc] {
          cat->aggregator->eval();
          enc->eval();
        },
        [this, cat](const Batch& b) { return aggregate(*cat, expertStates(*cat, b)); },
        &cat->aggregatorSeconds);
    job.prepare = [cat, enc] {
      nn::deactivateAdapters(*enc);
      for (auto& p : baseParams(*cat)) p.set_requires_grad(false);
      for (auto& e : cat->experts) {
        for (auto& p : e.params) p.set_requires_grad(false);
        for (auto& p : e.head->parameters()) p.set_requires_grad(false);
      }
    };
    return job;
  }

  std::vector<PairScore> scorePairs(const EncodedData& data,
                                    const std::vector<size_t>& idx) override {
    m_router.train(false);
    for (auto& cat : m_categories) {
      cat.base.train(false);
      if (cat.aggregator) cat.aggregator->eval();
    }
    return scoreChunked(data, idx, [&](const std::vector<size_t>& part) {
      const auto routes =
          routePrompts(m_ctx, data, part, [&](const Batch& b) { return m_router.forward(b); });
      return scoreByRoute(part, routes, m_ctx.data.domains,
                          [&](size_t c, const std::vector<size_t>& group) {
                            return scoreCategory(m_categories[c], data, group);
                          });
    });
  }

  std::vector<ComponentInfo> components() const override {
    std::vector<ComponentInfo> out;
    out.push_back({"router", m_router.size(), m_router.size(), m_router.trainSeconds});
    for (size_t c = 0; c < m_categories.size(); ++c) {
      const Category& cat = m_categories[c];
      const std::string name = m_ctx.data.domains[c];
      const int64_t base = nn::countParameters(*cat.base.encoder) +
                           nn::countParameters(*cat.base.head) - expertParams(cat);
      out.push_back({"base:" + name, base, base, cat.base.trainSeconds});
      for (const auto& e : cat.experts)
        out.push_back({"expert:" + name + "/" + e.capability, e.size(), e.size(), e.trainSeconds});
      if (cat.aggregator) {
        const int64_t n = nn::countParameters(*cat.aggregator);
        out.push_back({"aggregator:" + name, n, n, cat.aggregatorSeconds});
      }
    }
    return out;
  }

  NamedModules namedModules() override {
    NamedModules out;
    m_router.addTo(out, "router");
    for (size_t c = 0; c < m_categories.size(); ++c) {
      Category& cat = m_categories[c];
      const std::string name = m_ctx.data.domains[c];
      cat.base.addTo(out, "base:" + name);  // the base encoder holds the experts' adapters
      for (const auto& e : cat.experts)
        out.push_back({"expert:" + name + "/" + e.capability + ".head", e.head.ptr().get()});
      if (cat.aggregator) out.push_back({"aggregator:" + name, cat.aggregator.ptr().get()});
    }
    return out;
  }

  nlohmann::json structure() const override {
    nlohmann::json caps = nlohmann::json::object();
    for (size_t c = 0; c < m_categories.size(); ++c)
      caps[m_ctx.data.domains[c]] = m_categories[c].plan.capabilities;
    return {{"capabilities", caps}};
  }

  int64_t servedParameters() const override {
    int64_t n = 0;
    for (const auto& c : components()) n += c.paramsTotal;
    return n;
  }

 private:
  // The base reward model's own weights: the encoder without the experts' LoRA, and the head.
  static std::vector<torch::Tensor> baseParams(Category& cat) {
    std::vector<torch::Tensor> out;
    for (auto& p : cat.base.encoder->named_parameters())
      if (p.key().find("lora_") == std::string::npos) out.push_back(p.value());
    for (auto& p : cat.base.head->parameters()) out.push_back(p);
    return out;
  }

  static int64_t expertParams(const Category& cat) {
    int64_t n = 0;
    for (const auto& e : cat.experts) n += nn::countParameters(e.params);
    return n;
  }

  // Rows ordered so the capability's preferred response comes first.
  Batch capabilityBatch(const std::vector<size_t>& idx, const std::string& cap) {
    std::vector<const std::vector<int64_t>*> first, second;
    std::vector<int> firstSeg, secondSeg;
    for (size_t i : idx) {
      const EncodedPair& e = m_ctx.data.encoded[i];
      const bool chosenBetter = m_ctx.data.pairs[i].capabilities.at(cap) > 0;
      first.push_back(chosenBetter ? &e.chosen : &e.rejected);
      firstSeg.push_back(chosenBetter ? e.chosenFirst : e.rejectedFirst);
      second.push_back(chosenBetter ? &e.rejected : &e.chosen);
      secondSeg.push_back(chosenBetter ? e.rejectedFirst : e.chosenFirst);
    }
    first.insert(first.end(), second.begin(), second.end());
    firstSeg.insert(firstSeg.end(), secondSeg.begin(), secondSeg.end());
    return makeBatch(first, m_ctx.data.special.pad, m_ctx.device, firstSeg);
  }

  // [K, rows, H]: the pooled state of every row under every expert, in one mixed-adapter pass.
  torch::Tensor expertStates(Category& cat, const Batch& b) {
    torch::NoGradGuard ng;
    const int64_t k = static_cast<int64_t>(cat.experts.size()), rows = b.ids.size(0);
    torch::Tensor which = torch::arange(k, torch::kLong).repeat_interleave(rows).to(m_ctx.device);
    nn::setRowAdapters(*cat.base.encoder, m_ctx.config.lora, cat.adapterNames, which);
    torch::Tensor pooled = cat.base.encoder->pooled(b.ids.repeat({k, 1}), b.mask.repeat({k, 1}),
                                                    b.types.repeat({k, 1}));
    nn::deactivateAdapters(*cat.base.encoder);
    return pooled.view({k, rows, -1});
  }

  torch::Tensor aggregate(Category& cat, const torch::Tensor& states) {
    const int64_t rows = states.size(1);
    return cat.aggregator->forward(states.permute({1, 0, 2}).reshape({rows, -1})).squeeze(-1);
  }

  std::vector<PairScore> scoreCategory(Category& cat, const EncodedData& data,
                                       const std::vector<size_t>& group) {
    Batch b = pairBatch(data, group, m_ctx.device);
    if (!cat.aggregator) return toPairScores(cat.base.forward(b).squeeze(-1), group.size());
    torch::Tensor states = expertStates(cat, b);
    auto scores = toPairScores(aggregate(cat, states), group.size());
    // Each capability's own value head on its expert's state: the inspector's per-capability view.
    for (size_t k = 0; k < cat.experts.size(); ++k) {
      auto cap = toPairScores(
          cat.experts[k].head->forward(states[static_cast<int64_t>(k)]).squeeze(-1), group.size());
      // A pair's capability score is its margin; a single response (`score`) gets its reward.
      for (size_t j = 0; j < scores.size(); ++j)
        scores[j].detail[cat.experts[k].capability] =
            data.responsesOnly ? cap[j].chosen : cap[j].chosen - cap[j].rejected;
    }
    return scores;
  }

  const MethodContext& m_ctx;
  EncoderHead m_router;
  std::vector<Category> m_categories;
};

}  // namespace

MethodEntry dmoermEntry() {
  return {[](const MethodContext& c) { return std::make_unique<Dmoerm>(c); }, Dmoerm::planFor};
}

}  // namespace rr::core
