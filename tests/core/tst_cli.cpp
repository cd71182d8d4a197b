// rewardrouter-cli as a user runs it: exit codes, one-line errors, run -> report -> list, and
// what Ctrl-C and SIGKILL leave behind in the run store.
#include <signal.h>
#include <sqlite3.h>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "store/runstore.h"

using namespace rr::core;

namespace {

struct Result {
  int code = -1;
  QString out, err;
};

Result cli(const QStringList& args, int timeoutMs = 120000) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.waitForFinished(timeoutMs);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& text) {
  const QString path = dir.path() + "/" + name;
  QFile f(path);
  f.open(QIODevice::WriteOnly);
  f.write(text);
  return path;
}

QByteArray sha256(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

// An SQLite database of another program.
QString foreignDatabase(const QTemporaryDir& dir, const QString& name) {
  const QString path = dir.path() + "/" + name;
  sqlite3* h = nullptr;
  sqlite3_open(path.toUtf8().constData(), &h);
  sqlite3_exec(h, "CREATE TABLE notes(x); INSERT INTO notes VALUES('mine')", nullptr, nullptr,
               nullptr);
  sqlite3_close(h);
  return path;
}

// A run long enough to be interrupted: many epochs of the smoke model.
QByteArray longConfig() {
  return R"({"name": "long",
    "data": {"synthetic": {"pairs_per_domain": 60, "domains": ["harmless", "ranked"]}},
    "tokenizer": {"vocab_size": 300},
    "encoder": {"preset": "tiny", "hidden": 64, "layers": 1, "heads": 2, "ffn": 128, "max_len": 64},
    "training": {"batch_size": 8, "epochs": 5000},
    "methods": [{"method": "baseline"}]})";
}

