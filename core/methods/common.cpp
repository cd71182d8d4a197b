#include "methods/common_p.h"

#include <limits>
#include <numeric>

#include "common/hash.h"
#include "nn/hf/hfmodel.h"

namespace rr::core {

nn::EncoderPtr makeEncoder(const MethodContext& ctx) {
  const auto& e = ctx.config.encoder;
  nn::EncoderPtr enc;
  if (!ctx.backboneDir.empty()) {
    enc = ctx.backboneWeights ? hf::loadHfBackbone(ctx.backboneDir).encoder
                              : hf::buildHfEncoder(hf::readHfConfig(ctx.backboneDir));
  } else {
    nn::TransformerEncoder own(ctx.data.vocabSize, resolveEncoderShape(e), ctx.data.maxLen,
                               e.dropout);
    if (!ctx.encoderInit.empty()) nn::loadModule(*own, ctx.encoderInit);
    enc = own.ptr();
  }
  enc->setPooling(nn::poolingFromName(e.pooling));
  enc->to(ctx.device);
  return enc;
}

EncoderHead makeEncoderHead(const MethodContext& ctx, int outputs) {
  EncoderHead m;
  m.encoder = makeEncoder(ctx);
  m.head = torch::nn::Linear(m.encoder->hidden(), outputs);
  if (outputs == 1) initFromCheckpoint(m.head, *m.encoder);
  fitHeadBias(m.head, *m.encoder);
  m.head->to(ctx.device);
  return m;
}

void initFromCheckpoint(torch::nn::Linear& head, const nn::Encoder& encoder) {
  const torch::Tensor& w = encoder.checkpointHeadWeight;
  if (!w.defined() || w.size(0) != 1 || head->weight.size(0) != 1) return;
  torch::NoGradGuard ng;
  head->weight.copy_(w.to(head->weight.device()));
  head->bias.copy_(encoder.checkpointHeadBias.to(head->bias.device()));
}

void fitHeadBias(torch::nn::Linear& head, const nn::Encoder& encoder) {
  if (encoder.headHasBias()) return;
  torch::NoGradGuard ng;
  head->bias.zero_();
  head->bias.set_requires_grad(false);
}

LoopOptions loopOptionsFor(const MethodContext& ctx, const std::string& component, size_t examples,
                           int epochsOverride) {
  const TrainingConfig& t = ctx.config.training;
  LoopOptions o;
  o.component = component;
  o.examples = static_cast<int64_t>(examples);
  o.batchSize = t.batchSize;
  o.epochs = epochsOverride > 0 ? epochsOverride : t.epochs;
  o.maxSteps = t.maxSteps;
  o.lr = t.lr;
  o.weightDecay = t.weightDecay;
  o.warmupSteps = t.warmupSteps;
  o.gradClip = t.gradClip;
  o.evalEvery = t.evalEvery;
  o.seed = StableHash().add(static_cast<uint64_t>(ctx.seed)).add(component).value();
  return o;
}

std::vector<size_t> ofDomain(const EncodedData& data, const std::vector<size_t>& idx, int domain) {
  std::vector<size_t> out;
  for (size_t i : idx)
    if (data.encoded[i].domain == domain) out.push_back(i);
  return out;
}

namespace {

int routerEpochs(const MethodContext& ctx) {
  for (const auto& spec : methodOptionSpecs(ctx.method.method))
    if (spec.key == "router_epochs")
      return static_cast<int>(methodOption(ctx.method, "router_epochs"));
  return 0;
}

}  // namespace

PlannedComponent pairwiseComponent(const MethodContext& ctx, const std::string& name,
                                   std::vector<size_t> items, std::vector<size_t> validation) {
  PlannedComponent c;
  c.name = name;
  c.loop = loopOptionsFor(ctx, name, items.size());
  if (ctx.config.training.groupByLength)
    c.loop.length = [&data = ctx.data](size_t i) { return pairLength(data, i); };
  c.items = std::move(items);
  c.validation = std::move(validation);
  c.group = name;
  return c;
}

PlannedComponent routerComponent(const MethodContext& ctx, const std::string& name,
                                 std::vector<size_t> items, std::vector<size_t> validation) {
  PlannedComponent c = pairwiseComponent(ctx, name, std::move(items), std::move(validation));
  c.loop = loopOptionsFor(ctx, name, c.items.size(), routerEpochs(ctx));
  // A router reads the prompt alone.
  if (ctx.config.training.groupByLength)
    c.loop.length = [&data = ctx.data](size_t i) { return data.encoded[i].prompt.size(); };
  return c;
}

namespace {

PlannedComponent domainComponent(const MethodContext& ctx, const std::string& prefix, int d) {
  const auto& data = ctx.data;
  PlannedComponent c =
      pairwiseComponent(ctx, prefix + ":" + data.domains[static_cast<size_t>(d)],
                        ofDomain(data, data.train, d), ofDomain(data, data.validation, d));
  c.domain = d;
  return c;
}

}  // namespace

TrainingPlan perDomainWithRouterPlan(const MethodContext& ctx, const std::string& prefix) {
  TrainingPlan plan;
  for (size_t d = 0; d < ctx.data.domains.size(); ++d)
    plan.push_back(domainComponent(ctx, prefix, static_cast<int>(d)));
  plan.push_back(routerComponent(ctx, "router", ctx.data.train, ctx.data.validation));
  return plan;
}

TrainingPlan lastDomainWithRouterPlan(const MethodContext& ctx, const std::string& prefix) {
  return {domainComponent(ctx, prefix, static_cast<int>(ctx.data.domains.size()) - 1),
          routerComponent(ctx, "router", ctx.data.train, ctx.data.validation)};
}

ComponentJob pairwiseJob(const MethodContext& ctx, const PlannedComponent& c,
                         std::vector<torch::Tensor> params, std::function<void()> train,
                         std::function<void()> eval, RewardFn rewards, double* seconds,
                         PairBatchFn batcher) {
  // A batcher of its own may order a pair's responses by something else than the preference
  // (DMoERM's capability experts): the data's margins then do not apply.
  const bool preferenceOrder = !batcher;
  if (!batcher)
    batcher = [&ctx](const std::vector<size_t>& idx) {
      return pairBatch(ctx.data, idx, ctx.device);
    };
  ComponentJob job;
  job.params = std::move(params);
  job.seconds = seconds;
  job.step = [&ctx, train, rewards, batcher, preferenceOrder](const std::vector<size_t>& batch) {
    train();
    return StepResult{pairwiseLoss(rewards(batcher(batch)),
                                   preferenceOrder ? pairMargins(ctx.data, batch)
                                                   : std::vector<double>(batch.size(), 0.0),
                                   pairLossOptions(ctx.config.training)),
                      {}};
  };
  if (!c.validation.empty())
    job.validate = [&ctx, eval, rewards, batcher](const std::vector<size_t>& part) {
      double correct = 0;
      if (!part.empty()) {
        eval();
        torch::NoGradGuard ng;
        for (const auto& s : scoreChunked(ctx.data, part, [&](const std::vector<size_t>& chunk) {
               return toPairScores(rewards(batcher(chunk)), chunk.size());
             }))
          correct += s.chosen > s.rejected ? 1 : 0;
      }
      return std::map<std::string, std::pair<double, double>>{
          {"val_accuracy", {correct, static_cast<double>(part.size())}}};
    };
  return job;
}

ComponentJob routerJob(const MethodContext& ctx, const PlannedComponent& c,
                       std::vector<torch::Tensor> params, std::function<void()> train,
                       std::function<void()> eval, LogitFn logits, double* seconds) {
  auto labels = [&ctx](const std::vector<size_t>& batch) {
    std::vector<int64_t> y;
    for (size_t i : batch) y.push_back(ctx.data.encoded[i].domain);
    return torch::tensor(y, torch::kLong).to(ctx.device);
  };
  ComponentJob job;
  job.params = std::move(params);
  job.seconds = seconds;
  job.step = [&ctx, train, logits, labels](const std::vector<size_t>& batch) {
    train();
    torch::Tensor l = logits(promptBatch(ctx.data, batch, ctx.device));
    return StepResult{torch::nn::functional::cross_entropy(l, labels(batch)), {}};
  };
  if (!c.validation.empty())
    job.validate = [&ctx, eval, logits](const std::vector<size_t>& part) {
      double right = 0;
      if (!part.empty()) {
        eval();
        const auto routes = routePrompts(ctx, ctx.data, part, logits);
        for (size_t k = 0; k < part.size(); ++k)
          right += routes[k] == ctx.data.encoded[part[k]].domain ? 1 : 0;
      }
      return std::map<std::string, std::pair<double, double>>{
          {"val_router_accuracy", {right, static_cast<double>(part.size())}}};
    };
  return job;
}

ComponentJob routerJob(const MethodContext& ctx, const PlannedComponent& c, EncoderHead& router) {
  EncoderHead* r = &router;
  return routerJob(
      ctx, c, r->parameters(), [r] { r->train(true); }, [r] { r->train(false); },
      [r](const Batch& b) { return r->forward(b); }, &r->trainSeconds);
}

namespace {

// Calls fn on consecutive slices of at most `chunk` indices.
template <class Fn>
void forChunks(const std::vector<size_t>& idx, size_t chunk, Fn&& fn) {
  for (size_t at = 0; at < idx.size(); at += chunk)
    fn(std::vector<size_t>(idx.begin() + static_cast<long>(at),
                           idx.begin() + static_cast<long>(std::min(idx.size(), at + chunk))));
}

}  // namespace

std::vector<int64_t> routePrompts(const MethodContext& ctx, const EncodedData& data,
                                  const std::vector<size_t>& idx, const LogitFn& logits) {
  torch::NoGradGuard ng;
  // Padding costs as much as tokens: route prompts of similar length together
  // (docs/BENCHMARKS.md, P3).
  std::vector<size_t> order(idx.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return data.encoded[idx[a]].prompt.size() < data.encoded[idx[b]].prompt.size();
  });
  std::vector<int64_t> out(idx.size());
  forChunks(order, 8, [&](const std::vector<size_t>& part) {
    std::vector<size_t> rows;
    for (size_t k : part) rows.push_back(idx[k]);
    torch::Tensor a = logits(promptBatch(data, rows, ctx.device)).argmax(-1).to(torch::kCPU);
    auto acc = a.accessor<int64_t, 1>();
    for (size_t k = 0; k < part.size(); ++k) out[part[k]] = acc[static_cast<int64_t>(k)];
  });
  return out;
}

