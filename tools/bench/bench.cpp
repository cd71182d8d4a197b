// The bench's suites: each builds its systems the way an experiment does, times them through
// the same code paths (runLoop for training, scorePairs for inference) and records raw figures.
#include "bench/bench.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "bench/bench_p.h"
#include "common/errors.h"
#include "nn/torchcompat.h"
#include "store/runstore.h"
#include "run/runrecorder.h"

namespace rr::core {
namespace {

using namespace bench;

// The systems of the training and inference tables. ARLISS's switch mode is timed on a copy of
// the mixed system's weights, so both score the same model.
struct SystemSpec {
  std::string system, method;
  std::map<std::string, std::string> text;
  std::map<std::string, double> options;
};
const std::vector<SystemSpec>& systemSpecs() {
  // Routers get three epochs so that they separate the bench's domains and inference routes
  // the way a trained system does; the bench's categories are small, so every capability with
  // a few labels gets its DMoERM expert.
  static const std::vector<SystemSpec> s = {
      {"baseline", "baseline", {}, {}},
      {"base-lora", "base-lora", {}, {}},
      {"more", "more", {}, {}},
      {"rodos", "rodos", {}, {{"router_epochs", 3}}},
      {"arliss-mixed", "arliss", {{"inference", "mixed"}}, {{"router_epochs", 3}}},
      {"dmoerm", "dmoerm", {}, {{"min_capability_pairs", 4}, {"router_epochs", 3}}},
  };
  return s;
}
const SystemSpec& specOf(const std::string& method) {
  for (const auto& s : systemSpecs())
    if (s.method == method) return s;
  throw std::logic_error("bench: no system " + method);
}

double secondsOf(const std::function<void()>& fn) { return sampleSeconds(0, 1, fn)[0]; }

}  // namespace

namespace bench {

nlohmann::json matmulSpread(int64_t m, int64_t k, int64_t n, int warmup, int repeats,
                            const torch::Device& device, bool bf16) {
  const auto opts =
      torch::TensorOptions().device(device).dtype(bf16 ? torch::kBFloat16 : torch::kFloat);
  torch::Tensor a = torch::randn({m, k}, opts), b = torch::randn({k, n}, opts);
  torch::Tensor c = torch::empty({m, n}, opts);
  std::vector<double> gflops;
  // Reading one element back waits for an asynchronous device to finish.
  for (double s : sampleSeconds(warmup, repeats, [&] {
         torch::mm_out(c, a, b);
         c[0][0].item<float>();
       }))
    gflops.push_back(2.0 * static_cast<double>(m * k * n) / s / 1e9);
  return spreadOf(gflops);
}

}  // namespace bench

namespace {

class Runner {
 public:
  Runner(const BenchOptions& o, const BenchLog& log)
      : m_o(o), m_log(log), m_device(deviceFor(o.device)) {
    const auto wants = [&](const std::string& s) {
      const std::string list = "," + o.suite + ",";
      return list.find("," + s + ",") != std::string::npos ||
             list.find(",all,") != std::string::npos;
    };
    m_train = wants("train");
    m_infer = wants("infer");
    m_scaling = wants("scaling");
    // Not part of "all": it starts processes of its own (docs/DISTRIBUTED.md).
    m_dist = ("," + o.suite + ",").find(",dist,") != std::string::npos;
    m_bf16 = o.precision == "bf16";
    if (m_bf16 && !nn::autocastSupported(m_device))
      throw InputError("bench: --precision bf16 needs a device with bf16 autocast (this " +
                       o.device + " has none)");
    // A GPU only fills up with larger batches: on CUDA, inference is also timed at 64 pairs.
    m_bigBatch = m_device.is_cuda() ? 64 : 0;
    m_tok = makeBenchTokenizer(o);
  }

