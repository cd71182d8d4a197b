// The paper's tables from a store filled by hand: mean ± std over seeds, best value per column,
// parameters as % of the Baseline, and the same numbers in every format.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include "report/report.h"
#include "store/runstore.h"

using namespace rr::core;

class TestReport : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string m_db;

 private Q_SLOTS:
  void initTestCase() {
    m_db = (m_dir.path() + "/r.db").toStdString();
    RunWriter w(m_db);
    auto add = [&](const char* method, int seed, double a, double b, double params, double secs) {
      const auto id = w.createRun("exp", method, method, seed, "{}");
      w.addResults({{id, "a", "accuracy", a},
                    {id, "b", "accuracy", b},
                    {id, "*", "accuracy", (a + b) / 2},
                    {id, "*", "params_total", params},
                    {id, "*", "train_seconds", secs}});
      w.addComponent({id, "router", 10, 10, secs / 4});
      w.addComponent({id, "rm:a", 20, 20, secs / 2});
      w.setStatus(id, RunStatus::Finished);
      return id;
    };
    add("baseline", 1, 0.6, 0.8, 1000, 10);
    add("baseline", 2, 0.8, 0.8, 1000, 12);
    add("rodos", 1, 0.9, 0.7, 3000, 20);
    const auto failed = w.createRun("exp", "rodos", "rodos", 2, "{}");
    w.setStatus(failed, RunStatus::Failed, "boom");
  }

  void aggregatesFinishedRunsOverSeeds() {
    auto store = RunStore::open(m_db);
    Report r = buildReport(*store);
    QCOMPARE(r.domains, (std::vector<std::string>{"a", "b"}));
    QCOMPARE(r.methods.size(), size_t(2));
    const MethodSummary& base = r.methods[0];
    QCOMPARE(base.runIds.size(), size_t(2));
    QCOMPARE(base.accuracy.at("a").mean, 0.7);
    QVERIFY(std::abs(base.accuracy.at("a").std - std::sqrt(0.02)) < 1e-12);  // sample std
    QCOMPARE(base.accuracy.at("b").std, 0.0);
    QCOMPARE(base.metrics.at("train_seconds").mean, 11.0);
    QCOMPARE(base.paramsPctOfBaseline, 100.0);
    const MethodSummary& rodos = r.methods[1];
    QCOMPARE(rodos.runIds.size(), size_t(1));  // the failed seed is left out
    QCOMPARE(rodos.paramsPctOfBaseline, 300.0);
    QCOMPARE(rodos.componentSeconds.at("rm:a").mean, 10.0);
  }

  void markdownMarksBestPerColumn() {
    auto store = RunStore::open(m_db);
    const QString md = QString::fromStdString(formatReport(buildReport(*store), "md"));
    QVERIFY2(md.contains("**0.9000 ± 0.0000**"), qPrintable(md));  // rodos wins column a
    QVERIFY2(md.contains("**0.8000 ± 0.0000**"), qPrintable(md));  // baseline wins column b
    QVERIFY(md.contains("Train seconds per component"));
    const QString tex = QString::fromStdString(formatReport(buildReport(*store), "latex"));
    QVERIFY(tex.startsWith("\\begin{tabular}"));
    QVERIFY(tex.contains("\\textbf{0.9000 $\\pm$ 0.0000}"));
  }

  void jsonCarriesTheSameNumbers() {
    auto store = RunStore::open(m_db);
    const auto j = QJsonDocument::fromJson(
                       QByteArray::fromStdString(formatReport(buildReport(*store), "json")))
                       .object();
    const auto m = j["methods"].toArray();
    QCOMPARE(m.size(), 2);
    QCOMPARE(m[0].toObject()["accuracy"].toObject()["a"].toObject()["mean"].toDouble(), 0.7);
    QCOMPARE(m[1].toObject()["params_pct_of_baseline"].toDouble(), 300.0);
    QCOMPARE(m[0].toObject()["accuracy"].toObject()["mean"].toObject()["n"].toInt(), 2);
  }
};

QTEST_GUILESS_MAIN(TestReport)
#include "tst_report.moc"
