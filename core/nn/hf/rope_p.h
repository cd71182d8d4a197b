#pragma once
// Rotary position embeddings as transformers computes them (private to core/nn/hf/), shared by
// the decoders and ModernBERT.
#include <torch/torch.h>

namespace rr::core::hf {

// cos, sin [T, head_dim] of one set of frequencies, for one forward pass.
struct Rotary {
  torch::Tensor cos, sin;
};

// 1 / theta^(2i / dim) in float32, i < dim / 2 (the "default" RoPE).
inline torch::Tensor ropeInvFreq(double theta, int64_t dim) {
  return 1.0 / torch::pow(theta, torch::arange(0, dim, 2, torch::kLong).to(torch::kFloat) /
                                     static_cast<double>(dim));
}

// The tables of positions 0 .. t-1: cat(freqs, freqs) with freqs = position x invFreq.
inline Rotary rotaryTables(const torch::Tensor& invFreq, int64_t t, const torch::Device& device) {
  const torch::Tensor pos = torch::arange(t, torch::TensorOptions(torch::kFloat).device(device));
  const torch::Tensor freqs = torch::outer(pos, invFreq.to(device));
  const torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos(), emb.sin()};
}

// x·cos + rotate_half(x)·sin, rotate_half(x) = [-x₂, x₁] over the halves of the head dim;
// computed in float32 and returned in x's dtype (ModernBERT's rule; a no-op cast in float32).
inline torch::Tensor applyRotary(const torch::Tensor& x, const Rotary& r) {
  const torch::Tensor xf = x.to(torch::kFloat);
  const int64_t half = xf.size(-1) / 2;
  const torch::Tensor x1 = xf.narrow(-1, 0, half), x2 = xf.narrow(-1, half, half);
  return (xf * r.cos + torch::cat({-x2, x1}, -1) * r.sin).to(x.scalar_type());
}

}  // namespace rr::core::hf
