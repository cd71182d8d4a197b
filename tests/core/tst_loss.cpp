// The pairwise reward loss (issue 13): the margin term and reward centering checked on numbers
// worked out by hand, a margin carried from a dataset import through the canonical pairs file
// into a training batch, and the config's method list equal to the method registry (issue 15).
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "config/config.h"
#include "data/dataset.h"
#include "data/importer.h"
#include "data/pairsio.h"
#include "data/tokenizer.h"
#include "methods/method.h"
#include "train/batch.h"
#include "train/loop.h"

using namespace rr::core;

namespace {

double lossOf(const std::vector<double>& rewards, const std::vector<double>& margins,
              PairLossOptions o) {
  return pairwiseLoss(torch::tensor(rewards, torch::kDouble), margins, o).item<double>();
}

}  // namespace

class TestLoss : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void initTestCase() { qputenv("RR_CACHE_DIR", m_dir.path().toUtf8()); }

  // Two pairs: chosen rewards 2.0 and 0.5, rejected 1.0 and 1.0, margins 1 and -2.
  //   plain:     mean(log(1 + e^-1), log(1 + e^0.5))           = 0.6436693358491647
  //   scale 0.5: both differences become 0.5: log(1 + e^-0.5) = 0.4740769841801067
  //   centering 0.1: 0.1 * mean((2 + 1)^2, (0.5 + 1)^2) = 0.1 * 5.625 = 0.5625, added.
  void marginAndCenteringOnHandComputedNumbers() {
    const std::vector<double> r = {2.0, 0.5, 1.0, 1.0}, m = {1.0, -2.0};
    QVERIFY(std::abs(lossOf(r, m, {}) - 0.6436693358491647) < 1e-12);
    QVERIFY(std::abs(lossOf(r, m, {0.5, 0}) - 0.4740769841801067) < 1e-12);
    QVERIFY(std::abs(lossOf(r, m, {0, 0.1}) - 1.2061693358491647) < 1e-12);
    QVERIFY(std::abs(lossOf(r, m, {0.5, 0.1}) - 1.0365769841801067) < 1e-12);
    // Margins are ignored at scale 0, whatever they are.
    QCOMPARE(lossOf(r, {5.0, 7.0}, {}), lossOf(r, m, {}));
  }

  // The defaults are the Bradley-Terry loss of the runs before the options, bit for bit, on
  // float rewards as the models give them.
  void defaultsAreThePlainLossExactly() {
    torch::manual_seed(3);
    const torch::Tensor r = torch::randn({16});
    const torch::Tensor before = -torch::log_sigmoid(r.slice(0, 0, 8) - r.slice(0, 8)).mean();
    QVERIFY(torch::equal(pairwiseLoss(r, std::vector<double>(8, 1.5), {}), before));
    QVERIFY(torch::equal(pairwiseLoss(r, {}, pairLossOptions(TrainingConfig{})), before));
  }

  // Centering pulls the sum of a pair's rewards towards 0: d/dr_c of c * (r_c + r_r)^2 averaged
  // over n pairs is 2c(r_c + r_r)/n.
  void centeringGradient() {
    torch::Tensor r = torch::tensor({2.0, 0.5, 1.0, 1.0}, torch::kDouble).requires_grad_(true);
    torch::Tensor plain = torch::tensor({2.0, 0.5, 1.0, 1.0}, torch::kDouble).requires_grad_(true);
    pairwiseLoss(r, {0, 0}, {0, 0.1}).backward();
    pairwiseLoss(plain, {0, 0}, {}).backward();
    const torch::Tensor extra = r.grad() - plain.grad();
    QVERIFY(std::abs(extra[0].item<double>() - 2 * 0.1 * 3.0 / 2) < 1e-12);
    QVERIFY(std::abs(extra[1].item<double>() - 2 * 0.1 * 1.5 / 2) < 1e-12);
    QVERIFY(std::abs(extra[2].item<double>() - 2 * 0.1 * 3.0 / 2) < 1e-12);
  }

  void wrongMarginCountIsAProgrammingError() {
    QVERIFY_THROWS_EXCEPTION(std::logic_error, lossOf({1, 2, 3, 4}, {1.0}, {1.0, 0}));
  }

  // HelpSteer rows -> import -> canonical pairs file -> experiment data -> a training batch:
  // the helpfulness differences reach the loss.
  void marginSurvivesImportPairsFileAndBatch() {
    ImportOptions o;
    o.format = "helpsteer";
    ImportSummary summary;
    const std::string pairsFile = m_dir.filePath("helpsteer.pairs.jsonl").toStdString();
    importToFile({RR_SOURCE_DIR "/tests/fixtures/import/helpsteer.jsonl"}, o, pairsFile, false,
                 summary);
    const ExperimentConfig config = parseExperimentConfig(
        R"({"name": "m", "data": {"files": [{"path": "helpsteer.pairs.jsonl", "split": "train"}]},
            "training": {"margin_scale": 0.5}, "methods": [{"method": "baseline"}]})",
        "m.json", m_dir.path().toStdString());
    const std::vector<PreferencePair> pairs = loadExperimentPairs(config);
    QCOMPARE(pairs.size(), size_t(3));
    std::vector<std::string> texts;
    for (const auto& p : pairs) texts.insert(texts.end(), {p.prompt, p.chosen, p.rejected});
    TokenizerTrainOptions to;
    to.vocabSize = 100;
    to.cacheDir = m_dir.path().toStdString();
    const auto tok = loadSentencePiece(trainSentencePiece(texts, to));
    const EncodedData data = encodeData(pairs, *tok, 32);
    QCOMPARE(data.train.size(), size_t(3));
    // helpfulness 4 over 2 (twice) and 4 over 0, found by the pair's text.
    std::vector<size_t> batch;
    for (size_t i = 0; i < data.pairs.size(); ++i)
      if (data.pairs[i].rejected == "4 and 6.") batch.push_back(i);
    for (size_t i = 0; i < data.pairs.size(); ++i)
      if (data.pairs[i].rejected == "Cat. Mat. Sat.") batch.push_back(i);
    QCOMPARE(batch.size(), size_t(2));
    QCOMPARE(pairMargins(data, batch), (std::vector<double>{4.0, 2.0}));
    // Equal rewards: each pair's loss is log(1 + e^(0.5 m)); mean of log(1+e^2), log(1+e^1).
    const torch::Tensor zero = torch::zeros({4}, torch::kDouble);
    const double loss =
        pairwiseLoss(zero, pairMargins(data, batch), pairLossOptions(config.training))
            .item<double>();
    QVERIFY2(std::abs(loss - 1.7200948492805979) < 1e-12,
             qPrintable(QString::number(loss, 'g', 17)));
  }

  // Issue 15: the methods the config accepts are the methods the build registers.
  void methodListIsTheRegistry() {
    std::vector<std::string> registered;
    for (const auto& [name, entry] : methodRegistry()) registered.push_back(name);
    QCOMPARE(registered, methodNames());
  }
};

QTEST_GUILESS_MAIN(TestLoss)
#include "tst_loss.moc"
