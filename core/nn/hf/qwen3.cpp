// Qwen3: Qwen2 without its fixed q/k/v biases (attention_bias
// for all four projections), with RMSNorm on each head's queries and keys before RoPE; head_dim
// is its own key (128 by default).
#include "nn/hf/arch_p.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

bool slidingFrom(const HfModelConfig& c, int i) {
  return c.slidingWindow > 0 && i >= c.raw.value("max_window_layers", 28);
}

void parse(const ConfigFile& f, HfModelConfig& c) {
  parseDecoderKeys(f, c, {32768, "hidden_act", "silu", 128});
  const bool use = f.boolean("use_sliding_window", false);
  c.slidingWindow = use ? f.integer("sliding_window", 4096) : 0;
  f.integer("max_window_layers", 28);
  parseLayerTypes(f, c, slidingFrom);
  if (!use) c.slidingLayers.assign(c.slidingLayers.size(), false);
}

}  // namespace

const ArchRow& qwen3Row() {
  static const ArchRow row{Arch::Qwen3,
                           "qwen3",
                           "Qwen3",
                           "Qwen3ForSequenceClassification",
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
