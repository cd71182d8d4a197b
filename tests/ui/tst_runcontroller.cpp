// Training from the window: a tiny real run streams its metrics into the Monitor while it goes,
// pause holds it, cancel leaves it `cancelled`, and a run another process writes is watched.
#include <sqlite3.h>

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <QtTest>
#include <fstream>
#include <set>

#include "config/config.h"
#include "configform.h"
#include "configureview.h"
#include "mainwindow.h"
#include "monitorview.h"
#include "runbrowser.h"
#include "runcontroller.h"
#include "store/runstore.h"

using namespace rr;

namespace {

std::string tinyConfig(const char* name, int epochs) {
  return std::string(R"({"name": ")") + name + R"(",
    "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "ranked"], "seed": 7},
             "split": {"train": 0.7, "validation": 0.1, "test": 0.2}},
    "tokenizer": {"vocab_size": 100},
    "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32},
    "pretrain": {"enabled": false},
    "training": {"lr": 0.001, "batch_size": 8, "epochs": )" +
         std::to_string(epochs) + R"(, "eval_every": 3, "seed": 1, "seeds": 1},
    "methods": [{"method": "baseline"}]})";
}

}  // namespace

class TestRunController : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

  QString dbPath(const char* name) { return m_dir.filePath(QString::fromLatin1(name)); }

  // The status column of a run's row in the browser, as shown.
  static QString browserStatus(ui::MainWindow& w, std::int64_t runId) {
    auto* tree = w.browser()->findChild<QTreeWidget*>(QStringLiteral("runTree"));
    for (QTreeWidgetItemIterator it(tree); *it; ++it)
      if ((*it)->childCount() == 0 && (*it)->text(0).endsWith(QStringLiteral("#%1").arg(runId)))
        return (*it)->text(1);
    return {};
  }

  static QAction* menuAction(ui::MainWindow& w, const QString& text) {
    for (QAction* a : w.findChildren<QAction*>())
      if (a->text() == text) return a;
    return nullptr;
  }

  static void startFromConfigure(ui::MainWindow& w, const std::string& json) {
    w.configureView()->form()->setConfig(core::parseExperimentConfig(json, "tiny.json"),
                                         QStringLiteral("tiny.json"), QStringLiteral("."));
    QTest::mouseClick(w.configureView()->findChild<QPushButton*>(QStringLiteral("runButton")),
                      Qt::LeftButton);
    QVERIFY(w.controller()->busy());
    QCOMPARE(w.currentView(), ui::MainWindow::Monitor);
  }

 private Q_SLOTS:
  // The window remembers its last database in QSettings: keep the user's settings out of it.
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  void monitorReceivesMetricsOfARealRun() {
    ui::MainWindow w;
    w.show();
    QVERIFY(w.openDatabase(dbPath("live.db")));
    int liveBatchesWithMetrics = 0;
    connect(w.controller(), &ui::RunController::batchReady, this,
            [&](const ui::LiveBatch& b) { liveBatchesWithMetrics += !b.metrics.empty(); });
    startFromConfigure(w, tinyConfig("live", 2));
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->busy(), 60000);
    QVERIFY(liveBatchesWithMetrics > 0);

    auto store = core::RunStore::open(dbPath("live.db").toStdString());
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(core::toString(runs[0].status)), QStringLiteral("finished"));
    std::vector<core::MetricRow> loss;
    for (const auto& m : store->metrics(runs[0].id))
      if (m.key == "loss" && m.component == "model") loss.push_back(m);
    QCOMPARE(loss.size(), std::size_t(14));  // 56 training pairs / 8 per step x 2 epochs
    // What the monitor drew live is what the run store holds.
    const QVector<QPointF> curve = w.monitorView()->curve(runs[0].id, "loss");
    QCOMPARE(curve.size(), static_cast<int>(loss.size()));
    QCOMPARE(curve.back().x(), static_cast<double>(loss.back().step));
    QCOMPARE(curve.back().y(), loss.back().value);
    QVERIFY(!w.monitorView()->curve(runs[0].id, "val_accuracy").isEmpty());
    QCOMPARE(w.browser()->runs().size(), std::size_t(1));
    QVERIFY(w.browser()->runs()[0].status == core::RunStatus::Finished);
  }

  // Issue 25, item 14: Ctrl+R runs the experiment from every view, as the Run menu shows.
  void ctrlRRunsFromEveryView() {
    ui::MainWindow w;
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QVERIFY(w.openDatabase(dbPath("ctrlr.db")));
    QAction* run = menuAction(w, QStringLiteral("&Run experiment"));
    QVERIFY(run);
    QCOMPARE(run->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_R));
    w.configureView()->form()->setConfig(
        core::parseExperimentConfig(tinyConfig("ctrlr", 1), "t.json"), QStringLiteral("t.json"),
        QStringLiteral("."));
    w.showView(ui::MainWindow::Compare);
    QTest::keyClick(&w, Qt::Key_R, Qt::ControlModifier);
    QVERIFY(w.controller()->busy());
    QCOMPARE(w.currentView(), ui::MainWindow::Monitor);
    QVERIFY(!run->isEnabled());  // one experiment at a time
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->busy(), 60000);
    QVERIFY(run->isEnabled());
  }

  // Issue 25, item 14: Open experiment (Ctrl+Shift+O) asks before unsaved edits go, as Quit
  // does; Cancel keeps them and opens nothing.
  void openExperimentAsksFirst() {
    ui::MainWindow w;
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    w.configureView()->form()->setConfig(
        core::parseExperimentConfig(tinyConfig("edited", 1), "t.json"), QStringLiteral("t.json"),
        QStringLiteral("."));
    QVERIFY(w.configureView()->isModified());
    QString asked;
    QTimer::singleShot(300, &w, [&] {
      QWidget* modal = QApplication::activeModalWidget();
      asked =
          modal ? QString::fromLatin1(modal->metaObject()->className()) : QStringLiteral("none");
      if (auto* box = qobject_cast<QMessageBox*>(modal))
        box->button(QMessageBox::Cancel)->click();
      else if (auto* dialog = qobject_cast<QDialog*>(modal))
        dialog->reject();
    });
    QTest::keyClick(&w, Qt::Key_O, Qt::ControlModifier | Qt::ShiftModifier);
    QTRY_VERIFY(!asked.isEmpty());
    QCOMPARE(asked, QStringLiteral("QMessageBox"));
    QVERIFY(w.configureView()->isModified());
    QCOMPARE(w.configureView()->form()->toJson().value("name", ""), std::string("edited"));
  }

  void pauseHoldsAndCancelLeavesTheRunCancelled() {
    ui::MainWindow w;
    w.show();
    QVERIFY(w.openDatabase(dbPath("cancel.db")));
    startFromConfigure(w, tinyConfig("cancel", 400));
    auto lossPoints = [&] {
      std::int64_t id = w.browser()->runs().empty() ? 0 : w.browser()->runs()[0].id;
      return w.monitorView()->curve(id, "loss").size();
    };
    QTRY_VERIFY_WITH_TIMEOUT(lossPoints() >= 3, 60000);
    auto* pause = w.monitorView()->findChild<QPushButton*>(QStringLiteral("pauseButton"));
    auto* cancel = w.monitorView()->findChild<QPushButton*>(QStringLiteral("cancelButton"));
    QVERIFY(pause->isEnabled() && cancel->isEnabled());
    QTest::mouseClick(pause, Qt::LeftButton);
    QTRY_VERIFY(w.controller()->paused());
    QTest::qWait(300);  // the step under way when pause came finishes
    const int held = lossPoints();
    QTest::qWait(700);
    QCOMPARE(lossPoints(), held);
    // Paused shows as paused (issue 25, item 14): the browser's status and the progress line,
    // which gives no ETA while nothing moves.
    auto* progress = w.monitorView()->findChild<QLabel*>(QStringLiteral("progressText"));
    QVERIFY(progress->text().startsWith(QStringLiteral("Paused · ")));
    QVERIFY2(!progress->text().contains(QStringLiteral("ETA")), qPrintable(progress->text()));
    QCOMPARE(browserStatus(w, w.browser()->runs()[0].id), QStringLiteral("paused"));
    QTest::mouseClick(pause, Qt::LeftButton);  // resume
    QTRY_VERIFY_WITH_TIMEOUT(lossPoints() > held, 20000);
    QCOMPARE(browserStatus(w, w.browser()->runs()[0].id), QStringLiteral("running"));
    QVERIFY(progress->text().contains(QStringLiteral("ETA")));
    QTest::mouseClick(cancel, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->busy(), 30000);
    QVERIFY(!cancel->isEnabled());

    auto store = core::RunStore::open(dbPath("cancel.db").toStdString());
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(core::toString(runs[0].status)), QStringLiteral("cancelled"));
    QVERIFY(runs[0].step < runs[0].totalSteps);
  }

  // Run > Resume run on the cancelled run: the experiment (the Configure view's, which is the
  // run's) continues the same run from its checkpoint to the end.
  void resumeActionFinishesACancelledRun() {
    ui::MainWindow w;
    w.show();
    QVERIFY(w.openDatabase(dbPath("resume.db")));
    std::string json = tinyConfig("resume", 400);
    const std::string seeds = "\"seeds\": 1";
    json.replace(json.find(seeds), seeds.size(),
                 "\"seeds\": 1, \"max_steps\": 300, \"checkpoint_every\": 5");
    startFromConfigure(w, json);
    auto lossPoints = [&] {
      std::int64_t id = w.browser()->runs().empty() ? 0 : w.browser()->runs()[0].id;
      return w.monitorView()->curve(id, "loss").size();
    };
    QTRY_VERIFY_WITH_TIMEOUT(lossPoints() >= 12, 60000);
    w.controller()->cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->busy(), 30000);
    QTRY_VERIFY_WITH_TIMEOUT(!w.browser()->runs().empty() &&
                                 w.browser()->runs()[0].status == core::RunStatus::Cancelled,
                             10000);
    QVERIFY(!w.resumeAction()->isEnabled());  // nothing selected
    w.browser()->selectAllRuns();
    QTRY_VERIFY(w.resumeAction()->isEnabled());
    w.resumeAction()->trigger();
    QVERIFY(w.controller()->busy());
    QVERIFY(!w.resumeAction()->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->busy(), 120000);

    auto store = core::RunStore::open(dbPath("resume.db").toStdString(), true);
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), std::size_t(1));  // the same run, continued
    QCOMPARE(QString::fromStdString(core::toString(runs[0].status)), QStringLiteral("finished"));
    QCOMPARE(runs[0].step, runs[0].totalSteps);
    // Every loss step once.
    std::set<std::int64_t> steps;
    for (const auto& m : store->metrics(runs[0].id))
      if (m.key == "loss") QVERIFY2(steps.insert(m.step).second, "a step stored twice");
    QCOMPARE(steps.size(), std::size_t(300));
  }

  void openingAStoreWritesNothing() {
    const QString db = dbPath("opened.db");
    {
      core::RunWriter w(db.toStdString());
      const std::int64_t id = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.setStatus(id, core::RunStatus::Running);
    }
    // Its writer is gone (no process has this pid): the window shows it interrupted, and leaves
    // recording that to the next writer.
    sqlite3* h = nullptr;
    sqlite3_open(db.toUtf8().constData(), &h);
    sqlite3_exec(h, "UPDATE runs SET pid = 2147483646", nullptr, nullptr, nullptr);
    sqlite3_close(h);
    QFile f(db);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray before = f.readAll();
    f.close();
    {
      ui::MainWindow w;
      w.show();
      QVERIFY(w.openDatabase(db));
      QTRY_VERIFY_WITH_TIMEOUT(w.browser()->runs().size() == 1, 10000);
      QVERIFY(w.browser()->runs()[0].status == core::RunStatus::Interrupted);
    }
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.readAll() == before);
  }

  void watchesARunAnotherProcessWrites() {
    const QString config = m_dir.filePath(QStringLiteral("watched.json"));
    std::ofstream(config.toStdString()) << tinyConfig("watched", 400);
    const QString db = dbPath("watched.db");
    QProcess cli;
    cli.start(QStringLiteral(RR_CLI_PATH), {QStringLiteral("run"), config, QStringLiteral("--db"),
                                            db, QStringLiteral("--quiet")});
    QVERIFY(cli.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(db), 60000);
    ui::MainWindow w;
    w.show();
    QVERIFY(w.openDatabase(db));
    QTRY_VERIFY_WITH_TIMEOUT(w.browser()->runs().size() == 1, 30000);
    const std::int64_t id = w.browser()->runs()[0].id;
    QTRY_VERIFY_WITH_TIMEOUT(w.monitorView()->curve(id, "loss").size() >= 2, 60000);
    // Not ours: the buttons stay off.
    QVERIFY(!w.monitorView()->findChild<QPushButton*>(QStringLiteral("cancelButton"))->isEnabled());
    cli.terminate();  // SIGTERM: the CLI stops cleanly and marks the run cancelled
    QVERIFY(cli.waitForFinished(30000));
    QTRY_VERIFY_WITH_TIMEOUT(w.browser()->runs()[0].status == core::RunStatus::Cancelled, 10000);
    // Everything the other process wrote reached the monitor.
    auto store = core::RunStore::open(db.toStdString());
    int stored = 0;
    for (const auto& m : store->metrics(id)) stored += m.key == "loss" && m.component == "model";
    QTRY_COMPARE_WITH_TIMEOUT(w.monitorView()->curve(id, "loss").size(), stored, 5000);
  }
};

QTEST_MAIN(TestRunController)
#include "tst_runcontroller.moc"
