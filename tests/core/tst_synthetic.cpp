// The synthetic benchmark: byte-for-byte reproducible, documented noise rates, capability labels
// consistent with the overall label, the length conflict between summary and ranked, and splits
// that never share a prompt.
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <set>
#include <sstream>

#include "common/hash.h"
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

// StableHash of the JSONL bytes of generateSynthetic({pairsPerDomain = 50}).
const std::string kFirstVersionHash = "fac3dbc58ed70d1d";

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
      // "style" is labelled only when the house style is on.
      QCOMPARE(p.capabilities.size(), syntheticCapabilityNames().size() - 1);
      QVERIFY(!p.capabilities.count("style"));
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

  void houseStylesConflictAcrossDomains() {
    const auto openers = houseStyleOpeners();
    QCOMPARE(openers.size(), size_t(20));
    std::vector<int> likedIn(openers.size(), 0);
    std::vector<std::vector<bool>> rows;
    for (const auto& d : syntheticDomainNames()) {
      const auto likes = houseStyleLikes(d);
      QCOMPARE(likes.size(), openers.size());
      QCOMPARE(std::count(likes.begin(), likes.end(), true), 10L);
      for (size_t i = 0; i < likes.size(); ++i) likedIn[i] += likes[i];
      for (const auto& other : rows) {
        int agree = 0;
        for (size_t i = 0; i < likes.size(); ++i) agree += likes[i] == other[i];
        QVERIFY2(agree == 8,
                 qPrintable(QString("%1 agrees on %2 openers").arg(d.c_str()).arg(agree)));
      }
      rows.push_back(likes);
    }
    for (int n : likedIn) QVERIFY(n == 2 || n == 3);  // no opener is good or bad everywhere
    std::set<std::vector<bool>> columns;              // no two openers share their readers
    for (size_t i = 0; i < openers.size(); ++i) {
      std::vector<bool> column;
      for (const auto& row : rows) column.push_back(row[i]);
      columns.insert(column);
    }
    QCOMPARE(columns.size(), openers.size());
    QVERIFY(houseStyleLikes("no-such-domain").empty());
    // docs/DATA.md's table, first row: "honestly ," is liked in harmless and summary only.
    QCOMPARE(openers[0], std::string("honestly ,"));
    for (const auto& d : syntheticDomainNames())
      QCOMPARE(bool(houseStyleLikes(d)[0]), d == "harmless" || d == "summary");
  }

  void houseStylePairsDifferOnlyInTheOpener() {
    SyntheticOptions o;
    o.pairsPerDomain = 2000;
    o.houseStyle = 0.4;
    const auto openers = houseStyleOpeners();
    auto openerOf = [&](const std::string& text) {
      for (size_t i = 0; i < openers.size(); ++i)
        if (text.rfind(openers[i] + " ", 0) == 0) return static_cast<int>(i);
      return -1;
    };
    std::map<std::string, int> style, total;
    for (const auto& p : generateSynthetic(o)) {
      total[p.domain]++;
      const int a = openerOf(p.chosen), b = openerOf(p.rejected);
      QVERIFY2(a >= 0 && b >= 0, p.chosen.c_str());
      const auto likes = houseStyleLikes(p.domain);
      const std::string restA = p.chosen.substr(openers[static_cast<size_t>(a)].size());
      const std::string restB = p.rejected.substr(openers[static_cast<size_t>(b)].size());
      if (p.capabilities.at("style") == 1) {
        style[p.domain]++;
        QVERIFY(likes[static_cast<size_t>(a)] && !likes[static_cast<size_t>(b)]);
        QCOMPARE(restA, restB);  // same content: only the opener decides
        QCOMPARE(p.capabilities.at(kPrimary.at(p.domain)), 0);
      } else {
        QCOMPARE(p.capabilities.at("style"), 0);
        QCOMPARE(a, b);  // one opener on both sides: style says nothing
        QCOMPARE(p.capabilities.at(kPrimary.at(p.domain)), 1);
      }
    }
    for (const auto& [d, n] : total) {
      const double rate = static_cast<double>(style[d]) / n;
      QVERIFY2(std::abs(rate - 0.4) < 4 * std::sqrt(0.4 * 0.6 / n),
               qPrintable(QString("%1: %2").arg(d.c_str()).arg(rate)));
    }
    // Off, no opener is drawn and the pairs are those of the benchmark's first version: the
    // bytes of 50 pairs per domain are pinned (their hash, computed with the generator as it was
    // before the house style existed).
    SyntheticOptions off;
    off.pairsPerDomain = 50;
    const std::string bytes = bytesOf(generateSynthetic(off), m_dir.path() + "/off.jsonl");
    const std::string hash = StableHash().add(bytes).hex();
    QVERIFY2(hash == kFirstVersionHash, hash.c_str());
    for (const auto& p : generateSynthetic(off)) QCOMPARE(openerOf(p.chosen), -1);
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
