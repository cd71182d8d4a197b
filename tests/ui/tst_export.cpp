// "Export as Hugging Face folder…": the window exports the selected finished run on a worker
// thread into a new or empty folder and reports the folders written, or the core's reason.
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QLineEdit>
#include <QMessageBox>
#include <QProcess>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <optional>

#include "mainwindow.h"
#include "runbrowser.h"
#include "store/runstore.h"

using namespace rr;

namespace {

QString fixture(const QString& name) {
  return QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/") + name;
}

QString writeFile(const QString& path, const QByteArray& text) {
  QFile f(path);
  f.open(QIODevice::WriteOnly);
  f.write(text);
  return path;
}

// `rewardrouter-cli run CONFIG --db DB`; the CLI's stderr when it fails.
QString runCli(const QString& config, const QString& db) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), {"run", config, "--db", db});
  if (!p.waitForFinished(170000)) return QStringLiteral("rewardrouter-cli did not finish");
  if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
    return QString::fromUtf8(p.readAllStandardError());
  return {};
}

// The window's export of one run, waited for.
std::optional<ui::RunExport> exportWith(ui::MainWindow& w, std::int64_t runId, const QString& dir) {
  std::optional<ui::RunExport> result;
  auto c = QObject::connect(&w, &ui::MainWindow::exportFinished,
                            [&result](const ui::RunExport& r) { result = r; });
  if (w.startExport(runId, dir))
    (void)QTest::qWaitFor([&] { return result.has_value(); }, 60000);  // the caller checks it
  QObject::disconnect(c);
  return result;
}

}  // namespace

