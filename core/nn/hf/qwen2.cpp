// Qwen2: Llama's layers with q/k/v biases (o_proj none);
// sliding-window layers from max_window_layers on when use_sliding_window is set.
#include "nn/hf/arch_p.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

// Qwen2Config: sliding_window applies only with use_sliding_window, from max_window_layers on.
bool slidingFrom(const HfModelConfig& c, int i) {
  return c.slidingWindow > 0 && i >= c.raw.value("max_window_layers", 28);
}

void parse(const ConfigFile& f, HfModelConfig& c) {
  parseDecoderKeys(f, c, {32768, "hidden_act", "silu", 0});
  const bool use = f.boolean("use_sliding_window", false);
  c.slidingWindow = use ? f.integer("sliding_window", 4096) : 0;
  f.integer("max_window_layers", 28);
  parseLayerTypes(f, c, slidingFrom);
  if (!use) c.slidingLayers.assign(c.slidingLayers.size(), false);
}

}  // namespace

const ArchRow& qwen2Row() {
  static const ArchRow row{Arch::Qwen2,
                           "qwen2",
                           "Qwen2",
                           "Qwen2ForSequenceClassification",
                           "model.",
                           "embed_tokens.weight",
                           "",
                           "",
                           "score",
                           false,
                           false,
                           SlowTokenizer::None,
                           "tokenizer.json",
                           InputKind::Chat,
                           parse,
                           buildDecoder,
                           decoderParameters};
  return row;
}

}  // namespace rr::core::hf
