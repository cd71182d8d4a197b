// "Evaluate on…": the window scores a pairs file with a finished run's saved system on a worker
// thread, stores it as an evaluation of the run (or imports a dataset file first), refreshes
// Compare and Inspect, and on a refusal stores nothing and says why in one line.
#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <optional>

#include "compareview.h"
#include "config/config.h"
#include "evaluatecontroller.h"
#include "evaluatedialog.h"
#include "inspectview.h"
#include "mainwindow.h"
#include "run/experiment.h"
#include "runbrowser.h"
#include "store/runstore.h"
#include "train/runcontrol.h"

using namespace rr;

namespace {

constexpr const char* kTiny = R"({"name": "tiny",
    "data": {"synthetic": {"pairs_per_domain": 20, "domains": ["harmless", "ranked"], "seed": 7},
             "split": {"train": 0.7, "validation": 0.1, "test": 0.2}},
    "tokenizer": {"vocab_size": 100},
    "encoder": {"preset": "tiny", "hidden": 16, "layers": 1, "heads": 2, "ffn": 32, "max_len": 24},
    "pretrain": {"enabled": false},
    "training": {"lr": 0.001, "batch_size": 8, "epochs": 1, "eval_every": 100, "seed": 1,
                 "seeds": 1},
    "methods": [{"method": "baseline"}]})";

class NullSink : public core::MetricSink {
 public:
  void metric(const core::MetricRow&) override {}
  void progress(const core::ProgressInfo&) override {}
  void log(std::int64_t, core::LogLevel, const std::string&) override {}
  void runStatus(std::int64_t, core::RunStatus, const std::string&) override {}
};

QString writeFile(const QString& path, const QByteArray& text) {
  QFile f(path);
  f.open(QIODevice::WriteOnly);
  f.write(text);
  return path;
}

// The window's evaluation, waited for.
std::optional<ui::EvaluateOutcome> evaluateWith(ui::MainWindow& w, const ui::EvaluateJob& job) {
  std::optional<ui::EvaluateOutcome> result;
  auto c = QObject::connect(w.evaluateController(), &ui::EvaluateController::finished,
                            [&result](const ui::EvaluateOutcome& o) { result = o; });
  if (w.startEvaluation(job)) {
    QTest::qWait(0);
    (void)QTest::qWaitFor([&] { return result.has_value(); }, 60000);
  }
  QObject::disconnect(c);
  return result;
}

}  // namespace

