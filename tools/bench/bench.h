#pragma once
// `rewardrouter-cli bench`: what the reward-model systems cost on this machine, measured in one
// process (docs/BENCHMARKS.md): the matmul ceiling, training throughput and model-FLOP
// utilisation, inference latency and throughput, memory, the run store's overhead, scaling with
// pairs and domains, and the same model in the PyTorch reference under bench/; and, with the
// real suite, Hugging Face reward models on text of real lengths against transformers and TRL.
// Value types in, JSON out: no LibTorch in this header.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace rr::core {

struct BenchOptions {
  // train | infer | scaling | dist | real | all (dist and real only by name), or a list
  std::string suite = "all";
  std::vector<std::string> presets = {"tiny", "mini"};
  // Systems of the train and infer suites: baseline, base-lora, more, rodos, arliss, dmoerm;
  // empty = all (arliss covers both of its inference modes).
  std::vector<std::string> systems;
  int repeats = 5;  // timed samples per figure, after one untimed warm-up
  int batchPairs = 16;
  int seqLen = 64;  // every training and scoring row has exactly this many tokens
  std::string device = "cpu";
  // "fp32", or "bf16": every timed forward and backward pass under autocast (matmuls and linear
  // layers in bf16, parameters and optimizer state fp32; nn::AutocastGuard), and the matmul
  // ceiling measured in bf16. On CUDA the inference rows also time batches of 64 pairs.
  std::string precision = "fp32";
  int threads = 0;              // LibTorch intra-op threads; 0 = leave the default
  int blasThreads = 0;          // OpenBLAS threads (see setBlasThreads); 0 = leave the default
  std::string python;           // interpreter for the PyTorch reference; "" = skip it
  std::string referenceScript;  // bench/reference.py
  std::string referenceInput;   // keep the reference's input JSON here; "" = a temporary file
  std::string cacheDir;         // tokenizer cache; "" = defaultCacheDir()
  // Seconds instead of minutes: toy shapes and few pairs. Checks the harness, not the machine.
  bool quick = false;

  // The real suite (docs/BENCHMARKS.md, "Real text"). Hugging Face reward-model folders, each
  // scored as `score --model` scores it; the first one is also trained as `run` trains a
  // Baseline on `encoder.pretrained`.
  std::vector<std::string> models;
  std::string pairsFile;  // canonical pairs to measure on; "" = texts made to `profile`'s lengths
  std::string profile;    // token-length profile (bench/profiles/*.json)
  int scorePairs = 100;   // pairs scored: their chosen and rejected responses, two inputs each
  int scoreBatch = 32;    // the references' scoring batch (transformers' loop)
  int trainPairs = 128;   // pairs of the training epoch (0 = no training rows)
  int trainMaxLen = 128;  // encoder.max_len of the training
  double trainLr = 1e-4;
  std::string cli;            // rewardrouter-cli for the whole-process rows; "" = none
  std::string realReference;  // bench/real_reference.py (run by `python`); "" = none
};

// Progress lines for the terminal; may be null.
using BenchLog = std::function<void(const std::string&)>;

// Runs the suites and returns every raw figure plus "ratios" (benchRatios of the rest). Where the
// train or infer suite ran, "python_status" says what became of the PyTorch reference: "measured"
// (its figures under "python"), "off" (no interpreter given), "skipped" (the interpreter, torch or
// the script is missing) or "failed"; unless measured, "python_note" says why in one line.
nlohmann::json runBench(const BenchOptions& options, const BenchLog& log = nullptr);

// The headline ratios from the raw figures of runBench, each a number. A ratio whose figures
// were not measured (suite, preset or reference left out or skipped) is absent: never 0 or NaN.
nlohmann::json benchRatios(const nlohmann::json& result);

// "table" (aligned text tables, one per section) or "csv" (section,key,... rows).
std::string formatBench(const nlohmann::json& result, const std::string& format);

// OpenBLAS's own thread count, which LibTorch's set_num_threads does not govern. Looked up at
// run time, so a build whose LibTorch uses another BLAS (MKL, cuBLAS) runs unchanged: then
// blasThreads() is 0 and setBlasThreads does nothing.
void setBlasThreads(int n);
int blasThreads();

// Median, min, max and count of samples, as JSON: {"median", "min", "max", "n"}.
nlohmann::json spreadOf(std::vector<double> samples);

// Multiply-add FLOPs (2 per MAC) of one encoder forward pass over `rows` sequences of `tokens`
// tokens: the projections, the feed-forward block and the two attention matmuls per layer.
// firstOnly: the last layer computes the first token alone (its keys and values still for every
// token), as the encoder does for first-token pooling (nn::Encoder::firstState).
double encoderForwardFlops(const EncoderShape& shape, int64_t rows, int64_t tokens,
                           bool firstOnly = false);

// FLOPs of one training step on `rows` x `tokens`: a fully trained encoder (lora = null: forward +
// backward = 3x forward), or a frozen one with LoRA adapters (forward + input gradients = 2x
// forward, plus the adapters' own forward and backward).
double encoderTrainFlops(const EncoderShape& shape, int64_t rows, int64_t tokens,
                         const LoraConfig* lora = nullptr, bool firstOnly = false);

}  // namespace rr::core
