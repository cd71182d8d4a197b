// The run store in real use, driven through rewardrouter-cli: what a model that gives NaN
// rewards leaves in the store and the report, two resumes of one run at once.
#include <sqlite3.h>

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <set>
#include <tuple>

#include "cliutil.h"
#include "store/runstore.h"

using namespace rr::core;
using rr::test::runCli;

namespace {

QString writeFile(const QString& path, const QByteArray& text) {
  QFile f(path);
  f.open(QIODevice::WriteOnly);
  f.write(text);
  return path;
}

// A copy of the BERT reward-model fixture whose classifier bias is NaN: every reward is NaN.
QString nanModel(const QString& dir) {
  const QString src = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/bert-rm");
  QDir().mkpath(dir);
  for (const QString& f : QDir(src).entryList(QDir::Files))
    QFile::copy(src + "/" + f, dir + "/" + f);
  QFile st(dir + "/model.safetensors");
  st.setPermissions(st.permissions() | QFileDevice::WriteOwner);
  if (!st.open(QIODevice::ReadWrite)) return {};
  const QByteArray lenBytes = st.read(8);
  quint64 headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = headerLen << 8 | static_cast<quint8>(lenBytes[i]);
  const QJsonObject header = QJsonDocument::fromJson(st.read(static_cast<qint64>(headerLen))).object();
  const qint64 at = 8 + static_cast<qint64>(headerLen) +
                    header["classifier.bias"].toObject()["data_offsets"].toArray()[0].toInteger();
  const float nan = std::nanf("");
  st.seek(at);
  st.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  return dir;
}

}  // namespace

