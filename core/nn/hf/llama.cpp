// Llama: RMSNorm, SwiGLU, grouped-query
// attention, RoPE with rope_scaling default/linear/llama3; biases as attention_bias and mlp_bias say.
#include "nn/hf/arch_p.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

bool noSliding(const HfModelConfig&, int) { return false; }

void parse(const ConfigFile& f, HfModelConfig& c) {
  parseDecoderKeys(f, c, {2048, "hidden_act", "silu", 0});
  parseLayerTypes(f, c, noSliding);
}

}  // namespace

const ArchRow& llamaRow() {
  static const ArchRow row = decoderRow(Arch::Llama, "llama", "Llama", "LlamaForSequenceClassification", parse);
  return row;
}

}  // namespace rr::core::hf
