// The window as a whole over a store: a damaged store is named on open and no exception of its
// reads reaches Qt's event loop, whatever view is visited; one selection drives every view; a
// store that cannot be opened ends a headless screenshot at once with one line.
#include <sqlite3.h>

#include <QAbstractItemView>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QProcess>
#include <QStandardPaths>
#include <QTabBar>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>

#include "inspectview.h"
#include "mainwindow.h"
#include "monitorview.h"
#include "qcp.h"
#include "runbrowser.h"
#include "scorebox.h"
#include "store/runstore.h"

using namespace rr;

namespace {

// What the window's message bar shows ("" while it is hidden).
QString shownError(const ui::MainWindow& w) {
  const auto* bar = w.findChild<QWidget*>(QStringLiteral("messageBar"));
  const auto* text = w.findChild<QLabel*>(QStringLiteral("messageText"));
  return bar && text && !bar->isHidden() ? text->text() : QString();
}

const char* const kDomains[] = {"harmless", "ranked"};

// Two finished RODOS-like runs over two domains, everything a view reads: metrics (loss,
// accuracy, expert load), logs, results, components, routed test examples with their texts,
// validation rewards and an evaluation.
std::vector<std::int64_t> writeStore(const std::string& db) {
  core::RunWriter w(db);
  std::vector<core::PreferencePair> texts;
  for (const char* d : kDomains)
    for (int i = 0; i < 12; ++i) {
      core::PreferencePair p;
      p.id = std::string(d) + std::to_string(i);
      p.domain = d;
      p.prompt = "prompt " + p.id;
      p.chosen = std::string(static_cast<std::size_t>(10 + i), 'c');
      p.rejected = std::string(static_cast<std::size_t>(20 - i), 'r');
      p.split = "test";
      texts.push_back(p);
    }
  w.addPairs(texts);
  std::vector<std::int64_t> ids;
  for (int seed = 1; seed <= 2; ++seed) {
    const std::int64_t id = w.createRun("exp", "rodos", "rodos", seed, "{}");
    for (int step = 1; step <= 30; ++step) {
      w.addMetric({id, "router", step, 0.1 * step, "loss", 1.0 / step});
      w.addMetric({id, "router", step, 0.1 * step, "load/harmless", 0.4});
      w.addMetric({id, "router", step, 0.1 * step, "load/ranked", 0.6});
      if (step % 10 == 0) w.addMetric({id, "router", step, 0.1 * step, "val_accuracy", 0.6});
    }
    w.addLog({id, 1.0, core::LogLevel::Info, "training"});
    std::vector<core::ExampleRow> rows, validation;
    for (std::size_t k = 0; k < texts.size(); ++k) {
      core::ExampleRow e;
      e.runId = id;
      e.exampleId = texts[k].id;
      e.domain = texts[k].domain;
      e.rewardChosen = 0.1 * static_cast<double>(k % 5) - 0.1 * seed;
      e.rewardRejected = 0.05 * static_cast<double>(k % 3);
      e.correct = e.rewardChosen > e.rewardRejected;
      e.routedTo = k % 4 == 0 ? "ranked" : texts[k].domain;
      e.detailJson = R"({"harmless": 0.3, "ranked": 0.7})";
      rows.push_back(e);
      e.exampleId = "v" + e.exampleId;
      validation.push_back(e);
    }
    w.addExamples(rows);
    w.addValidationExamples(validation);
    w.addResults({{id, "harmless", "accuracy", 0.6},
                  {id, "ranked", "accuracy", 0.5},
                  {id, "*", "accuracy", 0.55},
                  {id, "*", "params_total", 1e6},
                  {id, "*", "router_accuracy", 0.8}});
    w.addComponent({id, "router", 1000, 1000, 1.5});
    std::vector<core::EvaluationExample> eval;
    for (std::size_t k = 0; k < 4; ++k) {
      core::EvaluationExample x;
      x.row = rows[k];
      eval.push_back(x);
    }
    w.addEvaluation(id, "bench", "bench.jsonl", {texts.begin(), texts.begin() + 4}, eval);
    w.setStatus(id, core::RunStatus::Finished);
    ids.push_back(id);
  }
  w.flush();
  return ids;
}

// The store's damage as the core finds it: what opening it throws, or its quick check.
std::string coreDamage(const std::string& db) {
  try {
    return core::RunStore::open(db, true)->quickCheck();
  } catch (const std::exception& e) {
    return e.what();
  }
}

void clickTab(QTabWidget* tabs, int index) {
  QTest::mouseClick(tabs->tabBar(), Qt::LeftButton, {}, tabs->tabBar()->tabRect(index).center());
}

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string m_db;
  std::vector<std::int64_t> m_runs;
  // Closes any modal dialog that comes up: the window must show its errors without one, and a
  // test that finds one fails rather than waits.
  QTimer m_closer;