  nlohmann::json run() {
    m_result["machine"] = machineInfo(m_o);
    m_result["settings"] = {{"suite", m_o.suite},     {"presets", m_o.presets},
                            {"repeats", m_o.repeats}, {"batch_pairs", m_o.batchPairs},
                            {"seq_len", m_o.seqLen},  {"domains", kDomains},
                            {"quick", m_o.quick},     {"precision", m_o.precision},
                            {"device", m_o.device}};
    const auto& p = m_o.presets;
    // The methods' presets; the Hugging Face ones are measured as a bare encoder + head.
    std::vector<std::string> own;
    for (const auto& preset : p)
      if (!isHfPreset(preset)) own.push_back(preset);
    m_result["ratio_preset"] = std::find(p.begin(), p.end(), "mini") != p.end() ? "mini"
                               : own.empty()                                    ? p[0]
                                                                                : own[0];
    matmul();
    for (const auto& preset : p) {
      if (!m_train && !m_infer) break;
      if (!isHfPreset(preset)) {
        systems(preset);
        continue;
      }
      try {
        hfModel(preset);
      } catch (const std::exception& e) {
        recordError(preset, "deberta-v3", e);
      }
    }
    if (m_train) ceilingAfterTraining();
    if (m_train) store();
    if (m_scaling && !own.empty()) {
      scalingPairs(own[0]);
      scalingDomains(own[0]);
    }
    if (m_dist) {
      const nlohmann::json d = benchDist(m_o, own.empty() ? "tiny" : own[0],
                                         [&](const std::string& s) { say(s); });
      if (d.contains("rows")) m_result["dist"] = d["rows"];
      if (d.contains("note")) m_result["dist_note"] = d["note"];
    }
    if (m_train || m_infer) reference();
    m_result["ratios"] = benchRatios(m_result);
    return m_result;
  }

 private:
  static constexpr int kDomains = 3;
  static constexpr int kWarmup = 1;  // untimed samples before each figure

  void say(const std::string& s) const {
    if (m_log) m_log(s);
  }

  // Autocast for the scope of the returned guard when the bench runs in bf16; null otherwise.
  std::unique_ptr<nn::AutocastGuard> amp() const {
    return m_bf16 ? std::make_unique<nn::AutocastGuard>(m_device) : nullptr;
  }

  // A system that fails at this preset (an operation the device or precision lacks) is recorded
  // under "errors" with the first line of its message, and the bench goes on with the next one.
  void recordError(const std::string& preset, const std::string& system, const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    say(preset + ": " + system + " FAILED: " + msg);
    m_result["errors"].push_back({{"preset", preset}, {"system", system}, {"message", msg}});
  }

  // The ceiling (square matmuls) and the same kernel at each preset's own training shapes: rows
  // of a batch x hidden by hidden x hidden (q, k, v, dense) and hidden x ffn, ffn x hidden.
  void matmul() {
    const std::vector<int64_t> squares =
        m_o.quick ? std::vector<int64_t>{128} : std::vector<int64_t>{1024, 2048};
    for (int64_t n : squares) m_ceiling = std::max(m_ceiling, matmulRate(n, n, n, ""));
    const int64_t rows = 2 * static_cast<int64_t>(m_o.batchPairs) * m_o.seqLen;
    for (const auto& preset : m_o.presets) {
      EncoderShape s;
      if (isHfPreset(preset)) {
        const hf::HfModelConfig c = hfPresetConfig(m_o, preset);
        s = {c.hidden, c.layers, c.heads, c.intermediate};
      } else {
        s = resolveEncoderShape(benchEncoder(m_o, preset));
      }
      matmulRate(rows, s.hidden, s.hidden, preset);
      matmulRate(rows, s.hidden, s.ffn, preset);
      matmulRate(rows, s.ffn, s.hidden, preset);
    }
    m_result["ceiling_gflops"] = m_ceiling;
  }

  // The largest square again once the training figures are in: a shared machine can run slower
  // while the first ceiling is timed, and an MFU against that ceiling would read high (it once
  // read 0.93 against a ceiling timed at half speed). The ceiling is the better of the two, and
  // every training row's MFU is taken against it.
  void ceilingAfterTraining() {
    const int64_t n = m_o.quick ? 128 : 2048;
    const double again = matmulRate(n, n, n, "after training");
    m_result["ceiling_gflops_after_training"] = again;
    if (again <= m_ceiling) return;
    m_ceiling = again;
    m_result["ceiling_gflops"] = m_ceiling;
    for (auto& row : m_result["train"])
      if (row["gflop_per_pair"].is_number())
        row["mfu"] = row["pairs_per_s"]["median"].get<double>() *
                     row["gflop_per_pair"].get<double>() / m_ceiling;
  }

  // GFLOP/s of [m, k] x [k, n]; records the row and returns the median.
  double matmulRate(int64_t m, int64_t k, int64_t n, const std::string& preset) {
    const std::string shape = std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
    say("matmul " + shape);
    nlohmann::json sp = matmulSpread(m, k, n, kWarmup, m_o.repeats, m_device, m_bf16);
    m_result["matmul"].push_back({{"shape", shape}, {"preset", preset}, {"gflops", sp}});
    return sp["median"].get<double>();
  }

