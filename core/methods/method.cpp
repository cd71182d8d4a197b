#include "methods/method.h"

#include "common/errors.h"
#include "methods/factories_p.h"

namespace rr::core {

const std::map<std::string, MethodEntry>& methodRegistry() {
  static const std::map<std::string, MethodEntry> r = {
      {"baseline", baselineEntry()}, {"base-lora", baseLoraEntry()}, {"more", moreEntry()},
      {"rodos", rodosEntry()},       {"arliss", arlissEntry()},      {"dmoerm", dmoermEntry()},
      {"pretrained", pretrainedEntry()},
  };
  return r;
}

std::unique_ptr<RewardSystem> createMethod(const MethodContext& ctx) {
  auto it = methodRegistry().find(ctx.method.method);
  if (it == methodRegistry().end()) throw InputError("unknown method '" + ctx.method.method + "'");
  return it->second.create(ctx);
}

torch::Device deviceFor(const std::string& name) {
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw InputError("training.device is \"cuda\" but this LibTorch build sees no CUDA device");
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

}  // namespace rr::core
