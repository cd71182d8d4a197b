#pragma once
// Building blocks shared by the methods: encoders initialised from the experiment's pre-trained
// weights, the plans and jobs of Bradley-Terry and router components, chunked no-grad scoring.
#include <functional>

#include "methods/method.h"
#include "nn/encoder.h"

namespace rr::core {

// The experiment's encoder: a Hugging Face backbone (ctx.backboneDir) or RewardRouter's own,
// from the pre-trained weights (ctx.encoderInit) when there are some.
nn::EncoderPtr makeEncoder(const MethodContext& ctx);

// An encoder with a linear head on the pooled state: a reward model (1 output) or a router
// (one output per domain).
struct EncoderHead {
  nn::EncoderPtr encoder;
  torch::nn::Linear head{nullptr};
  double trainSeconds = 0;
  torch::Tensor forward(const Batch& b) { return head->forward(encoder->pooled(b.ids, b.mask, b.types)); }
  std::vector<torch::Tensor> parameters() const {
    auto p = encoder->parameters();
    for (auto& t : head->parameters()) p.push_back(t);
    return p;
  }
  int64_t size() const { return nn::countParameters(*encoder) + nn::countParameters(*head); }
  void train(bool on) { encoder->train(on); }
  void addTo(NamedModules& out, const std::string& prefix) const {
    out.push_back({prefix + ".encoder", encoder.get()});
    out.push_back({prefix + ".head", head.ptr().get()});
  }
};

EncoderHead makeEncoderHead(const MethodContext& ctx, int outputs);
// A one-output head takes the encoder's checkpoint classifier when there is a one-label one.
// A reward head on a backbone whose own head has no bias (decoders' `score`): its bias is held
// at 0 (no gradient), so the exported folder, which has no place for one, scores the same.
void fitHeadBias(torch::nn::Linear& head, const nn::Encoder& encoder);
void initFromCheckpoint(torch::nn::Linear& head, const nn::Encoder& encoder);

LoopOptions loopOptionsFor(const MethodContext& ctx, const std::string& component, size_t examples,
                           int epochsOverride = 0);

// Pairs of `idx` whose domain is `domain`.
std::vector<size_t> ofDomain(const EncodedData& data, const std::vector<size_t>& idx, int domain);

// [2n] rewards (chosen rows first) for a pair batch.
using RewardFn = std::function<torch::Tensor(const Batch& pairs)>;
// [n, classes] logits for a prompt batch.
using LogitFn = std::function<torch::Tensor(const Batch& prompts)>;

// Builds the [2n]-row batch of preferred-first rows for pairs; pairBatch by default.
using PairBatchFn = std::function<Batch(const std::vector<size_t>& idx)>;

// A component trained with the Bradley-Terry loss on the pairs `items` (validation accuracy on
// `validation` every eval_every steps), and one trained as a domain classifier on the prompts of
// `items` (label = the pair's domain; router_epochs where the method has it).
PlannedComponent pairwiseComponent(const MethodContext& ctx, const std::string& name,
                                   std::vector<size_t> items, std::vector<size_t> validation);
PlannedComponent routerComponent(const MethodContext& ctx, const std::string& name,
                                 std::vector<size_t> items, std::vector<size_t> validation);
// Per domain d a pairwise component "<prefix>:<domain>" on that domain's pairs (group = its
// name), then a router "router" on all prompts: RODOS's and ARLISS's plan.
TrainingPlan perDomainWithRouterPlan(const MethodContext& ctx, const std::string& prefix);
// The last domain's component and the router: the plan of extending by that domain.
TrainingPlan lastDomainWithRouterPlan(const MethodContext& ctx, const std::string& prefix);

// The job of a pairwise component: `train` / `eval` switch the modules' modes, `rewards` gives
// [2n] rewards (chosen rows first) for a batch built by `batcher` (pairBatch by default).
ComponentJob pairwiseJob(const MethodContext& ctx, const PlannedComponent& c,
                         std::vector<torch::Tensor> params, std::function<void()> train,
                         std::function<void()> eval, RewardFn rewards, double* seconds,
                         PairBatchFn batcher = nullptr);
// The job of a router component: cross-entropy on the prompts' domains; logs
// val_router_accuracy.
ComponentJob routerJob(const MethodContext& ctx, const PlannedComponent& c,
                       std::vector<torch::Tensor> params, std::function<void()> train,
                       std::function<void()> eval, LogitFn logits, double* seconds);
// The same for a router that is an encoder with a classification head of its own.
ComponentJob routerJob(const MethodContext& ctx, const PlannedComponent& c, EncoderHead& router);

// Routes the prompts of idx (no grad): the argmax domain index per pair.
std::vector<int64_t> routePrompts(const MethodContext& ctx, const EncodedData& data,
                                  const std::vector<size_t>& idx, const LogitFn& logits);

// Padded tokens a scoring chunk may hold: [chunk rows, T, hidden] activations stay tens of MB
// at 384 wide, and the work per call stays large enough to keep the matrix products efficient.
constexpr size_t kChunkTokens = 16384;

// Calls fn on chunks of pairs under NoGradGuard and returns the scores in idx's order. The pairs
// go in order of length (pairLength), so that a chunk's rows are padded to about their own
// length; a chunk holds at most 64 pairs and, past the first, at most kChunkTokens padded tokens,
// and it ends (from 8 rows on) where the next pair would pad it by more than 15%.
std::vector<PairScore> scoreChunked(
    const EncodedData& data, const std::vector<size_t>& idx,
    const std::function<std::vector<PairScore>(const std::vector<size_t>&)>& fn);

// Pairs routed to the same route are scored together: score(route, pairs of that route).
// Sets each PairScore's route to routeNames[route].
std::vector<PairScore> scoreByRoute(
    const std::vector<size_t>& part, const std::vector<int64_t>& routes,
    const std::vector<std::string>& routeNames,
    const std::function<std::vector<PairScore>(size_t, const std::vector<size_t>&)>& score);

// The n PairScores of a pair batch's rewards: [2n] (chosen rows first), or [n] for a batch of
// data.responsesOnly, whose rejected rewards are NaN.
std::vector<PairScore> toPairScores(const torch::Tensor& rewards, size_t n);

}  // namespace rr::core
