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
#include <nlohmann/json.hpp>

#include "store/runstore.h"

using namespace rr::core;

namespace {

struct Result {
  int code = -1;
  QString out, err;
};

Result cli(const QStringList& args, int timeoutMs = 120000, const QByteArray& input = {}) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.write(input);
  p.closeWriteChannel();
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

  // Issue 15: `config --keys` prints the schema's tables, the ones docs/CONFIG.md carries.
  void configKeysListsTheSchema() {
    Result r = cli({"config", "--keys"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.startsWith(QStringLiteral("## Keys\n\n| key | type, range | default |")),
             qPrintable(r.out.left(200)));
    QVERIFY(
        r.out.contains(QStringLiteral("| `training.margin_scale` | number in [0, 1000] | 0 |")));
    QVERIFY(r.out.contains(QStringLiteral("| `more` | `top_k` | int 1..64 | 2 |")));
    r = cli({"config", "--keys", "--format", "json"});
    QCOMPARE(r.code, 0);
    const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
    bool found = false;
    for (const auto& k : j.at("keys"))
      if (k.at("key") == "training.lr")
        found = k.at("min") == 0 && k.at("max") == 10 && k.at("exclusive_min") == true;
    QVERIFY(found);
    r = cli({"config", "--keys", "--format", "xml"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err.trimmed(),
             QStringLiteral("error: config: --format must be md or json (got \"xml\")"));
    QCOMPARE(cli({"config"}).code, 2);
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

    // The evaluation sections (docs/EVALUATION.md) on the run's test pairs.
    r = cli({"report", "--db", db, "--length-bias", "--calibration", "--ci", "--reward-stats",
             "--ci-resamples", "50", "--format", "json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject e = QJsonDocument::fromJson(r.out.toUtf8()).object();
    const QJsonObject all =
        e["runs"].toArray()[0].toObject()["domains"].toObject()["*"].toObject();
    QVERIFY(all["pairs"].toInt() > 0);
    const QJsonObject iv = all["accuracy_interval"].toObject();
    QVERIFY(iv["low"].toDouble() <= iv["estimate"].toDouble() &&
            iv["estimate"].toDouble() <= iv["high"].toDouble());
    QCOMPARE(iv["resamples"].toInt(), 50);
    QVERIFY(all["calibration"].toObject()["brier"].toDouble() >= 0);
    QVERIFY(e["length_heuristic"].toObject().contains("smoke"));
    r = cli({"report", "--db", db});
    QVERIFY2(r.out.contains("| longer response wins | - |"), qPrintable(r.out));
    // A run against itself: no discordant pair, p = 1.
    r = cli({"report", "--db", db, "--compare", "1", "1"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(" | 0 | 0 | 1.0000 |"), qPrintable(r.out));
    r = cli({"report", "--db", db, "--compare", "1"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral(
                        "error: report: --compare takes two run ids: --compare RUN_A RUN_B\n"));
    r = cli({"report", "--db", db, "--compare", "1", "9"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, "error: report: --compare: run 9 does not exist in " + db + "\n");

    // A RewardBench file imported, evaluated with run 1's saved system, scored by report.
    const QString rb = writeFile(
        m_dir, "rb.jsonl",
        R"({"prompt":"Is water wet?","chosen":"Yes, water makes things wet.","chosen_model":"a","rejected":"No.","rejected_model":"b","subset":"alpacaeval-easy","id":1}
{"prompt":"Sort [2,1]","chosen":"[1,2]","chosen_model":"a","rejected":"[2,1] sorted is [2,1]","rejected_model":"b","subset":"hep-python","id":2}
{"prompt":"Say hi","chosen":"Hi!","chosen_model":"a","rejected":"Go away.","rejected_model":"b","subset":"refusals-offensive","id":3}
)");
    const QString rbPairs = m_dir.path() + "/rb-pairs.jsonl";
    r = cli({"import", "--format", "rewardbench", rb, "-o", rbPairs});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    r = cli({"evaluate", "--db", db, "--run", "1", rbPairs});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.startsWith("evaluation 1 'rb-pairs' of run 1: 3 pairs, accuracy "),
             qPrintable(r.out));
    {
      // The evaluation goes through the run's recorder: the run's log says so.
      bool logged = false;
      for (const auto& l : RunStore::open(db.toStdString(), true)->logs(1))
        logged = logged || l.message.rfind("evaluation 'rb-pairs' on 3 pairs of " +
                                               rbPairs.toStdString() + ": accuracy ",
                                           0) == 0;
      QVERIFY(logged);
    }
    r = cli({"report", "--db", db, "--rewardbench", "--format", "json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonArray rbj = QJsonDocument::fromJson(r.out.toUtf8()).array();
    QCOMPARE(rbj.size(), 1);
    const QJsonObject rb1 = rbj[0].toObject();
    QCOMPARE(rb1["run"].toInt(), 1);
    QCOMPARE(rb1["evaluation"].toString(), QStringLiteral("rb-pairs"));
    QCOMPARE(rb1["subsets"].toObject().size(), 3);
    QCOMPARE(rb1["sections"].toObject().keys(),
             (QStringList{"Chat", "Reasoning", "Safety"}));
    double sections = 0;
    for (const auto& v : rb1["sections"].toObject()) sections += v.toDouble();
    QVERIFY(std::abs(rb1["score"].toDouble() - sections / 3) < 1e-12);
    r = cli({"report", "--db", db});
    QVERIFY2(r.out.contains("### Evaluations") && r.out.contains("| rb-pairs | 3 |"),
             qPrintable(r.out));

    // Refused with one line, exit 2, and the store unchanged.
    const QByteArray before = sha256(db);
    r = cli({"evaluate", "--db", db, "--run", "1", rbPairs});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, "error: " + db +
                        ": run 1 already has an evaluation named 'rb-pairs'; choose another "
                        "--name\n");
    r = cli({"evaluate", "--db", db, "--run", "9", rbPairs});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, "error: " + db + ": no run 9\n");
    const QString bad = writeFile(m_dir, "bad-pairs.jsonl", "{\"domain\":\"x\",\"prompt\":1}\n");
    r = cli({"evaluate", "--db", db, "--run", "1", "--name", "bad", bad});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: " + bad + ":1: ") && r.err.count('\n') == 1,
             qPrintable(r.err));
    const QString models = db + ".models/run-1";
    QVERIFY(QDir().rename(models, models + ".away"));
    r = cli({"evaluate", "--db", db, "--run", "1", "--name", "other", rbPairs});
    QVERIFY(QDir().rename(models + ".away", models));
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: ") && r.err.count('\n') == 1, qPrintable(r.err));
    QCOMPARE(sha256(db), before);
    std::int64_t queued = 0;
    {
      rr::core::RunWriter w(db.toStdString());
      queued = w.createRun("smoke", "baseline", "baseline", 9, "{}");
    }
    r = cli({"evaluate", "--db", db, "--run", QString::number(queued), rbPairs});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("is queued, not finished"), qPrintable(r.err));
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

  // Issue 15: Ctrl-C during `extend` stops the extension cleanly: its run is cancelled with what
  // it had stored (metrics, log, progress), the exit status is 130, the original run untouched.
  void ctrlCCancelsExtend() {
    const QString cfg = writeFile(m_dir, "ext.json", R"({"name": "ext",
      "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "ranked"]}},
      "tokenizer": {"vocab_size": 300},
      "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32},
      "pretrain": {"enabled": false},
      "training": {"batch_size": 4, "epochs": 20},
      "methods": [{"method": "rodos"}]})");
    const QString db = m_dir.path() + "/ext.db";
    Result r = cli({"run", cfg, "--db", db, "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QString added = m_dir.path() + "/instruct.jsonl";
    r = cli({"synth", "-o", added, "--domain", "instruct", "--pairs-per-domain", "1500"});
    QVERIFY2(r.code == 0, qPrintable(r.err));

    QProcess p;
    p.start(QStringLiteral(RR_CLI_PATH),
            {"extend", "--db", db, "--run", "1", "--add-domain", added, "--quiet"});
    QVERIFY(p.waitForStarted());
    QVERIFY(waitForProgress(db, 60000));
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(p.exitCode() == 130, qPrintable(err));
    QVERIFY2(err.contains("[run 2] cancelled: stopped by the user"), qPrintable(err));
    auto store = RunStore::open(db.toStdString(), true);
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(2));
    QVERIFY(runs[0].status == RunStatus::Finished);
    QVERIFY(runs[1].status == RunStatus::Cancelled);
    QCOMPARE(QString::fromStdString(runs[1].error), QStringLiteral("stopped by the user"));
    QVERIFY(runs[1].step > 3 && runs[1].step < runs[1].totalSteps);
    QVERIFY(!store->metrics(runs[1].id).empty());
    QVERIFY(!store->logs(runs[1].id).empty());
  }

  // Issue 14: `score` streams; a bad line gets an error record in its place, the others are
  // scored, the exit status is 2; --strict stops at the first bad line.
  void scoreStreamsAndReportsBadLines() {
    const QString db = m_dir.path() + "/smoke.db";
    QVERIFY(QFile::exists(db));
    const QByteArray in =
        "{\"prompt\": \"hi\", \"response\": \"hello\"}\n"
        "{\"prompt\": 1e400}\n"
        "\n"
        "{\"prompt\": \"a\", \"response\": \"b\"}\n" +
        QByteArray(50000, '[') + "\n" + "{\"prompt\": \"c\", \"response\": \"d\"}\n" +
        "{\"prompt\": \"c\", \"response\": \"d\\u0000hidden\"}\n";
    Result r = cli({"score", "--db", db, "--run", "1", "--batch-size", "2"}, 120000, in);
    QCOMPARE(r.code, 2);
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 6);
    QCOMPARE(QJsonDocument::fromJson(lines[5].toUtf8()).object()["error"].toString(),
             QStringLiteral("line 7: $.response: contains a NUL character (\\u0000)"));
    for (int i : {0, 2, 4}) {
      const QJsonObject o = QJsonDocument::fromJson(lines[i].toUtf8()).object();
      QVERIFY2(o.contains("reward") && !o.contains("error"), qPrintable(lines[i]));
    }
    QCOMPARE(QJsonDocument::fromJson(lines[1].toUtf8()).object()["error"].toString(),
             QStringLiteral("line 2:1:12: $.prompt: number out of range (got 1e400)"));
    const QString deep = QJsonDocument::fromJson(lines[3].toUtf8()).object()["error"].toString();
    QVERIFY2(deep.startsWith("line 5: $[0][0]") && deep.endsWith("nested deeper than 128 levels"),
             qPrintable(deep));
    QVERIFY2(r.err.contains("3 of the input lines could not be scored"), qPrintable(r.err));

    // A good line alone: the same reward (up to the padding of another batch), exit 0.
    Result good = cli({"score", "--db", db, "--run", "1"}, 120000,
                      "{\"prompt\": \"hi\", \"response\": \"hello\"}\n");
    QCOMPARE(good.code, 0);
    auto reward = [](const QString& line) {
      return QJsonDocument::fromJson(line.toUtf8()).object()["reward"].toDouble();
    };
    QVERIFY(qAbs(reward(good.out.split('\n', Qt::SkipEmptyParts)[0]) - reward(lines[0])) < 1e-5);

    Result strict = cli({"score", "--db", db, "--run", "1", "--strict"}, 120000, in);
    QCOMPARE(strict.code, 2);
    QCOMPARE(strict.out.split('\n', Qt::SkipEmptyParts).size(), 1);
    QCOMPARE(strict.err,
             QStringLiteral("error: score: stdin line 2:1:12: $.prompt: number out of range (got "
                            "1e400)\n"));

    Result both = cli({"score", "--db", db, "--run", "1", "--model", m_dir.path()}, 120000, in);
    QCOMPARE(both.code, 2);
    QVERIFY2(both.err.contains("not both"), qPrintable(both.err));
    QVERIFY(both.out.isEmpty());
  }

  // Issue 14: small option errors; integers are parsed strictly.
  void optionValuesAreCheckedStrictly() {
    const QString db = m_dir.path() + "/smoke.db";
    Result r = cli({"report", "--db", db, "--run", "1abc"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: report: --run must be an integer in [1, "
                                   "9223372036854775807] (got '1abc')\n"));
    for (const char* bad : {" 1", "+1", "0x1", "99999999999999999999"})
      QCOMPARE(cli({"report", "--db", db, "--run", bad}).code, 2);
    QCOMPARE(cli({"report", "--db", db, "--run", "1"}).code, 0);

    const QString out = m_dir.path() + "/never.jsonl";
    const QString in = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/import/shp.json");
    r = cli({"import", "--format", "shp", in, "-o", out, "--min-score-ratio", "nan"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: import: --min-score-ratio must be a finite number "
                                   "(got 'nan')\n"));
    QCOMPARE(cli({"import", "--format", "shp", in, "-o", out, "--min-score-ratio", "inf"}).code, 2);
    QVERIFY(!QFile::exists(out));
    r = cli({"import", "--format", "shp", in, "-o", ""});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: import: --output needs a non-empty value (FILE)\n"));
    r = cli({"synth", "--output="});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--output needs a non-empty value"), qPrintable(r.err));
  }

  // Issue 14: errors found before any work name the JSON path and leave no store and no folder.
  void runInputErrorsLeaveNothing() {
    QTemporaryDir dir;
    const QString sub = dir.path() + "/out";
    const QString db = sub + "/x.db";
    auto run = [&](const QByteArray& cfg, const QStringList& extra = {}) {
      const QString path = writeFile(dir, "c.json", cfg);
      Result r = cli(QStringList{"run", path, "--db", db, "--quiet"} + extra);
      r.err.replace(path, "CFG");
      return r;
    };
    const QByteArray small = R"({"name": "e",
      "data": {"synthetic": {"pairs_per_domain": 10, "domains": ["harmless"]}},
      "tokenizer": {"vocab_size": 120},
      "encoder": {"hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32},
      "pretrain": {"enabled": false},
      "training": {"seed": 2147483647},
      "methods": [{"method": "baseline"}]})";

    Result r = run(small, {"--method", "nope"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: --method nope: no entry of CFG: $.methods has this "
                                   "name (names: baseline)\n"));
    r = run(small, {"--seeds", "2"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: CFG: $.training.seed: seed + seeds - 1 must be <= "
                                   "2147483647 (got 2147483647 with 2 seeds)\n"));

    writeFile(dir, "empty.jsonl", "");
    r = run(R"({"name": "e", "data": {"files": [{"path": "empty.jsonl"}]},
      "methods": [{"method": "baseline"}]})");
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: CFG: $.data: the experiment's data has no pairs\n"));

    QByteArray pairs;
    for (int i = 0; i < 12; ++i)
      pairs += "{\"domain\": \"d\", \"prompt\": \"p" + QByteArray::number(i) +
               "\", \"chosen\": \"a\", \"rejected\": \"b\", \"split\": \"train\"}\n";
    writeFile(dir, "train.jsonl", pairs);
    r = run(R"({"name": "e", "data": {"files": [{"path": "train.jsonl"}]},
      "tokenizer": {"vocab_size": 100}, "methods": [{"method": "baseline"}]})");
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QStringLiteral("error: CFG: domain 'd' has no test pairs (12 train), so its "
                                   "accuracy cannot be measured; give the domain more pairs or put "
                                   "some in the test split\n"));

    r = run(R"({"name": "e", "data": {"files": [{"path": "."}]},
      "methods": [{"method": "baseline"}]})");
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: CFG: $.data.files[0].path: is a directory, not a pairs file"),
             qPrintable(r.err));