  // Every view visited as a user would, with the window's keys and clicks.
  static void visitEveryView(ui::MainWindow& w) {
    // The window's shortcuts act in the active window (a dialog may have taken that).
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QTest::keyClick(&w, Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);  // select all
    QTest::keyClick(&w, Qt::Key_2, Qt::ControlModifier);                      // Monitor
    auto* tabs = w.monitorView()->findChild<QTabWidget*>();
    clickTab(tabs, 1);  // Routing
    if (auto* confusion =
            w.monitorView()->findChild<QCustomPlot*>(QStringLiteral("confusionPlot"))) {
      confusion->replot();
      QTest::mouseClick(confusion, Qt::LeftButton, {},
                        QPoint(qRound(confusion->xAxis->coordToPixel(0)),
                               qRound(confusion->yAxis->coordToPixel(0))));
      QTest::qWait(0);
    }
    clickTab(tabs, 0);
    QTest::keyClick(&w, Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);
    QTest::keyClick(&w, Qt::Key_3, Qt::ControlModifier);  // Compare
    if (auto* source = w.findChild<QComboBox*>(QStringLiteral("figureSource"));
        source && source->count() > 1)
      source->setCurrentIndex(1);
    QTest::keyClick(&w, Qt::Key_4, Qt::ControlModifier);  // Inspect
    auto* table = w.inspectView()->findChild<QTableView*>(QStringLiteral("exampleTable"));
    for (int r = 0; r < 3 && r < table->model()->rowCount(); ++r)
      QTest::mouseClick(table->viewport(), Qt::LeftButton, {},
                        table->visualRect(table->model()->index(r, 1)).center());
    if (auto* source = w.findChild<QComboBox*>(QStringLiteral("pairSource"));
        source && source->count() > 1) {
      source->setCurrentIndex(1);
      if (table->model()->rowCount() > 0)
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {},
                          table->visualRect(table->model()->index(0, 1)).center());
    }
    QTest::qWait(0);
  }

 private Q_SLOTS:
  void init() { m_closer.start(200); }
  void cleanup() { m_closer.stop(); }

  void initTestCase() {
    connect(&m_closer, &QTimer::timeout, [] {
      if (auto* d = qobject_cast<QDialog*>(QApplication::activeModalWidget())) d->reject();
    });
    QStandardPaths::setTestModeEnabled(true);
    m_db = m_dir.filePath(QStringLiteral("views.db")).toStdString();
    m_runs = writeStore(m_db);
    // Everything in the main file: the copies below are the store, not a store and its WAL.
    sqlite3* h = nullptr;
    QCOMPARE(sqlite3_open(m_db.c_str(), &h), SQLITE_OK);
    QCOMPARE(sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(h);
    QFile::remove(QString::fromStdString(m_db) + "-wal");
    QVERIFY(coreDamage(m_db).empty());
  }

  // Issue 25, item 6: each page of a small store in turn overwritten with garbage, the store
  // opened and every view visited: the window lives on, and names the damage the core finds.
  void damagedStoreIsNamedAndNoViewThrows() {
    QFile pristine(QString::fromStdString(m_db));
    QVERIFY(pristine.open(QIODevice::ReadOnly));
    const QByteArray bytes = pristine.readAll();
    // The page size: big-endian at offset 16 of the header, 1 meaning 65536.
    const int stored =
        (static_cast<unsigned char>(bytes[16]) << 8) | static_cast<unsigned char>(bytes[17]);
    const int pageSize = stored == 1 ? 65536 : stored;
    const int pages = static_cast<int>(bytes.size() / pageSize);
    QVERIFY2(pages >= 10, qPrintable(QString::number(pages)));
    ui::MainWindow w;
    w.resize(1400, 900);
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    int named = 0;
    for (int page = 0; page < pages; ++page) {
      QByteArray damaged = bytes;
      for (int i = 0; i < pageSize; ++i)
        damaged[page * pageSize + i] = static_cast<char>((i * 131 + page * 17 + 7) & 0xff);
      const QString path = m_dir.filePath(QStringLiteral("damaged-%1.db").arg(page + 1));
      QFile out(path);
      QVERIFY(out.open(QIODevice::WriteOnly));
      out.write(damaged);
      out.close();
      const std::string found = coreDamage(path.toStdString());
      w.openDatabase(path);
      if (!found.empty()) {
        ++named;
        QVERIFY2(shownError(w).contains(QString::fromStdString(found)),
                 qPrintable(QStringLiteral("page %1: '%2' not in '%3'")
                                .arg(page + 1)
                                .arg(QString::fromStdString(found), shownError(w))));
      }
      visitEveryView(w);
      QVERIFY(w.isVisible());
    }
    QVERIFY2(named > pages / 2, qPrintable(QStringLiteral("%1 of %2").arg(named).arg(pages)));
  }

  // A store that cannot be opened is named once, in the core's words ("x.db: x.db: …" before).
  void openErrorNamesTheFileOnce() {
    const QString path = m_dir.filePath(QStringLiteral("notes.db"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("these are notes, not a run store\n");
    f.close();
    std::string expected;
    try {
      core::RunStore::open(path.toStdString(), true);
    } catch (const std::exception& e) {
      expected = e.what();
    }
    QVERIFY(!expected.empty());
    ui::MainWindow w;
    QVERIFY(!w.openDatabase(path));
    QCOMPARE(shownError(w), QString::fromStdString(expected));
    QCOMPARE(shownError(w).count(path), 1);
  }

  // Issue 25, item 9: a confusion-matrix cell selects its run in the browser, and that one
  // selection drives Inspect and its score box; clearing the cell's chip keeps them together.
  void confusionCellDrivesTheOneSelection() {
    ui::MainWindow w;
    w.resize(1400, 900);
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QVERIFY(w.openDatabase(QString::fromStdString(m_db)));
    QTest::keyClick(&w, Qt::Key_A, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(w.browser()->selectedRunIds(), m_runs);
    QTest::keyClick(&w, Qt::Key_2, Qt::ControlModifier);
    auto* tabs = w.monitorView()->findChild<QTabWidget*>();
    clickTab(tabs, 1);
    auto* confusion = w.monitorView()->findChild<QCustomPlot*>(QStringLiteral("confusionPlot"));
    QVERIFY(confusion);
    confusion->replot();
    // The newest routed run's matrix: its cell (true harmless, routed to ranked).
    QTest::mouseClick(confusion, Qt::LeftButton, {},
                      QPoint(qRound(confusion->xAxis->coordToPixel(1)),
                             qRound(confusion->yAxis->coordToPixel(0))));
    QTRY_COMPARE(w.currentView(), ui::MainWindow::Inspect);
    const std::int64_t run = m_runs.back();
    const std::vector<std::int64_t> one = {run};
    QCOMPARE(w.browser()->selectedRunIds(), one);
    QCOMPARE(w.inspectView()->model()->filter().base.runIds, one);
    QCOMPARE(w.inspectView()->scoreBox()->activeModel(), QStringLiteral("run %1 (rodos)").arg(run));
    auto* chip = w.inspectView()->findChild<QToolButton*>(QStringLiteral("routeChip"));
    QVERIFY(chip && chip->isVisible());
    QCOMPARE(w.inspectView()->model()->filter().routedTo, std::string("ranked"));
    for (int r = 0; r < w.inspectView()->model()->rowCount(); ++r)
      QCOMPARE(w.inspectView()->model()->example(r).runId, run);

    QTest::mouseClick(chip, Qt::LeftButton);
    QVERIFY(!chip->isVisible());
    QCOMPARE(w.browser()->selectedRunIds(), one);
    QCOMPARE(w.inspectView()->model()->filter().base.runIds, one);
    QVERIFY(w.inspectView()->model()->filter().routedTo.empty());
    QCOMPARE(w.inspectView()->scoreBox()->activeModel(), QStringLiteral("run %1 (rodos)").arg(run));
    // Back in the Monitor, the same one run.
    QTest::keyClick(&w, Qt::Key_2, Qt::ControlModifier);
    QVERIFY(!w.monitorView()->curve(run, "loss", "router").isEmpty());
    QVERIFY(w.monitorView()->curve(m_runs.front(), "loss", "router").isEmpty());
  }

  // Issue 25, item 5: `rewardrouter --screenshot` with a --db that cannot be opened (not a
  // store, empty, newer than this program) exits at once, non-zero, with one line on stderr.
  void screenshotOfAStoreThatCannotOpenExits() {
    const QString foreign = m_dir.filePath(QStringLiteral("foreign.db"));
    QFile f(foreign);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not a store at all\n");
    f.close();
    const QString empty = m_dir.filePath(QStringLiteral("empty.db"));
    QVERIFY(QFile(empty).open(QIODevice::WriteOnly));
    const QString newer = m_dir.filePath(QStringLiteral("newer.db"));
    QVERIFY(QFile::copy(QString::fromStdString(m_db), newer));
    sqlite3* h = nullptr;
    QCOMPARE(sqlite3_open(newer.toUtf8().constData(), &h), SQLITE_OK);
    QCOMPARE(sqlite3_exec(h, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    for (const QString& db : {foreign, empty, newer}) {
      const QString png = db + QStringLiteral(".png");
      QProcess gui;
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
      env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_dir.filePath(QStringLiteral("config")));
      gui.setProcessEnvironment(env);
      gui.start(QStringLiteral(RR_GUI_PATH),
                {QStringLiteral("--db"), db, QStringLiteral("--screenshot"), png});
      const bool ended = gui.waitForFinished(30000);
      if (!ended) gui.kill();
      QVERIFY2(ended, qPrintable(db + QStringLiteral(": still running after 30 s")));
      QVERIFY(gui.exitCode() != 0);
      // Its own one line, last (the offscreen platform may say something about itself first).
      const QStringList lines =
          QString::fromUtf8(gui.readAllStandardError()).split('\n', Qt::SkipEmptyParts);
      QVERIFY(!lines.isEmpty());
      QVERIFY2(lines.filter(QStringLiteral("rewardrouter: ")).size() == 1 &&
                   lines.last().startsWith(QStringLiteral("rewardrouter: ") + db + ": "),
               qPrintable(lines.join('\n')));
      QVERIFY(!QFileInfo::exists(png));
    }
  }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