class TestExport : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void initTestCase() {
    qputenv("RR_CACHE_DIR", m_dir.path().toUtf8());
    QCoreApplication::setOrganizationName(QStringLiteral("rr-test-export"));
  }

  // A published reward model as the `pretrained` method: evaluated, nothing trained.
  void exportsTheSelectedRun() {
    const QString db = m_dir.path() + "/hf.db";
    const QString cfg = writeFile(m_dir.path() + "/hf.json", QStringLiteral(R"({"name": "hf",
      "data": {"synthetic": {"pairs_per_domain": 20, "domains": ["harmless", "ranked"], "seed": 7}},
      "encoder": {"pretrained": "%1", "max_len": 40},
      "training": {"batch_size": 16, "epochs": 1, "seed": 1, "seeds": 1},
      "methods": [{"method": "pretrained", "model": "%1"}]})")
                                                                 .arg(fixture("bert-rm"))
                                                                 .toUtf8());
    const QString err = runCli(cfg, db);
    QVERIFY2(err.isEmpty(), qPrintable(err));

    ui::MainWindow w;
    QVERIFY(w.openDatabase(db));
    QCOMPARE(w.browser()->runs().size(), size_t(1));
    const std::int64_t runId = w.browser()->runs()[0].id;
    QVERIFY(!w.exportAction()->isEnabled());  // nothing selected
    w.browser()->selectRuns({runId});
    QVERIFY(w.exportAction()->isEnabled());
    QVERIFY(w.browser()->findChild<QWidget*>("runTree")->actions().contains(w.exportAction()));

    const QString out = m_dir.path() + "/export";
    std::optional<ui::RunExport> r;
    {
      auto c = QObject::connect(&w, &ui::MainWindow::exportFinished,
                                [&r](const ui::RunExport& e) { r = e; });
      QVERIFY(w.startExport(runId, out));
      // While the worker writes, the action is off and a second export is refused.
      QVERIFY(w.exportBusy());
      QVERIFY(!w.exportAction()->isEnabled());
      QVERIFY(!w.startExport(runId, m_dir.path() + "/other"));
      QTRY_VERIFY_WITH_TIMEOUT(r.has_value(), 60000);
      QObject::disconnect(c);
    }
    QVERIFY2(r->error.isEmpty(), qPrintable(r->error));
    QCOMPARE(r->folders, QStringList{QDir(out).absolutePath()});
    for (const char* f : {"config.json", "model.safetensors", "vocab.txt"})
      QVERIFY2(QFile::exists(out + "/" + f), f);
    QVERIFY(!w.exportBusy());
    QVERIFY(w.exportAction()->isEnabled());

    // The folder now holds a model: a second export into it is refused with the reason.
    auto again = exportWith(w, runId, out);
    QVERIFY(again);
    QVERIFY2(again->error.contains("exists and is not an empty folder"), qPrintable(again->error));
    QVERIFY(again->folders.isEmpty());

    // Issue 25, item 12: File > Export… takes the name of a new folder typed into its picker
    // (which said "Directory not found").
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    std::optional<ui::RunExport> typed;
    auto c = QObject::connect(&w, &ui::MainWindow::exportFinished,
                              [&typed](const ui::RunExport& e) { typed = e; });
    QString refused;
    QTimer::singleShot(300, &w, [&] {
      auto* picker = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
      if (!picker) return;
      auto* name = picker->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
      if (!name) return picker->reject();
      // A refusal comes as a message box over the picker: closed, and the picker with it.
      QTimer::singleShot(300, picker, [&refused, picker] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
          refused = box->text();
          box->reject();
          picker->reject();
        }
      });
      QTest::keyClicks(name, QStringLiteral("typed-export"));
      QTest::keyClick(name, Qt::Key_Return);
    });
    w.exportAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(typed.has_value() || !refused.isEmpty(), 60000);
    QObject::disconnect(c);
    QVERIFY2(refused.isEmpty(), qPrintable(refused));
    QVERIFY2(typed->error.isEmpty(), qPrintable(typed->error));
    QCOMPARE(typed->outDir, QDir(m_dir.path()).filePath(QStringLiteral("typed-export")));
    QVERIFY(QFile::exists(typed->outDir + "/config.json"));

    // A run that has not finished: the action is off and the core says why.
    std::int64_t queued = 0;
    {
      core::RunWriter writer(db.toStdString());
      queued = writer.createRun("hf", "baseline", "baseline", 1, "{}");
    }
    QVERIFY(w.openDatabase(db));
    w.browser()->selectRuns({queued});
    QVERIFY(!w.exportAction()->isEnabled());
    const QString out2 = m_dir.path() + "/queued";
    auto unfinished = exportWith(w, queued, out2);
    QVERIFY(unfinished);
    QVERIFY2(unfinished->error.contains("only a finished run can be exported"),
             qPrintable(unfinished->error));
    QVERIFY(!QFileInfo::exists(out2));
  }

  // A run on RewardRouter's own encoder has no Hugging Face layout to write.
  void ownEncoderRunReportsTheReason() {
    const QString db = m_dir.path() + "/own.db";
    const QString cfg = writeFile(m_dir.path() + "/own.json", R"({"name": "own",
      "data": {"synthetic": {"pairs_per_domain": 20, "domains": ["harmless", "ranked"]}},
      "tokenizer": {"vocab_size": 200},
      "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32},
      "pretrain": {"steps": 2}, "training": {"epochs": 1},
      "methods": [{"method": "baseline"}]})");
    const QString err = runCli(cfg, db);
    QVERIFY2(err.isEmpty(), qPrintable(err));

    ui::MainWindow w;
    QVERIFY(w.openDatabase(db));
    const std::int64_t runId = w.browser()->runs().at(0).id;
    w.browser()->selectRuns({runId});
    QVERIFY(w.exportAction()->isEnabled());  // finished: the core decides
    const QString out = m_dir.path() + "/own-export";
    auto r = exportWith(w, runId, out);
    QVERIFY(r);
    QVERIFY2(r->error.contains("own encoder"), qPrintable(r->error));
    QVERIFY(!QFileInfo::exists(out));
    // The path without the window gives the same answer.
    QCOMPARE(ui::exportRunFolders(db, runId, out).error, r->error);
  }
};

QTEST_MAIN(TestExport)
#include "tst_export.moc"