  // One epoch of training, then inference, of every system. A domain holds 1 + repeats batches:
  // a per-domain component takes a warm-up step and `repeats` timed ones.
  void systems(const std::string& preset) {
    auto d = makeBenchData(m_o, *m_tok, preset, kDomains,
                           std::max(m_o.batchPairs * (1 + m_o.repeats), m_bigBatch / kDomains + 1), 0);
    const std::vector<size_t> batch = balancedBatch(d->data, std::max<size_t>(32, m_bigBatch));
    m_referencePairs[preset] = referencePairs(d->data, batch);
    m_shapes[preset] = resolveEncoderShape(d->config.encoder);
    m_config = d->config;
    for (const auto& spec : systemSpecs()) {
      if (!m_o.systems.empty() &&
          std::find(m_o.systems.begin(), m_o.systems.end(), spec.method) == m_o.systems.end())
        continue;
      say(preset + ": " + spec.system);
      try {
        system(preset, spec, *d, batch);
      } catch (const std::exception& e) {
        recordError(preset, spec.system, e);
      }
    }
  }

  void system(const std::string& preset, const SystemSpec& spec, const BenchData& d,
              const std::vector<size_t>& batch) {
    resetPeakRss();
    // Single-model systems train on every domain's pairs: the same steps as one domain's.
    const bool routed = spec.options.count("router_epochs") > 0;
    auto s = makeSystem(d, spec.method, spec.text, spec.options, m_device,
                        routed ? 0 : 1 + m_o.repeats);
    std::map<std::string, std::vector<double>> rates;
    {
      auto guard = amp();
      rates = trainCaptured(*s, nullptr);
    }
    if (m_train) trainRows(preset, spec.method, rates, d);
    if (!m_infer) return;
    const auto scores = inferRow(preset, spec.system, *s, d, batch);
    if (spec.method != "arliss") return;
    auto sw = makeSystem(d, "arliss", {{"inference", "switch"}}, {}, m_device);
    copyWeights(*s, *sw);
    const auto swScores = inferRow(preset, "arliss-switch", *sw, d, batch);
    double diff = 0;
    for (size_t k = 0; k < scores.size(); ++k)
      diff = std::max({diff, std::abs(scores[k].chosen - swScores[k].chosen),
                       std::abs(scores[k].rejected - swScores[k].rejected)});
    m_result["consistency"].push_back({{"preset", preset}, {"max_abs_diff", diff}});
  }

