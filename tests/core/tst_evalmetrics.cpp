// The evaluation figures of core/eval/metrics.h on small cases computed by hand (the values in
// the comments): length bias, Spearman, calibration and the fitted temperature, bootstrap
// intervals, the exact McNemar test and reward statistics; RewardBench's scores and import.
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <fstream>

#include "common/errors.h"
#include "data/importer.h"
#include "data/pairsio.h"
#include "eval/metrics.h"
#include "eval/rewardbench.h"

using namespace rr::core;

namespace {

ScoredPair pairOf(const char* id, double rc, double rr, std::int64_t lc, std::int64_t lr) {
  ScoredPair p;
  p.id = id;
  p.domain = "d";
  p.rewardChosen = rc;
  p.rewardRejected = rr;
  p.correct = rc > rr;
  p.chosenLength = lc;
  p.rejectedLength = lr;
  return p;
}

}  // namespace

class TestEvalMetrics : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void quantilesAreType7() {
    const std::vector<double> v = {1, 2, 3, 4};
    QCOMPARE(quantileSorted(v, 0.0), 1.0);
    QCOMPARE(quantileSorted(v, 0.25), 1.75);  // h = 3 * 0.25 = 0.75
    QCOMPARE(quantileSorted(v, 0.5), 2.5);
    QCOMPARE(quantileSorted(v, 1.0), 4.0);
    QVERIFY(std::isnan(quantileSorted({}, 0.5)));
  }

  void spearmanWithAndWithoutTies() {
    // d = (0, 1, 1, 0): 1 - 6 * 2 / (4 * 15) = 0.8
    QCOMPARE(spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8);
    // Ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10)
    QVERIFY(std::abs(spearman({1, 2, 2, 3}, {1, 2, 3, 4}) - 3 / std::sqrt(10.0)) < 1e-12);
    QCOMPARE(spearman({3, 2, 1}, {10, 20, 30}), -1.0);
    QVERIFY(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
    QVERIFY(std::isnan(spearman({1}, {1})));
  }

  void lengthBiasOnFourPairs() {
    const std::vector<ScoredPair> pairs = {
        pairOf("p1", 2, 1, 10, 5),     // chosen longer, model right
        pairOf("p2", 0, 1, 3, 8),      // chosen shorter, model wrong
        pairOf("p3", 1, 0.5, 4, 4),    // equal length (the rule's tie: wrong), model right
        pairOf("p4", 0.4, 0.3, 6, 2),  // chosen longer, model right
        pairOf("p5", 9, 0, -1, 3),     // length unknown: left out
    };
    const LengthBias b = lengthBias(pairs);
    QCOMPARE(b.pairs, std::int64_t{4});
    QCOMPARE(b.heuristicAccuracy, 0.5);  // p1, p4
    QCOMPARE(b.chosenLonger, std::int64_t{2});
    QCOMPARE(b.accuracyChosenLonger, 1.0);     // p1, p4 both right
    QCOMPARE(b.accuracyChosenNotLonger, 0.5);  // p2 wrong, p3 right
    // Reward ranks (8,6,1,6,6,4,3,2), length ranks (8,5,2,7,3.5,3.5,6,1): 31 / sqrt(40 * 41.5)
    QVERIFY(std::abs(b.rewardLengthSpearman - 31 / std::sqrt(40 * 41.5)) < 1e-12);

    const LengthBias none = lengthBias({pairOf("x", 1, 0, 5, 5)});
    QCOMPARE(none.heuristicAccuracy, 0.0);
    QVERIFY(std::isnan(none.accuracyChosenLonger));
    QCOMPARE(none.accuracyChosenNotLonger, 1.0);
  }

  void calibrationFigures() {
    // margin ln 3: p = 0.75; bins 7 (p, outcome 1) and 2 (0.25, outcome 0): ECE = 0.25.
    const double l3 = std::log(3.0);
    Calibration c = calibration({l3});
    QVERIFY(std::abs(c.ece - 0.25) < 1e-12);
    QVERIFY(std::abs(c.brier - 0.0625) < 1e-12);
    QVERIFY(std::abs(c.logLoss - std::log(4.0 / 3.0)) < 1e-12);
    // ln 3 and -ln 3: bin 7 holds 0.75 (1) and 0.75 (0), bin 2 holds 0.25 (0) and 0.25 (1):
    // each |1.5 - 1| and |0.5 - 1| over 4 samples: ECE = 0.25; Brier (0.0625 + 0.5625) / 2.
    c = calibration({l3, -l3});
    QVERIFY(std::abs(c.ece - 0.25) < 1e-12);
    QVERIFY(std::abs(c.brier - 0.3125) < 1e-12);
    QVERIFY(std::abs(c.logLoss - (std::log(4.0 / 3.0) + std::log(4.0)) / 2) < 1e-12);
    // A margin of 0 is p = 0.5 in both orders: perfectly calibrated.
    c = calibration({0.0, 0.0});
    QCOMPARE(c.ece, 0.0);
    QCOMPARE(c.brier, 0.25);
    // The temperature divides the margin: ln 9 at T = 2 is ln 3.
    c = calibration({std::log(9.0)}, 2.0);
    QVERIFY(std::abs(c.brier - 0.0625) < 1e-12);
    QCOMPARE(c.temperature, 2.0);
    QVERIFY(std::isnan(calibration({}).ece));
  }

  void fittedTemperature() {
    // Margins (x, x, x, -x): the log loss is least where sigmoid(x / T) = 3/4, T = x / ln 3.
    const double x = std::log(9.0);
    QVERIFY(std::abs(fitTemperature({x, x, x, -x}) - 2.0) < 1e-6);
    QVERIFY(std::abs(fitTemperature({1, 1, 1, -1}) - 1 / std::log(3.0)) < 1e-6);
    // Fitting never makes the log loss worse than T = 1.
    const std::vector<double> m = {0.3, -1.2, 2.5, 0.1, 4.0, -0.2};
    const double t = fitTemperature(m);
    QVERIFY(calibration(m, t).logLoss <= calibration(m, 1.0).logLoss + 1e-12);
    // Equal numbers of opposite margins: the best is 1/T = 0 (every p = 0.5).
    QVERIFY(std::isinf(fitTemperature({1, -1})));
  }

  void bootstrapIntervals() {
    Interval iv = bootstrapAccuracy({{true, true, true}}, 200, 1);
    QCOMPARE(iv.estimate, 1.0);
    QCOMPARE(iv.low, 1.0);
    QCOMPARE(iv.high, 1.0);
    // Stratified: each domain keeps its pairs' count, so a domain all right and one all wrong
    // give a mean over domains of exactly 0.5 in every resample.
    iv = bootstrapAccuracy({{true, true}, {false, false, false}}, 200, 1);
    QCOMPARE(iv.estimate, 0.5);
    QCOMPARE(iv.low, 0.5);
    QCOMPARE(iv.high, 0.5);
    // 300 of 400 right: the normal approximation gives 0.75 ± 1.96 * 0.0217 = [0.708, 0.792].
    std::vector<bool> g(400, false);
    for (int i = 0; i < 300; ++i) g[static_cast<size_t>(i)] = true;
    iv = bootstrapAccuracy({g}, 1000, 7);
    QCOMPARE(iv.estimate, 0.75);
    QVERIFY2(iv.low > 0.70 && iv.low < 0.72, qPrintable(QString::number(iv.low)));
    QVERIFY2(iv.high > 0.78 && iv.high < 0.80, qPrintable(QString::number(iv.high)));
    // Seeded: the same seed gives the same interval, another seed another one.
    const Interval again = bootstrapAccuracy({g}, 1000, 7);
    QCOMPARE(again.low, iv.low);
    QCOMPARE(again.high, iv.high);
    const Interval other = bootstrapAccuracy({g}, 1000, 8);
    QVERIFY(other.low != iv.low || other.high != iv.high);
    QVERIFY(std::isnan(bootstrapAccuracy({}, 10, 1).estimate));
  }

  void mcnemarExact() {
    // n = 6 discordant pairs: P(X <= 1) = 7/64, two-sided 14/64.
    QCOMPARE(mcnemarExactP(1, 5), 14.0 / 64);
    QCOMPARE(mcnemarExactP(5, 1), 14.0 / 64);
    QCOMPARE(mcnemarExactP(0, 6), 2.0 / 64);
    QCOMPARE(mcnemarExactP(3, 3), 1.0);
    QCOMPARE(mcnemarExactP(0, 0), 1.0);
    // 2 * sum_{k<=40} C(100, k) / 2^100
    QVERIFY(std::abs(mcnemarExactP(40, 60) - 0.05688793364098079) < 1e-12);

    // Matched by id; "z" only in A is left out.
    const std::vector<ScoredPair> a = {pairOf("a", 1, 0, 1, 1), pairOf("b", 1, 0, 1, 1),
                                       pairOf("c", 0, 1, 1, 1), pairOf("d", 1, 0, 1, 1),
                                       pairOf("z", 1, 0, 1, 1)};
    const std::vector<ScoredPair> b = {pairOf("d", 1, 0, 1, 1), pairOf("c", 1, 0, 1, 1),
                                       pairOf("b", 0, 1, 1, 1), pairOf("a", 0, 1, 1, 1)};
    const McNemar m = mcnemar(a, b);
    QCOMPARE(m.pairs, std::int64_t{4});
    QCOMPARE(m.onlyA, std::int64_t{2});  // a, b
    QCOMPARE(m.onlyB, std::int64_t{1});  // c
    QCOMPARE(m.pValue, 1.0);             // 2 * (1 + 3) / 8 capped at 1
    QCOMPARE(m.accuracyA, 0.75);
    QCOMPARE(m.accuracyB, 0.5);
  }

  void rewardStatistics() {
    const RewardStats s = rewardStats({pairOf("a", 1, 2, 1, 1), pairOf("b", 3, 4, 1, 1)});
    QCOMPARE(s.count, std::int64_t{4});
    QCOMPARE(s.mean, 2.5);
    QVERIFY(std::abs(s.std - std::sqrt(5.0 / 3.0)) < 1e-12);
    QCOMPARE(s.min, 1.0);
    QCOMPARE(s.max, 4.0);
    QCOMPARE(s.median, 2.5);
    QCOMPARE(s.q25, 1.75);
    QVERIFY(std::abs(s.q05 - 1.15) < 1e-12);
    QVERIFY(std::abs(s.q95 - 3.85) < 1e-12);
    QVERIFY(std::isnan(rewardStats({}).mean));
  }

  void rewardBenchSectionsUseOfficialWeights() {
    QCOMPARE(rewardBenchSection("hep-go"), std::string("Reasoning"));
    QCOMPARE(rewardBenchSection("llmbar-adver-GPTOut"), std::string("Chat Hard"));
    QCOMPARE(rewardBenchSection("anthropic_helpful"), std::string());
    // Reasoning: math-prm 1/2 right (weight 984), hep-rust 1/1 (164):
    // (0.5 * 984 + 1 * 164) / 1148. Chat: alpacaeval-easy 3/4 alone. Prior sets count nowhere.
    const RewardBenchScore r = rewardBenchV1({{"math-prm", {1, 2}},
                                              {"hep-rust", {1, 1}},
                                              {"alpacaeval-easy", {3, 4}},
                                              {"anthropic_helpful", {0, 5}}});
    QCOMPARE(r.subsets.at("math-prm"), 0.5);
    QCOMPARE(r.subsets.at("anthropic_helpful"), 0.0);
    QVERIFY(std::abs(r.sections.at("Reasoning") - 656.0 / 1148) < 1e-12);
    QCOMPARE(r.sections.at("Chat"), 0.75);
    QCOMPARE(r.sections.size(), size_t(2));
    QVERIFY(std::abs(r.score - (656.0 / 1148 + 0.75) / 2) < 1e-12);
    QVERIFY(std::isnan(rewardBenchV1({}).score));
  }

  void bestOfN() {
    QCOMPARE(bestOfNScore(2, {1, 0, 1.5}), 1.0);
    QCOMPARE(bestOfNScore(2, {2, 0, 1}), 0.5);   // two completions share the maximum
    QCOMPARE(bestOfNScore(2, {2, 2, 2}), 0.25);
    QCOMPARE(bestOfNScore(1, {0, 3}), 0.0);
  }

  void rewardNormalizationByDomain() {
    // a: 1, 3 (mean 2, sample std sqrt 2); b: 5 alone (std 0); all: 1, 3, 5 (mean 3, std 2).
    const RewardNormalization n = rewardNormalization({{"a", 1}, {"b", 5}, {"a", 3}});
    QCOMPARE(n.domains.size(), size_t(2));
    QCOMPARE(n.domains.at("a").count, std::int64_t{2});
    QCOMPARE(n.domains.at("a").mean, 2.0);
    QVERIFY(std::abs(n.domains.at("a").std - std::sqrt(2.0)) < 1e-15);
    QCOMPARE(n.domains.at("b").std, 0.0);
    QCOMPARE(n.all.mean, 3.0);
    QCOMPARE(n.all.std, 2.0);
    std::string used;
    QVERIFY(std::abs(normalizeReward(n, "a", 4, &used) - 2 / std::sqrt(2.0)) < 1e-15);
    QCOMPARE(used, std::string("a"));
    QCOMPARE(normalizeReward(n, "b", 7, &used), 2.0);  // std 0: only centred
    QCOMPARE(used, std::string("b"));
    QCOMPARE(normalizeReward(n, "", 7, &used), 2.0);  // (7 - 3) / 2, system-wide
    QCOMPARE(used, std::string("*"));
    QCOMPARE(normalizeReward(n, "c", 1, &used), -1.0);  // no training rewards in c
    QCOMPARE(used, std::string("*"));
    QCOMPARE(rewardNormalization({}).all.count, std::int64_t{0});
  }

  void rewardBench2Ties() {
    // ref:1 gap 3-2 = 1, accurate; tied:1 worst 3.5, best 4: gap 0.5, spread 0.5, accurate;
    // ref:2 gap -1; tied:2 gap 1, spread 0.5, accurate; tied:3 gap 0 (not accurate), no ref:3.
    const TiesScore t = rewardBenchTies({{"ref:1", {3}, {1, 2}},
                                         {"tied:1", {4, 3.5}, {3, 0}},
                                         {"ref:2", {1}, {2}},
                                         {"tied:2", {1.5, 1}, {0}},
                                         {"tied:3", {1, 1}, {1}}});
    QCOMPARE(t.refPrompts, std::int64_t{2});
    QCOMPARE(t.tiedPrompts, std::int64_t{3});
    QCOMPARE(t.pairedPrompts, std::int64_t{2});
    QCOMPARE(t.refAccuracy, 0.5);
    QCOMPARE(t.tiedAccuracy, 2.0 / 3);
    // N=1: 0.5 > 0.5 no, min(1, 0.5) > 0.5 no, tanh(0.5 / 0.5 - 1) = 0;
    // N=2: 1 > 0.5 yes, min(-1, 1) > 0.5 no, tanh(-1 / 0.5 - 1) = tanh(-3).
    QCOMPARE(t.correctnessPreferred, 0.5);
    QCOMPARE(t.correctnessPreferredHard, 0.0);
    QVERIFY(std::abs(t.marginScore - std::tanh(-3.0) / 2) < 1e-15);
    QVERIFY(std::abs(t.score - (0.3 * 2 / 3 + 0.3 * 0.5 + 0.2 * 0.5 + 0.01 * std::tanh(-3.0) / 2)) <
            1e-15);

    // Spread 0: gap 0 / 0 is NaN and counts 0; gap 1 / 0 is +inf, tanh 1.
    const TiesScore z = rewardBenchTies({{"ref:7", {1}, {1}},
                                         {"tied:7", {1, 1}, {1}},
                                         {"ref:8", {2}, {0}},
                                         {"tied:8", {2, 2}, {1}}});
    QCOMPARE(z.marginScore, 0.5);
    QCOMPARE(z.correctnessPreferred, 0.5);
    QCOMPARE(z.correctnessPreferredHard, 0.5);
    QCOMPARE(z.score, 0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * 0.5);

    // No N with both prompts: the accuracies stand, the score does not.
    const TiesScore only = rewardBenchTies({{"ref:1", {2}, {1}}, {"tied:2", {2, 3}, {1}}});
    QCOMPARE(only.refAccuracy, 1.0);
    QCOMPARE(only.tiedAccuracy, 1.0);
    QVERIFY(std::isnan(only.correctnessPreferred));
    QVERIFY(std::isnan(only.score));

    for (const auto& [prompts, message] :
         std::vector<std::pair<std::vector<TiesPrompt>, QString>>{
             {{{"x:1", {1}, {0}}}, "Ties prompt id 'x:1' is not ref:N or tied:N"},
             {{{"ref:", {1}, {0}}}, "Ties prompt id 'ref:' is not ref:N or tied:N"},
             {{{"ref:1", {1}, {0}}, {"ref:1", {2}, {0}}}, "Ties prompt id 'ref:1' is given twice"},
             {{{"tied:1", {}, {0}}}, "Ties prompt tied:1 has no correct or no incorrect score"}}) {
      try {
        rewardBenchTies(prompts);
        QFAIL("no error");
      } catch (const std::invalid_argument& e) {
        QCOMPARE(QString(e.what()), message);
      }
    }
  }

  void rewardBenchImport() {
    QTemporaryDir dir;
    const std::string file = (dir.path() + "/rb.jsonl").toStdString();
    std::ofstream(file)
        << R"({"prompt":"p1","chosen":"good","chosen_model":"m1","rejected":"bad","rejected_model":"m2","subset":"hep-go","id":7})"
        << "\n"
        << R"({"prompt":"p2","chosen":["right"],"rejected":["w1","w2","w3"],"num_correct":1,"subset":"Math","id":"42"})"
        << "\n";
    rr::core::ImportOptions o;
    o.format = "rewardbench";
    rr::core::ImportSummary summary;
    const auto pairs = rr::core::importFiles({file}, o, summary);
    QCOMPARE(pairs.size(), size_t(4));
    QCOMPARE(pairs[0].domain, std::string("hep-go"));
    QCOMPARE(pairs[0].section, std::string("Reasoning"));
    QCOMPARE(pairs[0].chosen, std::string("good"));
    QVERIFY(pairs[0].group.empty());
    for (size_t i = 1; i < 4; ++i) {
      QCOMPARE(pairs[i].domain, std::string("Math"));
      QCOMPARE(pairs[i].group, std::string("42"));
      QCOMPARE(pairs[i].chosen, std::string("right"));
      QCOMPARE(pairs[i].rejected, "w" + std::to_string(i));
      QCOMPARE(pairs[i].source.line, 2L);
    }
    // Section and group survive the canonical file.
    const auto back = rr::core::parsePairLine(rr::core::pairToJsonLine(pairs[1]), "x");
    QCOMPARE(back.group, std::string("42"));
    QCOMPARE(rr::core::parsePairLine(rr::core::pairToJsonLine(pairs[0]), "x").section,
             std::string("Reasoning"));

    // Ties: ref:3 and tied:3 share the pair (a, w); each group keeps it (the group is part of the
    // id), while a pair repeated inside one row is still dropped.
    std::ofstream(file)
        << R"({"prompt":"p","chosen":["a"],"rejected":["w","w"],"num_correct":1,"subset":"Ties","id":"ref:3"})"
        << "\n"
        << R"({"prompt":"p","chosen":["a","b"],"rejected":["w"],"num_correct":2,"subset":"Ties","id":"tied:3"})"
        << "\n";
    rr::core::ImportSummary tiesSummary;
    const auto ties = rr::core::importFiles({file}, o, tiesSummary);
    QCOMPARE(ties.size(), size_t(3));
    QCOMPARE(ties[0].group, std::string("ref:3"));
    QCOMPARE(ties[1].group, std::string("tied:3"));
    QCOMPARE(ties[1].chosen, std::string("a"));
    QCOMPARE(ties[1].rejected, std::string("w"));
    QVERIFY(ties[0].id != ties[1].id);
    QCOMPARE(tiesSummary.duplicates, 1L);
    QCOMPARE(rr::core::parsePairLine(rr::core::pairToJsonLine(ties[1]), "x").id, ties[1].id);

    // A RewardBench 2 row whose num_correct does not match: FILE:LINE and the field.
    std::ofstream(file) << R"({"prompt":"p","chosen":["a"],"rejected":["b"],"num_correct":2,"subset":"Math","id":1})"
                        << "\n";
    try {
      rr::core::importFiles({file}, o, summary);
      QFAIL("no error");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString(e.what()),
               QString::fromStdString(file) +
                   ":1: field 'num_correct' must equal the number of chosen completions (got 2 "
                   "for 1)");
    }
  }
};

QTEST_GUILESS_MAIN(TestEvalMetrics)
#include "tst_evalmetrics.moc"