std::vector<PairScore> scoreChunked(
    const EncodedData& data, const std::vector<size_t>& idx,
    const std::function<std::vector<PairScore>(const std::vector<size_t>&)>& fn) {
  torch::NoGradGuard ng;
  // A batch is padded to its longest row and costs what its padding costs: in input order, real
  // text (20 to 512 tokens) spent most of a batch on padding.
  std::vector<size_t> order(idx.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return pairLength(data, idx[a]) < pairLength(data, idx[b]);
  });
  const size_t rowsPerPair = data.responsesOnly ? 1 : 2;
  std::vector<PairScore> out(idx.size());
  for (size_t at = 0; at < order.size();) {
    std::vector<size_t> part;
    size_t end = at;
    size_t real = 0;  // the chunk's tokens before padding
    // Sorted: the last pair taken is the longest so far. A chunk also ends, once it has 8 rows,
    // where the next pair would pad it by more than 15%: past a few hundred tokens a matrix
    // product is as fast per row in a small batch as in a large one, and the padding is paid in
    // full (a 0.6 B decoder on real text spent 40% of a 16-input chunk on it).
    while (end < order.size() && part.size() < 64) {
      const size_t next = pairLength(data, idx[order[end]]);
      if (!part.empty()) {
        const size_t rows = (part.size() + 1) * rowsPerPair;
        if (rows * next > kChunkTokens) break;
        if (part.size() * rowsPerPair >= 8 &&
            static_cast<double>(part.size() + 1) * next > 1.15 * static_cast<double>(real + next))
          break;
      }
      real += next;
      part.push_back(idx[order[end++]]);
    }
    auto scores = fn(part);
    for (size_t k = 0; k < part.size(); ++k) out[order[at + k]] = std::move(scores[k]);
    at = end;
  }
  return out;
}