    // A directory and a garbage file as the tokenizer, a garbage file as the encoder.
    QByteArray cfg = small;
    cfg.replace(R"("vocab_size": 120)", R"("model": ".")");
    r = run(cfg);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: CFG: $.tokenizer.model: a directory, not a SentencePiece"),
             qPrintable(r.err));
    writeFile(dir, "garbage.bin", QByteArray(300, 'g'));
    cfg = small;
    cfg.replace(R"("vocab_size": 120)", R"("model": "garbage.bin")");
    r = run(cfg);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: CFG: $.tokenizer.model: ") && r.err.count('\n') == 1,
             qPrintable(r.err));
    cfg = small;
    cfg.replace(R"("max_len": 32})", R"("max_len": 32, "pretrained": "garbage.bin"})");
    cfg.replace(R"("seed": 2147483647)", R"("seed": 1)");
    r = run(cfg);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: CFG: $.encoder.pretrained: ") && r.err.count('\n') == 1,
             qPrintable(r.err));

    // Within the allowed ranges, but far beyond any machine's memory.
    cfg = small;
    cfg.replace(R"("hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32)",
                R"("hidden": 16384, "layers": 128, "heads": 256, "ffn": 65536, "max_len": 4096)");
    r = run(cfg);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: CFG: $.encoder: training this shape needs about ") &&
                 r.err.contains("of memory is available") && r.err.count('\n') == 1,
             qPrintable(r.err));

    QVERIFY2(!QFile::exists(sub), "a failed run created the store's folder");

    // A --db that cannot be created is found before the tokenizer and pre-training.
    const QString file = writeFile(dir, "plain.txt", "x");
    r = cli({"run", writeFile(dir, "ok.json", small), "--db", file + "/x.db"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("cannot create the run store") && !r.err.contains("tokenizer"),
             qPrintable(r.err));
  }

  // Issue 14: commands given a store that does not exist say so and create nothing.
  void missingStoreIsNotCreated() {
    QTemporaryDir dir;
    const QString db = dir.path() + "/typo.db";
    const QString pairs = writeFile(dir, "p.jsonl", "");
    Result r = cli({"extend", "--db", db, "--run", "1", "--add-domain", pairs});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, "error: " + db + ": no such run store\n");
    for (const QStringList& args :
         {QStringList{"report", "--db", db}, QStringList{"list", "--db", db}})
      QCOMPARE(cli(args).code, 2);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"p.jsonl"});
  }

  // Issue 14, item 11: `list` keeps each run on its line whatever its names and error hold.
  void listKeepsRunsOnOneLine() {
    QTemporaryDir dir;
    const QString db = dir.path() + "/names.db";
    {
      RunWriter w(db.toStdString());
      const auto id = w.createRun("exp\nx", "baseline", "a\tb", 1, "{}");
      w.setStatus(id, RunStatus::Failed, "first line\nsecond line");
      w.createRun("plain", "baseline", "baseline", 2, "{}");
    }
    Result r = cli({"list", "--db", db});
    QCOMPARE(r.code, 0);
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);  // the head and one line per run
    QVERIFY2(lines[1].contains("exp\\nx") && lines[1].contains("a\\tb") &&
                 lines[1].contains("first line\\nsecond line"),
             qPrintable(lines[1]));
  }

  // LibTorch's errors keep their backtrace out of the terminal: one line on stderr.
  // A model folder that cannot be looked into (a link loop) is one line and exit 2, not
  // std::filesystem's own text with exit 1.
  void unreadableModelFolderIsOneLine() {
    QTemporaryDir d;
    QVERIFY(QFile::link(d.path() + "/a", d.path() + "/b"));
    QVERIFY(QFile::link(d.path() + "/b", d.path() + "/a"));
    const Result r = cli({"score", "--model", d.path() + "/a"});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, "error: " + d.path() + "/a: cannot read (Too many levels of symbolic links)\n");
  }

  void torchErrorsAreOneLine() {
    const QString model = m_dir.path() + "/smoke.db.models/run-1";
    QVERIFY(QFile::exists(model));
    QTemporaryDir dir;
    QVERIFY(QProcess::execute("cp", {"-r", model, dir.path() + "/m"}) == 0);
    int damaged = 0;
    for (const QString& name : QDir(dir.path() + "/m").entryList({"*.pt"})) {
      QFile f(dir.path() + "/m/" + name);
      QVERIFY(f.open(QIODevice::ReadWrite));
      const qint64 size = f.size();
      f.resize(size / 2);
      ++damaged;
    }
    QVERIFY(damaged > 0);
    Result r = cli({"score", "--model", dir.path() + "/m"}, 120000,
                   "{\"prompt\": \"a\", \"response\": \"b\"}\n");
    QVERIFY2(r.code == 1 || r.code == 2, qPrintable(r.err));
    QVERIFY2(r.err.startsWith("error: ") && r.err.count('\n') == 1, qPrintable(r.err));
    QVERIFY2(!r.err.contains("Exception raised from"), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
