// The synthetic benchmark: byte-for-byte reproducible, documented noise rates, capability labels
// consistent with the overall label, the length conflict between summary and ranked, and splits
// that never share a prompt.
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <set>
#include <sstream>

#include "data/dataset.h"
#include "data/pairsio.h"
#include "data/synthetic.h"

using namespace rr::core;

namespace {

std::string bytesOf(const std::vector<PreferencePair>& pairs, const QString& file) {
  writePairsFile(file.toStdString(), pairs);
  std::ifstream in(file.toStdString(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Which capability decides the overall label in each domain (docs/DATA.md).
const std::map<std::string, std::string> kPrimary = {{"harmless", "safety"},
                                                     {"summary", "relevance"},
                                                     {"completion", "correctness"},
                                                     {"instruct", "format"},
                                                     {"ranked", "conciseness"}};

}  // namespace

class TestSynthetic : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void sameSeedSameBytes() {
    SyntheticOptions o;
    o.pairsPerDomain = 200;
    o.labelNoise = 0.1;
    const std::string a = bytesOf(generateSynthetic(o), m_dir.path() + "/a.jsonl");
    const std::string b = bytesOf(generateSynthetic(o), m_dir.path() + "/b.jsonl");
    QVERIFY(!a.empty());
    QVERIFY(a == b);
    o.seed = 8;
    QVERIFY(bytesOf(generateSynthetic(o), m_dir.path() + "/c.jsonl") != a);
  }

  void everyDomainHasItsCountAndOwnVocabulary() {
    SyntheticOptions o;
    o.pairsPerDomain = 300;
    auto pairs = generateSynthetic(o);
    std::map<std::string, int> count;
    std::map<std::string, std::set<std::string>> vocab;
    for (const auto& p : pairs) {
      count[p.domain]++;
      std::istringstream is(p.prompt);
      std::string w;
      while (is >> w) vocab[p.domain].insert(w);
    }
    QCOMPARE(count.size(), size_t(5));
    for (const auto& [d, n] : count) QCOMPARE(n, 300);
    // Prompt vocabularies differ: each domain has words no other domain's prompts use. summary
    // and ranked share their report material by design; their requests still differ.
    for (const auto& [d, words] : vocab) {
      int own = 0;
      for (const auto& w : words) {
        bool elsewhere = false;
        for (const auto& [d2, w2] : vocab) elsewhere = elsewhere || (d2 != d && w2.count(w));
        own += elsewhere ? 0 : 1;
      }
      QVERIFY2(own >= (d == "summary" || d == "ranked" ? 1 : 5), d.c_str());
    }
  }

  void selectingDomainsKeepsTheirPairs() {
    SyntheticOptions all;
    all.pairsPerDomain = 50;
    SyntheticOptions one = all;
    one.domains = {"ranked"};
    std::vector<std::string> a, b;
    for (const auto& p : generateSynthetic(all))
      if (p.domain == "ranked") a.push_back(p.id);
    for (const auto& p : generateSynthetic(one)) b.push_back(p.id);
    QVERIFY(a == b);
  }

  void capabilitiesAgreeWithLabelWithoutNoise() {
    SyntheticOptions o;
    o.pairsPerDomain = 300;
    for (const auto& p : generateSynthetic(o)) {
      QCOMPARE(p.capabilities.size(), syntheticCapabilityNames().size());
      QCOMPARE(p.capabilities.at(kPrimary.at(p.domain)), 1);
      if (p.domain == "harmless") QCOMPARE(p.capabilities.at("safety"), 1);
    }
  }

  void lengthCueConflictsBetweenSummaryAndRanked() {
    SyntheticOptions o;
    o.pairsPerDomain = 300;
    o.domains = {"summary", "ranked"};
    int longerWinsSummary = 0, shorterWinsRanked = 0;
    for (const auto& p : generateSynthetic(o)) {
      if (p.domain == "summary") longerWinsSummary += p.capabilities.at("conciseness") == -1;
      if (p.domain == "ranked") shorterWinsRanked += p.capabilities.at("conciseness") == 1;
    }
    QCOMPARE(longerWinsSummary, 300);
    QCOMPARE(shorterWinsRanked, 300);
  }

  void noiseRatesAreMeasuredWithinTolerance() {
    SyntheticOptions o;
    o.pairsPerDomain = 4000;
    o.labelNoise = 0.1;
    o.labelNoisePerDomain["instruct"] = 0.3;
    std::map<std::string, int> flipped, total;
    for (const auto& p : generateSynthetic(o)) {
      total[p.domain]++;
      flipped[p.domain] += p.capabilities.at(kPrimary.at(p.domain)) == -1;
    }
    for (const auto& [d, n] : total) {
      const double rate = static_cast<double>(flipped[d]) / n;
      const double expected = d == "instruct" ? 0.3 : 0.1;
      // Four binomial standard deviations at n = 4000.
      const double tol = 4 * std::sqrt(expected * (1 - expected) / n);
      QVERIFY2(std::abs(rate - expected) < tol,
               qPrintable(QString("%1: %2 vs %3").arg(d.c_str()).arg(rate).arg(expected)));
    }
  }

  void splitsNeverShareAPrompt() {
    SyntheticOptions o;
    o.pairsPerDomain = 400;
    auto pairs = generateSynthetic(o);
    assignSplits(pairs, SplitConfig{0.8, 0.1, 0.1});
    std::map<std::string, std::string> splitOfPrompt;
    std::map<std::string, int> sizes;
    for (const auto& p : pairs) {
      sizes[p.split]++;
      auto [it, inserted] = splitOfPrompt.emplace(p.prompt, p.split);
      QVERIFY(inserted || it->second == p.split);
    }
    QCOMPARE(sizes.size(), size_t(3));
    QVERIFY(sizes["train"] > sizes["test"]);
  }
};

QTEST_GUILESS_MAIN(TestSynthetic)
#include "tst_synthetic.moc"
