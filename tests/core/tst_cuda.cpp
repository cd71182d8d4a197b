// The CUDA path (label gpu; every case skips on a machine without a CUDA device): a real
// DeBERTa-v3 reward model on the GPU gives transformers' rewards, bf16 autocast stays close to
// them, ARLISS's `mixed` mode scores what `switch` scores on the GPU, and the bench measures there.
#include <QtTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "nn/hf/hfencoder_p.h"
#include "nn/hf/hfmodel.h"
#include "nn/torchcompat.h"

using namespace rr::core;

namespace {

torch::Tensor longs(const nlohmann::json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows) out.push_back(torch::tensor(r.get<std::vector<int64_t>>()));
  return torch::stack(out);
}

}  // namespace

class TestCuda : public QObject {
  Q_OBJECT
  const torch::Device m_gpu{torch::kCUDA};

 private Q_SLOTS:
  void init() {
    if (!torch::cuda::is_available()) QSKIP("no CUDA device (this LibTorch or this machine)");
  }

  void debertaRewardsMatchTransformersOnTheGpu() {
    const std::string dir = RR_SOURCE_DIR "/tests/fixtures/hf/models/deberta-v3-rm";
    hf::HfBackbone bb = hf::loadHfBackbone(dir);
    auto* enc = dynamic_cast<hf::HfEncoder*>(bb.encoder.get());
    QVERIFY(enc);
    enc->to(m_gpu);
    enc->eval();
    std::ifstream in(dir + "/golden.json");
    const nlohmann::json g = nlohmann::json::parse(in);
    torch::NoGradGuard ng;
    const torch::Tensor w = enc->checkpointHeadWeight.to(m_gpu),
                        b = enc->checkpointHeadBias.to(m_gpu);
    for (const auto& c : g["cases"]) {
      const torch::Tensor ids = longs(c["ids"]).to(m_gpu), mask = longs(c["mask"]).to(m_gpu),
                          types = longs(c["types"]).to(m_gpu);
      const torch::Tensor want = torch::tensor(c["logits"].get<std::vector<double>>());
      auto reward = [&] {
        return (torch::matmul(enc->pooled(ids, mask, types), w.t()).squeeze(-1) + b)
            .to(torch::kCPU, torch::kDouble);
      };
      const double fp32 = (reward() - want).abs().max().item<double>();
      QVERIFY2(fp32 < 1e-4, qPrintable(QString("fp32 on CUDA differs by %1").arg(fp32)));
      QVERIFY(nn::autocastSupported(m_gpu));
      nn::AutocastGuard amp(m_gpu);
      const double bf16 = (reward() - want).abs().max().item<double>();
      // bf16 keeps 8 mantissa bits; through a few layers the rewards move by a few hundredths.
      QVERIFY2(bf16 < 0.05 * std::max(1.0, want.abs().max().item<double>()),
               qPrintable(QString("bf16 on CUDA differs by %1").arg(bf16)));
    }
  }

  void benchOnTheGpu() {
    BenchOptions o;
    o.quick = true;
    o.presets = {"tiny"};
    o.repeats = 2;
    o.batchPairs = 4;
    o.seqLen = 16;
    o.suite = "train,infer";
    o.device = "cuda";
    const nlohmann::json r = runBench(o);
    QVERIFY2(!r.contains("errors"), r.value("errors", nlohmann::json()).dump().c_str());
    QVERIFY(!r["machine"].value("gpu", std::string()).empty());
    const double diff = r["consistency"][0]["max_abs_diff"].get<double>();
    QVERIFY2(diff < 1e-5, qPrintable(QString("ARLISS mixed vs switch on CUDA: %1").arg(diff)));
    for (const auto& row : r["infer"]) QVERIFY(row.contains("batch64_pairs_per_s"));
  }
};

QTEST_GUILESS_MAIN(TestCuda)
#include "tst_cuda.moc"
