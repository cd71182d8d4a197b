// Qwen2: Llama's layers with q/k/v biases (o_proj none);
// sliding-window layers from max_window_layers on when use_sliding_window is set.
#include "nn/hf/arch_p.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

void parse(const ConfigFile& f, HfModelConfig& c) {
  parseDecoderKeys(f, c, {32768, "hidden_act", "silu", 0});
  parseQwenWindows(f, c);
}

}  // namespace

const ArchRow& qwen2Row() {
  static const ArchRow row = decoderRow(Arch::Qwen2, "qwen2", "Qwen2", "Qwen2ForSequenceClassification", parse);
  return row;
}

}  // namespace rr::core::hf
