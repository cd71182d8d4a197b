#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "bench/bench_p.h"
#include "data/synthetic.h"
#include "nn/torchcompat.h"

namespace rr::core {

void setBlasThreads(int n) {
  using SetFn = void (*)(int);
  if (auto set = reinterpret_cast<SetFn>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
}

int blasThreads() {
  using GetFn = int (*)();
  auto get = reinterpret_cast<GetFn>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}

}  // namespace rr::core

namespace rr::core::bench {

std::vector<double> sampleSeconds(int warmup, int repeats, const std::function<void()>& fn) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> out;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    fn();
    out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return out;
}

namespace {

// The quick run's toy encoder: small enough that every suite finishes in seconds.
const EncoderShape kQuickShape{32, 1, 2, 64};

// Relabels pairs of the synthetic domains into `domains` domains: each synthetic domain is split
// into as many parts as the count needs, each part capped at pairsPerDomain.
void relabel(std::vector<PreferencePair>& pairs, int domains, int pairsPerDomain) {
  const std::vector<std::string> names = syntheticDomainNames();
  const int base = std::min<int>(domains, static_cast<int>(names.size()));
  std::map<std::string, int> seen;
  std::vector<PreferencePair> kept;
  for (auto& p : pairs) {
    const int b = static_cast<int>(std::find(names.begin(), names.end(), p.domain) - names.begin());
    const int parts = (domains - b + base - 1) / base;  // domains k < `domains` with k % base == b
    const int n = seen[p.domain]++;
    const int part = n % parts;
    if (n / parts >= pairsPerDomain) continue;
    if (parts > 1) p.domain += "-" + std::to_string(part + 1);
    p.split = "train";
    kept.push_back(std::move(p));
  }
  pairs = std::move(kept);
}

// [CLS] prompt [SEP] response [SEP] -> exactly `len` tokens, the response repeated.
void stretch(std::vector<int64_t>& row, size_t len, int64_t sep) {
  if (row.size() >= len) return;
  row.pop_back();
  const size_t from = static_cast<size_t>(std::find(row.begin(), row.end(), sep) - row.begin()) + 1;
  const size_t period = row.size() > from ? row.size() - from : row.size() - 1;
  const size_t start = row.size() > from ? from : 1;
  for (size_t k = 0; row.size() < len - 1; ++k) row.push_back(row[start + k % period]);
  row.push_back(sep);
}

std::string readFirstLine(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      const size_t colon = line.find(':');
      const size_t start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  return "";
}

// The name of the first GPU as nvidia-smi reports it ("" without one): LibTorch's own device
// properties need the CUDA runtime's headers, which a CPU build of rr_core does not have.
std::string gpuName() {
  FILE* p = ::popen("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null", "r");
  if (!p) return "";
  char line[256] = {0};
  const bool got = std::fgets(line, sizeof line, p) != nullptr;
  ::pclose(p);
  std::string s = got ? line : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string envOr(const char* name, const std::string& def) {
  const char* v = std::getenv(name);
  return v && *v ? v : def;
}

}  // namespace

namespace {

struct HfPreset {
  const char* name;
  int hidden, layers, heads, intermediate;
};
// microsoft/deberta-v3-xsmall, -small, -base and -large (config.json of the published
// checkpoints: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size).
const HfPreset kHfPresets[] = {{"deberta-v3-xsmall", 384, 12, 6, 1536},
                               {"deberta-v3-small", 768, 6, 12, 3072},
                               {"deberta-v3-base", 768, 12, 12, 3072},
                               {"deberta-v3-large", 1024, 24, 16, 4096}};

const HfPreset& hfPreset(const std::string& name) {
  for (const auto& p : kHfPresets)
    if (name == p.name) return p;
  throw std::logic_error("bench: no Hugging Face preset " + name);
}

// DeBERTa-v2's log bucket of a distance `rel` >= 0 (transformers' make_log_bucket_position).
int64_t logBucket(int64_t rel, int buckets, int maxPosition) {
  const int64_t mid = buckets / 2;
  if (rel <= mid) return rel;
  return static_cast<int64_t>(std::ceil(std::log(static_cast<double>(rel) / mid) /
                                        std::log(static_cast<double>(maxPosition - 1) / mid) *
                                        static_cast<double>(mid - 1))) +
         mid;
}

}  // namespace

std::vector<std::string> hfPresetNames() {
  std::vector<std::string> out;
  for (const auto& p : kHfPresets) out.emplace_back(p.name);
  return out;
}

bool isHfPreset(const std::string& preset) {
  const auto names = hfPresetNames();
  return std::find(names.begin(), names.end(), preset) != names.end();
}

nlohmann::json hfPresetJson(const BenchOptions& o, const std::string& preset) {
  const HfPreset& p = hfPreset(preset);
  const bool quick = o.quick;
  return {{"model_type", "deberta-v2"},
          {"architectures", {"DebertaV2ForSequenceClassification"}},
          {"vocab_size", 128100},
          {"hidden_size", quick ? 32 : p.hidden},
          {"num_hidden_layers", quick ? 2 : p.layers},
          {"num_attention_heads", quick ? 2 : p.heads},
          {"intermediate_size", quick ? 64 : p.intermediate},
          {"hidden_act", "gelu"},
          {"layer_norm_eps", 1e-7},
          {"max_position_embeddings", 512},
          {"type_vocab_size", 0},
          {"relative_attention", true},
          {"position_buckets", 256},
          {"max_relative_positions", -1},
          {"pos_att_type", {"p2c", "c2p"}},
          {"position_biased_input", false},
          {"share_att_key", true},
          {"norm_rel_ebd", "layer_norm"},
          {"pooler_hidden_act", "gelu"},
          {"pooler_hidden_size", quick ? 32 : p.hidden},
          {"pad_token_id", 0},
          {"num_labels", 1},
          {"initializer_range", 0.02}};
}

hf::HfModelConfig hfPresetConfig(const BenchOptions& o, const std::string& preset) {
  return hf::parseHfConfig(hfPresetJson(o, preset), "bench preset " + preset);
}

double debertaForwardFlops(const hf::HfModelConfig& c, int64_t rows, int64_t tokens) {
  const EncoderShape shape{c.hidden, c.layers, c.heads, c.intermediate};
  // Scored through the pooler: the last layer computes the first token alone.
  double flops = encoderForwardFlops(shape, rows, tokens, true);
  if (!c.relativeAttention) return flops;
  const int maxRel = c.maxRelativePositions < 1 ? c.maxPositions : c.maxRelativePositions;
  const int64_t span = c.positionBuckets > 0 ? c.positionBuckets : maxRel;
  const int64_t far =
      c.positionBuckets > 0 ? logBucket(tokens - 1, c.positionBuckets, maxRel) : tokens - 1;
  const double tableRows = static_cast<double>(std::min<int64_t>(2 * span - 1, span + far) -
                                               std::max<int64_t>(0, span - far) + 1);
  const double h = c.hidden, n = static_cast<double>(rows * tokens);
  // Per kind: the table's projection and the product against it; c2p's queries in the last
  // layer are the first token's alone (p2c's products are the keys').
  double projections = 0, matmuls = 0, lastMatmuls = 0;
  for (const auto& t : c.posAttType) {
    if (t != "c2p" && t != "p2c") continue;
    projections += 2 * tableRows * h * h;
    matmuls += 2 * n * tableRows * h;
    lastMatmuls += 2 * (t == "c2p" ? static_cast<double>(rows) : n) * tableRows * h;
  }
  return flops + c.layers * projections + (c.layers - 1) * matmuls + lastMatmuls;
}

std::unique_ptr<Tokenizer> makeBenchTokenizer(const BenchOptions& o) {
  SyntheticOptions so;
  so.pairsPerDomain = o.quick ? 40 : 200;
  std::vector<std::string> texts;
  for (const auto& p : generateSynthetic(so)) {
    texts.push_back(p.prompt);
    texts.push_back(p.chosen);
    texts.push_back(p.rejected);
  }
  TokenizerTrainOptions to;
  to.vocabSize = o.quick ? 300 : TokenizerConfig().vocabSize;
  to.cacheDir = o.cacheDir;
  return loadSentencePiece(trainSentencePiece(texts, to));
}

EncoderConfig benchEncoder(const BenchOptions& o, const std::string& preset) {
  EncoderConfig e;
  e.preset = preset;
  if (o.quick) {
    e.hidden = kQuickShape.hidden;
    e.layers = kQuickShape.layers;
    e.heads = kQuickShape.heads;
    e.ffn = kQuickShape.ffn;
  }
  e.maxLen = o.seqLen;
  return e;
}

std::unique_ptr<BenchData> makeBenchData(const BenchOptions& o, const Tokenizer& tok,
                                         const std::string& preset, int domains, int pairsPerDomain,
                                         int maxSteps) {
  auto d = std::make_unique<BenchData>();
  ExperimentConfig& c = d->config;
  c.name = "bench";
  c.encoder = benchEncoder(o, preset);
  if (o.quick) {
    c.lora.rank = 4;
    c.lora.alpha = 16;
  }
  c.pretrain.enabled = false;
  c.training.batchSize = o.batchPairs;
  c.training.maxSteps = maxSteps;
  c.training.lr = 1e-3;
  c.training.device = o.device;

  const std::vector<std::string> names = syntheticDomainNames();
  const int base = std::min<int>(domains, static_cast<int>(names.size()));
  SyntheticOptions so;
  so.domains.assign(names.begin(), names.begin() + base);
  so.pairsPerDomain = (domains + base - 1) / base * pairsPerDomain;
  std::vector<PreferencePair> pairs = generateSynthetic(so);
  relabel(pairs, domains, pairsPerDomain);
  d->data = encodeData(std::move(pairs), tok, o.seqLen);
  for (auto& e : d->data.encoded) {
    stretch(e.chosen, static_cast<size_t>(o.seqLen), d->data.special.sep);
    stretch(e.rejected, static_cast<size_t>(o.seqLen), d->data.special.sep);
  }
  return d;
}

std::unique_ptr<BenchSystem> makeSystem(const BenchData& d, const std::string& method,
                                        const std::map<std::string, std::string>& textOptions,
                                        const std::map<std::string, double>& options,
                                        const torch::Device& device, int maxSteps,
                                        const std::string& backboneDir) {
  auto s = std::make_unique<BenchSystem>();
  s->config = d.config;
  if (maxSteps > 0) s->config.training.maxSteps = maxSteps;
  s->method.method = method;
  s->method.name = method;
  s->method.options = options;
  s->method.textOptions = textOptions;
  s->ctx.reset(new MethodContext{s->config, s->method, 1, d.data, device, ""});
  s->ctx->backboneDir = backboneDir;
  s->system = createMethod(*s->ctx);
  return s;
}

void copyWeights(BenchSystem& from, BenchSystem& to) {
  torch::NoGradGuard ng;
  const NamedModules a = from.system->namedModules(), b = to.system->namedModules();
  for (size_t i = 0; i < a.size(); ++i) {
    auto src = a[i].second->named_parameters();
    for (auto& p : b[i].second->named_parameters()) p.value().copy_(src[p.key()]);
  }
}

namespace {

// Keeps each step's throughput and forwards everything to an optional second sink.
class CaptureSink : public MetricSink {
 public:
  explicit CaptureSink(MetricSink* extra) : m_extra(extra) {}
  void metric(const MetricRow& p) override {
    if (p.key == "pairs_per_s") rates[p.component].push_back(p.value);
    if (m_extra) m_extra->metric(p);
  }
  void progress(const ProgressInfo& i) override {
    if (m_extra) m_extra->progress(i);
  }
  void log(std::int64_t runId, LogLevel level, const std::string& message) override {
    if (m_extra) m_extra->log(runId, level, message);
  }
  void rewind(std::int64_t runId, const std::string& component, std::int64_t step) override {
    if (m_extra) m_extra->rewind(runId, component, step);
  }
  void flush() override {
    if (m_extra) m_extra->flush();
  }
  std::map<std::string, std::vector<double>> rates;

