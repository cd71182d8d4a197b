#pragma once
// config.json's keys read with their type and range checked (private to core/nn/hf/): every
// architecture row reads its own keys through this, and each error names the file and the key.
#include <climits>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/jsonparse.h"
#include "data/tokenizer.h"
#include "nn/hf/hfencoder_p.h"

namespace rr::core::hf {

struct ConfigFile {
  std::string path;
  const nlohmann::json& j;

  [[noreturn]] void fail(const std::string& what) const;
  // A nested object (rope_scaling): its keys' errors name "path: 'outer.key'".
  bool has(const char* key) const {
    auto it = j.find(key);
    return it != j.end() && !it->is_null();
  }
  int integer(const char* key, int def, bool required = false) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) fail(std::string("no key '") + key + "'");
      return def;
    }
    if (!it->is_number_integer())
      fail(std::string("'") + key + "' must be an integer (got " + describeJson(*it) + ")");
    // Compared as written: narrowing first showed 10^12 as -727379968 and 2^64-1 as -1.
    const bool fits = it->is_number_unsigned() ? it->get<std::uint64_t>() <= INT_MAX
                                               : it->get<std::int64_t>() >= INT_MIN &&
                                                     it->get<std::int64_t>() <= INT_MAX;
    if (!fits)
      fail(std::string("'") + key + "' is " + it->dump() +
           (it->is_number_unsigned() || it->get<std::int64_t>() > 0 ? ", more than 2147483647"
                                                                    : ", less than -2147483648"));
    return it->get<int>();
  }
  int positive(const char* key) const {
    const int v = integer(key, 0, true);
    if (v <= 0) fail(std::string("'") + key + "' must be > 0 (got " + std::to_string(v) + ")");
    return v;
  }
  double number(const char* key, double def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_number()) fail(std::string("'") + key + "' must be a number");
    return it->get<double>();
  }
  bool boolean(const char* key, bool def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_boolean()) fail(std::string("'") + key + "' must be true or false");
    return it->get<bool>();
  }
  std::string string(const char* key, const std::string& def) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return def;
    if (!it->is_string()) fail(std::string("'") + key + "' must be a string");
    return it->get<std::string>();
  }
  std::string activation(const char* key, const std::string& def) const {
    std::string act = string(key, def);
    if (!isKnownActivation(act))
      fail(std::string("'") + key + "' is '" + act +
           "', not one of gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, relu, silu, swish, "
           "tanh, quick_gelu");
    return act;
  }
};

// The keys BERT, ELECTRA, RoBERTa and DeBERTa share (type_vocab_size, embedding_size,
// layer_norm_eps, the dropouts, hidden_act), with each architecture's class defaults.
void parseEncoderKeys(const ConfigFile& f, HfModelConfig& c, double layerNormEps,
                      int typeVocabSize, int embeddingSize);
// hidden_size must split evenly over the heads (encoders; decoders may set head_dim).
void requireHeadsDivideHidden(const ConfigFile& f, const HfModelConfig& c);

}  // namespace rr::core::hf
