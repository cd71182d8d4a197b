#include "config/memoryestimate.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/errors.h"

namespace rr::core {

// Counted in fp32 values (4 bytes), for the encoder the methods share (heads, routers and LoRA
// adapters are small beside it and left out, so this is a lower bound):
//   parameters P = V*H + T*H + L*(4*H*H + 2*H*F + 9*H + F)
//       (token and position embeddings; per layer the Q, K, V and output projections with biases,
//        the two feed-forward matrices with biases and two LayerNorms)
//   parameter memory = 16 * P bytes: weights, gradients and Adam's first and second moments
//   activations kept for backward, per layer and sequence: 10*T*H + 2*T*F + 3*A*T*T values
//       (layer input, Q, K, V, context, projection output, residuals and LayerNorm inputs;
//        the FFN's two T*F tensors; attention scores, softmax output and its dropout mask)
//   training: 2 * training.batch_size sequences (each pair's chosen and rejected text)
//   pre-training: pretrain.batch_size sequences, plus 2*T*V values for the MLM logits and their
//       gradient per sequence
// with V = tokenizer.vocab_size, H = hidden, F = ffn, L = layers, A = heads, T = encoder.max_len.
MemoryEstimate estimateTrainingMemory(const ExperimentConfig& config) {
  const EncoderShape s = resolveEncoderShape(config.encoder);
  // Doubles: the products of the allowed maxima overflow 64-bit integers.
  const double V = config.tokenizer.vocabSize, H = s.hidden, F = s.ffn, L = s.layers, A = s.heads,
               T = config.encoder.maxLen;
  const double params = V * H + T * H + L * (4 * H * H + 2 * H * F + 9 * H + F);
  const double perSequence = L * (10 * T * H + 2 * T * F + 3 * A * T * T);
  const double training = 2.0 * config.training.batchSize * perSequence;
  const double pretraining =
      config.pretrain.enabled && config.pretrain.steps > 0 && config.encoder.pretrained.empty()
          ? config.pretrain.batchSize * (perSequence + 2 * T * V)
          : 0.0;
  auto bytes = [](double values) {
    const double b = 4.0 * values;
    return b >= 9.0e18 ? INT64_MAX : static_cast<std::int64_t>(b);
  };
  MemoryEstimate e;
  e.parameters = params >= 9.0e18 ? INT64_MAX : static_cast<std::int64_t>(params);
  e.parameterBytes = bytes(4 * params);
  e.activationBytes = bytes(std::max(training, pretraining));
  if (e.parameterBytes > INT64_MAX - e.activationBytes)
    e.activationBytes = INT64_MAX - e.parameterBytes;
  return e;
}

MemoryEstimate estimateBackboneMemory(double parameters, int hidden, int ffn, int layers,
                                      int heads, int maxLen, int batchSize, int copies,
                                      bool fullTraining) {
  const double H = hidden, F = ffn, L = layers, A = heads, T = maxLen;
  const double perSequence = L * (10 * T * H + 2 * T * F + 3 * A * T * T);
  const double weights = parameters * (std::max(copies, 1) + (fullTraining ? 3 : 0));
  auto bytes = [](double values) {
    const double b = 4.0 * values;
    return b >= 9.0e18 ? INT64_MAX : static_cast<std::int64_t>(b);
  };
  MemoryEstimate e;
  e.parameters = parameters >= 9.0e18 ? INT64_MAX : static_cast<std::int64_t>(parameters);
  e.parameterBytes = bytes(weights);
  e.activationBytes = bytes(2.0 * batchSize * perSequence);
  if (e.parameterBytes > INT64_MAX - e.activationBytes)
    e.activationBytes = INT64_MAX - e.parameterBytes;
  return e;
}

std::int64_t availableMemoryBytes() {
  std::int64_t avail = -1;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      avail = kb * 1024;
      break;
    }
  }
  // A container's limit (cgroup v2) can be far below the machine's free memory.
  std::ifstream limitFile("/sys/fs/cgroup/memory.max"), usageFile("/sys/fs/cgroup/memory.current");
  std::string limit;
  std::int64_t usage = 0;
  if (limitFile >> limit && limit != "max" && usageFile >> usage) {
    try {
      const std::int64_t free = std::stoll(limit) - usage;
      avail = avail < 0 ? free : std::min(avail, free);
    } catch (const std::exception&) {
      // An unreadable limit leaves MemAvailable.
    }
  }
  return avail;
}

std::string formatBytes(double bytes) {
  char buf[64];
  const double gib = bytes / (1024.0 * 1024 * 1024);
  if (gib >= 1024)
    std::snprintf(buf, sizeof buf, "%.3g TiB", gib / 1024);
  else if (gib >= 1)
    std::snprintf(buf, sizeof buf, "%.3g GiB", gib);
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", bytes / (1024.0 * 1024));
  return buf;
}

void checkWeightsFit(double parameters, std::int64_t available, const std::string& what) {
  const double bytes = 4.0 * parameters;
  if (available < 0 || bytes <= static_cast<double>(available)) return;
  std::ostringstream os;
  os.precision(3);
  os << what << ": " << parameters << " parameters need about " << formatBytes(bytes)
     << " in float32, more than the " << formatBytes(available) << " of memory available";
  throw InputError(os.str());
}

void checkMemoryFits(const ExperimentConfig& config, std::int64_t available) {
  if (available < 0 || config.training.device != "cpu") return;
  const MemoryEstimate e = estimateTrainingMemory(config);
  if (e.total() <= available) return;
  std::ostringstream os;
  os << config.sourcePath << ": $.encoder: training this shape needs about "
     << formatBytes(e.total()) << " (" << e.parameters
     << " encoder parameters: " << formatBytes(e.parameterBytes)
     << " with gradients and Adam state; activations " << formatBytes(e.activationBytes) << ") but "
     << formatBytes(available)
     << " of memory is available; lower encoder.hidden/layers/ffn, encoder.max_len or the batch "
        "sizes";
  throw InputError(os.str());
}

}  // namespace rr::core
