// The Monitor with several runs selected: colour says the method, dashes say the seed, the legend
// names the runs (or, with many, the methods and seeds) in a row of its own above the axes, and
// hovering a curve names its run, method, seed and component.
#include <QCheckBox>
#include <QLabel>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>

#include "config/config.h"
#include "curveplot.h"
#include "monitorview.h"
#include "plotstyle.h"
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
    // Away from every curve (above them, between the evaluations at steps 10 and 20): the values
    // there, cut short with the curves of every method's two runs.
    const QPointF empty(acc->xAxis->coordToPixel(15), acc->axisRect()->top() + 2);
    const QStringList lines = acc->hoverText(empty).split('\n');
    QCOMPARE(lines.size(), ui::CurvePlot::kHoverLines + 1);
    QVERIFY2(lines.last().contains(QStringLiteral("more")), qPrintable(lines.last()));
  }

  // Issue 25, item 7: hovering lists a run only where it has points. Twelve runs: eleven end at
  // step 80, run 9 goes on to step 400; at step 349 the tooltip names run 9 alone (before, it
  // listed the others' last losses and hid run 9 under "... and 2 more").
  void hoverListsOnlyRunsWithPointsThere() {
    const std::string db = m_dir.filePath(QStringLiteral("hover.db")).toStdString();
    std::int64_t longRun = 0;
    {
      core::RunWriter w(db);
      for (int i = 1; i <= 12; ++i) {
        const std::int64_t id = w.createRun("exp", "baseline", "baseline", i, "{}");
        const int steps = i == 9 ? 400 : 80;
        if (i == 9) longRun = id;
        for (int step = 1; step <= steps; ++step)
          w.addMetric({id, "model", step, 0.1 * step, "loss", 0.2 + 0.01 * i});
        w.setStatus(id, core::RunStatus::Finished);
      }
      w.flush();
    }
    QCOMPARE(longRun, std::int64_t(9));  // last of the curves in the order the tooltip lists them
    auto store = core::RunStore::open(db, true);
    ui::MonitorView view;
    view.resize(1000, 1000);
    view.setStore(store.get());
    std::vector<std::int64_t> all;
    for (const auto& r : store->listRuns()) all.push_back(r.id);
    view.showRuns(all);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    ui::CurvePlot* loss = view.plotFor("loss");
    loss->replot();
    // Below every curve, at step 349: the mouse moves there.
    const QPoint at(qRound(loss->xAxis->coordToPixel(349)), loss->axisRect()->bottom() - 3);
    QTest::mouseMove(loss, at);
    QTRY_VERIFY(QToolTip::isVisible());
    const QStringList lines = QToolTip::text().split('\n');
    QCOMPARE(lines.size(), 2);
    QCOMPARE(lines[0], QStringLiteral("step 349"));
    QVERIFY2(lines[1].startsWith(QStringLiteral("#9 baseline · seed 9 · model · loss: ")),
             qPrintable(lines[1]));
    // At step 40 every run has points: all twelve, cut short after ten.
    QTest::mouseMove(loss, QPoint(qRound(loss->xAxis->coordToPixel(40)), at.y()));
    QTRY_VERIFY(QToolTip::text().startsWith(QStringLiteral("step 40\n")));
    QCOMPARE(QToolTip::text().split('\n').size(), 1 + ui::CurvePlot::kHoverLines + 1);
  }

  // Two runs of one method and seed (an experiment run twice into one store) draw apart: the
  // same colour (one method group, as in Compare), other dashes. The same method in another
  // experiment is another group, with a colour of its own.
  void runsOfOneMethodAndSeedDrawApart() {
    const std::string db = m_dir.filePath(QStringLiteral("twice.db")).toStdString();
    std::vector<std::int64_t> ids;
    {
      core::RunWriter w(db);
      for (const char* experiment : {"first", "first", "second"}) {
        const std::int64_t id = w.createRun(experiment, "baseline", "baseline", 1, "{}");
        for (int step = 1; step <= 5; ++step)
          w.addMetric({id, "model", step, 0.1 * step, "loss", 0.5 + 0.1 * ids.size()});
        w.setStatus(id, core::RunStatus::Finished);
        ids.push_back(id);
      }
      w.flush();
    }
    auto store = core::RunStore::open(db, true);
    ui::MonitorView view;
    view.setStore(store.get());
    view.showRuns(ids);
    ui::CurvePlot* loss = view.plotFor("loss");
    const auto pen = [&](std::int64_t id) {
      return loss->curvePen(ui::MonitorView::curveId(id, "model", "loss"));
    };
    QCOMPARE(pen(ids[0]).color(), pen(ids[1]).color());
    QVERIFY(pen(ids[0]).style() != pen(ids[1]).style());
    QVERIFY(pen(ids[2]).color() != pen(ids[0]).color());
    QCOMPARE(pen(ids[0]).color(), ui::methodColor("baseline"));
    // The legend names the groups apart.
    QCOMPARE(loss->legendLabels(),
             QStringList({QStringLiteral("#%1 first/baseline · seed 1").arg(ids[0]),
                          QStringLiteral("#%1 first/baseline · seed 1").arg(ids[1]),
                          QStringLiteral("#%1 second/baseline · seed 1").arg(ids[2])}));
  }

  // Plots with nothing to draw yet (an experiment pre-training its encoder has no run) keep
  // their size: they shrank to tiny boxes in a corner. The expert-load legend lies outside the
  // stacked area it labels.
  void emptyPlotsKeepTheirSizeAndLegendsTheirPlace() {
    auto store = core::RunStore::open(m_db, true);
    ui::MonitorView view;
    view.resize(1000, 1000);
    view.setStore(store.get());
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    for (const char* key : {"loss", "val_accuracy", "lr", "pairs_per_s"}) {
      ui::CurvePlot* p = view.plotFor(key);
      p->replot();
      QVERIFY2(p->axisRect()->width() > p->width() / 2, qPrintable(QStringLiteral("%1: %2 of %3 px")
                                                                       .arg(key)
                                                                       .arg(p->axisRect()->width())
                                                                       .arg(p->width())));
    }
    auto* load = view.findChild<QCustomPlot*>(QStringLiteral("loadPlot"));
    QVERIFY(load);
    {
      // Four experts' load over 20 steps of the newest shown run.
      const std::string db = m_dir.filePath(QStringLiteral("load.db")).toStdString();
      core::RunWriter w(db);
      const std::int64_t id = w.createRun("exp", "more", "more", 1, "{}");
      for (int step = 1; step <= 20; ++step)
        for (const char* e : {"e0", "e1", "e2", "e3"})
          w.addMetric({id, "model", step, 0.1 * step, std::string("load/") + e, 0.25});
      w.flush();
      auto loadStore = core::RunStore::open(db, true);
      view.setStore(loadStore.get());
      view.showRuns({id});
      view.findChild<QTabWidget*>()->setCurrentIndex(1);
      load->replot();
      QCOMPARE(load->legend->itemCount(), 4);
      QVERIFY(load->legend->visible());
      QVERIFY(!load->legend->outerRect().intersects(load->axisRect()->rect()));
      QVERIFY(load->axisRect()->width() > load->width() / 2);
      view.setStore(nullptr);
    }
  }

  // A plot squeezed small keeps its value ticks apart: labels do not print over each other.
  void valueTicksStayApartOnSmallPlots() {
    ui::CurvePlot plot(QStringLiteral("Learning rate"));
    plot.resize(600, 120);
    QVector<double> xs, ys;
    for (int i = 0; i <= 100; ++i) {
      xs.append(i);
      ys.append(1e-3 * (1 - i / 100.0));
    }
    plot.append(QStringLiteral("lr"), QStringLiteral("lr"), {Qt::blue, Qt::SolidLine}, xs, ys);
    plot.xAxis->setRange(0, 100);
    plot.fitValueRange();
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replot();
    plot.replot();  // the tick count follows the axis height of the layout before
    const QVector<double> ticks = plot.yAxis->tickVector();
    QVERIFY(ticks.size() >= 2);
    const int line = QFontMetrics(plot.yAxis->tickLabelFont()).height();
    for (int i = 1; i < ticks.size(); ++i) {
      const double gap =
          std::abs(plot.yAxis->coordToPixel(ticks[i]) - plot.yAxis->coordToPixel(ticks[i - 1]));
      QVERIFY2(gap >= 1.5 * line,
               qPrintable(QStringLiteral("%1 px between ticks, labels %2 px").arg(gap).arg(line)));
    }
  }

  // Before its runs exist an experiment pre-trains the encoder they share: the progress line
  // says so (it said "#0 pretrain seed 0"); paused, it says that and gives no ETA.
  void progressLineOfPreTrainingAndPause() {
    auto store = core::RunStore::open(m_db, true);
    ui::MonitorView view;
    view.setStore(store.get());
    ui::LiveBatch batch;
    batch.dbPath = store->path();
    core::ProgressInfo p;
    p.method = "pretrain";
    p.runCount = 12;
    p.step = 40;
    p.totalSteps = 3000;
    p.etaSeconds = 65;
    p.pairsPerSecond = 300;
    batch.progress = p;
    auto* progress = view.findChild<QLabel*>(QStringLiteral("progressText"));
    QVERIFY(progress);
    view.setJobActive(true, false);
    view.appendLive(batch);
    QCOMPARE(progress->text(),
             QStringLiteral("Pre-training the encoder shared by the experiment's 12 runs · step "
                            "40/3000 · 300 pairs/s · ETA 1m05s"));
    view.setJobActive(true, true);
    QCOMPARE(progress->text(),
             QStringLiteral("Paused · Pre-training the encoder shared by the experiment's 12 runs "
                            "· step 40/3000"));
    view.setJobActive(true, false);
    QVERIFY(progress->text().endsWith(QStringLiteral("ETA 1m05s")));
    // The run the line is about ends: the line says so rather than "step 84/84 · ETA 0s".
    ui::LiveBatch last;
    last.dbPath = store->path();
    p.runId = m_four[0];
    p.method = "baseline";
    p.seed = 1;
    p.step = p.totalSteps = 84;
    p.etaSeconds = 0;
    last.progress = p;
    last.statuses.push_back({m_four[0], core::RunStatus::Finished, ""});
    view.appendLive(last);
    QCOMPARE(progress->text(),
             QStringLiteral("#%1 baseline seed 1 finished · no run in progress").arg(m_four[0]));
  }
};

QTEST_MAIN(TestMonitorView)
#include "tst_monitorview.moc"
