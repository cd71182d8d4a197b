#pragma once
// The sparse mixture-of-experts layer with noisy top-k gating used by MoRE.
#include <torch/torch.h>

namespace rr::core::nn {

struct MoEOutput {
  torch::Tensor output;       // [n, hidden]: the gate-weighted sum of the top-k experts' outputs
  torch::Tensor weights;      // [n, experts]: exactly k non-zero weights per row, summing to 1
  torch::Tensor balanceLoss;  // scalar auxiliary loss
  torch::Tensor load;         // [experts]: share of routed slots per expert (detached)
};

class SparseMoEImpl : public torch::nn::Module {
 public:
  SparseMoEImpl(int hidden, int experts, int expertHidden, int topK, bool noisy);
  // Noise is added to the gate logits only in training mode.
  MoEOutput forward(const torch::Tensor& x);

  torch::nn::Linear gate{nullptr}, noise{nullptr};
  std::vector<torch::nn::Sequential> experts;

 private:
  int m_topK;
  bool m_noisy;
};
TORCH_MODULE(SparseMoE);

}  // namespace rr::core::nn
