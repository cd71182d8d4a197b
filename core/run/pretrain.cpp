#include "run/pretrain.h"

#include <filesystem>
#include <sstream>

#include "common/fileio.h"
#include "common/hash.h"
#include "common/rng.h"
#include "dist/dist.h"
#include "nn/encoder.h"
#include "train/backbone.h"

namespace fs = std::filesystem;

namespace rr::core {
namespace {

// Transform + decoder over the vocabulary; discarded after pre-training.
struct MlmHeadImpl : torch::nn::Module {
  MlmHeadImpl(int hidden, int vocab) {
    dense = register_module("dense", torch::nn::Linear(hidden, hidden));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
    decoder = register_module("decoder", torch::nn::Linear(hidden, vocab));
  }
  torch::Tensor forward(const torch::Tensor& h) {
    return decoder->forward(norm->forward(torch::gelu(dense->forward(h))));
  }
  torch::nn::Linear dense{nullptr}, decoder{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(MlmHead);

std::vector<std::string> extraTexts(const ExperimentConfig& config) {
  std::vector<std::string> out;
  for (const auto& f : config.pretrain.texts) {
    std::istringstream in(readRegularFile(resolveConfigPath(config, f), 0, "pre-training text"));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string fileHash(const std::string& path) {
  return StableHash().add(readRegularFile(path, 0, "file")).hex();
}

}  // namespace

EncoderPlan planEncoder(const ExperimentConfig& config, const EncodedData& data,
                        const Tokenizer& tokenizer) {
  EncoderPlan plan;
  if (!hfBackboneDir(config).empty()) return plan;  // a Hugging Face backbone: no pre-training
  const bool anyTrained = std::any_of(config.methods.begin(), config.methods.end(),
                                      [](const MethodConfig& m) { return m.method != "pretrained"; });
  if (!anyTrained) return plan;
  if (!config.encoder.pretrained.empty()) {
    plan.path = resolveConfigPath(config, config.encoder.pretrained);
    // A file that is no saved encoder of this shape is found now, before any run exists, not
    // as a failed run after the others trained.
    nn::TransformerEncoder probe(data.vocabSize, resolveEncoderShape(config.encoder), data.maxLen,
                                 config.encoder.dropout);
    try {
      nn::loadModule(*probe, plan.path);
    } catch (const std::exception& e) {
      const auto* te = dynamic_cast<const c10::Error*>(&e);
      throw InputError(config.sourcePath +
                       ": $.encoder.pretrained: " + (te ? te->what_without_backtrace() : e.what()));
    }
    return plan;
  }
  if (!config.pretrain.enabled || config.pretrain.steps == 0) return plan;
  const EncoderShape s = resolveEncoderShape(config.encoder);
  const auto& p = config.pretrain;
  StableHash h;
  h.add("mlm-v2").add(fileHash(tokenizer.modelPath()));
  for (int v :
       {s.hidden, s.layers, s.heads, s.ffn, config.encoder.maxLen, p.steps, p.batchSize, p.seed})
    h.add(static_cast<std::uint64_t>(v));
  h.add(std::to_string(config.encoder.dropout))
      .add(std::to_string(p.lr))
      .add(std::to_string(p.maskProb));
  for (size_t i : data.train) {
    h.add(data.pairs[i].prompt).add(data.pairs[i].chosen).add(data.pairs[i].rejected);
  }
  for (const auto& t : extraTexts(config)) h.add(t);
  plan.cacheKey = h.hex();
  plan.path =
      (fs::path(defaultCacheDir()) / "encoders" / ("mlm-" + plan.cacheKey + ".pt")).string();
  plan.needsTraining = !fs::exists(plan.path);
  plan.steps = plan.needsTraining ? p.steps : 0;
  return plan;
}

void pretrainEncoder(const ExperimentConfig& config, const EncodedData& data,
                     const Tokenizer& tokenizer, const EncoderPlan& plan, RunReporter& reporter,
                     dist::Communicator* comm) {
  const auto& p = config.pretrain;
  torch::manual_seed(static_cast<uint64_t>(p.seed));
  nn::TransformerEncoder encoder(data.vocabSize, resolveEncoderShape(config.encoder), data.maxLen,
                                 config.encoder.dropout);
  MlmHead head(encoder->hidden(), data.vocabSize);
  // The corpus: every training input as the reward models will see it, plus extra texts.
  std::vector<std::vector<int64_t>> seqs;
  for (size_t i : data.train) {
    seqs.push_back(data.encoded[i].chosen);
    seqs.push_back(data.encoded[i].rejected);
  }
  for (const auto& t : extraTexts(config)) {
    auto ids = encodeSingle(tokenizer, t, data.maxLen);
    seqs.emplace_back(ids.begin(), ids.end());
  }
  const SpecialIds sp = data.special;
  const int64_t maskId = sp.mask >= 0 ? sp.mask : sp.unk;

  LoopOptions o;
  o.component = "pretrain";
  o.examples = static_cast<int64_t>(seqs.size());
  o.batchSize = p.batchSize;
  o.maxSteps = p.steps;
  o.epochs = static_cast<int>(
      static_cast<int64_t>(p.steps) * p.batchSize / std::max<int64_t>(1, o.examples) + 1);
  o.lr = p.lr;
  o.warmupSteps = std::min(p.steps / 10, 100);
  o.seed = static_cast<uint64_t>(p.seed);
  std::vector<size_t> items(seqs.size());
  for (size_t i = 0; i < items.size(); ++i) items[i] = i;
  std::vector<torch::Tensor> params = encoder->parameters();
  for (auto& t : head->parameters()) params.push_back(t);

  auto step = [&](const std::vector<size_t>& batch) {
    encoder->train();
    // The masks are drawn from the batch itself (seed and the batch's items in order), not from
    // a generator running across steps: a pre-training resumed from a checkpoint masks exactly
    // as the uninterrupted one (the Trainer restores the batch order, not this generator).
    StableHash bh;
    bh.add(static_cast<std::uint64_t>(p.seed));
    for (size_t i : batch) bh.add(static_cast<std::uint64_t>(i));
    Rng rng(bh.value());
    std::vector<const std::vector<int64_t>*> rows;
    for (size_t i : batch) rows.push_back(&seqs[i]);
    Batch b = makeBatch(rows, sp.pad, torch::kCPU);
    torch::Tensor input = b.ids.clone();
    torch::Tensor labels = torch::full_like(b.ids, -100);
    auto in = input.accessor<int64_t, 2>();
    auto lab = labels.accessor<int64_t, 2>();
    auto ids = b.ids.accessor<int64_t, 2>();
    for (int64_t r = 0; r < input.size(0); ++r)
      for (int64_t c = 0; c < input.size(1); ++c) {
        const int64_t tok = ids[r][c];
        if (tok == sp.pad || tok == sp.cls || tok == sp.sep) continue;
        if (rng.uniform() >= p.maskProb) continue;
        lab[r][c] = tok;
        const double u = rng.uniform();
        // BERT's recipe: 80% [MASK], 10% a random token, 10% unchanged.
        if (u < 0.8)
          in[r][c] = maskId;
        else if (u < 0.9)
          in[r][c] = static_cast<int64_t>(rng.below(static_cast<uint64_t>(data.vocabSize)));
      }
    torch::Tensor logits = head->forward(encoder->forward(input, b.mask));
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.view({-1, data.vocabSize}), labels.view(-1),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
    // A batch with nothing masked (tiny batches) contributes no gradient instead of NaN.
    if (!(labels >= 0).any().item<bool>()) loss = logits.sum() * 0;
    return StepResult{loss, {}};
  };
  // Checkpointed like a run's components, next to the cache file its key names: an interrupted
  // pre-training (a kill, a cancel) continues from there the next time any run needs this
  // encoder; the key already says that the data, tokenizer, shape and settings are the same.
  const std::string resumeDir = plan.path + ".resume";
  RunCheckpoints checkpoints(resumeDir, config.training.checkpointEvery, fs::exists(resumeDir));
  RunCheckpoints* before = reporter.checkpoints();
  reporter.setCheckpoints(&checkpoints);
  // The other ranks wait for this without a timeout of their own: a lost one ends it here.
  if (comm) reporter.setPoll([comm] { comm->requireOthersAlive("pre-trained the encoder"); });
  try {
    runLoop(o, items, params, step, nullptr, reporter);
  } catch (...) {
    reporter.setCheckpoints(before);
    throw;
  }
  reporter.setCheckpoints(before);
  fs::create_directories(fs::path(plan.path).parent_path());
  nn::saveModule(*encoder, plan.path);
  std::error_code ec;
  fs::remove_all(resumeDir, ec);
  reporter.log(LogLevel::Info, "pre-trained encoder saved to " + plan.path);
}

}  // namespace rr::core
