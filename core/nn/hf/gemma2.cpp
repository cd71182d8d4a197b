// Gemma2: embeddings scaled by sqrt(hidden_size), RMSNorm
// with (1 + weight), norms before and after attention and feed-forward, GeGLU (tanh gelu),
// scores scaled by query_pre_attn_scalar^-1/2 and soft-capped (attn_logit_softcapping), sliding
// windows on every other layer from the first. The classification head has no final-logit
// soft-capping (transformers applies that to the language-model logits alone).
#include "nn/hf/arch_p.h"
#include "nn/hf/decoder_p.h"
#include "nn/hf/hfconfig_p.h"

namespace rr::core::hf {

namespace {

// Gemma2Config: layers 0, 2, 4, ... use the sliding window.
bool alternate(const HfModelConfig&, int i) { return (i + 1) % 2 != 0; }

void parse(const ConfigFile& f, HfModelConfig& c) {
  parseDecoderKeys(f, c, {8192, "hidden_activation", "gelu_pytorch_tanh", 256});
  c.queryPreAttnScalar = f.number("query_pre_attn_scalar", 256);
  if (!(c.queryPreAttnScalar > 0)) f.fail("'query_pre_attn_scalar' must be > 0");
  // Written as null: no soft-capping (absent: the class default, 50).
  const auto cap = f.j.find("attn_logit_softcapping");
  c.attnLogitSoftcap =
      cap != f.j.end() && cap->is_null() ? 0.0 : f.number("attn_logit_softcapping", 50.0);
  if (c.attnLogitSoftcap < 0) f.fail("'attn_logit_softcapping' must be >= 0");
  c.slidingWindow = f.integer("sliding_window", 4096);
  parseLayerTypes(f, c, alternate);
}

}  // namespace

const ArchRow& gemma2Row() {
  static const ArchRow row = decoderRow(Arch::Gemma2, "gemma2", "Gemma2", "Gemma2ForSequenceClassification", parse);
  return row;
}

}  // namespace rr::core::hf