  // A Hugging Face preset (random weights) with a 1-output reward head, timed outside the
  // methods: a training step as the Baseline takes one (AdamW, Bradley-Terry loss, clipping at
  // 1.0) on the first batchPairs pairs of the batch of 32, then scoring 1 and 32 pairs in eval
  // mode without gradients. The reference builds the same model from the same config keys.
  void hfModel(const std::string& preset) {
    say(preset + ": Hugging Face encoder (random weights)");
    const int scored = std::max(32, m_bigBatch);
    const int perDomain = std::max(m_o.batchPairs, scored / kDomains + 1);
    auto d = makeBenchData(m_o, *m_tok, preset, kDomains, perDomain, 0);
    const std::vector<size_t> batch =
        balancedBatch(d->data, static_cast<size_t>(std::max(scored, m_o.batchPairs)));
    m_hfReference.push_back({{"name", preset},
                             {"hf_config", hfPresetJson(m_o, preset)},
                             {"pairs", referencePairs(d->data, batch)}});
    m_config = d->config;
    const hf::HfModelConfig c = hfPresetConfig(m_o, preset);
    resetPeakRss();
    nn::EncoderPtr enc = hf::buildHfEncoder(c);
    torch::nn::Linear head(c.hidden, 1);
    enc->to(m_device);
    head->to(m_device);
    const std::vector<size_t> trainIdx(batch.begin(), batch.begin() + m_o.batchPairs);
    const double trainFlops =
        3 * debertaForwardFlops(c, 2 * m_o.batchPairs, m_o.seqLen) / m_o.batchPairs;
    if (m_train) {
      std::vector<torch::Tensor> params = enc->parameters();
      for (const auto& t : head->parameters()) params.push_back(t);
      torch::optim::AdamW opt(params, torch::optim::AdamWOptions(d->config.training.lr)
                                          .weight_decay(d->config.training.weightDecay));
      enc->train();
      head->train();
      auto guard = amp();
      std::vector<double> rate, ms;
      for (double x : sampleSeconds(kWarmup, m_o.repeats, [&] {
             opt.zero_grad();
             const Batch b = pairBatch(d->data, trainIdx, m_device);  // inside, as runLoop does
             torch::Tensor r = head->forward(enc->pooled(b.ids, b.mask, b.types)).squeeze(-1);
             const int64_t n = r.size(0) / 2;
             torch::Tensor loss = -torch::log_sigmoid(r.slice(0, 0, n) - r.slice(0, n)).mean();
             loss.backward();
             torch::nn::utils::clip_grad_norm_(params, 1.0);
             opt.step();
             loss.item<float>();
           })) {
        rate.push_back(m_o.batchPairs / x);
        ms.push_back(1000 * x);
      }
      const double pairsPerS = spreadOf(rate)["median"].get<double>();
      m_result["train"].push_back(
          {{"preset", preset},
           {"method", "deberta-v3"},
           {"component", "model"},
           {"steps", m_o.repeats},
           {"pairs_per_s", spreadOf(rate)},
           {"step_ms", spreadOf(ms)},
           {"gflop_per_pair", trainFlops / 1e9},
           {"mfu", m_ceiling > 0 ? nlohmann::json(pairsPerS * trainFlops / (m_ceiling * 1e9))
                                 : nlohmann::json()}});
    }
    if (!m_infer) return;
    enc->eval();
    head->eval();
    torch::NoGradGuard ng;
    auto guard = amp();
    auto score = [&](const std::vector<size_t>& idx) {
      const Batch b = pairBatch(d->data, idx, m_device);
      head->forward(enc->pooled(b.ids, b.mask, b.types)).squeeze(-1).cpu();
    };
    size_t next = 0;
    std::vector<double> ms;
    for (double x :
         sampleSeconds(kWarmup, m_o.repeats, [&] { score({batch[next++ % batch.size()]}); }))
      ms.push_back(1000 * x);
    const int64_t params = nn::countParameters(*enc) + nn::countParameters(*head);
    nlohmann::json row = {{"preset", preset},
                          {"system", "deberta-v3"},
                          {"batch1_ms", spreadOf(ms)},
                          {"batch32_pairs_per_s", pairsPerSecond(batch, 32, score)}};
    if (m_bigBatch > 0) row["batch64_pairs_per_s"] = pairsPerSecond(batch, m_bigBatch, score);
    row["routes_used"] = nullptr;
    row["params"] = params;
    row["param_mb"] = static_cast<double>(params) * sizeof(float) / (1024.0 * 1024.0);
    row["peak_rss_mb"] = peakRssMb();
    m_result["infer"].push_back(row);
  }

  // `n` training pairs taking the domains in turn, as a mixed evaluation batch would.
  static std::vector<size_t> balancedBatch(const EncodedData& data, size_t n) {
    std::vector<std::vector<size_t>> byDomain(data.domains.size());
    for (size_t i : data.train) byDomain[static_cast<size_t>(data.encoded[i].domain)].push_back(i);
    std::vector<size_t> out;
    for (size_t k = 0; out.size() < n; ++k) {
      bool any = false;
      for (const auto& v : byDomain)
        if (k < v.size() && out.size() < n) {
          out.push_back(v[k]);
          any = true;
        }
      if (!any) break;
    }
    return out;
  }

  static nlohmann::json referencePairs(const EncodedData& data, const std::vector<size_t>& idx) {
    nlohmann::json pairs = nlohmann::json::array();
    for (size_t i : idx) {
      const auto& e = data.encoded[i];
      pairs.push_back({{"prompt", e.prompt}, {"chosen", e.chosen}, {"rejected", e.rejected}});
    }
    return pairs;
  }

  // Analytic FLOPs per trained pair of a component kind; null where the step is not an encoder
  // pass over the pair's two rows (routers see prompts, aggregators run K frozen passes).
  nlohmann::json flopsPerPair(const std::string& kind, const BenchData& d) const {
    const EncoderShape shape = resolveEncoderShape(d.config.encoder);
    // First-token pooling: the encoder's last layer computes the first token alone.
    const bool first = d.config.encoder.pooling == "cls";
    if (kind == "model" || kind == "rm" || kind == "base")
      return encoderTrainFlops(shape, 2, m_o.seqLen, nullptr, first);
    if (kind == "base-lora" || kind == "adapter" || kind == "expert")
      return encoderTrainFlops(shape, 2, m_o.seqLen, &d.config.lora, first);
    return nullptr;
  }

