#include "nn/encoder.h"

#include <cmath>

#include "common/atomicfile.h"
#include "common/digest.h"
#include "common/errors.h"
#include "nn/dropout.h"
#include "nn/torchcompat.h"

namespace rr::core::nn {

LoraLinearImpl::LoraLinearImpl(int64_t in, int64_t out, bool bias) {
  base = register_module("base", torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)));
}

int LoraLinearImpl::addAdapter(const std::string& name, int rank, double alpha, double dropout) {
  if (adapterIndex(name) >= 0) throw std::logic_error("LoRA adapter '" + name + "' exists");
  const int64_t in = base->weight.size(1), out = base->weight.size(0);
  Adapter ad;
  ad.name = name;
  ad.a = register_parameter("lora_A_" + name, torch::empty({rank, in}, base->weight.options()));
  ad.b = register_parameter("lora_B_" + name, torch::empty({out, rank}, base->weight.options()));
  ad.scale = alpha / rank;
  ad.dropout = dropout;
  m_adapters.push_back(ad);
  resetAdapter(static_cast<int>(m_adapters.size()) - 1);
  return static_cast<int>(m_adapters.size()) - 1;
}

void LoraLinearImpl::resetAdapter(int index) {
  torch::NoGradGuard ng;
  auto& ad = m_adapters.at(static_cast<size_t>(index));
  torch::nn::init::kaiming_uniform_(ad.a, std::sqrt(5.0));
  ad.b.zero_();
}