std::vector<PairScore> scoreByRoute(
    const std::vector<size_t>& part, const std::vector<int64_t>& routes,
    const std::vector<std::string>& routeNames,
    const std::function<std::vector<PairScore>(size_t, const std::vector<size_t>&)>& score) {
  std::vector<PairScore> out(part.size());
  for (size_t d = 0; d < routeNames.size(); ++d) {
    std::vector<size_t> rows, group;
    for (size_t k = 0; k < part.size(); ++k)
      if (routes[k] == static_cast<int64_t>(d)) {
        rows.push_back(k);
        group.push_back(part[k]);
      }
    if (group.empty()) continue;
    auto scores = score(d, group);
    for (size_t j = 0; j < rows.size(); ++j) {
      out[rows[j]] = std::move(scores[j]);
      out[rows[j]].route = routeNames[d];
    }
  }
  return out;
}

std::vector<PairScore> toPairScores(const torch::Tensor& rewards, size_t n) {
  torch::Tensor r = rewards.detach().to(torch::kCPU, torch::kFloat);
  const bool pairs = r.size(0) == static_cast<int64_t>(2 * n);
  if (!pairs && r.size(0) != static_cast<int64_t>(n))
    throw std::logic_error("toPairScores: " + std::to_string(r.size(0)) + " rewards for " +
                           std::to_string(n) + " pairs");
  auto acc = r.accessor<float, 1>();
  std::vector<PairScore> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].chosen = acc[static_cast<int64_t>(i)];
    out[i].rejected =
        pairs ? acc[static_cast<int64_t>(n + i)] : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

}  // namespace rr::core
