#pragma once
// Inverted dropout for every encoder in rr_core (RewardRouter's own and the Hugging Face ones).
// Internal to rr_core (includes LibTorch).
#include <torch/torch.h>

namespace rr::core::nn {

// `x` with each element zeroed with probability p and the rest scaled by 1/(1-p) when
// `training`; `x` itself otherwise (or when p is 0). The gradient flows through the kept
// elements, as torch::dropout's does.
//
// On the CPU in fp32 the mask is drawn here rather than by torch::dropout: Debian's LibTorch
// 1.13 has no MKL, and its bernoulli_ then draws every element serially through mt19937 and a
// double comparison (7.5 ns per element on the 2-core machine, 2026-12-01: about an eighth of a
// training step at the mini preset; docs/BENCHMARKS.md). Here each element takes 16 bits of a
// SplitMix64 hash of (seed, element index), so the probability is p rounded to a multiple of
// 2^-16 (0.1 -> 0.100006). The seed is one 64-bit draw from LibTorch's default CPU generator,
// so torch::manual_seed and the generator state a checkpoint saves decide every mask, as
// before. Other devices and dtypes use torch::dropout.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

// The keep mask of one call (1/(1-p) where kept, 0 where dropped), for tests.
torch::Tensor dropoutMask(c10::IntArrayRef sizes, double p, uint64_t seed);

}  // namespace rr::core::nn