int LoraLinearImpl::adapterIndex(const std::string& name) const {
  for (size_t i = 0; i < m_adapters.size(); ++i)
    if (m_adapters[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<torch::Tensor> LoraLinearImpl::adapterParameters(int index) const {
  const auto& ad = m_adapters.at(static_cast<size_t>(index));
  return {ad.a, ad.b};
}

torch::Tensor LoraLinearImpl::mergedWeight(int index) const {
  const auto& ad = m_adapters.at(static_cast<size_t>(index));
  return torch::addmm(base->weight, ad.b, ad.a, 1, ad.scale);
}

torch::Tensor LoraLinearImpl::delta(const Adapter& ad, const torch::Tensor& x) {
  torch::Tensor h = nn::dropout(x, ad.dropout, is_training());
  return torch::matmul(torch::matmul(h, ad.a.t()), ad.b.t()) * ad.scale;
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  // Scoring (no autograd, eval mode: no adapter dropout): an adapter is folded into the weight,
  // W + scale * B A, one small product per call, and its rows take one matmul like the base
  // layer's instead of three (docs/BENCHMARKS.md, "ARLISS mixed").
  const bool fold = !torch::GradMode::is_enabled() && !is_training();
  if (fold && m_active >= 0) return torch::linear(x, mergedWeight(m_active), base->bias);
  if (fold && !m_runs.empty()) {
    // The runs cover the batch's rows in order: their outputs, concatenated, are the batch's.
    // (torch::linear, not an addmm into one buffer: autocast then casts as for any layer.) An
    // adapter met in several runs (a pair batch's chosen and rejected halves) is folded once.
    std::vector<torch::Tensor> folded(m_adapters.size());
    std::vector<torch::Tensor> parts;
    for (const Run& run : m_runs) {
      torch::Tensor w = base->weight;
      if (run.adapter >= 0) {
        torch::Tensor& f = folded[static_cast<size_t>(run.adapter)];
        if (!f.defined()) f = mergedWeight(run.adapter);
        w = f;
      }
      parts.push_back(torch::linear(x.narrow(0, run.start, run.length), w, base->bias));
    }
    return parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
  }
  torch::Tensor y = base->forward(x);
  if (m_active >= 0) {
    // y + scale * (x A^T) B^T fused into one addmm (docs/BENCHMARKS.md, P2).
    const Adapter& ad = m_adapters[static_cast<size_t>(m_active)];
    torch::Tensor h = nn::dropout(x, ad.dropout, is_training());
    torch::Tensor low = torch::matmul(h, ad.a.t());
    const int64_t out = y.size(-1), r = low.size(-1);
    return torch::addmm(y.reshape({-1, out}), low.reshape({-1, r}), ad.b.t(), 1, ad.scale)
        .view(y.sizes());
  }
  if (!m_runs.empty()) {
    // Mixed mode in runs: each run's rows are a slice of x and y; its update goes in place.
    const int64_t out = y.size(-1);
    for (const Run& run : m_runs) {
      if (run.adapter < 0) continue;
      const Adapter& ad = m_adapters[static_cast<size_t>(run.adapter)];
      torch::Tensor h = nn::dropout(x.narrow(0, run.start, run.length), ad.dropout, is_training());
      torch::Tensor low = torch::matmul(h, ad.a.t());
      y.narrow(0, run.start, run.length)
          .view({-1, out})
          .addmm_(low.reshape({-1, low.size(-1)}), ad.b.t(), 1, ad.scale);
    }
    return y;
  }
  if (!m_rowAdapters.defined()) return y;
  // Mixed mode: rows grouped by adapter, each group through its own A/B, added in place.
  // Grouping costs one small matmul pair per adapter present in the batch, not one per row.
  for (size_t i = 0; i < m_adapters.size(); ++i) {
    torch::Tensor rows = (m_rowAdapters == static_cast<int64_t>(i)).nonzero().view(-1);
    if (rows.numel() == 0) continue;
    y.index_add_(0, rows, delta(m_adapters[i], x.index_select(0, rows)));
  }
  return y;
}

EncoderLayerImpl::EncoderLayerImpl(int hidden, int h, int ffn, double dropout)
    : heads(h), dropoutRate(dropout) {
  query = register_module("query", LoraLinear(hidden, hidden));
  key = register_module("key", LoraLinear(hidden, hidden));
  value = register_module("value", LoraLinear(hidden, hidden));
  dense = register_module("dense", LoraLinear(hidden, hidden));
  ffnIn = register_module("ffn_in", LoraLinear(hidden, ffn));
  ffnOut = register_module("ffn_out", LoraLinear(ffn, hidden));
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& attnBias,
                                        bool firstOnly) {
  const int64_t b = x.size(0), t = x.size(1), hid = x.size(2), d = hid / heads;
  const bool train = is_training();
  torch::Tensor h = norm1->forward(x);
  // Queries (and everything after attention) for the first token alone when that is all the
  // caller reads; keys and values always for every token.
  const torch::Tensor xq = firstOnly ? x.narrow(1, 0, 1) : x;
  const torch::Tensor hq = firstOnly ? h.narrow(1, 0, 1) : h;
  const int64_t tq = xq.size(1);
  auto split = [&](const torch::Tensor& z, int64_t rows) {
    return z.view({b, rows, heads, d}).transpose(1, 2);
  };
  torch::Tensor q = split(query->forward(hq), tq), k = split(key->forward(h), t),
                v = split(value->forward(h), t);
  torch::Tensor ctx = nn::attention(q, k, v, attnBias, 1.0 / std::sqrt(static_cast<double>(d)),
                                    dropoutRate, train)
                          .transpose(1, 2)
                          .reshape({b, tq, hid});
  torch::Tensor out = xq + nn::dropout(dense->forward(ctx), dropoutRate, train);
  torch::Tensor f = ffnIn->forward(norm2->forward(out));
  // Without autograd the activation is applied in place: one buffer of [b, tq, ffn] fewer.
  f = torch::GradMode::is_enabled() ? torch::gelu(f) : at::gelu_out(f, f);
  return out + nn::dropout(ffnOut->forward(f), dropoutRate, train);
}

TransformerEncoderImpl::TransformerEncoderImpl(int vocabSize, const EncoderShape& shape, int maxLen,
                                               double dropout)
    : m_hidden(shape.hidden), m_maxLen(maxLen), m_dropout(dropout) {
  tokens = register_module("tokens", torch::nn::Embedding(vocabSize, shape.hidden));
  positions = register_module("positions", torch::nn::Embedding(maxLen, shape.hidden));
  embedNorm = register_module("embed_norm",
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({shape.hidden})));
  finalNorm = register_module("final_norm",
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({shape.hidden})));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < shape.layers; ++i)
    layers->push_back(EncoderLayer(shape.hidden, shape.heads, shape.ffn, dropout));
  torch::NoGradGuard ng;
  torch::nn::init::normal_(tokens->weight, 0, 0.02);
  torch::nn::init::normal_(positions->weight, 0, 0.02);
}

