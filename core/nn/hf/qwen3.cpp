// Qwen3: Qwen2 without its fixed q/k/v biases (attention_bias
// for all four projections), with RMSNorm on each head's queries and keys before RoPE; head_dim
// is its own key (128 by default).
#include "nn/hf/arch_p.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

void parse(const ConfigFile& f, HfModelConfig& c) {
  parseDecoderKeys(f, c, {32768, "hidden_act", "silu", 128});
  parseQwenWindows(f, c);
}

}  // namespace

const ArchRow& qwen3Row() {
  static const ArchRow row = decoderRow(Arch::Qwen3, "qwen3", "Qwen3", "Qwen3ForSequenceClassification", parse);
  return row;
}

}  // namespace rr::core::hf
