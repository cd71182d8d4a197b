#pragma once
// The LibTorch calls whose spelling differs between Debian's 1.13 and the 2.x of a CUDA build
// (docs/ARCHITECTURE.md, "Building against a CUDA LibTorch"). Everything else in rr_core compiles
// unchanged against both; a call that needs a version check goes here and nowhere else.
#include <torch/torch.h>

#include <string>

namespace rr::core::nn {

// The LibTorch this was built against, e.g. "1.13.1" or "2.11.0".
std::string libtorchVersion();

// Automatic mixed precision for the scope of the guard, on `device`'s type: matrix products and
// linear layers run in `dtype` (bf16 by default), reductions, softmax and LayerNorm in fp32, as
// torch.autocast does. Parameters and optimizer state stay fp32. Autocast state is per thread:
// the guard covers the thread it was made on. Nesting restores the outer state; the cast cache
// is cleared when the outermost guard ends.
class AutocastGuard {
 public:
  explicit AutocastGuard(const torch::Device& device, torch::ScalarType dtype = torch::kBFloat16);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  torch::DeviceType m_type;
  bool m_wasEnabled;
  torch::ScalarType m_wasDtype;
};

// softmax(q kᵀ · scale + bias) v for q [B, heads, Tq, d] and k, v [B, heads, T, d]; `bias` is
// additive and broadcasts to [B, heads, Tq, T] (0 where a key is attended, the dtype's lowest
// where it is padding; DeBERTa's relative-position terms too). `dropout` applies to the attention
// probabilities when `training`. Where LibTorch has a fused scaled_dot_product_attention (2.1 on)
// and there is no dropout to draw, that kernel runs and the [Tq, T] scores are never held in
// memory; otherwise (LibTorch 1.13, or attention dropout while training) the explicit product,
// softmax and nn::dropout (its seeded masks keep a resumed run equal to an uninterrupted one).
// `causal`: query i attends keys 0..i alone (decoders; q and k of the same length), on top of
// `bias` where that is given.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& bias, double scale, double dropout, bool training,
                        bool causal = false);
// The additive causal mask [T, T]: 0 where key j <= query i (and i - j < window when window > 0),
// float's lowest elsewhere.
torch::Tensor causalBias(int64_t t, int64_t window, const torch::Device& device);
// Whether attention() can take the fused path in this build.
bool hasFusedAttention();

// The optimizer's state of each parameter, nullptr where it holds none; `foreign` is set when it
// also holds state for a tensor that is not among `params`. (The state's keys are the parameter's
// TensorImpl address as text in 1.13 and the address itself in 2.x.)
std::vector<const torch::optim::OptimizerParamState*> optimizerStates(
    const torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params, bool* foreign);

// Whether `dtype` autocast is available for `device` in this build (bf16 on CUDA needs a device
// of compute capability 8.0 or newer; on the CPU LibTorch's own kernels take it).
bool autocastSupported(const torch::Device& device, torch::ScalarType dtype = torch::kBFloat16);

// While alive, LibTorch's own warnings and errors are not printed (c10's log threshold raised to
// fatal): LibTorch 2.x's c10d logs a failed store handshake as a warning with a stack trace and
// an error line on stderr, where the rank's own one-line message says what happened (1.13
// logged nothing there). A TORCH_CPP_LOG_LEVEL the user set is left as it is.
class QuietLibTorchWarnings {
 public:
  QuietLibTorchWarnings();
  ~QuietLibTorchWarnings();
  QuietLibTorchWarnings(const QuietLibTorchWarnings&) = delete;
  QuietLibTorchWarnings& operator=(const QuietLibTorchWarnings&) = delete;

 private:
  bool m_changed = false;
  int m_level = 0;
};

}  // namespace rr::core::nn
