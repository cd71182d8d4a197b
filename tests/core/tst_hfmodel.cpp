// Hugging Face BERT, ELECTRA and DeBERTa-v2/v3 backbones against transformers' own outputs
// (tests/fixtures/hf/models/*/golden.json, written by tools/fixtures/make_model_fixtures.py):
// every layer's hidden states and the rewards within 1e-4, the tensors a bare model leaves
// unused, the error messages for broken folders, the export round trip and LoRA.
#include <sys/stat.h>

#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/hfencoder_p.h"
#include "hfgolden.h"
#include "nn/hf/hfmodel.h"

using namespace rr::core;
namespace fs = std::filesystem;

namespace {

const double kTol = 1e-4;

std::string fixture(const std::string& name) { return rr::test::hfFixture(name); }
nlohmann::json golden(const std::string& name) { return rr::test::hfGolden(name); }
torch::Tensor longs(const nlohmann::json& rows) { return rr::test::longRows(rows); }
double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return rr::test::maxAbsDiff(a, b); }


// The reward a *ForSequenceClassification computes: pooler, then the checkpoint's classifier.
torch::Tensor rewards(nn::Encoder& enc, const torch::Tensor& ids, const torch::Tensor& mask,
                      const torch::Tensor& types) {
  torch::NoGradGuard ng;
  torch::Tensor pooled = enc.pooled(ids, mask, types);
  return torch::matmul(pooled, enc.checkpointHeadWeight.t()).squeeze(-1) + enc.checkpointHeadBias;
}


// A copy of a fixture folder whose weights are `edit`ed and rewritten as model.safetensors.
std::string editedCopy(const QTemporaryDir& tmp, const std::string& name,
                       const std::function<void(std::map<std::string, torch::Tensor>&)>& edit) {
  const std::string dir = tmp.path().toStdString() + "/" + name;
  fs::create_directories(dir);
  fs::copy_file(fixture(name) + "/config.json", dir + "/config.json");
  auto reader = hf::CheckpointReader::openFolder(fixture(name));
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& n : reader->names()) tensors[n] = reader->load(n);
  edit(tensors);
  hf::writeSafetensors(dir + "/model.safetensors", {tensors.begin(), tensors.end()});
  return dir;
}

}  // namespace

class TestHfModel : public QObject {
  Q_OBJECT

