// Assembling an experiment's pairs: files and synthetic data together, splits that arrive with the
// data are kept, the rest split by prompt hash, domain overrides and caps.
#include <QTemporaryDir>
#include <QtTest>

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
