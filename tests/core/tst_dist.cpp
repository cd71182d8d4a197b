// Several processes through c10d (core/dist): the launcher variables, bucketing, and real
// multi-process runs of tests/core/dist_worker.cpp on 127.0.0.1 — gradients summed in buckets,
// 2 data-parallel ranks giving the weights of 1 process with the same global batch (1e-5),
// rankZeroFirst passing rank 0's failure on and hearing of a rank lost meanwhile, a worker that
// never comes giving one clear error within the timeout.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <map>

#include "common/errors.h"
#include "dist/dist.h"

using namespace rr::core;

namespace {

const QString kWorker = QStringLiteral(RR_BINARY_DIR "/bin/rr_dist_worker");

struct Outcome {
  int code = -1;
  QString err;
  QJsonObject out;
};

// Starts `ranks` of a job of `world` processes (the others never come) and waits for them.
std::vector<Outcome> runJob(const QString& scenario, int world, int ranks, int timeoutS,
                            const QTemporaryDir& dir) {
  const int port = dist::freeLoopbackPort();
  std::vector<std::unique_ptr<QProcess>> procs;
  for (int r = 0; r < ranks; ++r) {
    auto p = std::make_unique<QProcess>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("RANK", QString::number(r));
    env.insert("WORLD_SIZE", QString::number(world));
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", QString::number(port));
    env.insert("RR_DIST_TIMEOUT", QString::number(timeoutS));
    p->setProcessEnvironment(env);
    p->start(kWorker, {scenario, dir.filePath(QString("%1-%2-%3.json").arg(scenario).arg(world).arg(r))});
    procs.push_back(std::move(p));
  }
  std::vector<Outcome> out;
  for (int r = 0; r < ranks; ++r) {
    Outcome o;
    if (procs[r]->waitForFinished((timeoutS + 60) * 1000) &&
        procs[r]->exitStatus() == QProcess::NormalExit)
      o.code = procs[r]->exitCode();
    o.err = QString::fromUtf8(procs[r]->readAllStandardError());
    QFile f(dir.filePath(QString("%1-%2-%3.json").arg(scenario).arg(world).arg(r)));
    if (f.open(QIODevice::ReadOnly)) o.out = QJsonDocument::fromJson(f.readAll()).object();
    out.push_back(o);
  }
  return out;
}

dist::DistOptions fromEnv(const std::map<std::string, std::string>& vars) {
  return dist::distOptionsFromEnvironment([&](const char* n) -> const char* {
    auto it = vars.find(n);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

QString inputError(const std::map<std::string, std::string>& vars) {
  try {
    fromEnv(vars);
  } catch (const InputError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

class TestDist : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void launcherVariables() {
    dist::DistOptions o = fromEnv({});
    QCOMPARE(o.rank, 0);
    QCOMPARE(o.worldSize, 1);
    QVERIFY(!o.distributed());
    QCOMPARE(o.masterPort, 29500);
    o = fromEnv({{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "0"},
                 {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"}});
    QCOMPARE(o.rank, 2);
    QCOMPARE(o.worldSize, 4);
    QCOMPARE(QString::fromStdString(o.masterAddr), QStringLiteral("node7"));
    QCOMPARE(o.masterPort, 1234);
    // Slurm's variables when torchrun's are absent; torchrun's win when both are set.
    o = fromEnv({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}});
    QCOMPARE(o.rank, 5);
    QCOMPARE(o.worldSize, 8);
    QCOMPARE(o.localRank, 1);
    o = fromEnv({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"RANK", "0"}, {"WORLD_SIZE", "2"}});
    QCOMPARE(o.rank, 0);
    QCOMPARE(o.worldSize, 2);

    QCOMPARE(inputError({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), QStringLiteral("RANK: 'x' is not an integer"));
    QCOMPARE(inputError({{"RANK", "2"}, {"WORLD_SIZE", "2"}}),
             QStringLiteral("rank 2 is not below the world size 2"));
    QCOMPARE(inputError({{"RANK", "0"}}), QStringLiteral("RANK is set but WORLD_SIZE is not"));
    QCOMPARE(inputError({{"MASTER_PORT", "70000"}}),
             QStringLiteral("MASTER_PORT 70000 is out of range [1, 65535]"));
  }

  void bucketsFollowSizeAndType() {
    const std::vector<torch::Tensor> t = {torch::zeros({4}), torch::zeros({4}), torch::Tensor(),
                                          torch::zeros({10}), torch::zeros({2}, torch::kDouble)};
    // 16-byte tensors, 32-byte buckets: two share one, the 40-byte one is alone, the double apart.
    const auto b = dist::bucketTensors(t, 32);
    QCOMPARE(b.size(), size_t(3));
    QCOMPARE(b[0], (std::vector<size_t>{0, 1}));
    QCOMPARE(b[1], (std::vector<size_t>{3}));
    QCOMPARE(b[2], (std::vector<size_t>{4}));
  }

  void init() {
    if (QByteArray(QTest::currentTestFunction()).startsWith("job") && !dist::c10dAvailable())
      QSKIP(dist::c10dUnavailableReason().c_str());
  }

  void jobSumsGradientsInBuckets() {
    const auto r = runJob("reduce", 3, 3, 60, m_dir);
    for (const auto& o : r) {
      QVERIFY2(o.code == 0, qPrintable(o.err));
      const QJsonArray res = o.out["result"].toArray();
      // rank r contributed 1 + r, (0..3) * (r + 1), 10 r: sums over r = 0, 1, 2.
      for (const auto& v : res[0].toArray()) QCOMPARE(v.toDouble(), 6.0);
      QVERIFY(res[1].isNull());
      const QJsonArray m = res[2].toArray();
      for (int i = 0; i < 4; ++i) QCOMPARE(m[i].toDouble(), 6.0 * i);
      for (const auto& v : res[3].toArray()) QCOMPARE(v.toDouble(), 30.0);
    }
  }

  void jobTwoRanksTrainAsOne() {
    const auto one = runJob("train", 1, 1, 60, m_dir);
    QVERIFY2(one[0].code == 0, qPrintable(one[0].err));
    const auto two = runJob("train", 2, 2, 60, m_dir);
    for (const auto& o : two) QVERIFY2(o.code == 0, qPrintable(o.err));
    const QJsonArray want = one[0].out["result"].toArray();
    for (const auto& o : two) {
      const QJsonArray got = o.out["result"].toArray();
      QCOMPARE(got.size(), want.size());
      double worst = 0;
      for (int p = 0; p < want.size(); ++p)
        for (int i = 0; i < want[p].toArray().size(); ++i)
          worst = std::max(worst, std::abs(got[p].toArray()[i].toDouble() -
                                           want[p].toArray()[i].toDouble()));
      QVERIFY2(worst < 1e-5, qPrintable(QString("2 ranks differ from 1 process by %1").arg(worst)));
    }
  }

  void jobGathersBytesInRankOrder() {
    const auto r = runJob("gather", 3, 3, 60, m_dir);
    for (const auto& o : r) {
      QVERIFY2(o.code == 0, qPrintable(o.err));
      const QJsonArray all = o.out["result"].toArray();
      QCOMPARE(all.size(), 3);
      QCOMPARE(all[0].toString(), QStringLiteral("rank 0"));
      QCOMPARE(all[2].toString(), QStringLiteral("rank 2++++++"));
    }
  }

  void jobRankZeroFirstPassesItsFailureOn() {
    const auto r = runJob("first", 2, 2, 60, m_dir);
    for (const auto& o : r) QVERIFY2(o.code == 0, qPrintable(o.err));
    const QJsonObject r0 = r[0].out["result"].toObject(), r1 = r[1].out["result"].toObject();
    QCOMPARE(r0["error"].toString(), QStringLiteral("disk full"));
    QVERIFY(r0["ran"].toBool());
    QCOMPARE(r1["error"].toString(), QStringLiteral("rank 0 failed at cache: disk full"));
    QVERIFY(!r1["ran"].toBool());  // it did not do the work rank 0 failed at
    for (const auto& o : {r0, r1}) {
      const QJsonArray d = o["doubles"].toArray();
      QCOMPARE(d.size(), 4);
      QCOMPARE(d[0].toDouble(), 0.0);
      QCOMPARE(d[2].toDouble(), 1.0);
      QCOMPARE(d[3].toDouble(), 0.5);
    }
  }

  // A rank lost while rank 0 works alone (the others wait for it through the store, with no
  // collective to fail): rank 0 hears of it from the heartbeats, during work that asks and at
  // the end of work that cannot.
  void jobRankLostWhileRankZeroWorksAlone() {
    const auto r = runJob("lost", 2, 2, 60, m_dir);
    QVERIFY2(r[0].code == 0, qPrintable(r[0].err));
    const QJsonObject res = r[0].out["result"].toObject();
    QCOMPARE(res["asking"].toString(),
             QStringLiteral("rank 1 of 2 left the job while rank 0 pre-trained the encoder (no "
                            "heartbeat for 3 s)"));
    QVERIFY2(res["asking_s"].toDouble() < 8,
             qPrintable(QString::number(res["asking_s"].toDouble())));
    QCOMPARE(
        res["not_asking"].toString(),
        QStringLiteral(
            "rank 1 of 2 left the job while rank 0 prepared the tokenizer (no heartbeat for 3 s)"));
  }

  void jobMissingWorkerIsOneClearError() {
    QElapsedTimer t;
    t.start();
    const auto r = runJob("reduce", 2, 1, 3, m_dir);
    QCOMPARE(r[0].code, 3);
    QVERIFY2(r[0].err.startsWith("error: rendezvous at 127.0.0.1:") &&
                 r[0].err.contains("rank 0 of 2 within 3 s") && r[0].err.count('\n') == 1,
             qPrintable(r[0].err));
    QVERIFY2(t.elapsed() < 40000, "the rendezvous did not give up near its timeout");
  }
};

QTEST_GUILESS_MAIN(TestDist)
#include "tst_dist.moc"