  void trainRows(const std::string& preset, const std::string& method,
                 const std::map<std::string, std::vector<double>>& rates, const BenchData& d) {
    // The first step of each component is its warm-up (allocations, optimizer state).
    std::map<std::string, std::vector<double>> byKind;
    for (const auto& [component, r] : rates)
      for (size_t k = 1; k < r.size(); ++k) byKind[componentKind(component)].push_back(r[k]);
    for (const auto& [kind, r] : byKind) {
      std::vector<double> ms;
      for (double x : r) ms.push_back(1000.0 * m_o.batchPairs / x);
      nlohmann::json row = {{"preset", preset},           {"method", method},
                            {"component", kind},          {"steps", r.size()},
                            {"pairs_per_s", spreadOf(r)}, {"step_ms", spreadOf(ms)}};
      const nlohmann::json flops = flopsPerPair(kind, d);
      row["gflop_per_pair"] = flops.is_null() ? flops : nlohmann::json(flops.get<double>() / 1e9);
      row["mfu"] = flops.is_null() || m_ceiling <= 0
                       ? nlohmann::json()
                       : nlohmann::json(row["pairs_per_s"]["median"].get<double>() *
                                        flops.get<double>() / (m_ceiling * 1e9));
      m_result["train"].push_back(row);
    }
  }

  // Distinct routes the batch took; null for a system without a router.
  static nlohmann::json routesUsed(const std::vector<PairScore>& scores) {
    std::set<std::string> routes;
    for (const auto& s : scores)
      if (!s.route.empty()) routes.insert(s.route);
    return routes.empty() ? nlohmann::json() : nlohmann::json(routes.size());
  }

  // Pairs/s of scoring the first n pairs of `batch` in one call.
  nlohmann::json pairsPerSecond(const std::vector<size_t>& batch, size_t n,
                                const std::function<void(const std::vector<size_t>&)>& score) {
    const std::vector<size_t> part(batch.begin(), batch.begin() + std::min(n, batch.size()));
    std::vector<double> rate;
    for (double x : sampleSeconds(kWarmup, m_o.repeats, [&] { score(part); }))
      rate.push_back(static_cast<double>(part.size()) / x);
    return spreadOf(rate);
  }

  std::vector<PairScore> inferRow(const std::string& preset, const std::string& system,
                                  BenchSystem& s, const BenchData& d,
                                  const std::vector<size_t>& batch) {
    auto guard = amp();
    size_t next = 0;
    std::vector<double> ms;
    for (double x : sampleSeconds(kWarmup, m_o.repeats, [&] {
           s.system->scorePairs(d.data, {batch[next++ % batch.size()]});
         }))
      ms.push_back(1000 * x);
    std::vector<PairScore> scores;
    const auto score = [&](const std::vector<size_t>& idx) {
      scores = s.system->scorePairs(d.data, idx);
    };
    const int64_t params = s.system->servedParameters();
    // Served weights are fp32.
    const double mb = static_cast<double>(params) * sizeof(float) / (1024.0 * 1024.0);
    nlohmann::json row = {{"preset", preset},
                          {"system", system},
                          {"batch1_ms", spreadOf(ms)},
                          {"batch32_pairs_per_s", pairsPerSecond(batch, 32, score)}};
    if (m_bigBatch > 0) row["batch64_pairs_per_s"] = pairsPerSecond(batch, m_bigBatch, score);
    row["routes_used"] = routesUsed(scores);
    row["params"] = params;
    row["param_mb"] = mb;
    row["peak_rss_mb"] = peakRssMb();
    m_result["infer"].push_back(row);
    return scores;
  }

