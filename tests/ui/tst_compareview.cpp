// The Compare view's numbers are the report's: its tables equal
// formatReport(buildReport(...), "json") and what `rewardrouter-cli report --format json` prints.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScrollBar>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "compareview.h"
#include "curveplot.h"
#include "monitorview.h"
#include "plotstyle.h"
#include "qcp.h"
#include "report/report.h"
#include "store/runstore.h"

using namespace rr;

class TestCompareView : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string m_db;
  std::vector<std::int64_t> m_ids;

  // The column whose header is `head`, or -1.
  static int column(const QTableWidget* t, const QString& head) {
    for (int c = 0; c < t->columnCount(); ++c)
      if (t->horizontalHeaderItem(c)->text() == head) return c;
    return -1;
  }

 private Q_SLOTS:
  void initTestCase() {
    m_db = m_dir.filePath(QStringLiteral("compare.db")).toStdString();
    core::RunWriter w(m_db);
    const char* const domains[] = {"harmless", "ranked", "summary"};
    struct Method {
      const char* method;
      int seeds;
      double base, params;
      const char* config;
    } methods[] = {{"baseline", 3, 0.70, 4.0e6, R"({"training": {"lr": 0.001}})"},
                   {"more", 2, 0.74, 4.6e6, R"({"training": {"lr": 0.002}})"}};
    for (const auto& m : methods)
      for (int s = 1; s <= m.seeds; ++s) {
        const std::int64_t id = w.createRun("exp", m.method, m.method, s, m.config);
        std::vector<core::ResultRow> rows;
        double sum = 0;
        for (int d = 0; d < 3; ++d) {
          const double acc = m.base + 0.03 * d + 0.011 * s * (d == 1 ? -1 : 1);
          rows.push_back({id, domains[d], "accuracy", acc});
          sum += acc;
        }
        rows.push_back({id, "*", "accuracy", sum / 3});
        rows.push_back({id, "*", "params_total", m.params});
        rows.push_back({id, "*", "params_trainable", m.params / 2});
        rows.push_back({id, "*", "train_seconds", 10.0 * s});
        rows.push_back({id, "*", "infer_ms_per_step", 1.5 + s});
        w.addResults(rows);
        w.addComponent({id, "model", static_cast<std::int64_t>(m.params), 1, 10.0 * s});
        w.setStatus(id, core::RunStatus::Finished);
        m_ids.push_back(id);
      }
    // A run still going has no results and stays out of the tables.
    const std::int64_t running = w.createRun("exp", "baseline", "baseline", 9, "{}");
    w.setStatus(running, core::RunStatus::Running);
    m_ids.push_back(running);
    w.flush();
  }

  void tablesEqualTheJsonReport() {
    auto store = core::RunStore::open(m_db);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns(m_ids);
    const QJsonObject report =
        QJsonDocument::fromJson(
            QByteArray::fromStdString(core::formatReport(core::buildReport(*store, m_ids), "json")))
            .object();
    const QJsonArray methods = report.value(QStringLiteral("methods")).toArray();
    QCOMPARE(methods.size(), 2);
    QTableWidget* acc = view.accuracyTable();
    QTableWidget* cost = view.costTable();
    QCOMPARE(acc->rowCount(), methods.size());
    QStringList columns;
    for (const auto& d : report.value(QStringLiteral("domains")).toArray()) columns << d.toString();
    columns << QStringLiteral("mean");
    for (int r = 0; r < methods.size(); ++r) {
      const QJsonObject m = methods[r].toObject();
      QCOMPARE(acc->item(r, 0)->text(), m.value(QStringLiteral("name")).toString());
      QCOMPARE(acc->item(r, column(acc, QStringLiteral("Seeds")))->text().toInt(),
               m.value(QStringLiteral("run_ids")).toArray().size());
      for (const QString& col : columns) {
        const int c = column(acc, col);
        QVERIFY2(c >= 0, qPrintable(col));
        const QJsonObject stat =
            m.value(QStringLiteral("accuracy")).toObject().value(col).toObject();
        QCOMPARE(acc->item(r, c)->data(Qt::UserRole).toDouble(),
                 stat.value(QStringLiteral("mean")).toDouble());
        QCOMPARE(acc->item(r, c)->data(Qt::UserRole + 1).toDouble(),
                 stat.value(QStringLiteral("std")).toDouble());
      }
      const auto metric = [&](const char* key) {
        return m.value(QLatin1String(key)).toObject().value(QStringLiteral("mean")).toDouble();
      };
      QCOMPARE(
          cost->item(r, column(cost, QStringLiteral("Params (M)")))->data(Qt::UserRole).toDouble(),
          metric("params_total"));
      QCOMPARE(
          cost->item(r, column(cost, QStringLiteral("Train s")))->data(Qt::UserRole).toDouble(),
          metric("train_seconds"));
      QCOMPARE(cost->item(r, column(cost, QStringLiteral("Infer ms/step")))
                   ->data(Qt::UserRole)
                   .toDouble(),
               metric("infer_ms_per_step"));
      QCOMPARE(cost->item(r, column(cost, QStringLiteral("% of Baseline")))
                   ->data(Qt::UserRole)
                   .toDouble(),
               m.value(QStringLiteral("params_pct_of_baseline")).toDouble());
    }
    // Best per column in bold: MoRE's mean accuracy, the baseline's nowhere in "mean".
    const int mean = column(acc, QStringLiteral("mean"));
    QVERIFY(acc->item(1, mean)->font().bold());
    QVERIFY(!acc->item(0, mean)->font().bold());
    QCOMPARE(
        acc->item(0, mean)->text(),
        QStringLiteral("%1 ± %2")
            .arg(methods[0].toObject()["accuracy"].toObject()["mean"].toObject()["mean"].toDouble(),
                 0, 'f', 4)
            .arg(methods[0].toObject()["accuracy"].toObject()["mean"].toObject()["std"].toDouble(),
                 0, 'f', 4));
  }

  void cliReportHasTheSameNumbers() {
    auto store = core::RunStore::open(m_db);
    QProcess cli;
    cli.start(QStringLiteral(RR_CLI_PATH),
              {QStringLiteral("report"), QStringLiteral("--db"), QString::fromStdString(m_db),
               QStringLiteral("--format"), QStringLiteral("json")});
    QVERIFY(cli.waitForFinished(30000));
    QCOMPARE(cli.exitCode(), 0);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns(m_ids);
    const QJsonArray methods = QJsonDocument::fromJson(cli.readAllStandardOutput())
                                   .object()
                                   .value(QStringLiteral("methods"))
                                   .toArray();
    QCOMPARE(methods.size(), view.accuracyTable()->rowCount());
    const int mean = column(view.accuracyTable(), QStringLiteral("mean"));
    for (int r = 0; r < methods.size(); ++r)
      QCOMPARE(view.accuracyTable()->item(r, mean)->data(Qt::UserRole).toDouble(),
               methods[r].toObject()["accuracy"].toObject()["mean"].toObject()["mean"].toDouble());
  }

  void meanFollowsTheMethodWhichStaysInView() {
    auto store = core::RunStore::open(m_db);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns(m_ids);
    QTableWidget* acc = view.accuracyTable();
    QStringList heads;
    for (int c = 0; c < acc->columnCount(); ++c) heads << acc->horizontalHeaderItem(c)->text();
    QCOMPARE(heads,
             QStringList({"Method", "mean", "harmless", "ranked", "summary", "Seeds", "Backbone"}));

    // Narrower than the table: scrolled to the right end, the method column still shows.
    view.resize(420, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    auto* frozen = acc->findChild<QTableView*>(QStringLiteral("frozenColumn"));
    QVERIFY(frozen);
    QVERIFY(acc->horizontalScrollBar()->maximum() > 0);
    acc->horizontalScrollBar()->setValue(acc->horizontalScrollBar()->maximum());
    QCoreApplication::processEvents();
    QVERIFY(acc->columnViewportPosition(0) < 0);  // the table's own method column scrolled away
    QVERIFY(frozen->isVisible());
    QCOMPARE(frozen->geometry().left(), acc->frameWidth());
    QCOMPARE(frozen->columnWidth(0), acc->columnWidth(0));
    QVERIFY(!frozen->isColumnHidden(0));
    for (int c = 1; c < acc->columnCount(); ++c) QVERIFY(frozen->isColumnHidden(c));
    for (int r = 0; r < acc->rowCount(); ++r) {
      const QModelIndex shown =
          frozen->indexAt(frozen->visualRect(acc->model()->index(r, 0)).center());
      QCOMPARE(shown.row(), r);
      QCOMPARE(shown.column(), 0);
      QCOMPARE(shown.data().toString(), acc->item(r, 0)->text());
      QVERIFY(frozen->viewport()->rect().contains(frozen->visualRect(shown)));
    }
    // The two views share the selection.
    acc->selectRow(1);
    QVERIFY(frozen->selectionModel()->isRowSelected(1, QModelIndex()));
    // Going to a cell to the right of the frozen column scrolls it out from under it.
    acc->horizontalScrollBar()->setValue(acc->horizontalScrollBar()->maximum());
    acc->scrollTo(acc->model()->index(0, 1));
    QVERIFY(acc->columnViewportPosition(1) >= acc->columnWidth(0));
  }

  void barsHaveTheMonitorsMethodColours() {
    auto store = core::RunStore::open(m_db);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns(m_ids);
    auto* bars = view.findChild<QCustomPlot*>(QStringLiteral("domainBarsPlot"));
    QVERIFY(bars);
    int found = 0;
    for (int i = 0; i < bars->plottableCount(); ++i)
      if (auto* b = qobject_cast<QCPBars*>(bars->plottable(i))) {
        QCOMPARE(b->pen().color(), ui::methodColor(b->name().toStdString()));
        ++found;
      }
    QCOMPARE(found, 2);
  }

  // One colour per method group wherever a run is drawn: Compare's bars and the Monitor's
  // curves agree, also when one method runs in two experiments (two groups, two colours).
  void oneColourPerRunInCompareAndMonitor() {
    const std::string db = m_dir.filePath(QStringLiteral("colours.db")).toStdString();
    std::map<std::int64_t, QString> groupOf;
    {
      core::RunWriter w(db);
      const std::pair<const char*, const char*> runs[] = {
          {"first", "baseline"}, {"first", "baseline"}, {"first", "more"}, {"second", "baseline"}};
      for (const auto& [experiment, method] : runs) {
        const std::int64_t id = w.createRun(experiment, method, method, 1, "{}");
        w.addResults({{id, "harmless", "accuracy", 0.7}, {id, "*", "accuracy", 0.7}});
        for (int step = 1; step <= 3; ++step) w.addMetric({id, "model", step, 0.1, "loss", 0.5});
        w.setStatus(id, core::RunStatus::Finished);
        groupOf[id] = QStringLiteral("%1/%2").arg(experiment, method);
      }
      w.flush();
    }
    auto store = core::RunStore::open(db, true);
    std::vector<std::int64_t> ids;
    for (const auto& [id, group] : groupOf) ids.push_back(id);
    ui::CompareView compare;
    compare.setStore(store.get());
    compare.showRuns(ids);
    auto* bars = compare.findChild<QCustomPlot*>(QStringLiteral("domainBarsPlot"));
    QVERIFY(bars);
    std::map<QString, QColor> barColour;
    for (int i = 0; i < bars->plottableCount(); ++i)
      if (auto* b = qobject_cast<QCPBars*>(bars->plottable(i)))
        barColour[b->name()] = b->pen().color();
    QCOMPARE(barColour.size(), std::size_t(3));
    QVERIFY(barColour.at("first/baseline") != barColour.at("second/baseline"));
    ui::MonitorView monitor;
    monitor.setStore(store.get());
    monitor.showRuns(ids);
    for (const auto& [id, group] : groupOf)
      QCOMPARE(
          monitor.plotFor("loss")->curvePen(ui::MonitorView::curveId(id, "model", "loss")).color(),
          barColour.at(group));
  }

  void configDiffShowsOnlyDifferingKeys() {
    auto store = core::RunStore::open(m_db);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns(m_ids);
    auto* diff = view.findChild<QTableWidget*>(QStringLiteral("configDiffTable"));
    QVERIFY(diff);
    // Three distinct configs (baseline, more, the running run's "{}"): lr differs, nothing else.
    QCOMPARE(diff->rowCount(), 1);
    QCOMPARE(diff->item(0, 0)->text(), QStringLiteral("$.training.lr"));
    QCOMPARE(diff->columnCount(), 4);
    QCOMPARE(diff->item(0, 1)->text(), QStringLiteral("0.001"));
    QCOMPARE(diff->item(0, 2)->text(), QStringLiteral("0.002"));
    QCOMPARE(diff->item(0, 3)->text(), QString());
  }
};

QTEST_MAIN(TestCompareView)
#include "tst_compareview.moc"