torch::Tensor TransformerEncoderImpl::run(const torch::Tensor& ids, const torch::Tensor& mask,
                                          bool firstOnly) {
  const int64_t t = ids.size(1);
  torch::Tensor pos = torch::arange(t, ids.options().dtype(torch::kLong));
  torch::Tensor x = nn::dropout(embedNorm->forward(tokens->forward(ids) + positions->forward(pos)),
                                m_dropout, is_training());
  // Padding keys get a large negative bias; -1e4 (not -inf) keeps fully padded rows finite.
  torch::Tensor bias = ((1.0 - mask.to(x.dtype())) * -1e4).view({ids.size(0), 1, 1, t});
  const size_t n = layers->size();
  for (size_t i = 0; i < n; ++i)
    x = layers[i]->as<EncoderLayer>()->forward(x, bias, firstOnly && i + 1 == n);
  return finalNorm->forward(x);
}

torch::Tensor TransformerEncoderImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask,
                                              const torch::Tensor& /*types*/) {
  return run(ids, mask, false);
}

torch::Tensor TransformerEncoderImpl::firstState(const torch::Tensor& ids,
                                                 const torch::Tensor& mask,
                                                 const torch::Tensor& /*types*/) {
  // The last layer computes the first token alone: the other tokens' final states are never
  // read (a quarter of the encoder's work at the mini preset; docs/BENCHMARKS.md).
  return run(ids, mask, layers->size() > 0).select(1, 0);
}

torch::Tensor Encoder::firstState(const torch::Tensor& ids, const torch::Tensor& mask,
                                  const torch::Tensor& types) {
  return forward(ids, mask, types).select(1, 0);
}

torch::Tensor Encoder::pooled(const torch::Tensor& ids, const torch::Tensor& mask,
                              const torch::Tensor& types) {
  if (m_pooling == Pooling::Cls) return poolFirst(headState(ids, mask, types));
  torch::Tensor h = forward(ids, mask, types);
  // [CLS] and [SEP] count as tokens: they are in every input, so they shift all means alike.
  torch::Tensor m = mask.to(h.dtype()).unsqueeze(-1);
  return (h * m).sum(1) / m.sum(1).clamp_min(1.0);
}

bool targetsRole(const std::vector<std::string>& targets, LoraRole role) {
  for (const std::string& t : targets) {
    switch (role) {
      case LoraRole::Query:
        if (t == "query" || t == "q") return true;
        break;
      case LoraRole::Key:
        if (t == "key" || t == "k") return true;
        break;
      case LoraRole::Value:
        if (t == "value" || t == "v") return true;
        break;
      case LoraRole::Output:
        if (t == "dense" || t == "o") return true;
        break;
      case LoraRole::Gate:
        if (t == "ffn" || t == "gate") return true;
        break;
      case LoraRole::Up:
        if (t == "ffn" || t == "up") return true;
        break;
      case LoraRole::Down:
        if (t == "ffn" || t == "down") return true;
        break;
    }
  }
  return false;
}

Pooling poolingFromName(const std::string& name) {
  if (name == "cls") return Pooling::Cls;
  if (name == "mean") return Pooling::Mean;
  throw InputError("unknown pooling '" + name + "' (expected cls or mean)");
}

std::vector<LoraLinear> TransformerEncoderImpl::loraLayers(
    const std::vector<std::string>& targets) const {
  auto wants = [&](LoraRole r) { return targetsRole(targets, r); };
  std::vector<LoraLinear> out;
  for (const auto& m : *layers) {
    auto* l = m->as<EncoderLayer>();
    if (wants(LoraRole::Query)) out.push_back(l->query);
    if (wants(LoraRole::Key)) out.push_back(l->key);
    if (wants(LoraRole::Value)) out.push_back(l->value);
    if (wants(LoraRole::Output)) out.push_back(l->dense);
    if (wants(LoraRole::Up)) out.push_back(l->ffnIn);
    if (wants(LoraRole::Down)) out.push_back(l->ffnOut);
  }
  return out;
}

std::vector<torch::Tensor> addAdapter(const Encoder& enc, const LoraConfig& cfg,
                                      const std::string& name) {
  std::vector<torch::Tensor> params;
  for (auto& l : enc.loraLayers(cfg.targets)) {
    int idx = l->addAdapter(name, cfg.rank, cfg.alpha, cfg.dropout);
    for (auto& p : l->adapterParameters(idx)) params.push_back(p);
  }
  return params;
}