class TestEvaluateOn : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  QString m_db;
  std::int64_t m_run = 0;

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    m_db = m_dir.filePath(QStringLiteral("eval.db"));
    core::ExperimentOptions options;
    options.dbPath = m_db.toStdString();
    options.inferenceRepeats = 1;
    NullSink sink;
    core::RunControl control;
    core::runExperiment(core::parseExperimentConfig(kTiny, "tiny.json"), options, sink, control);
    auto store = core::RunStore::open(m_db.toStdString(), true);
    QCOMPARE(store->listRuns().size(), std::size_t(1));
    m_run = store->listRuns()[0].id;
  }

  void storesAnEvaluationAndRefreshesTheViews() {
    const QString pairs =
        writeFile(m_dir.filePath(QStringLiteral("bench.jsonl")),
                  R"({"domain": "qa", "prompt": "2+2?", "chosen": "4", "rejected": "5"}
{"domain": "qa", "prompt": "3+3?", "chosen": "6", "rejected": "seven"}
{"domain": "chat", "prompt": "Hi", "chosen": "Hello, how can I help?", "rejected": "No."}
)");
    ui::MainWindow w;
    QVERIFY(w.openDatabase(m_db));
    QVERIFY(!w.evaluateAction()->isEnabled());  // nothing selected
    w.browser()->selectRuns({m_run});
    QVERIFY(w.evaluateAction()->isEnabled());
    w.showView(ui::MainWindow::Compare);

    ui::EvaluateJob job;
    job.runId = m_run;
    job.pairsPath = pairs;
    const auto done = evaluateWith(w, job);
    QVERIFY(done.has_value());
    QVERIFY2(done->error.isEmpty(), qPrintable(done->error));
    QCOMPARE(done->name, QStringLiteral("bench"));  // the file's stem
    QCOMPARE(done->pairs, std::int64_t(3));
    QVERIFY(!w.evaluateController()->busy());
    QVERIFY(w.evaluateAction()->isEnabled());

    auto store = core::RunStore::open(m_db.toStdString(), true);
    const auto evals = store->evaluations({m_run});
    QCOMPARE(evals.size(), std::size_t(1));
    QCOMPARE(evals[0].name, std::string("bench"));
    QCOMPARE(evals[0].id, done->evaluationId);
    const auto scored = store->evaluationPairs(evals[0].id);
    QCOMPARE(scored.size(), std::size_t(3));
    std::int64_t right = 0;
    for (const auto& p : scored) right += p.correct;
    QCOMPARE(done->right, right);

    // Compare (shown) lists it at once; Inspect offers it as a source.
    QTableWidget* t = w.compareView()->evaluationTable();
    QCOMPARE(t->rowCount(), 1);
    QCOMPARE(t->item(0, 1)->text(), QStringLiteral("bench"));
    w.showView(ui::MainWindow::Inspect);
    QComboBox* source = w.inspectView()->sourceBox();
    QVERIFY(source->findData(QStringLiteral("bench")) > 0);
    source->setCurrentIndex(source->findData(QStringLiteral("bench")));
    QCOMPARE(w.inspectView()->model()->rowCount(), 3);

    // The same name again: refused with the core's one line, nothing stored.
    const auto again = evaluateWith(w, job);
    QVERIFY(again.has_value());
    QCOMPARE(again->error, QStringLiteral("%1: run %2 already has an evaluation named 'bench'; "
                                          "choose another --name")
                               .arg(m_db)
                               .arg(m_run));
    QCOMPARE(again->evaluationId, std::int64_t(0));
    QCOMPARE(store->evaluations({m_run}).size(), std::size_t(1));

    // A bad line: FILE:LINE first, nothing stored.
    job.pairsPath = writeFile(m_dir.filePath(QStringLiteral("bad.jsonl")), "{\"domain\": 1}\n");
    const auto bad = evaluateWith(w, job);
    QVERIFY(bad.has_value());
    QVERIFY2(bad->error.startsWith(job.pairsPath + ":1: "), qPrintable(bad->error));
    QVERIFY(!bad->error.contains('\n'));
    QCOMPARE(store->evaluations({m_run}).size(), std::size_t(1));
  }

  // Issue 25, item 11: a Parquet file typed into Evaluate on… is told by its bytes, as the CLI's
  // import tells it, and imported as RewardBench; the dialog stays open while the job runs, and
  // on an error shows it with what was typed, until an evaluation is stored.
  void typedParquetPathIsImportedAndErrorsKeepTheDialog() {
    const QString parquet = m_dir.filePath(QStringLiteral("typed.parquet"));
    QVERIFY(QFile::copy(QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/parquet/rewardbench.parquet"),
                        parquet));
    const QString broken = writeFile(m_dir.filePath(QStringLiteral("broken.parquet")),
                                     QByteArray("PAR1") + QByteArray(64, 'x') + "PAR1");
    ui::MainWindow w;
    w.show();
    QVERIFY(w.openDatabase(m_db));
    w.browser()->selectRuns({m_run});
    QVERIFY(w.evaluateAction()->isEnabled());
    w.evaluateAction()->trigger();
    ui::EvaluateDialog* dialog = w.findChild<ui::EvaluateDialog*>();
    QVERIFY(dialog && dialog->isVisible());
    auto* file = dialog->findChild<QLineEdit*>(QStringLiteral("pairsFile"));
    QPushButton* evaluate = nullptr;
    for (QPushButton* b : dialog->findChildren<QPushButton*>())
      if (b->text() == QStringLiteral("Evaluate")) evaluate = b;
    QVERIFY(file && evaluate);

    // The broken file first: detected, imported, refused; the dialog stays with what was typed.
    QTest::keyClicks(file, broken);
    QCOMPARE(dialog->formatBox()->currentData().toString(), QStringLiteral("rewardbench"));
    QCOMPARE(dialog->outputEdit()->text(), m_dir.filePath(QStringLiteral("broken.pairs.jsonl")));
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("typed"));
    QTest::mouseClick(evaluate, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!w.evaluateController()->busy() && evaluate->isEnabled(), 60000);
    auto* error = dialog->findChild<QLabel*>(QStringLiteral("evaluateError"));
    QVERIFY(error);
    QTRY_VERIFY(error->isVisible());
    QVERIFY(dialog->isVisible());
    QVERIFY2(error->text().startsWith(broken + QStringLiteral(": ")), qPrintable(error->text()));
    QVERIFY(!error->text().contains('\n'));
    QCOMPARE(file->text(), broken);
    QCOMPARE(dialog->nameEdit()->text(), QStringLiteral("typed"));

    // The right file typed over it: stored, and the dialog closes.
    file->selectAll();
    QTest::keyClicks(file, parquet);
    QCOMPARE(dialog->formatBox()->currentData().toString(), QStringLiteral("rewardbench"));
    const QString out = m_dir.filePath(QStringLiteral("typed.pairs.jsonl"));
    dialog->outputEdit()->setText(out);
    QPointer<ui::EvaluateDialog> open(dialog);
    QTest::mouseClick(evaluate, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(open.isNull() || !open->isVisible(), 60000);
    auto store = core::RunStore::open(m_db.toStdString(), true);
    bool found = false;
    for (const auto& e : store->evaluations({m_run}))
      if (e.name == "typed") {
        found = true;
        QCOMPARE(QString::fromStdString(e.source), out);
        QVERIFY(e.pairs > 0);
      }
    QVERIFY(found);
  }

  void importsADatasetFileFirst() {
    const QString rb = writeFile(
        m_dir.filePath(QStringLiteral("rb.jsonl")),
        R"({"prompt":"Is water wet?","chosen":"Yes, water makes things wet.","chosen_model":"a","rejected":"No.","rejected_model":"b","subset":"alpacaeval-easy","id":1}
{"prompt":"Say hi","chosen":"Hi!","chosen_model":"a","rejected":"Go away.","rejected_model":"b","subset":"refusals-offensive","id":3}
)");
    ui::EvaluateDialog dialog(m_run, QStringLiteral("run"));
    dialog.setPairsFile(rb);
    dialog.formatBox()->setCurrentIndex(
        dialog.formatBox()->findData(QStringLiteral("rewardbench")));
    const QString out = m_dir.filePath(QStringLiteral("rb.pairs.jsonl"));
    QCOMPARE(dialog.outputEdit()->text(), out);
    QCOMPARE(dialog.nameEdit()->placeholderText(), QStringLiteral("rb.pairs"));
    dialog.nameEdit()->setText(QStringLiteral("rewardbench"));
    ui::EvaluateJob job = dialog.job();
    QCOMPARE(job.importFormat, QStringLiteral("rewardbench"));

    ui::MainWindow w;
    QVERIFY(w.openDatabase(m_db));
    const auto done = evaluateWith(w, job);
    QVERIFY(done.has_value());
    QVERIFY2(done->error.isEmpty(), qPrintable(done->error));
    QVERIFY(QFileInfo::exists(out));
    auto store = core::RunStore::open(m_db.toStdString(), true);
    bool found = false;
    for (const auto& e : store->evaluations({m_run}))
      if (e.name == "rewardbench") {
        found = true;
        QCOMPARE(e.pairs, std::int64_t(2));
        QCOMPARE(QString::fromStdString(e.source), out);
      }
    QVERIFY(found);
  }
};

QTEST_MAIN(TestEvaluateOn)
#include "tst_evaluateon.moc"
