// End to end through the core: a tiny seeded Baseline learns an easy synthetic domain clearly
// above chance, its results land in the store, and a stop request cancels cleanly.
#include <QTemporaryDir>
#include <QtTest>

#include "config/config.h"
#include "store/runstore.h"
#include "run/experiment.h"

using namespace rr::core;

namespace {

const char* kConfig = R"({
  "name": "easy",
  "data": {"synthetic": {"pairs_per_domain": 240, "domains": ["harmless", "ranked"], "seed": 3},
           "split": {"train": 0.7, "validation": 0.1, "test": 0.2}},
  "tokenizer": {"vocab_size": 300},
  "encoder": {"preset": "tiny", "hidden": 64, "layers": 1, "heads": 2, "ffn": 128, "max_len": 64},
  "training": {"lr": 0.002, "batch_size": 16, "epochs": 4, "eval_every": 10, "seed": 5},
  "methods": [{"method": "baseline"}]
})";

struct CountingSink : MetricSink {
  int metrics = 0, progressCalls = 0;
  std::vector<RunStatus> statuses;
  RunControl* stopAfter = nullptr;
  int stopAtProgress = 0;
  void metric(const MetricRow&) override { ++metrics; }
  void progress(const ProgressInfo& p) override {
    ++progressCalls;
    QVERIFY(p.step <= p.totalSteps);
    if (stopAfter && p.step >= stopAtProgress) stopAfter->requestStop();
  }
  void log(std::int64_t, LogLevel, const std::string&) override {}
  void runStatus(std::int64_t, RunStatus s, const std::string&) override {
    statuses.push_back(s);
  }
};

}  // namespace

class TestBaseline : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void learnsEasyDomainsAboveChance() {
    ExperimentConfig c = parseExperimentConfig(kConfig, "easy.json");
    ExperimentOptions o;
    o.dbPath = (m_dir.path() + "/easy.db").toStdString();
    CountingSink sink;
    RunControl control;
    ExperimentOutcome out = runExperiment(c, o, sink, control);
    QCOMPARE(out.finished, 1);
    QCOMPARE(out.failed, 0);
    QVERIFY(sink.metrics > 50);
    QVERIFY(sink.progressCalls > 0);
    QVERIFY(sink.statuses.back() == RunStatus::Finished);

    auto store = RunStore::open(o.dbPath);
    const auto results = store->results(out.runIds);
    std::map<std::string, double> acc;
    double params = 0;
    for (const auto& r : results) {
      if (r.metric == "accuracy") acc[r.domain] = r.value;
      if (r.metric == "params_total") params = r.value;
    }
    QVERIFY2(acc["harmless"] > 0.8, qPrintable(QString::number(acc["harmless"])));
    QVERIFY2(acc["ranked"] > 0.8, qPrintable(QString::number(acc["ranked"])));
    QVERIFY(params > 10000);
    ExampleFilter f;
    f.runIds = out.runIds;
    const std::int64_t n = store->countExamples(f);
    QVERIFY(n > 50);
    // The stored examples are what the accuracy was computed from.
    f.domain = "harmless";
    const std::int64_t inDomain = store->countExamples(f);
    f.correct = true;
    QCOMPARE(static_cast<double>(store->countExamples(f)) / static_cast<double>(inDomain),
             acc["harmless"]);
    QVERIFY(store->pair(store->examples(f, 0, 1)[0].exampleId).has_value());
    QCOMPARE(store->components(out.runIds).size(), size_t(1));
  }

  void stopRequestCancelsRunAndKeepsMetrics() {
    ExperimentConfig c = parseExperimentConfig(kConfig, "easy.json");
    c.training.seeds = 2;
    ExperimentOptions o;
    o.dbPath = (m_dir.path() + "/cancel.db").toStdString();
    CountingSink sink;
    RunControl control;
    sink.stopAfter = &control;
    sink.stopAtProgress = 5;
    ExperimentOutcome out = runExperiment(c, o, sink, control);
    QVERIFY(out.cancelled);
    auto store = RunStore::open(o.dbPath);
    auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(2));
    QCOMPARE(QString::fromStdString(toString(runs[0].status)), QStringLiteral("cancelled"));
    QCOMPARE(QString::fromStdString(toString(runs[1].status)), QStringLiteral("cancelled"));
    QVERIFY(!store->metrics(runs[0].id).empty());
    QVERIFY(store->results({runs[0].id}).empty());
  }
};

QTEST_GUILESS_MAIN(TestBaseline)
#include "tst_baseline.moc"