void activateAdapter(const Encoder& enc, const LoraConfig& cfg, const std::string& name) {
  for (auto& l : enc.loraLayers(cfg.targets)) l->setActive(l->adapterIndex(name));
}

void deactivateAdapters(const Encoder& enc) {
  for (auto& l : enc.loraLayers({"query", "key", "value", "dense", "ffn"})) l->setActive(-1);
}

void setRowAdapters(const Encoder& enc, const LoraConfig& cfg,
                    const std::vector<std::string>& names, const torch::Tensor& rowAdapter) {
  // Runs of equal adapters, read once on the host: when they are few (rows grouped by adapter,
  // as the methods pass them), each layer works on slices instead of gathered rows.
  const torch::Tensor host = rowAdapter.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t* r = host.data_ptr<int64_t>();
  std::vector<LoraLinearImpl::Run> runs;
  for (int64_t i = 0; i < host.numel(); ++i) {
    if (runs.empty() || runs.back().adapter != static_cast<int>(r[i]))
      runs.push_back({static_cast<int>(r[i]), i, 0});
    ++runs.back().length;
  }
  const bool useRuns = runs.size() <= 2 * names.size() + 2;
  for (auto& l : enc.loraLayers(cfg.targets)) {
    // Map the caller's adapter numbering to this layer's own indices.
    std::vector<int64_t> local;
    for (const auto& n : names) local.push_back(l->adapterIndex(n));
    if (useRuns) {
      std::vector<LoraLinearImpl::Run> mine = runs;
      for (auto& run : mine)
        run.adapter =
            run.adapter < 0 ? -1 : static_cast<int>(local.at(static_cast<size_t>(run.adapter)));
      l->setRowRuns(std::move(mine));
      continue;
    }
    torch::Tensor lut = torch::tensor(local, torch::kLong).to(rowAdapter.device());
    l->setRowAdapters(lut.index_select(0, rowAdapter));
  }
}

std::string saveModule(const torch::nn::Module& m, const std::string& path) {
  torch::serialize::OutputArchive archive;
  for (const auto& p : m.named_parameters()) archive.write(p.key(), p.value().detach().cpu());
  for (const auto& b : m.named_buffers()) archive.write("buffer." + b.key(), b.value().cpu());
  // The archive's sink always takes every byte: LibTorch's zip writer terminates the process
  // when its sink fails (it throws again from its destructor). AtomicFile keeps the first error
  // and commit() reports it once the archive is complete, removing the temporary file.
  AtomicFile out(path);
  Sha256 sha;
  archive.save_to([&](const void* data, size_t n) -> size_t {
    sha.update(data, n);
    out.write(static_cast<const char*>(data), n);
    return n;
  });
  out.commit();
  return sha.hex();
}

void loadModule(torch::nn::Module& m, const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    throw InputError(path + ": not a saved model (" + msg.substr(0, msg.find('\n')) + ")");
  }
  torch::NoGradGuard ng;
  auto restore = [&](const std::string& name, torch::Tensor& target) {
    torch::Tensor t;
    try {
      if (!archive.try_read(name, t)) throw InputError(path + ": has no tensor '" + name + "'");
    } catch (const c10::Error& e) {
      const std::string msg = e.what_without_backtrace();
      throw InputError(path + ": tensor '" + name + "' is unreadable (" +
                       msg.substr(0, msg.find('\n')) + ")");
    }
    if (t.sizes() != target.sizes())
      throw InputError(path + ": tensor '" + name + "' has shape " + c10::str(t.sizes()) +
                       " but the model needs " + c10::str(target.sizes()));
    target.copy_(t);
  };
  for (auto& p : m.named_parameters()) restore(p.key(), p.value());
  for (auto& b : m.named_buffers()) restore("buffer." + b.key(), b.value());
}

int64_t countParameters(const std::vector<torch::Tensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

int64_t countParameters(const torch::nn::Module& m, bool trainableOnly) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (!trainableOnly || p.requires_grad()) n += p.numel();
  return n;
}

void setRequiresGrad(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

}  // namespace rr::core::nn