class TestStoreUse : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  // A published folder with a NaN weight (or a run that diverged) gives NaN rewards. SQLite
  // stores a NaN as NULL, which the store's NOT NULL columns refused: the run failed at its end.
  void nanRewardsAreStoredAndReported() {
    const QString model = nanModel(m_dir.path() + "/nan-rm");
    QVERIFY(!model.isEmpty());
    const QString cfg = writeFile(m_dir.path() + "/nan.json", QStringLiteral(R"({"name": "nan",
      "data": {"synthetic": {"pairs_per_domain": 10, "domains": ["harmless", "instruct"]}},
      "methods": [{"method": "pretrained", "model": "%1"}]})")
                                                                 .arg(model)
                                                                 .toUtf8());
    const QString db = m_dir.path() + "/nan.db";
    const auto r = runCli({"run", cfg, "--db", db, "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("test pairs got a NaN reward and count as wrong"), qPrintable(r.err));

    auto store = RunStore::open(db.toStdString(), true);
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QVERIFY(runs[0].status == RunStatus::Finished);
    ExampleFilter f;
    f.runIds = {runs[0].id};
    const auto rows = store->examples(f, 0, 1000);
    QVERIFY(!rows.empty());
    for (const auto& e : rows) {
      QVERIFY(std::isnan(e.rewardChosen) && std::isnan(e.rewardRejected));
      QVERIFY(!e.correct);
    }
    double nanPairs = 0;
    for (const auto& row : store->results({runs[0].id}))
      if (row.metric == "nan_reward_pairs") nanPairs = row.value;
    QCOMPARE(nanPairs, static_cast<double>(rows.size()));

    const auto report = runCli({"report", "--db", db});
    QCOMPARE(report.code, 0);
    QVERIFY2(report.out.contains(QStringLiteral("Warning: pretrained: %1 test pairs over 1 of its "
                                                "1 run got a NaN reward")
                                     .arg(rows.size())),
             qPrintable(report.out));
    const auto withFigures = runCli({"report", "--db", db, "--calibration", "--length-bias"});
    QVERIFY2(withFigures.code == 0, qPrintable(withFigures.err));
  }

  // Two `run --resume` of one store at once: both found the run cancelled, both trained it,
  // both "finished" it and its metric rows were written twice. One resumer at a time.
  void concurrentResumesTakeTurns() {
    const QString cfg = writeFile(m_dir.path() + "/twice.json", R"({"name": "twice",
      "data": {"synthetic": {"pairs_per_domain": 60, "domains": ["harmless", "instruct"]}},
      "tokenizer": {"vocab_size": 150},
      "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64,
                  "max_len": 32},
      "training": {"batch_size": 8, "epochs": 3, "seeds": 1},
      "methods": [{"method": "baseline"}]})");
    const QString db = m_dir.path() + "/twice.db";
    const auto first = runCli({"run", cfg, "--db", db, "--quiet"});
    QVERIFY2(first.code == 0, qPrintable(first.err));
    const auto runId = RunStore::open(db.toStdString(), true)->listRuns().at(0).id;
    {
      // As a cancelled run leaves it (its checkpoints gone: the resumes train it from the start).
      sqlite3* raw = nullptr;
      QCOMPARE(sqlite3_open(db.toUtf8().constData(), &raw), SQLITE_OK);
      QCOMPARE(sqlite3_exec(raw, "UPDATE runs SET status='cancelled'", nullptr, nullptr, nullptr),
               SQLITE_OK);
      sqlite3_close(raw);
    }
    // Each resumer trains the tokenizer and pre-trains the encoder again in a cache of its own:
    // seconds between finding the run unfinished and taking it up, in which the other looks.
    QProcess a, b;
    int k = 0;
    for (QProcess* p : {&a, &b}) {
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.insert("RR_CACHE_DIR", m_dir.path() + "/cache-" + QString::number(k++));
      p->setProcessEnvironment(env);
      p->start(QStringLiteral(RR_CLI_PATH), {"run", cfg, "--db", db, "--quiet", "--resume"});
    }
    for (QProcess* p : {&a, &b}) QVERIFY(p->waitForFinished(180000));
    const QString errA = a.readAllStandardError(), errB = b.readAllStandardError();
    const int resumed = errA.contains("1 resumed") + errB.contains("1 resumed");
    QVERIFY2(resumed == 1, qPrintable(errA + "\n--\n" + errB));
    const QString refused = errA.contains("1 resumed") ? errB : errA;
    const int refusedCode = errA.contains("1 resumed") ? b.exitCode() : a.exitCode();
    QCOMPARE(refusedCode, 2);
    QVERIFY2(refused.contains("in another process") ||
                 refused.contains("was finished meanwhile by another process"),
             qPrintable(refused));
    QCOMPARE(refused.count('\n'), 1);

    auto store = RunStore::open(db.toStdString(), true);
    QVERIFY(store->run(runId)->status == RunStatus::Finished);
    std::set<std::tuple<std::string, std::string, std::int64_t>> seen;
    for (const auto& m : store->metrics(runId))
      QVERIFY2(seen.emplace(m.component, m.key, m.step).second,
               qPrintable(QString::fromStdString(m.component + " " + m.key + " step " +
                                                 std::to_string(m.step) + " twice")));
  }

  // <db>.models, where the runs' folders go, as a symbolic link to a folder of other runs: a new
  // run 1 removed that folder's run-1 and run-1.resume through it. Refused before the store gets
  // a run; the folder it points to keeps its contents.
  void linkedModelsFolderIsRefused() {
    const QString cfg = writeFile(m_dir.path() + "/linked.json", R"({"name": "linked",
      "data": {"synthetic": {"pairs_per_domain": 12, "domains": ["harmless", "instruct"]}},
      "tokenizer": {"vocab_size": 120},
      "encoder": {"preset": "tiny", "hidden": 16, "layers": 1, "heads": 2, "ffn": 32,
                  "max_len": 24},
      "training": {"batch_size": 8, "epochs": 1, "seeds": 1},
      "methods": [{"method": "baseline"}]})");
    const QString other = m_dir.path() + "/other-models";
    for (const char* sub : {"/run-1", "/run-1.resume"}) {
      QVERIFY(QDir().mkpath(other + sub));
      writeFile(other + sub + "/keep.txt", "precious\n");
    }
    const QString db = m_dir.path() + "/linked.db";
    QVERIFY(QFile::link(other, db + ".models"));
    const auto r = runCli({"run", cfg, "--db", db, "--quiet"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(db + ".models") && r.err.count('\n') == 1, qPrintable(r.err));
    for (const char* sub : {"/run-1", "/run-1.resume"})
      QVERIFY(QFile::exists(other + sub + "/keep.txt"));
    QVERIFY(!QFile::exists(db));
  }

  // A disk that fills while a store is created or a run writes into it. Creating a store left
  // x.db (an empty database) beside x.db.new-PID-wal/-shm holding its schema, which every
  // command then called damaged; reading a store whose -shm could not be rebuilt on the full
  // disk failed. Now: no store or a whole one, opened by every command while the disk is still
  // full and after space is freed, and a run into it works again. A real full disk: a small
  // tmpfs in a mount namespace of this test's own (unshare -Urm, no privileges needed where
  // unprivileged user namespaces are allowed).
  void fullDiskLeavesAStoreEveryCommandOpens() {
    if (QProcess::execute("unshare", {"-Urm", "true"}) != 0)
      QSKIP("no mount namespace here (unshare -Urm): a tmpfs cannot be mounted for a full disk");
    const QString cfg = writeFile(m_dir.path() + "/full.json", R"({"name": "full",
      "data": {"synthetic": {"pairs_per_domain": 12, "domains": ["harmless", "instruct"]}},
      "tokenizer": {"vocab_size": 120},
      "encoder": {"preset": "tiny", "hidden": 16, "layers": 1, "heads": 2, "ffn": 32,
                  "max_len": 24},
      "training": {"batch_size": 8, "epochs": 1, "seeds": 1},
      "methods": [{"method": "baseline"}]})");
    // The tokenizer and the pre-trained encoder go to the cache on the ordinary disk first.
    const QString cache = m_dir.path() + "/full-cache";
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("RR_CACHE_DIR", cache);
    {
      QProcess warm;
      warm.setProcessEnvironment(env);
      warm.start(QStringLiteral(RR_CLI_PATH),
                 {"run", cfg, "--db", m_dir.path() + "/warm.db", "--quiet"});
      QVERIFY(warm.waitForFinished(120000) && warm.exitCode() == 0);
    }
    const QString mnt = m_dir.path() + "/mnt";
    QDir().mkpath(mnt);
    // Sizes at which creation, the first writes, training and saving meet the full disk.
    const QString script = QString::fromUtf8(R"sh(
      cli="$1"; cfg="$2"; d="$3"; kb="$4"
      mount -t tmpfs -o size=${kb}k none "$d" || exit 90
      "$cli" run "$cfg" --db "$d/x.db" --quiet 2>"$d/../run.err"; echo "run=$?"
      "$cli" list --db "$d/x.db" >/dev/null 2>"$d/../list.err"; echo "full=$?"
      echo "files=$(ls -A "$d" | tr '\n' ' ')"
      mount -o remount,size=8m "$d"
      "$cli" list --db "$d/x.db" >/dev/null 2>>"$d/../list.err"; echo "freed=$?"
      "$cli" run "$cfg" --db "$d/x.db" --quiet 2>>"$d/../run.err"; echo "again=$?"
      "$cli" list --db "$d/x.db"; echo "after=$?"
    )sh");
    for (int kb : {24, 120, 208, 264}) {
      QProcess p;
      p.setProcessEnvironment(env);
      p.start("unshare", {"-Urm", "bash", "-c", script, "sh", QStringLiteral(RR_CLI_PATH), cfg,
                          mnt, QString::number(kb)});
      QVERIFY(p.waitForFinished(180000));
      const QString out = p.readAllStandardOutput();
      QFile runErr(m_dir.path() + "/run.err"), listErr(m_dir.path() + "/list.err");
      runErr.open(QIODevice::ReadOnly);
      listErr.open(QIODevice::ReadOnly);
      const QString what = QStringLiteral("%1 KB:\n%2\nrun: %3\nlist: %4")
                               .arg(kb)
                               .arg(out, runErr.readAll(), listErr.readAll());
      QVERIFY2(!out.contains("run=0"), qPrintable(what));  // the disk was full
      const bool created = !out.contains("files= \n") && out.contains("files=x.db");
      // No store, or one that every command opens, while full and after space is freed.
      QVERIFY2(out.contains(created ? "full=0" : "full=2"), qPrintable(what));
      QVERIFY2(out.contains(created ? "freed=0" : "freed=2"), qPrintable(what));
      QVERIFY2(!out.contains(".new-"), qPrintable(what));
      QVERIFY2(out.contains("again=0") && out.contains("after=0"), qPrintable(what));
      QVERIFY2(out.contains(" finished "), qPrintable(what));
    }
  }
};

QTEST_GUILESS_MAIN(TestStoreUse)
#include "tst_storeuse.moc"