  void matchesTransformers(const std::string& name, bool withHead) {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture(name));
    QCOMPARE(bb.hasClassifier, withHead);
    auto* enc = dynamic_cast<hf::HfEncoder*>(bb.encoder.get());
    QVERIFY(enc);
    const nlohmann::json g = golden(name);
    torch::NoGradGuard ng;
    for (const auto& c : g["cases"]) {
      torch::Tensor ids = longs(c["ids"]), mask = longs(c["mask"]), types = longs(c["types"]);
      const auto hs = enc->hiddenStates(ids, mask, types);
      QCOMPARE(hs.size(), c["hidden"].size());
      for (size_t l = 0; l < hs.size(); ++l) {
        const auto& want = c["hidden"][l];
        for (int64_t r = 0; r < ids.size(0); ++r) {
          std::vector<std::vector<double>> rows = want["first2"][r];
          torch::Tensor expect = torch::tensor(rows[0]).unsqueeze(0);
          expect = torch::cat({expect, torch::tensor(rows[1]).unsqueeze(0)});
          const double d = maxDiff(hs[l][r].slice(0, 0, 2), expect);
          if (d > kTol)
            QFAIL(qPrintable(QString::fromStdString(name) +
                             QString(": layer %1 row %2 differs by %3").arg(l).arg(r).arg(d)));
          torch::Tensor m = mask[r].to(torch::kDouble).unsqueeze(-1);
          torch::Tensor h = hs[l][r].to(torch::kDouble);
          const double sum = (h * m).sum().item<double>(),
                       abssum = (h.abs() * m).sum().item<double>();
          QVERIFY(std::abs(sum - want["sum"][r].get<double>()) <=
                  kTol * std::max(1.0, std::abs(sum)));
          QVERIFY(std::abs(abssum - want["abssum"][r].get<double>()) <= kTol * abssum);
        }
      }
      if (withHead) {
        torch::Tensor want = torch::tensor(c["logits"].get<std::vector<double>>());
        QVERIFY2(maxDiff(rewards(*bb.encoder, ids, mask, types), want) <= kTol, name.c_str());
      }
    }
    for (const auto& t : g["texts"]) {
      torch::Tensor ids = torch::tensor(t["ids"].get<std::vector<int64_t>>()).unsqueeze(0);
      torch::Tensor types = torch::tensor(t["types"].get<std::vector<int64_t>>()).unsqueeze(0);
      const double r = rewards(*bb.encoder, ids, torch::ones_like(ids), types).item<double>();
      QVERIFY2(std::abs(r - t["reward"].get<double>()) <= kTol, name.c_str());
    }
  }

  std::vector<double> textRewards(const std::string& name, nn::Encoder& enc) {
    std::vector<double> out;
    const nlohmann::json g = golden(name);
    for (const auto& t : g["texts"]) {
      torch::Tensor ids = torch::tensor(t["ids"].get<std::vector<int64_t>>()).unsqueeze(0);
      torch::Tensor types = torch::tensor(t["types"].get<std::vector<int64_t>>()).unsqueeze(0);
      out.push_back(rewards(enc, ids, torch::ones_like(ids), types).item<double>());
    }
    return out;
  }

  void exportRoundTrip(const std::string& n) {
    hf::HfBackbone bb = hf::loadHfBackbone(fixture(n));
    // A trained adapter (B != 0) on every role, so the merge is what is checked.
    LoraConfig lora;
    lora.rank = 2;
    lora.alpha = 4;
    lora.dropout = 0;
    lora.targets = {"query", "key", "value", "dense", "ffn"};
    torch::manual_seed(5);
    for (auto& p : nn::addAdapter(*bb.encoder, lora, "task")) {
      torch::NoGradGuard ng;
      p.normal_(0.0, 0.1);
    }
    nn::activateAdapter(*bb.encoder, lora, "task");
    const std::vector<double> before = textRewards(n, *bb.encoder);
    QVERIFY(std::abs(before[0] - golden(n)["texts"][0]["reward"].get<double>()) > 1e-3);

    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    hf::writeSafetensors(
        dir + "/model.safetensors",
        hf::exportState(*bb.encoder, bb.config, "task", bb.encoder->checkpointHeadWeight,
                        bb.encoder->checkpointHeadBias));
    std::ofstream(dir + "/config.json") << hf::exportConfig(bb.config).dump(2);
    if (qEnvironmentVariableIsSet("RR_KEEP_EXPORT"))
      fs::copy(dir, qEnvironmentVariable("RR_KEEP_EXPORT").toStdString() + "/" + n);
    const hf::HfBackbone back = hf::loadHfBackbone(dir);
    QVERIFY(back.unusedTensors.empty());
    QVERIFY(back.hasPooler && back.hasClassifier);
    const std::vector<double> after = textRewards(n, *back.encoder);
    for (size_t i = 0; i < before.size(); ++i) QVERIFY(std::abs(before[i] - after[i]) <= kTol);
  }

 private Q_SLOTS:
  void bertMatchesTransformers() { matchesTransformers("bert-rm", true); }
  void electraMatchesTransformers() { matchesTransformers("electra-rm", true); }
  void debertaV3MatchesTransformers() { matchesTransformers("deberta-v3-rm", true); }
  void debertaV2BareMatchesTransformers() { matchesTransformers("deberta-v2-bare", false); }

  void readsEveryDebertaKey() {
    const hf::HfModelConfig v3 = hf::readHfConfig(fixture("deberta-v3-rm"));
    QCOMPARE(v3.posAttType, (std::vector<std::string>{"p2c", "c2p"}));
    QVERIFY(v3.relativeAttention && v3.shareAttKey && !v3.positionBiasedInput);
    QCOMPARE(v3.typeVocabSize, 0);
    QCOMPARE(v3.positionBuckets, 16);
    QCOMPARE(v3.normRelEbd, std::string("layer_norm"));
    const hf::HfModelConfig v2 = hf::readHfConfig(fixture("deberta-v2-bare"));
    QCOMPARE(v2.posAttType, (std::vector<std::string>{"p2c", "c2p"}));  // from "p2c|c2p"
    QVERIFY(!v2.shareAttKey && v2.positionBiasedInput);
    QCOMPARE(v2.convKernelSize, 3);
    QCOMPARE(v2.embeddingSize, 24);
  }

  void reportsUnusedTensors() {
    QTemporaryDir tmp;
    const std::string dir = editedCopy(tmp, "deberta-v2-bare", [](auto& t) {
      t["lm_predictions.lm_head.bias"] = torch::zeros({200});
      t["lm_predictions.lm_head.dense.weight"] = torch::zeros({32, 32});
    });
    const hf::HfBackbone bb = hf::loadHfBackbone(dir);
    QCOMPARE(bb.unusedTensors, (std::vector<std::string>{"lm_predictions.lm_head.bias",
                                                         "lm_predictions.lm_head.dense.weight"}));
    QVERIFY(!bb.hasClassifier && !bb.hasPooler);
    QVERIFY(!bb.encoder->checkpointHeadWeight.defined());
    const hf::HfBackbone rm = hf::loadHfBackbone(fixture("bert-rm"));
    QVERIFY(rm.unusedTensors.empty());
    QVERIFY(rm.hasPooler && rm.hasClassifier);
  }

  void refusesBrokenFolders() {
    QTemporaryDir tmp;
    const std::string missing = editedCopy(
        tmp, "bert-rm", [](auto& t) { t.erase("bert.encoder.layer.1.output.dense.weight"); });
    try {
      hf::loadHfBackbone(missing);
      QFAIL("loaded a checkpoint without a tensor");
    } catch (const InputError& e) {
      QCOMPARE(
          std::string(e.what()),
          missing + "/model.safetensors: no tensor 'bert.encoder.layer.1.output.dense.weight'");
    }
    QTemporaryDir tmp2;
    const std::string shaped = editedCopy(tmp2, "bert-rm", [](auto& t) {
      t["bert.embeddings.word_embeddings.weight"] = torch::zeros({10, 32});
    });
    try {
      hf::loadHfBackbone(shaped);
      QFAIL("loaded a mis-shaped tensor");
    } catch (const InputError& e) {
      QCOMPARE(std::string(e.what()), shaped +
                                          "/model.safetensors: tensor "
                                          "'bert.embeddings.word_embeddings.weight' has shape "
                                          "[10, 32] but the model needs [136, 32]");
    }
    QTemporaryDir tmp3;
    const std::string dir = tmp3.path().toStdString();
    std::ofstream(dir + "/config.json") << R"({"model_type": "gpt2", "vocab_size": 10})";
    try {
      hf::loadHfBackbone(dir);
      QFAIL("loaded an unknown model_type");
    } catch (const InputError& e) {
      QCOMPARE(std::string(e.what()),
               dir +
                   "/config.json: model_type 'gpt2' is not supported (supported: bert, "
                   "electra, roberta, xlm-roberta, deberta-v2, modernbert, llama, qwen2, "
                   "qwen3, gemma2)");
    }
    // Numbers transformers would take and turn into NaN rewards are refused by name.
    std::ifstream in(fixture("bert-rm") + "/config.json");
    const nlohmann::json good = nlohmann::json::parse(in);
    for (const auto& [key, value] :
         {std::pair<std::string, double>{"layer_norm_eps", -1}, {"layer_norm_eps", 0},
          {"hidden_dropout_prob", 1.5}, {"attention_probs_dropout_prob", -0.1}}) {
      nlohmann::json bad = good;
      bad[key] = value;
      std::ofstream(dir + "/config.json") << bad.dump();
      try {
        hf::loadHfBackbone(dir);
        QFAIL(qPrintable(QString::fromStdString("loaded " + key + " " + std::to_string(value))));
      } catch (const InputError& e) {
        QVERIFY2(std::string(e.what()).rfind(dir + "/config.json: '" + key + "' must be", 0) == 0,
                 e.what());
      }
    }
  }

  // config.json as hostile folders have it, each one line naming the file: nested 100 000 deep
  // (a stack overflow when the value was copied), a FIFO (which blocked the reader), sizes that
  // no machine can allocate (refused against the memory there is, before anything is
  // allocated), and numbers shown as written (narrowing showed 10^12 as -727379968).
  void hostileConfigJson() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const std::string path = dir + "/config.json";
    auto errorOf = [&] {
      try {
        hf::loadHfBackbone(dir);
      } catch (const InputError& e) {
        return std::string(e.what());
      }
      return std::string("(no InputError)");
    };
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
    deep += "1" + std::string(100000, '}');
    std::ofstream(path) << deep;
    QCOMPARE(errorOf(), path + ": $.a.a.a.a.a.a.a.a...: nested deeper than 128 levels");
    fs::remove(path);
    QCOMPARE(::mkfifo(path.c_str(), 0600), 0);
    QVERIFY(hf::isHfFolder(dir));
    QCOMPARE(errorOf(), path + ": not a regular file (a FIFO)");
    fs::remove(path);

    std::ifstream in(fixture("bert-rm") + "/config.json");
    const nlohmann::json good = nlohmann::json::parse(in);
    auto with = [&](const nlohmann::json& changes) {
      nlohmann::json c = good;
      c.update(changes);
      std::ofstream(path, std::ios::trunc) << c.dump();
      return errorOf();
    };
    const std::string hidden = with({{"hidden_size", 1000000000}});
    QVERIFY2(
        hidden.rfind(path + ": vocab_size 136, hidden_size 1000000000, intermediate_size ", 0) == 0,
        hidden.c_str());
    QVERIFY2(hidden.find(" parameters need about ") != std::string::npos, hidden.c_str());
    QVERIFY2(hidden.find(" in float32, more than the ") != std::string::npos, hidden.c_str());
    QVERIFY2(hidden.find(" of memory available") != std::string::npos, hidden.c_str());
    const std::string layers =
        with({{"hidden_size", 4096}, {"intermediate_size", 16384}, {"num_hidden_layers", 1000000}});
    QVERIFY2(layers.find("num_hidden_layers 1000000") != std::string::npos &&
                 layers.find(" of memory available") != std::string::npos,
             layers.c_str());
    QCOMPARE(with({{"intermediate_size", 10000000000LL}}),
             path + ": 'intermediate_size' is 10000000000, more than 2147483647");
    QCOMPARE(with({{"vocab_size", 1000000000000LL}}),
             path + ": 'vocab_size' is 1000000000000, more than 2147483647");
    QCOMPARE(with({{"vocab_size", 18446744073709551615ULL}}),
             path + ": 'vocab_size' is 18446744073709551615, more than 2147483647");
    QCOMPARE(with({{"pad_token_id", -9223372036854775807LL}}),
             path + ": 'pad_token_id' is -9223372036854775807, less than -2147483648");
    QCOMPARE(with({{"num_attention_heads", "4"}}),
             path + ": 'num_attention_heads' must be an integer (got \"4\")");
    // A limit that cannot hold [CLS] prompt [SEP] response [SEP] gave every input one reward.
    QCOMPARE(with({{"max_position_embeddings", 3}}),
             path +
                 ": 'max_position_embeddings' is 3; an input needs at least 5 ([CLS] prompt "
                 "[SEP] response [SEP])");
    std::ofstream(path, std::ios::trunc) << good.dump().replace(1, 0, "\"x\": 1e400, ");
    QCOMPARE(errorOf(), path + ":1:7: $.x: number out of range (got 1e400)");
  }

  void bertExportRoundTrip() { exportRoundTrip("bert-rm"); }
  void electraExportRoundTrip() { exportRoundTrip("electra-rm"); }
  void debertaV3ExportRoundTrip() { exportRoundTrip("deberta-v3-rm"); }

  // Fine-tuning drops out as transformers does (config's hidden/attention dropout); eval does not.
  void dropoutOnlyWhileTraining() {
    for (const char* n : {"bert-rm", "electra-rm", "deberta-v3-rm"}) {
      hf::HfBackbone bb = hf::loadHfBackbone(fixture(n));
      torch::Tensor ids = torch::randint(5, 60, {2, 12}, torch::kLong);
      torch::Tensor mask = torch::ones({2, 12}, torch::kLong);
      bb.encoder->eval();
      QVERIFY(torch::equal(bb.encoder->pooled(ids, mask), bb.encoder->pooled(ids, mask)));
      bb.encoder->train();
      torch::manual_seed(1);
      torch::Tensor a = bb.encoder->pooled(ids, mask);
      torch::Tensor b = bb.encoder->pooled(ids, mask);
      QVERIFY2(!torch::allclose(a, b), n);
    }
  }

  void loraLayersByRole() {
    for (const char* n : {"bert-rm", "deberta-v3-rm"}) {
      hf::HfBackbone bb = hf::loadHfBackbone(fixture(n));
      auto& enc = *bb.encoder;
      QCOMPARE(enc.loraLayers({"query"}).size(), size_t(2));
      QCOMPARE(enc.loraLayers({"key", "value"}).size(), size_t(4));
      QCOMPARE(enc.loraLayers({"dense"}).size(), size_t(2));
      QCOMPARE(enc.loraLayers({"ffn"}).size(), size_t(4));
      QCOMPARE(enc.loraLayers({"query", "key", "value", "dense", "ffn"}).size(), size_t(12));

      const std::vector<double> base = textRewards(n, enc);
      LoraConfig lora;
      lora.targets = {"query", "key", "value", "dense", "ffn"};
      nn::addAdapter(enc, lora, "fresh");
      nn::activateAdapter(enc, lora, "fresh");
      const std::vector<double> same = textRewards(n, enc);
      for (size_t i = 0; i < base.size(); ++i) QCOMPARE(same[i], base[i]);
      // Mixed mode (one adapter per row) runs through the shared DeBERTa position projection.
      torch::NoGradGuard ng;
      torch::Tensor ids = longs(golden(n)["cases"][0]["ids"]);
      torch::Tensor mask = longs(golden(n)["cases"][0]["mask"]);
      nn::setRowAdapters(enc, lora, {"fresh"}, torch::zeros({ids.size(0)}, torch::kLong));
      torch::Tensor mixed = enc.forward(ids, mask);
      nn::deactivateAdapters(enc);
      QVERIFY(maxDiff(mixed, enc.forward(ids, mask)) < 1e-5);
    }
  }
};

QTEST_GUILESS_MAIN(TestHfModel)
#include "tst_hfmodel.moc"
