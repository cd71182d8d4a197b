// Assembling an experiment's pairs: files and synthetic data together, splits that arrive with the
// data are kept, the rest split by prompt hash, domain overrides and caps.
#include <QTemporaryDir>
#include <QtTest>

#include <set>

#include "common/errors.h"
#include "config/config.h"
#include "data/dataset.h"
#include "data/pairsio.h"

using namespace rr::core;

class TestDataset : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

  std::string writePairs(const char* name, int n, const std::string& split) {
    std::vector<PreferencePair> pairs;
    for (int i = 0; i < n; ++i) {
      PreferencePair p;
      p.domain = "web";
      p.prompt = "question " + std::to_string(i);
      p.chosen = "good " + std::to_string(i);
      p.rejected = "bad " + std::to_string(i);
      p.split = split;
      p.id = makePairId(p.domain, p.prompt, p.chosen, p.rejected);
      pairs.push_back(p);
    }
    const std::string path = (m_dir.path() + "/" + name).toStdString();
    writePairsFile(path, pairs);
    return path;
  }

 private Q_SLOTS:
  void filesKeepTheirSplitsAndTheRestIsHashed() {
    writePairs("given.jsonl", 30, "test");
    writePairs("whole.jsonl", 40, "");
    const std::string cfg = R"({"name": "d", "data": {"files": [
        {"path": "given.jsonl"},
        {"path": "whole.jsonl", "domain": "forum"}],
      "split": {"train": 0.5, "validation": 0.25, "test": 0.25}},
      "methods": [{"method": "baseline"}]})";
    ExperimentConfig c = parseExperimentConfig(cfg, "d.json", m_dir.path().toStdString());
    auto pairs = loadExperimentPairs(c);
    std::map<std::string, std::map<std::string, int>> counts;
    for (const auto& p : pairs) counts[p.domain][p.split]++;
    QCOMPARE(counts["web"]["test"], 30);  // arrived split: kept
    QCOMPARE(counts["web"].size(), size_t(1));
    QCOMPARE(counts["forum"]["train"] + counts["forum"]["validation"] + counts["forum"]["test"], 40);
    QVERIFY(counts["forum"]["train"] > 0 && counts["forum"]["test"] > 0);
    for (const auto& p : pairs) {
      if (p.domain == "forum") {
        QCOMPARE(p.id, makePairId("forum", p.prompt, p.chosen, p.rejected));  // id follows the override
        QCOMPARE(p.split, splitForPrompt(p.prompt, c.data.split));
      }
    }
  }

  void fileSplitOverrideAndCapPerDomain() {
    writePairs("train.jsonl", 50, "");
    const std::string cfg = R"({"name": "d", "data": {"files": [{"path": "train.jsonl", "split": "train"}],
      "max_pairs_per_domain": 20}, "methods": [{"method": "baseline"}]})";
    auto pairs = loadExperimentPairs(parseExperimentConfig(cfg, "d.json", m_dir.path().toStdString()));
    QCOMPARE(pairs.size(), size_t(20));
    for (const auto& p : pairs) QCOMPARE(p.split, std::string("train"));
  }

  // Prompts that differ only in their last character used to share a split: FNV-1a's last bytes
  // move mostly the low bits of the hash, and the split reads the high ones.
  void splitIsWellMixed() {
    auto groupsInOneSplit = [](const SplitConfig& ratios) {
      int n = 0;
      for (int g = 0; g < 1000; ++g) {
        std::set<std::string> splits;
        for (int d = 0; d < 10; ++d)
          splits.insert(
              splitForPrompt("prompt " + std::to_string(g) + "-" + std::to_string(d), ratios));
        n += splits.size() == 1;
      }
      return n;
    };
    SplitConfig mixed;
    QCOMPARE(mixed.method, std::string("mix64"));
    // Independent draws put a group of ten in one split with probability 0.8^10 + 2 * 0.1^10,
    // about 107 of 1,000; the hash gives 102.
    const int together = groupsInOneSplit(mixed);
    QVERIFY2(together > 70 && together < 150, qPrintable(QString::number(together)));
    SplitConfig legacy;
    legacy.method = "fnv1a";
    QVERIFY(groupsInOneSplit(legacy) > 900);  // 998: what runs before mix64 were split by
  }

  // The splits of both methods, from an implementation of them written apart from the code
  // (Python): stored runs must keep the split they were trained and tested on.
  void splitMethodsGiveKnownSplits() {
    const std::vector<std::string> legacy = {"train", "train", "train", "train", "train", "train",
                                             "train", "train", "train", "train", "test",  "test"};
    const std::vector<std::string> mixed = {"train", "train",      "train", "train",
                                            "test",  "validation", "train", "train",
                                            "train", "train",      "train", "validation"};
    SplitConfig m, l;
    l.method = "fnv1a";
    for (size_t i = 0; i < legacy.size(); ++i) {
      const std::string prompt = "question " + std::to_string(i);
      QCOMPARE(splitForPrompt(prompt, l), legacy[i]);
      QCOMPARE(splitForPrompt(prompt, m), mixed[i]);
    }
  }

  void splitMethodIsStoredWithTheConfig() {
    const std::string cfg =
        R"({"name": "d", "data": {"synthetic": {}}, "methods": [{"method": "baseline"}]})";
    const ExperimentConfig fresh = parseExperimentConfig(cfg, "d.json", "");
    QCOMPARE(fresh.data.split.method, std::string("mix64"));
    const std::string stored = experimentConfigToJson(fresh);
    QVERIFY(stored.find(R"("method": "mix64")") != std::string::npos);
    QCOMPARE(parseStoredExperimentConfig(stored, "manifest.json").data.split.method,
             std::string("mix64"));
    // A config stored before the key existed describes a run split by the old method.
    QCOMPARE(parseStoredExperimentConfig(cfg, "manifest.json").data.split.method,
             std::string("fnv1a"));
    const std::string withRatios = R"({"name": "d", "data": {"synthetic": {},
      "split": {"train": 0.6, "validation": 0.2, "test": 0.2}}, "methods": [{"method": "baseline"}]})";
    const ExperimentConfig old = parseStoredExperimentConfig(withRatios, "manifest.json");
    QCOMPARE(old.data.split.method, std::string("fnv1a"));
    QCOMPARE(old.data.split.train, 0.6);
    try {
      parseExperimentConfig(R"({"name": "d", "data": {"synthetic": {}, "split": {"method": "md5"}},
        "methods": [{"method": "baseline"}]})",
                            "d.json", "");
      QFAIL("an unknown split method was accepted");
    } catch (const InputError& e) {
      QVERIFY2(QString(e.what()).contains("$.data.split.method"), e.what());
    }
  }

  void domainWithoutTestPairsIsRefused() {
    std::vector<PreferencePair> pairs(3);
    for (size_t i = 0; i < pairs.size(); ++i) {
      pairs[i].domain = i < 2 ? "web" : "forum";
      pairs[i].split = i == 0 ? "train" : i == 1 ? "validation" : "test";
    }
    try {
      requireTestPairs(pairs, "x.json");
      QFAIL("a domain without test pairs was accepted");
    } catch (const InputError& e) {
      QCOMPARE(QString(e.what()),
               QString("x.json: domain 'web' has no test pairs (1 train, 1 validation), so its "
                       "accuracy cannot be measured; give the domain more pairs or put some in "
                       "the test split"));
    }
    pairs[0].split = "test";
    requireTestPairs(pairs, "x.json");
  }

  void duplicatesAcrossFilesAreDroppedOnce() {
    writePairs("a.jsonl", 10, "");
    writePairs("b.jsonl", 10, "");
    const std::string cfg = R"({"name": "d", "data": {"files": [{"path": "a.jsonl"}, {"path": "b.jsonl"}]},
      "methods": [{"method": "baseline"}]})";
    QCOMPARE(loadExperimentPairs(parseExperimentConfig(cfg, "d.json", m_dir.path().toStdString())).size(),
             size_t(10));
  }
};

QTEST_GUILESS_MAIN(TestDataset)
#include "tst_dataset.moc"
