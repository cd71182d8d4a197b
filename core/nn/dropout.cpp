#include "nn/dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>

namespace rr::core::nn {

namespace {

inline uint64_t splitMix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t drawSeed() {
  at::Generator gen = at::globalContext().defaultGenerator(torch::kCPU);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

torch::Tensor dropoutMask(c10::IntArrayRef sizes, double p, uint64_t seed) {
  torch::Tensor mask = torch::empty(sizes, torch::kFloat);
  float* m = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  // Dropped when the element's 16 bits fall below the threshold.
  const uint32_t threshold = static_cast<uint32_t>(std::lround(p * 65536.0));
  const float keep = static_cast<float>(1.0 / (1.0 - p));
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;  // SplitMix64's increment
  int64_t i = 0;
  uint64_t counter = seed;
  for (; i + 4 <= n; i += 4) {
    counter += kGolden;
    const uint64_t z = splitMix64(counter);
    for (int k = 0; k < 4; ++k) m[i + k] = ((z >> (16 * k)) & 0xffffu) >= threshold ? keep : 0.0f;
  }
  if (i < n) {
    counter += kGolden;
    const uint64_t z = splitMix64(counter);
    for (int k = 0; i < n; ++i, ++k) m[i] = ((z >> (16 * k)) & 0xffffu) >= threshold ? keep : 0.0f;
  }
  return mask;
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (p >= 1 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat)
    return torch::dropout(x, p, training);
  return x * dropoutMask(x.sizes(), p, drawSeed());
}

}  // namespace rr::core::nn
