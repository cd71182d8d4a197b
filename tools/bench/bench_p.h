#pragma once
// The bench's building blocks (internal; LibTorch): its data, systems built the way an experiment
// builds them, training with every step's throughput captured, and the process's memory.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "methods/method.h"
#include "nn/hf/hfmodel.h"

namespace rr::core::bench {

// Seconds of `repeats` calls of fn, after `warmup` untimed calls.
std::vector<double> sampleSeconds(int warmup, int repeats, const std::function<void()>& fn);

// The encoder of `preset` as the bench builds it (the quick run's toy shape, rows of seqLen).
EncoderConfig benchEncoder(const BenchOptions& o, const std::string& preset);

// A bench experiment: synthetic pairs in `domains` domains, all in the training split. Every
// chosen and rejected row is stretched to exactly seqLen tokens (its response repeated), so a
// step's FLOPs are known exactly; prompts keep their own length so routers see real prompts.
struct BenchData {
  ExperimentConfig config;
  EncodedData data;
};
// Up to five domains are the synthetic benchmark's own; more split each of those into parts.
// maxSteps caps every component's training (0 = one full epoch).
std::unique_ptr<BenchData> makeBenchData(const BenchOptions& o, const Tokenizer& tok,
                                         const std::string& preset, int domains, int pairsPerDomain,
                                         int maxSteps);
// The bench's tokenizer, trained once on synthetic text (cached like an experiment's).
std::unique_ptr<Tokenizer> makeBenchTokenizer(const BenchOptions& o);

// The bench's Hugging Face presets: DeBERTa-v3 shapes (xsmall, small) with random weights,
// measured as a bare encoder + 1-output head rather than as a method. Each one's config.json
// keys (the quick run shrinks the shape to 2 layers of 32, keeping the vocabulary and the
// relative-position settings), and the same read into the encoder's config.
std::vector<std::string> hfPresetNames();
bool isHfPreset(const std::string& preset);
nlohmann::json hfPresetJson(const BenchOptions& o, const std::string& preset);
hf::HfModelConfig hfPresetConfig(const BenchOptions& o, const std::string& preset);

// FLOPs (2 per multiply-add) of one DeBERTa forward pass over `rows` x `tokens`: the encoder's
// projections, feed-forward and content attention, plus per layer the relative-position
// projections (the table rows the sequence reaches, through the shared key and query) and the
// c2p and p2c matmuls against them. Embeddings, LayerNorm, softmax and the pooler not counted.
double debertaForwardFlops(const hf::HfModelConfig& c, int64_t rows, int64_t tokens);

// A matmul of [m, k] x [k, n] in GFLOP/s: the spread (spreadOf) of `repeats` samples after
// `warmup` untimed ones, fp32 or bf16 on `device`.
nlohmann::json matmulSpread(int64_t m, int64_t k, int64_t n, int warmup, int repeats,
                            const torch::Device& device, bool bf16);

// One reward system with the config and context it refers to (they must outlive it).
struct BenchSystem {
  ExperimentConfig config;
  MethodConfig method;
  std::unique_ptr<MethodContext> ctx;
  std::unique_ptr<RewardSystem> system;
};
// A system of `method` (a registry name) with its own options (e.g. {"inference", "switch"}),
// its training capped at maxSteps per component (0 = the data's config), its encoders built from
// the Hugging Face folder `backboneDir` when one is given (as `run` builds them from
// encoder.pretrained).
std::unique_ptr<BenchSystem> makeSystem(const BenchData& d, const std::string& method,
                                        const std::map<std::string, std::string>& textOptions,
                                        const std::map<std::string, double>& options,
                                        const torch::Device& device, int maxSteps = 0,
                                        const std::string& backboneDir = "");

// Copies every trained weight of `from` into `to` (same method and structure).
void copyWeights(BenchSystem& from, BenchSystem& to);

// Trains the system as run `runId`; `extra` (may be null) also receives everything it reports.
// Returns the per-step throughput (pairs/s, prompts/s for routers) of each component, in order.
std::map<std::string, std::vector<double>> trainCaptured(BenchSystem& s, MetricSink* extra,
                                                         int64_t runId = 0);

// The component's kind: "rm:harmless" -> "rm", "model" -> "model".
std::string componentKind(const std::string& component);

// Resident memory of this process (MiB): the peak since the last resetPeakRss(), and now.
void resetPeakRss();
double peakRssMb();

// Machine facts for the report: CPU model, cores, load, date, LibTorch and thread settings.
nlohmann::json machineInfo(const BenchOptions& o);

// What became of the PyTorch reference. status: "measured" (figures holds {"presets": {...}}),
// "skipped" (no interpreter, no script, or an interpreter that cannot import torch) or "failed"
// (the script ran and broke); note: one line saying why, empty when measured.
struct ReferenceOutcome {
  std::string status;
  std::string note;
  nlohmann::json figures;
};

// Runs bench/reference.py on the same shapes and token ids.
ReferenceOutcome runReference(const BenchOptions& o, const nlohmann::json& input);

// The dist suite (benchdist.cpp): the baseline trained by `rewardrouter-cli run` on 1 and on 2
// processes of this machine (`--nproc 2`), one thread each; rows of processes, pairs/s, seconds
// and bytes of the gradient all-reduce per step, and the scaling efficiency. Empty with a note
// when this build has no c10d.
nlohmann::json benchDist(const BenchOptions& o, const std::string& preset,
                         const std::function<void(const std::string&)>& say);

// The real suite (benchreal.cpp): adds its sections ("real_*", "matmul", "ceiling_gflops") to
// `result`. docs/BENCHMARKS.md, "Real text".
void benchReal(const BenchOptions& o, nlohmann::json& result,
               const std::function<void(const std::string&)>& say);

// This program's path (/proc/self/exe).
std::string selfPath();

// The last non-blank line of a file ("" when there is none or it cannot be read).
std::string lastLineOf(const std::string& path);

struct ChildOutcome {
  double seconds = 0;  // from fork to exit
  int exitCode = 0;    // 127: could not be started; 128 + N: killed by signal N
};
// Runs argv (argv[0] a path) with this process's environment and `env` on top, standard input
// from `in` ("" = /dev/null), standard output to `out` ("" = `log`) and standard error to `log`.
ChildOutcome runChild(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& in,
                      const std::string& out, const std::string& log);

}  // namespace rr::core::bench
