#include "nn/torchcompat.h"

#include <limits>

#include <ATen/autocast_mode.h>
#include <c10/util/Logging.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>

#include "nn/dropout.h"

// 2.4 moved autocast's switches to per-device-type calls and deprecated the old names.
#define RR_TORCH_2_4 (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))
// scaled_dot_product_attention came with 2.0; its `scale` argument with 2.1.
#define RR_TORCH_SDPA (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))


namespace rr::core::nn {
namespace {

// 1.13 has one switch per backend (set_enabled for CUDA, set_cpu_enabled) and per-backend dtype
// setters; 2.4 on takes the device type as an argument.
bool enabledFor(torch::DeviceType t) {
#if RR_TORCH_2_4
  return at::autocast::is_autocast_enabled(t);
#else
  return t == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}
void setEnabled(torch::DeviceType t, bool on) {
#if RR_TORCH_2_4
  at::autocast::set_autocast_enabled(t, on);
#else
  if (t == torch::kCUDA)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
#endif
}
torch::ScalarType dtypeFor(torch::DeviceType t) {
#if RR_TORCH_2_4
  return at::autocast::get_autocast_dtype(t);
#else
  return t == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                           : at::autocast::get_autocast_cpu_dtype();
#endif
}
void setDtype(torch::DeviceType t, torch::ScalarType d) {
#if RR_TORCH_2_4
  at::autocast::set_autocast_dtype(t, d);
#else
  if (t == torch::kCUDA)
    at::autocast::set_autocast_gpu_dtype(d);
  else
    at::autocast::set_autocast_cpu_dtype(d);
#endif
}

}  // namespace

bool hasFusedAttention() { return RR_TORCH_SDPA; }

torch::Tensor causalBias(int64_t t, int64_t window, const torch::Device& device) {
  const torch::Tensor i = torch::arange(t, torch::TensorOptions(torch::kLong).device(device));
  const torch::Tensor qi = i.unsqueeze(1), kj = i.unsqueeze(0);
  torch::Tensor hidden = kj > qi;
  if (window > 0) hidden = hidden.logical_or(kj <= qi - window);
  return torch::zeros({t, t}, torch::TensorOptions(torch::kFloat).device(device))
      .masked_fill(hidden, std::numeric_limits<float>::lowest());
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& biasIn, double scale, double dropout, bool training,
                        bool causal) {
  const bool drops = training && dropout > 0;
#if RR_TORCH_SDPA
  if (!drops && causal && !biasIn.defined())
    return at::scaled_dot_product_attention(q, k, v, {}, 0.0, true, scale);
#endif
  torch::Tensor bias = biasIn;
  if (causal) {
    const torch::Tensor c = causalBias(q.size(2), 0, q.device());
    // Two lowests add to -inf; clamped, a row stays finite.
    bias = bias.defined() ? (bias + c).clamp_min(std::numeric_limits<float>::lowest()) : c;
  }
#if RR_TORCH_SDPA
  if (!drops) {
    // The mask must have the query's dtype (autocast gives bf16 queries); float's lowest, which
    // marks padding, would become -inf there and a row of padding only would turn into NaN.
    torch::Tensor mask = bias;
    if (bias.defined() && bias.scalar_type() != q.scalar_type()) {
      const double lowest = q.scalar_type() == torch::kHalf ? -65504.0 : -3.38e38;
      mask = bias.clamp_min(lowest).to(q.scalar_type());
    }
    return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale);
  }
#endif
  const int64_t b = q.size(0), h = q.size(1), tq = q.size(2), t = k.size(2), d = q.size(3);
  // scale · q kᵀ + bias in one batched GEMM (beta · bias + alpha · q kᵀ) instead of three passes
  // over the scores.
  const torch::Tensor q3 = q.reshape({b * h, tq, d}), k3 = k.reshape({b * h, t, d});
  torch::Tensor scores =
      bias.defined()
          ? torch::baddbmm(bias.expand({b, h, tq, t}).reshape({b * h, tq, t}), q3,
                           k3.transpose(1, 2), 1, scale)
          : torch::bmm(q3, k3.transpose(1, 2)).mul_(scale);
  torch::Tensor probs = nn::dropout(torch::softmax(scores, -1), dropout, drops);
  return torch::bmm(probs, v.reshape({b * h, t, d})).view({b, h, tq, d});
}

std::vector<const torch::optim::OptimizerParamState*> optimizerStates(
    const torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& params, bool* foreign) {
  std::vector<const torch::optim::OptimizerParamState*> out(params.size(), nullptr);
  size_t found = 0;
  for (size_t i = 0; i < params.size(); ++i) {
#if TORCH_VERSION_MAJOR >= 2
    const auto key = static_cast<void*>(params[i].unsafeGetTensorImpl());
#else
    const auto key = c10::guts::to_string(params[i].unsafeGetTensorImpl());
#endif
    const auto it = opt.state().find(key);
    if (it != opt.state().end()) {
      out[i] = it->second.get();
      ++found;
    }
  }
  if (foreign) *foreign = found != opt.state().size();
  return out;
}

std::string libtorchVersion() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

AutocastGuard::AutocastGuard(const torch::Device& device, torch::ScalarType dtype)
    : m_type(device.type()), m_wasEnabled(enabledFor(m_type)), m_wasDtype(dtypeFor(m_type)) {
  if (m_type != torch::kCUDA && m_type != torch::kCPU)
    throw std::invalid_argument("autocast: only CPU and CUDA devices");
  setDtype(m_type, dtype);
  setEnabled(m_type, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  setEnabled(m_type, m_wasEnabled);
  setDtype(m_type, m_wasDtype);
}

bool autocastSupported(const torch::Device& device, torch::ScalarType dtype) {
  if (device.is_cpu()) return dtype == torch::kBFloat16;
  if (!device.is_cuda() || !torch::cuda::is_available()) return false;
  if (dtype == torch::kHalf) return true;
  // bf16 tensor cores from Ampere (sm_80) on; older devices emulate it slowly or not at all.
  // The capability is read through a tiny bf16 matmul rather than the CUDA runtime, whose header
  // a CPU-only LibTorch does not have.
  try {
    torch::Tensor a = torch::ones({2, 2}, torch::TensorOptions().device(device).dtype(dtype));
    return torch::mm(a, a).sum().item<double>() == 8.0;
  } catch (const c10::Error&) {
    return false;
  }
}

QuietLibTorchWarnings::QuietLibTorchWarnings() {
  if (std::getenv("TORCH_CPP_LOG_LEVEL") != nullptr) return;
  m_level = FLAGS_caffe2_log_level;
  m_changed = true;
  FLAGS_caffe2_log_level = std::max(m_level, 3);  // 3: fatal only (c10's GLOG_FATAL)
}

QuietLibTorchWarnings::~QuietLibTorchWarnings() {
  if (m_changed) FLAGS_caffe2_log_level = m_level;
}

}  // namespace rr::core::nn
