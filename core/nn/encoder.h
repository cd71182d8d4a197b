#pragma once
// The transformer encoder and the LoRA linear layer every method is built from. Internal to
// rr_core (includes LibTorch): nothing under ui/ includes this.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.h"

namespace rr::core::nn {

// A linear layer that can hold several named LoRA adapters (Hu et al. 2021): y = Wx + b +
// scale * B(A(dropout(x))), with A ~ Kaiming, B = 0 at creation so a new adapter starts as the
// identity change. One adapter can be active for the whole batch ("switch"), or each row of the
// batch can use its own adapter ("mixed"); both compute the same values.
class LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(int64_t in, int64_t out, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x);

  int addAdapter(const std::string& name, int rank, double alpha, double dropout);
  int adapterIndex(const std::string& name) const;
  int adapterCount() const { return static_cast<int>(m_adapters.size()); }
  // -1 = no adapter (the base layer alone).
  void setActive(int index) {
    m_active = index;
    m_rowAdapters = torch::Tensor();
    m_runs.clear();
  }
  // rows: int64 [batch] of adapter indices (-1 = none); the mixed mode.
  void setRowAdapters(const torch::Tensor& rows) {
    m_rowAdapters = rows;
    m_runs.clear();
    m_active = -1;
  }
  // The mixed mode for a batch whose rows come in runs of one adapter: rows [start, start +
  // length) use adapter `adapter` (-1 = none). Each run is a slice of the batch, so no row is
  // gathered or scattered (setRowAdapters picks this when the runs are few).
  struct Run {
    int adapter;
    int64_t start, length;
  };
  void setRowRuns(std::vector<Run> runs) {
    m_runs = std::move(runs);
    m_rowAdapters = torch::Tensor();
    m_active = -1;
  }
  std::vector<torch::Tensor> adapterParameters(int index) const;
  // Re-initialises adapter `index` as at creation (A random, B zero).
  void resetAdapter(int index);
  // Folds adapter `index` into the base weight (inference); returns the merged copy of W.
  torch::Tensor mergedWeight(int index) const;

  torch::nn::Linear base{nullptr};

 private:
  struct Adapter {
    std::string name;
    torch::Tensor a, b;  // a: [rank, in], b: [out, rank]
    double scale = 1;
    double dropout = 0;
  };
  torch::Tensor delta(const Adapter& ad, const torch::Tensor& x);
  std::vector<Adapter> m_adapters;
  int m_active = -1;
  torch::Tensor m_rowAdapters;
  std::vector<Run> m_runs;
};
TORCH_MODULE(LoraLinear);

class EncoderLayerImpl : public torch::nn::Module {
 public:
  EncoderLayerImpl(int hidden, int heads, int ffn, double dropout);
  // x: [B, T, H]; attnBias: [B, 1, 1, T] added to every head's scores. firstOnly: the output
  // holds the first token alone ([B, 1, H]), every token still attended to.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& attnBias,
                        bool firstOnly = false);

  LoraLinear query{nullptr}, key{nullptr}, value{nullptr}, dense{nullptr};  // attention
  LoraLinear ffnIn{nullptr}, ffnOut{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  int heads;
  double dropoutRate;
};
TORCH_MODULE(EncoderLayer);

// The roles of the LoRA-capable layers. lora.targets names them as query/q, key/k, value/v,
// dense/o (the attention's output), up, gate, down, or ffn for all three feed-forward layers
// (an encoder's first feed-forward layer is its up, the second its down; it has no gate).
enum class LoraRole { Query, Key, Value, Output, Gate, Up, Down };
bool targetsRole(const std::vector<std::string>& targets, LoraRole role);

enum class Pooling { Cls, Mean };
Pooling poolingFromName(const std::string& name);  // "cls" or "mean"; throws InputError

