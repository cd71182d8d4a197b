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
};

QTEST_GUILESS_MAIN(TestStoreUse)
#include "tst_storeuse.moc"