  // Baseline training with and without the run store taking its metric stream through the
  // RunRecorder every `run` goes through (status changes included), interleaved so load changes on a shared machine hit both alike. At the tiny preset,
  // whose steps are the shortest: the worst case for a per-step cost.
  void store() {
    const std::string preset = "tiny";
    const int steps = m_o.quick ? 4 : 10;
    say(preset + ": run store overhead");
    auto d = makeBenchData(m_o, *m_tok, preset, 2, m_o.batchPairs * steps / 2 + 1, steps);
    const std::string db = (std::filesystem::temp_directory_path() /
                            ("rr-bench-store-" + std::to_string(::getpid()) + ".db"))
                               .string();
    std::vector<double> without, with;
    {
      // What the recorder passes on besides the store is not part of the measurement.
      NullSink nowhere;
      RunRecorder recorder(db, nowhere);
      for (int r = 0; r < kWarmup + m_o.repeats; ++r) {
        auto plain = makeSystem(*d, "baseline", {}, {}, m_device);
        const double a = secondsOf([&] { trainCaptured(*plain, nullptr); });
        auto stored = makeSystem(*d, "baseline", {}, {}, m_device);
        const int64_t id = recorder.createRun("bench", "baseline", "baseline", 1, "{}");
        const double b = secondsOf([&] {
          std::string error;
          if (recorder.record(id, [&] { trainCaptured(*stored, &recorder.sink(), id); },
                              &error) != RunStatus::Finished)
            throw std::runtime_error("bench: the recorded run failed: " + error);
          recorder.sink().flush();
        });
        if (r < kWarmup) continue;
        without.push_back(1000 * a / steps);
        with.push_back(1000 * b / steps);
      }
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    nlohmann::json w0 = spreadOf(without), w1 = spreadOf(with);
    m_result["store"] = {{"preset", preset},
                         {"steps", steps},
                         {"without_ms_per_step", w0},
                         {"with_ms_per_step", w1},
                         {"overhead", w1["median"].get<double>() / w0["median"].get<double>() - 1}};
  }

  // Baseline training (one epoch) and scoring time against the number of pairs.
  void scalingPairs(const std::string& preset) {
    const std::vector<int> counts =
        m_o.quick ? std::vector<int>{8, 16} : std::vector<int>{64, 128, 256, 512};
    for (int n : counts) {
      say(preset + ": scaling, " + std::to_string(n) + " pairs");
      auto d = makeBenchData(m_o, *m_tok, preset, 2, n / 2, 0);
      auto s = makeSystem(*d, "baseline", {}, {}, m_device);
      const double train = secondsOf([&] { trainCaptured(*s, nullptr); });
      const double score = secondsOf([&] { s->system->scorePairs(d->data, d->data.train); });
      m_result["scaling_pairs"].push_back(
          {{"preset", preset},
           {"pairs", d->data.train.size()},
           {"train_s", train},
           {"score_s", score},
           {"train_pairs_per_s", static_cast<double>(d->data.train.size()) / train}});
    }
  }

  // Parameters, training time (one epoch) and batch-32 throughput against the number of domains.
  void scalingDomains(const std::string& preset) {
    const std::vector<int> counts =
        m_o.quick ? std::vector<int>{2, 3} : std::vector<int>{2, 4, 8, 16};
    const int perDomain = m_o.quick ? m_o.batchPairs : 2 * m_o.batchPairs;
    for (const std::string method : {"rodos", "arliss", "dmoerm"})
      for (int n : counts) {
        say(preset + ": scaling, " + method + " with " + std::to_string(n) + " domains");
        auto d = makeBenchData(m_o, *m_tok, preset, n, perDomain, 0);
        const SystemSpec& spec = specOf(method);
        auto s = makeSystem(*d, method, spec.text, spec.options, m_device);
        const double train = secondsOf([&] { trainCaptured(*s, nullptr); });
        const std::vector<size_t> batch = balancedBatch(d->data, 32);
        std::vector<double> rate;
        std::vector<PairScore> scores;
        for (double x : sampleSeconds(kWarmup, m_o.repeats,
                                      [&] { scores = s->system->scorePairs(d->data, batch); }))
          rate.push_back(static_cast<double>(batch.size()) / x);
        m_result["scaling_domains"].push_back({{"preset", preset},
                                               {"method", method},
                                               {"domains", n},
                                               {"params", s->system->servedParameters()},
                                               {"components", s->system->components().size()},
                                               {"train_s", train},
                                               {"batch32_pairs_per_s", spreadOf(rate)},
                                               {"routes_used", routesUsed(scores)}});
      }
  }

  // The same shapes, token ids and step in PyTorch: ratios are ours over the reference's.
  void reference() {
    if (m_o.python.empty()) {
      m_result["python_status"] = "off";
      m_result["python_note"] = "reference not run (--no-reference)";
      return;
    }
    say("PyTorch reference: " + m_o.python + " " + m_o.referenceScript);
    nlohmann::json in = {{"threads", torch::get_num_threads()},
                         {"warmup", kWarmup},
                         {"repeats", m_o.repeats},
                         {"lr", m_config.training.lr},
                         {"batch_pairs", m_o.batchPairs},
                         {"vocab", m_tok->vocabSize()},
                         {"max_len", m_o.seqLen},
                         {"dropout", m_config.encoder.dropout},
                         {"lora_rank", m_config.lora.rank},
                         {"lora_alpha", m_config.lora.alpha},
                         {"lora_dropout", m_config.lora.dropout},
                         {"lora_targets", m_config.lora.targets},
                         {"domains", kDomains},
                         {"presets", nlohmann::json::array()}};
    for (const auto& [preset, pairs] : m_referencePairs) {
      const EncoderShape& s = m_shapes.at(preset);
      in["presets"].push_back(
          {{"name", preset},
           {"shape",
            {{"hidden", s.hidden}, {"layers", s.layers}, {"heads", s.heads}, {"ffn", s.ffn}}},
           {"pairs", pairs}});
    }
    for (const auto& hfPreset : m_hfReference) in["presets"].push_back(hfPreset);
    // core/nn/hf's encoders drop out while training as transformers does (hidden and attention
    // dropout 0.1 in these shapes' configs): the reference's DeBERTa does the same arithmetic.
    in["hf_dropout"] = 0.1;
    ReferenceOutcome ref = runReference(m_o, in);
    m_result["python_status"] = ref.status;
    if (ref.status == "measured") {
      m_result["python"] = std::move(ref.figures);
      return;
    }
    m_result["python_note"] = ref.note;
    say(ref.note);
  }

  const BenchOptions& m_o;
  BenchLog m_log;
  torch::Device m_device;
  bool m_train = false, m_infer = false, m_scaling = false, m_dist = false;
  bool m_bf16 = false;
  int m_bigBatch = 0;  // pairs of the large inference batch (CUDA), 0 = none
  std::unique_ptr<Tokenizer> m_tok;
  nlohmann::json m_result = nlohmann::json::object();
  double m_ceiling = 0;  // GFLOP/s
  std::map<std::string, nlohmann::json> m_referencePairs;
  std::map<std::string, EncoderShape> m_shapes;
  std::vector<nlohmann::json> m_hfReference;  // the reference's Hugging Face presets
  ExperimentConfig m_config;                  // the training and LoRA settings every system used
};

}  // namespace

nlohmann::json runBench(const BenchOptions& options, const BenchLog& log) {
  const std::set<std::string> suites = {"train", "infer", "scaling", "dist", "real", "all"};
  std::stringstream list(options.suite);
  bool real = false, others = false;
  for (std::string s; std::getline(list, s, ',');) {
    if (!suites.count(s))
      throw InputError(
          "bench: --suite takes train, infer, scaling, dist, real or all, comma-separated (got '" +
          options.suite + "')");
    (s == "real" ? real : others) = true;
  }
  if (others) {
    if (options.presets.empty()) throw InputError("bench: no preset to measure");
    for (const auto& s : options.systems)
      if (!methodRegistry().count(s)) throw InputError("bench: unknown system '" + s + "'");
    for (const auto& p : options.presets) {
      const auto names = encoderPresetNames();
      if (std::find(names.begin(), names.end(), p) == names.end() && !bench::isHfPreset(p))
        throw InputError("bench: unknown preset '" + p + "'");
    }
  }
  if (options.precision != "fp32" && options.precision != "bf16")
    throw InputError("bench: precision must be fp32 or bf16 (got '" + options.precision + "')");
  if (real && options.precision != "fp32")
    throw InputError("bench: the real suite measures fp32 only (got --precision " +
                     options.precision + ")");
  if (options.repeats < 1 || options.batchPairs < 1 || options.seqLen < 8)
    throw InputError("bench: repeats and batch must be >= 1, sequence length >= 8");
  if (options.threads > 0) torch::set_num_threads(options.threads);
  if (options.blasThreads > 0) setBlasThreads(options.blasThreads);
  torch::manual_seed(1);
  nlohmann::json result = others ? Runner(options, log).run() : nlohmann::json::object();
  if (!real) return result;
  if (!others) result["machine"] = machineInfo(options);
  bench::benchReal(options, result, [&](const std::string& s) {
    if (log) log(s);
  });
  result["ratios"] = benchRatios(result);
  return result;
}

}  // namespace rr::core
