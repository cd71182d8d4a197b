// The Monitor with several runs selected: colour says the method, dashes say the seed, the legend
// names the runs (or, with many, the methods and seeds) in a row of its own above the axes, and
// hovering a curve names its run, method, seed and component.
#include <QCheckBox>
#include <QTemporaryDir>
#include <QtTest>

#include "config/config.h"
#include "curveplot.h"
#include "monitorview.h"
#include "store/runstore.h"

using namespace rr;

class TestMonitorView : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string m_db;
  // Runs of 2 methods x 2 seeds, then every method of the registry x 2 seeds.
  std::vector<std::int64_t> m_four, m_all;
  std::map<std::int64_t, std::vector<std::string>> m_components;

  static std::vector<std::string> componentsOf(const std::string& method) {
    if (method == "rodos") return {"rm:harmless", "rm:ranked", "router"};
    if (method == "baseline") return {"model"};
    return {method};
  }

  // A run's accuracy curve is flat at a level of its own, so that each curve is alone where
  // the test points at it.
  static double level(std::size_t run, std::size_t component) {
    return 0.3 + 0.05 * static_cast<double>(run) + 0.015 * static_cast<double>(component);
  }

  std::unique_ptr<ui::MonitorView> monitor(std::unique_ptr<core::RunStore>& store,
                                           const std::vector<std::int64_t>& runs) {
    store = core::RunStore::open(m_db);
    auto view = std::make_unique<ui::MonitorView>();
    view->resize(1000, 1400);
    view->setStore(store.get());
    view->showRuns(runs);
    view->show();
    if (!QTest::qWaitForWindowExposed(view.get())) return nullptr;
    for (const char* key : {"loss", "val_accuracy"}) view->plotFor(key)->replot();
    return view;
  }

 private Q_SLOTS:
  void initTestCase() {
    m_db = m_dir.filePath(QStringLiteral("monitor.db")).toStdString();
    core::RunWriter w(m_db);
    std::vector<std::string> methods = {"baseline", "rodos"};
    for (const auto& m : core::methodNames())
      if (m != "baseline" && m != "rodos") methods.push_back(m);
    std::size_t index = 0;
    for (const auto& method : methods)
      for (int seed = 1; seed <= 2; ++seed, ++index) {
        const std::int64_t id = w.createRun("exp", method, method, seed, "{}");
        const auto components = componentsOf(method);
        for (std::size_t c = 0; c < components.size(); ++c) {
          const bool router = components[c] == "router";
          for (int step = 1; step <= 20; ++step) {
            w.addMetric({id, components[c], step, 0.1 * step, "loss", 0.7 - 0.01 * step});
            if (step % 10 == 0)
              w.addMetric({id, components[c], step, 0.1 * step,
                           router ? "val_router_accuracy" : "val_accuracy", level(index, c)});
          }
        }
        w.setStatus(id, core::RunStatus::Finished);
        m_components[id] = components;
        (index < 4 ? m_four : m_all).push_back(id);
      }
    m_all.insert(m_all.begin(), m_four.begin(), m_four.end());
    w.flush();
  }

  void colourByMethodDashesBySeed() {
    std::unique_ptr<core::RunStore> store;
    auto view = monitor(store, m_four);
    QVERIFY(view);
    ui::CurvePlot* loss = view->plotFor("loss");
    const auto pen = [&](std::int64_t run, const std::string& component) {
      return loss->curvePen(ui::MonitorView::curveId(run, component, "loss"));
    };
    const QPen base1 = pen(m_four[0], "model"), base2 = pen(m_four[1], "model");
    const QPen rodos1 = pen(m_four[2], "rm:harmless"), rodos2 = pen(m_four[3], "rm:ranked");
    for (const QPen& p : {base1, base2, rodos1, rodos2}) QVERIFY(p.color().isValid());
    // One colour per method, whatever the seed.
    QCOMPARE(base1.color(), base2.color());
    QCOMPARE(rodos1.color(), rodos2.color());
    QVERIFY(base1.color() != rodos1.color());
    // One dash pattern per seed, whatever the method.
    QVERIFY(base1.style() != base2.style());
    QCOMPARE(base1.style(), rodos1.style());
    QCOMPARE(base2.style(), rodos2.style());
    // The components of one run share its look; hovering tells them apart.
    QCOMPARE(pen(m_four[2], "router").color(), rodos1.color());
    QCOMPARE(pen(m_four[2], "router").style(), rodos1.style());
    // Without smoothing the raw line carries the dashes.
    loss->setSmoothing(0);
    QCOMPARE(pen(m_four[1], "model").style(), base2.style());
    QCOMPARE(pen(m_four[1], "model").color().alpha(), 255);
  }

  void legendNamesEachRun() {
    std::unique_ptr<core::RunStore> store;
    auto view = monitor(store, m_four);
    QVERIFY(view);
    ui::CurvePlot* acc = view->plotFor("val_accuracy");
    QCOMPARE(acc->legendLabels(),
             QStringList({QStringLiteral("#%1 baseline · seed 1").arg(m_four[0]),
                          QStringLiteral("#%1 baseline · seed 2").arg(m_four[1]),
                          QStringLiteral("#%1 rodos · seed 1").arg(m_four[2]),
                          QStringLiteral("#%1 rodos · seed 2").arg(m_four[3])}));
    // The legend lies above the axes, where it covers no curve.
    QVERIFY(acc->legend->visible());
    QVERIFY(acc->legend->outerRect().bottom() <= acc->axisRect()->outerRect().top());
  }

  void manyRunsGetAKeyOfMethodsAndSeeds() {
    // Every method of the registry x 2 seeds: more than the quickstart's twelve runs.
    QCOMPARE(m_all.size(), 2 * core::methodNames().size());
    QVERIFY(m_all.size() >= 12);
    std::unique_ptr<core::RunStore> store;
    auto view = monitor(store, m_all);
    QVERIFY(view);
    ui::CurvePlot* acc = view->plotFor("val_accuracy");
    QStringList expected;
    for (const auto& m : core::methodNames()) expected << QString::fromStdString(m);
    expected << QStringLiteral("seed 1") << QStringLiteral("seed 2");
    QCOMPARE(acc->legendLabels(), expected);
    // Laid out in columns across the plot: a short strip above the axes, not a column over them.
    QVERIFY2(acc->legend->rowCount() <= 2, qPrintable(QString::number(acc->legend->rowCount())));
    QVERIFY(acc->legend->outerRect().bottom() <= acc->axisRect()->outerRect().top());
    QVERIFY(acc->axisRect()->outerRect().height() > acc->height() / 2);
  }

  // A run over two processes: its own curve is the whole job's; "Per process" adds each
  // process's loss and pairs/s in the run's colour, a dash pattern per process, named in the
  // legend and hover, growing as the processes write, and gone when it is turned off.
  void perProcessCurvesOfADistributedRun() {
    const std::string db = m_dir.filePath(QStringLiteral("dist.db")).toStdString();
    std::int64_t run = 0;
    auto rankRow = [&](int step, const char* key, double value, int rank) {
      core::MetricRow r{run, "model", step, 0.1 * step, key, value};
      r.rank = rank;
      return r;
    };
    {
      core::RunWriter w(db);
      run = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.setDistributed(run, 2, "gloo", "a,b");
      for (int step = 1; step <= 10; ++step) {
        w.addMetric({run, "model", step, 0.1 * step, "loss", 0.5});
        for (int rank : {0, 1}) {
          w.addMetric(rankRow(step, "loss", 0.4 + 0.2 * rank, rank));
          w.addMetric(rankRow(step, "pairs_per_s", 100.0 + rank, rank));
          w.addMetric(rankRow(step, "allreduce_s", 0.01, rank));
        }
      }
      w.flush();
    }
    auto store = core::RunStore::open(db);
    ui::MonitorView view;
    view.resize(1000, 1400);
    view.setStore(store.get());
    view.showRuns({run});
    ui::CurvePlot* loss = view.plotFor("loss");
    const QString rank1 = ui::MonitorView::rankCurveId(run, "model", "loss", 1);
    QCOMPARE(loss->curveData(ui::MonitorView::curveId(run, "model", "loss")).size(), 10);
    QVERIFY(loss->curveData(rank1).isEmpty());  // off by default

    auto* perRank = view.findChild<QCheckBox*>(QStringLiteral("perRank"));
    QVERIFY(perRank);
    perRank->setChecked(true);
    const auto points = loss->curveData(rank1);
    QCOMPARE(points.size(), 10);
    QCOMPARE(points.front().y(), 0.6);
    QCOMPARE(loss->curveData(ui::MonitorView::rankCurveId(run, "model", "loss", 0)).size(), 10);
    QCOMPARE(view.plotFor("pairs_per_s")
                 ->curveData(ui::MonitorView::rankCurveId(run, "model", "pairs_per_s", 1))
                 .front()
                 .y(),
             101.0);
    const QPen own = loss->curvePen(ui::MonitorView::curveId(run, "model", "loss"));
    const QPen p0 = loss->curvePen(ui::MonitorView::rankCurveId(run, "model", "loss", 0));
    const QPen p1 = loss->curvePen(rank1);
    QCOMPARE(p1.color(), own.color());
    QVERIFY(p0.style() != p1.style() && p1.style() != own.style());
    QVERIFY(loss->legendLabels().contains(QStringLiteral("process 1")));

    // The processes go on writing: what the watcher brings makes the view read their rows too.
    {
      core::RunWriter w(db);
      w.addMetric({run, "model", 11, 1.1, "loss", 0.45});
      for (int rank : {0, 1}) w.addMetric(rankRow(11, "loss", 0.3, rank));
      w.flush();
    }
    ui::LiveBatch batch;
    batch.dbPath = store->path();
    batch.remote = true;
    batch.metrics.push_back({run, "model", 11, 1.1, "loss", 0.45});
    view.appendLive(batch);
    QCOMPARE(loss->curveData(rank1).size(), 11);
    QCOMPARE(loss->curveData(rank1).back().y(), 0.3);

    perRank->setChecked(false);
    QVERIFY(loss->curveData(rank1).isEmpty());
    QCOMPARE(loss->curveData(ui::MonitorView::curveId(run, "model", "loss")).size(), 11);
    QVERIFY(!loss->legendLabels().contains(QStringLiteral("process 1")));
  }

  void hoverNamesRunMethodSeedAndComponent() {
    std::unique_ptr<core::RunStore> store;
    auto view = monitor(store, m_all);
    QVERIFY(view);
    ui::CurvePlot* acc = view->plotFor("val_accuracy");
    const std::int64_t rodos2 = m_four[3];
    const QString id = ui::MonitorView::curveId(rodos2, "rm:ranked", "val_accuracy");
    const QPointF at = acc->curvePixel(id, 0);
    QVERIFY(acc->axisRect()->rect().contains(at.toPoint()));
    const QString text = acc->hoverText(at);
    QVERIFY2(
        text.startsWith(
            QStringLiteral("#%1 rodos · seed 2 · rm:ranked · validation accuracy: ").arg(rodos2)),
        qPrintable(text));
    QVERIFY2(text.contains(QString::number(level(3, 1), 'g', 5)), qPrintable(text));
    // The hovered curve is drawn thicker.
    QVERIFY(
        acc->curvePen(id).widthF() >
        acc->curvePen(ui::MonitorView::curveId(m_four[2], "rm:ranked", "val_accuracy")).widthF());
    // The router's curve is another component of the same run.
    const QString router = ui::MonitorView::curveId(rodos2, "router", "val_router_accuracy");
    const QString routerText = acc->hoverText(acc->curvePixel(router, 0));
    QVERIFY2(routerText.startsWith(
                 QStringLiteral("#%1 rodos · seed 2 · router · routing accuracy: ").arg(rodos2)),
             qPrintable(routerText));
    // Away from every curve (left of the first evaluation, at step 10): the values there, cut
    // short with twelve runs' curves.
    const QPointF empty(acc->axisRect()->left() + 2, acc->axisRect()->center().y());
    const QStringList lines = acc->hoverText(empty).split('\n');
    QCOMPARE(lines.size(), ui::CurvePlot::kHoverLines + 1);
    QVERIFY2(lines.last().contains(QStringLiteral("more")), qPrintable(lines.last()));
  }
};

QTEST_MAIN(TestMonitorView)
#include "tst_monitorview.moc"