 private:
  MetricSink* m_extra;
};

}  // namespace

std::map<std::string, std::vector<double>> trainCaptured(BenchSystem& s, MetricSink* extra,
                                                         int64_t runId) {
  CaptureSink sink(extra);
  RunControl control;
  ProgressInfo base;
  base.runId = runId;
  base.method = s.method.name;
  const int64_t steps = methodRegistry().at(s.method.method).plannedSteps(*s.ctx);
  RunReporter reporter(sink, control, base, steps, 0, steps, std::chrono::steady_clock::now());
  s.system->train(reporter);
  return std::move(sink.rates);
}

std::string componentKind(const std::string& component) {
  return component.substr(0, component.find(':'));
}

void resetPeakRss() {
  // Linux >= 4.0: writing 5 resets the peak (VmHWM) to the current resident size.
  std::ofstream("/proc/self/clear_refs") << "5";
}

double peakRssMb() {
  return std::atof(readFirstLine("/proc/self/status", "VmHWM").c_str()) / 1024.0;
}

nlohmann::json machineInfo(const BenchOptions& o) {
  double load[3] = {-1, -1, -1};
  if (::getloadavg(load, 3) < 0) load[0] = -1;
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return {
      {"cpu", readFirstLine("/proc/cpuinfo", "model name")},
      {"cores", std::thread::hardware_concurrency()},
      {"load_average_1min", load[0]},
      {"date", date},
      {"libtorch", nn::libtorchVersion()},
      {"device", o.device},
      {"gpu", o.device == "cuda" ? nlohmann::json(gpuName()) : nlohmann::json()},
      {"torch_threads", torch::get_num_threads()},
      {"openblas_threads", blasThreads()},
      {"OPENBLAS_NUM_THREADS", envOr("OPENBLAS_NUM_THREADS", "unset")},
      {"OMP_NUM_THREADS", envOr("OMP_NUM_THREADS", "unset")}};
}

}  // namespace rr::core::bench