// What every backbone offers the methods (shared/docs/STYLE.md, "An encoder interface"): final
// hidden states, the pooled state heads read, the LoRA-adaptable linear layers by role and its
// weights by name (as a torch::nn::Module). RewardRouter's own encoder, BERT/ELECTRA and
// DeBERTa-v2/v3 stand side by side behind it.
class Encoder : public torch::nn::Module {
 public:
  // [B, T, H] final hidden states. `types`: int64 [B, T] token-type ids (segment 0 = [CLS] prompt
  // [SEP], 1 = response [SEP]); undefined = all 0. Architectures without token types ignore it.
  virtual torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask,
                                const torch::Tensor& types = {}) = 0;
  // What reward and router heads read. Pooling::Cls: the first token's final state through the
  // architecture's own pooler where it has one (BERT's dense+tanh, DeBERTa's ContextPooler,
  // ELECTRA's classifier.dense+activation); Pooling::Mean: the average of the final states
  // over the mask's tokens, no pooler.
  torch::Tensor pooled(const torch::Tensor& ids, const torch::Tensor& mask,
                       const torch::Tensor& types = {});
  // [B, H] the first token's final state, forward(...).select(1, 0); an architecture may
  // compute it with less work than every token's state.
  virtual torch::Tensor firstState(const torch::Tensor& ids, const torch::Tensor& mask,
                                   const torch::Tensor& types = {});
  // [B, H] the state the architecture's own head reads (Pooling::Cls): the first token's for
  // encoders, the last token that is not padding for decoders.
  virtual torch::Tensor headState(const torch::Tensor& ids, const torch::Tensor& mask,
                                  const torch::Tensor& types = {}) {
    return firstState(ids, mask, types);
  }
  // Every LoRA-capable layer whose role is in `targets`: query (q), key (k), value (v), dense
  // (o: the attention's output), ffn (all feed-forward layers) or up, gate, down (one each; an
  // encoder's are up and down).
  virtual std::vector<LoraLinear> loraLayers(const std::vector<std::string>& targets) const = 0;
  virtual int hidden() const = 0;
  virtual int maxLen() const = 0;
  // "rewardrouter" (the encoder pre-trained here), else config.json's model_type.
  virtual std::string architecture() const = 0;
  void setPooling(Pooling p) { m_pooling = p; }
  Pooling pooling() const { return m_pooling; }

  // Whether the architecture's reward head has a bias (a decoder's `score` has none): a head
  // exported under its name must then keep its bias at 0 (methods/common_p.h, fitHeadBias).
  virtual bool headHasBias() const { return true; }

  // A checkpoint's classifier ([labels, H] and [labels]) that a reward head starts from;
  // undefined when the backbone came without one.
  torch::Tensor checkpointHeadWeight, checkpointHeadBias;

 protected:
  // The architecture's pooler over the first token's state [B, H]; identity by default.
  virtual torch::Tensor poolFirst(const torch::Tensor& first) { return first; }

 private:
  Pooling m_pooling = Pooling::Cls;
};
using EncoderPtr = std::shared_ptr<Encoder>;

// Pre-LayerNorm transformer encoder with learned positions, pre-trained here with masked-LM.
class TransformerEncoderImpl : public Encoder {
 public:
  TransformerEncoderImpl(int vocabSize, const EncoderShape& shape, int maxLen, double dropout);
  using Encoder::forward;
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask,
                        const torch::Tensor& types = {}) override;
  torch::Tensor firstState(const torch::Tensor& ids, const torch::Tensor& mask,
                           const torch::Tensor& types = {}) override;
  std::vector<LoraLinear> loraLayers(const std::vector<std::string>& targets) const override;
  int hidden() const override { return m_hidden; }
  int maxLen() const override { return m_maxLen; }
  std::string architecture() const override { return "rewardrouter"; }

  torch::nn::Embedding tokens{nullptr}, positions{nullptr};
  torch::nn::LayerNorm embedNorm{nullptr}, finalNorm{nullptr};
  torch::nn::ModuleList layers;

 private:
  torch::Tensor run(const torch::Tensor& ids, const torch::Tensor& mask, bool firstOnly);
  int m_hidden;
  int m_maxLen;
  double m_dropout;
};
TORCH_MODULE(TransformerEncoder);

// Adds adapter `name` to every target layer; returns the new parameters.
std::vector<torch::Tensor> addAdapter(const Encoder& enc, const LoraConfig& cfg,
                                      const std::string& name);
void activateAdapter(const Encoder& enc, const LoraConfig& cfg, const std::string& name);
void deactivateAdapters(const Encoder& enc);
// Mixed mode: row r of the next batch uses adapter names[rowAdapter[r]].
void setRowAdapters(const Encoder& enc, const LoraConfig& cfg,
                    const std::vector<std::string>& names, const torch::Tensor& rowAdapter);

// Weights by name (parameters and buffers), so a file can be checked against a module and
// loaded into a differently built one of the same shape. Throws InputError naming the file and
// the first missing or mis-shaped tensor. saveModule writes atomically and returns the file's
// SHA-256; a failed write (a full disk) throws InputError and leaves no file behind.
std::string saveModule(const torch::nn::Module& m, const std::string& path);
void loadModule(torch::nn::Module& m, const std::string& path);

int64_t countParameters(const std::vector<torch::Tensor>& params);
int64_t countParameters(const torch::nn::Module& m, bool trainableOnly = false);
void setRequiresGrad(torch::nn::Module& m, bool on);

}  // namespace rr::core::nn