// Waits until the store at db shows a run with some progress.
bool waitForProgress(const QString& db, int timeoutMs) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < timeoutMs) {
    QTest::qWait(200);
    if (!QFile::exists(db)) continue;
    try {
      auto store = RunStore::open(db.toStdString(), true);
      for (const auto& r : store->listRuns())
        if (r.status == RunStatus::Running && r.step > 3) return true;
    } catch (const std::exception&) {
      // The writer may still be creating the schema.
    }
  }
  return false;
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void usageErrorsExitTwo() {
    QCOMPARE(cli({}).code, 2);
    QCOMPARE(cli({"frobnicate"}).code, 2);
    Result r = cli({"run", "--nope"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("unknown option --nope"));
    r = cli({"report"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("--db FILE is required"));
  }

  void everySubcommandHasHelp() {
    for (const char* cmd : {"run", "report", "list", "synth", "import"}) {
      Result r = cli({cmd, "--help"});
      QCOMPARE(r.code, 0);
      QVERIFY2(r.out.startsWith(QString("usage: rewardrouter-cli ") + cmd), cmd);
    }
  }

  void badConfigIsOneLineAndWritesNothing() {
    const QString cfg = writeFile(m_dir, "bad.json", R"({"name": "bad", "data": {"synthetic": {}},
      "training": {"lr": -1}, "methods": [{"method": "baseline"}]})");
    const QString db = m_dir.path() + "/bad.db";
    Result r = cli({"run", cfg, "--db", db});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, "error: " + cfg + ": $.training.lr: must be > 0 (got -1)\n");
    QVERIFY(!QFile::exists(db));
  }

  // A domain whose pairs all fall outside the test split was trained, and its "accuracy" and the
  // mean over domains reported without a single test pair.
  void domainWithoutTestPairsIsRefused() {
    QByteArray pairs;
    for (int i = 0; i < 12; ++i)
      pairs += QJsonDocument(QJsonObject{{"domain", "web"},
                                         {"prompt", "q" + QString::number(i)},
                                         {"chosen", "good"},
                                         {"rejected", "bad"}})
                   .toJson(QJsonDocument::Compact) +
               "\n";
    writeFile(m_dir, "web-train.jsonl", pairs);
    const QString cfg = writeFile(m_dir, "notest.json", R"({"name": "notest",
      "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless"]},
               "files": [{"path": "web-train.jsonl", "split": "train"}]},
      "methods": [{"method": "baseline"}]})");
    const QString db = m_dir.path() + "/notest.db";
    const Result r = cli({"run", cfg, "--db", db});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: " + cfg + ": domain 'web' has no test pairs (12 train)"),
             qPrintable(r.err));
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY(!QFile::exists(db));
  }

  void smokeRunThenReportAndList() {
    const QString db = m_dir.path() + "/smoke.db";
    Result r = cli({"run", QStringLiteral(RR_SOURCE_DIR "/experiments/smoke.json"), "--db", db});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("baseline"));

    r = cli({"report", "--db", db});
    QCOMPARE(r.code, 0);
    for (const char* d : {"harmless", "instruct", "ranked", "mean", "params (M)"})
      QVERIFY2(r.out.contains(d), d);

    r = cli({"report", "--db", db, "--format", "json"});
    QCOMPARE(r.code, 0);
    const QJsonObject j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    const QJsonObject m = j["methods"].toArray()[0].toObject();
    QCOMPARE(m["name"].toString(), QStringLiteral("baseline"));
    const double acc = m["accuracy"].toObject()["harmless"].toObject()["mean"].toDouble();
    QVERIFY(acc >= 0 && acc <= 1);
    QVERIFY(m["params_total"].toObject()["mean"].toDouble() > 0);

    r = cli({"report", "--db", db, "--format", "csv"});
    QVERIFY(r.out.startsWith("experiment,method,method_name,seeds,column,metric,mean,std\n"));

    // smoke.json uses the house style, so the evaluated pairs carry a "style" label.
    r = cli({"report", "--db", db, "--by", "capability"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    for (const char* c : {"style", "safety", "format", "baseline"}) QVERIFY2(r.out.contains(c), c);
    r = cli({"report", "--db", db, "--by", "domain"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--by must be capability"), qPrintable(r.err));

    r = cli({"list", "--db", db});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("finished"));
  }

  void readingCommandsModifyNothing() {
    const QString foreign = foreignDatabase(m_dir, "notes.db");
    const QByteArray before = sha256(foreign);
    const QString zero = writeFile(m_dir, "zero.db", "");
    const QString missing = m_dir.path() + "/missing.db";
    const QString pairs =
        writeFile(m_dir, "add.jsonl", R"({"domain":"x","prompt":"p","chosen":"c","rejected":"r"})");
    const QList<QStringList> commands = {
        {"list", "--db", foreign},
        {"report", "--db", foreign},
        {"list", "--db", zero},
        {"report", "--db", zero, "--format", "json"},
        {"list", "--db", missing},
        {"extend", "--db", missing, "--run", "1", "--add-domain", pairs},
        {"extend", "--db", foreign, "--run", "1", "--add-domain", pairs},
        {"export", "--db", missing, "--run", "1", "-o", m_dir.path() + "/exported"}};
    for (const auto& args : commands) {
      Result r = cli(args);
      QVERIFY2(r.code == 2, qPrintable(args.join(' ') + ": " + r.err));
      QVERIFY2(r.out.isEmpty() && r.err.count('\n') == 1, qPrintable(r.err));
      const QString& db = args[args.indexOf("--db") + 1];
      QVERIFY2(r.err.startsWith("error: " + db + ": "), qPrintable(r.err));
      const char* why = db == foreign ? "not a RewardRouter run store"
                        : db == zero  ? "not a RewardRouter run store (an empty file)"
                                      : "no such run store";
      QVERIFY2(r.err.contains(why), qPrintable(r.err));
    }
    QCOMPARE(sha256(foreign), before);
    QCOMPARE(QFileInfo(zero).size(), qint64(0));
    QVERIFY(!QFile::exists(missing));
    QCOMPARE(QDir(m_dir.path()).entryList({"notes.db*"}, QDir::Files), QStringList{"notes.db"});
  }

  void runChecksItsStoreBeforeTraining() {
    const QString smoke = QStringLiteral(RR_SOURCE_DIR "/experiments/smoke.json");
    const QString foreign = foreignDatabase(m_dir, "theirs.db");
    const QByteArray before = sha256(foreign);
    const QString plain = writeFile(m_dir, "plain.txt", "text");
    for (const QString& db : {foreign, plain + "/runs/x.db"}) {
      QElapsedTimer t;
      t.start();
      Result r = cli({"run", smoke, "--db", db});
      QCOMPARE(r.code, 2);
      QVERIFY2(r.err.startsWith("error: " + db + ": ") && r.err.count('\n') == 1,
               qPrintable(r.err));
      // Found before the tokenizer and the encoder are prepared.
      QVERIFY2(!r.err.contains("tokenizer") && !r.err.contains("pre-train"), qPrintable(r.err));
      QVERIFY2(t.elapsed() < 20000, qPrintable(QString::number(t.elapsed())));
    }
    QCOMPARE(sha256(foreign), before);
  }

  void domainNamedLikeTheWholeRunIsRefused() {
    QByteArray lines;
    for (int i = 0; i < 20; ++i)
      lines += "{\"domain\":\"*\",\"prompt\":\"p" + QByteArray::number(i) +
               "\",\"chosen\":\"good\",\"rejected\":\"bad\"}\n";
    const QString pairs = writeFile(m_dir, "star.jsonl", lines);
    const QString cfg = writeFile(m_dir, "star.json", R"({"name": "star",
      "data": {"files": [{"path": ")" + pairs.toUtf8() + R"("}]},
      "tokenizer": {"vocab_size": 100},
      "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32},
      "methods": [{"method": "baseline"}]})");
    const QString db = m_dir.path() + "/star.db";
    Result r = cli({"run", cfg, "--db", db});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(pairs + ":1: domain '*' is reserved"), qPrintable(r.err));
    QVERIFY(!QFile::exists(db));
  }

  void sigkillLeavesReadableStoreWithInterruptedRun() {
    const QString cfg = writeFile(m_dir, "long.json", longConfig());
    const QString db = m_dir.path() + "/killed.db";
    QProcess p;
    p.start(QStringLiteral(RR_CLI_PATH), {"run", cfg, "--db", db, "--quiet"});
    QVERIFY(p.waitForStarted());
    QVERIFY(waitForProgress(db, 60000));
    ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
    QVERIFY(p.waitForFinished(10000));

    sqlite3* h = nullptr;
    QCOMPARE(sqlite3_open(db.toUtf8().constData(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, nullptr);
    QCOMPARE(sqlite3_step(st), SQLITE_ROW);
    QCOMPARE(QString(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))),
             QStringLiteral("ok"));
    sqlite3_finalize(st);
    sqlite3_close(h);

    Result r = cli({"list", "--db", db});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("interrupted"), qPrintable(r.out));
  }

  void ctrlCCancelsCleanly() {
    const QString cfg = writeFile(m_dir, "long2.json", longConfig());
    const QString db = m_dir.path() + "/cancelled.db";
    QProcess p;
    p.start(QStringLiteral(RR_CLI_PATH), {"run", cfg, "--db", db, "--quiet"});
    QVERIFY(p.waitForStarted());
    QVERIFY(waitForProgress(db, 60000));
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitCode(), 130);
    auto store = RunStore::open(db.toStdString());
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QCOMPARE(QString::fromStdString(toString(runs[0].status)), QStringLiteral("cancelled"));
    QVERIFY(!store->metrics(runs[0].id).empty());
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
