// Runs over several processes (issue 12, docs/DISTRIBUTED.md) through the CLI on 127.0.0.1:
// 1 vs 2 data-parallel processes give the same weights and losses, a worker killed with -9
// fails the run naming its rank with the store intact and no process left (also while rank 0
// pre-trains alone), Ctrl-C on rank 0 stops both after the same step, `--nproc 2` runs
// smoke.json end to end, the launch errors are one line each, a master address served by no
// store is one line within the timeout; and the store's per-rank rows (schema 6) with the
// migration of an older store.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "dist/dist.h"
#include "run/distrun.h"
#include "run/persist.h"
#include "store/runstore.h"

using namespace rr::core;

namespace {

// The smoke data, dropout off (so the ranks' forward passes are those of one process), no
// pre-training, a few steps of a global batch of 16. center_rewards: the plain pairwise loss does
// not change when every reward shifts alike, so the gradient of the last norm's and the head's
// bias is zero but for rounding, and AdamW turns that rounding (which differs with the order
// of summation, one batch or two halves) into steps of +-lr; the centering term gives those
// tensors a real gradient, and the comparison is of training, not of rounding noise. lr 1e-4:
// AdamW normalises every element, so one whose gradient is near zero still moves by up to lr
// per step in a direction rounding decides; at 1e-4 that stays below the 1e-5 tolerance, while
// ranks training on their own gradients (no all-reduce) differ by about lr per step.
// `mode`: distributed.mode ("" = the default, auto).
std::string configText(const std::string& method, int epochs, int batch = 16,
                       const std::string& mode = "") {
  return R"({
  "name": "distrun",
  "data": {
    "synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "instruct", "ranked"],
                  "house_style": 0.4, "seed": 7},
    "split": {"train": 0.7, "validation": 0.1, "test": 0.2}
  },
  "tokenizer": {"vocab_size": 300},
  "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 48,
              "dropout": 0.0},
  "pretrain": {"steps": 0},
  "training": {"lr": 0.0001, "batch_size": )" +
         std::to_string(batch) + R"(, "epochs": )" + std::to_string(epochs) +
         R"(, "eval_every": 3, "seed": 1,
               "center_rewards": 0.01},)" +
         (mode.empty() ? std::string() : R"(
  "distributed": {"mode": ")" + mode + R"("},)") +
         R"(
  "methods": [)" + method + "]\n}\n";
}

std::string writeConfig(const QTemporaryDir& dir, const std::string& text) {
  const std::string path = dir.path().toStdString() + "/cfg.json";
  std::ofstream(path) << text;
  return path;
}

struct CliResult {
  int code = -1;
  QString out, err;
};

CliResult cli(const QStringList& args, const QProcessEnvironment& env = {}) {
  QProcess p;
  if (!env.isEmpty()) p.setProcessEnvironment(env);
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.waitForFinished(180000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

// The largest absolute difference between the runs' saved weights; `where` gets the tensor's name.
double weightDifference(const std::string& dbA, std::int64_t runA, const std::string& dbB,
                        std::int64_t runB, std::string* where = nullptr) {
  auto a = loadRunSystem(dbA, *RunStore::open(dbA, true)->run(runA));
  auto b = loadRunSystem(dbB, *RunStore::open(dbB, true)->run(runB));
  const NamedModules ma = a->system->namedModules(), mb = b->system->namedModules();
  if (ma.size() != mb.size()) return 1e9;
  double worst = 0;
  for (size_t i = 0; i < ma.size(); ++i) {
    const auto pa = ma[i].second->named_parameters(), pb = mb[i].second->named_parameters();
    if (ma[i].first != mb[i].first || pa.size() != pb.size()) return 1e9;
    for (size_t k = 0; k < pa.size(); ++k) {
      const double d = (pa[k].value() - pb[k].value()).abs().max().item<double>();
      if (d > worst && where) *where = ma[i].first + "." + pa[k].key();
      worst = std::max(worst, d);
    }
  }
  return worst;
}

// The processes whose parent is `pid` (from /proc).
std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const QString& e : QDir("/proc").entryList(QDir::Dirs)) {
    bool ok = false;
    const int p = e.toInt(&ok);
    if (!ok) continue;
    QFile f("/proc/" + e + "/stat");
    if (!f.open(QIODevice::ReadOnly)) continue;
    const QString stat = QString::fromUtf8(f.readAll());
    // pid (comm) state ppid ...: the command may hold spaces, so read after the last ')'.
    const QStringList rest = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    if (rest.size() > 1 && rest[1].toInt() == pid) out.push_back(p);
  }
  return out;
}

QString rawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  QString result;
  sqlite3_exec(
      db, sql.c_str(),
      [](void* out, int n, char** values, char**) {
        for (int i = 0; i < n; ++i) *static_cast<QString*>(out) += values[i] ? values[i] : "NULL";
        return 0;
      },
      &result, nullptr);
  sqlite3_close(db);
  return result;
}

// Starts `run CFG --db DB --quiet --nproc 2 --dist-timeout SECONDS` in `p`.
bool startJob(QProcess& p, const QString& cfg, const std::string& db, int timeoutSeconds) {
  p.start(QStringLiteral(RR_CLI_PATH),
          {"run", cfg, "--db", QString::fromStdString(db), "--quiet", "--nproc", "2",
           "--dist-timeout", QString::number(timeoutSeconds)});
  return p.waitForStarted();
}

// Polls the store of the running job `p` until `ready` holds, then sends `signal` to rank 0
// (to its one worker when `toWorker`); `workers` gets rank 0's children at that moment. False
// when the job ended or two minutes passed first.
bool signalWhen(QProcess& p, const std::string& db,
                const std::function<bool(RunStore&)>& ready, int signal, bool toWorker,
                std::vector<pid_t>* workers) {
  const pid_t lead = static_cast<pid_t>(p.processId());
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < 120000) {
    // Waiting through QProcess lets it see the process end (its state is only updated then).
    if (p.state() == QProcess::NotRunning || p.waitForFinished(10)) break;
    if (!std::filesystem::exists(db)) continue;
    try {
      auto store = RunStore::open(db, true);
      if (!ready(*store)) continue;
    } catch (const std::exception&) {
      continue;  // the store is being created; look again
    }
    *workers = childrenOf(lead);
    if (workers->size() != 1) continue;
    ::kill(toWorker ? workers->front() : lead, signal);
    return true;
  }
  return false;
}

// Whether a run of the store has reported a loss at step `step` or later.
bool lossAtStep(RunStore& store, std::int64_t step) {
  for (const auto& run : store.listRuns())
    for (const auto& m : store.metrics(run.id))
      if (m.key == "loss" && m.step >= step) return true;
  return false;
}

std::int64_t onlyRun(const std::string& db) {
  const auto runs = RunStore::open(db, true)->listRuns();
  return runs.size() == 1 ? runs[0].id : -1;
}

// A program that listens where a job's master should be but is no c10d store, on 127.0.0.1 (a
// port the kernel picks): "silent" lets the kernel accept and never reads or writes, "garbage"
// answers whatever it is sent with bytes of no meaning, "greets" speaks first, as an SSH server
// does. Serves from its own thread until destroyed.
class FakeMaster {
 public:
  explicit FakeMaster(const QString& mode) : m_mode(mode) {
    m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(m_listen, 16) != 0 ||
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    m_port = ntohs(a.sin_port);
    if (m_mode != "silent") m_thread = std::thread([this] { serve(); });
  }
  ~FakeMaster() {
    m_stop = true;
    if (m_thread.joinable()) m_thread.join();
    for (int fd : m_clients) ::close(fd);
    ::close(m_listen);
  }
  int port() const { return m_port; }

 private:
  void serve() {
    while (!m_stop) {
      std::vector<pollfd> fds = {{m_listen, POLLIN, 0}};
      for (int fd : m_clients) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int c = ::accept(m_listen, nullptr, nullptr);
        if (c < 0) continue;
        m_clients.push_back(c);
        if (m_mode == "greets") send(c, "SSH-2.0-OpenSSH_9.2\r\n");
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        if (::recv(fds[i].fd, buf, sizeof buf, 0) <= 0) {  // the rank closed it
          ::close(fds[i].fd);
          m_clients.erase(std::find(m_clients.begin(), m_clients.end(), fds[i].fd));
        } else if (m_mode == "garbage") {
          send(fds[i].fd, std::string(64, '\xab'));
        }
      }
    }
  }
  static void send(int fd, const std::string& bytes) {
    (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  QString m_mode;
  int m_listen = -1, m_port = 0;
  std::vector<int> m_clients;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

}  // namespace

class TestDistRun : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void init() {
    const QByteArray name = QTest::currentTestFunction();
    if ((name.startsWith("two") || name.startsWith("kill") || name.startsWith("smoke") ||
         name.startsWith("stop") || name.startsWith("ranks") || name.startsWith("every") ||
         name.startsWith("components") || name.startsWith("notAStore")) &&
        !dist::c10dAvailable())
      QSKIP(dist::c10dUnavailableReason().c_str());
  }

  void scoresTravelExactly() {
    std::vector<PairScore> s(4);
    s[0] = {0.1 + 1e-17, -2.0 / 3.0, "harmless", {{"expert0", 1.0 / 7.0}, {"expert1", 0.5}}};
    s[1] = {1e300, -1e-300, "", {}};
    s[2] = {0, 0, "ranked", {{"", -0.0}}};
    s[3] = {std::nan(""), -std::numeric_limits<double>::infinity(), "x", {}};
    const auto back = deserializeScores(serializeScores(s));
    QCOMPARE(back.size(), s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      QVERIFY(back[i].chosen == s[i].chosen ||
              (std::isnan(s[i].chosen) && std::isnan(back[i].chosen)));  // a NaN stays one
      QCOMPARE(back[i].rejected, s[i].rejected);
      QCOMPARE(back[i].route, s[i].route);
      QVERIFY(back[i].detail == s[i].detail);
    }
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             deserializeScores(serializeScores(s).substr(0, 20)));
    // Shares: contiguous, in rank order, covering everything; empty for ranks beyond n.
    QCOMPARE(dist::shareOf(5, 0, 2), std::make_pair(size_t(0), size_t(3)));
    QCOMPARE(dist::shareOf(5, 1, 2), std::make_pair(size_t(3), size_t(5)));
    QCOMPARE(dist::shareOf(1, 1, 2), std::make_pair(size_t(1), size_t(1)));
  }

  // The run's own rows keep rank NULL (what the Monitor reads); per-rank rows are apart; a store
  // of schema 5 is read as it is and migrated by a writer.
  void storeKeepsRanksApart() {
    QTemporaryDir dir;
    const std::string db = dir.path().toStdString() + "/s.db";
    std::int64_t run = 0;
    {
      RunWriter w(db);
      run = w.createRun("e", "baseline", "baseline", 1, "{}");
      w.setDistributed(run, 2, "gloo", "a,b");
      w.addMetric({run, "model", 1, 0.1, "loss", 0.5});
      MetricRow r0{run, "model", 1, 0.1, "loss", 0.4};
      r0.rank = 0;
      MetricRow r1{run, "model", 1, 0.1, "loss", 0.6};
      r1.rank = 1;
      w.addMetric(r0);
      w.addMetric(r1);
      w.flush();
    }
    auto store = RunStore::open(db, true);
    QCOMPARE(store->schemaVersion(), kStoreSchemaVersion);
    const auto own = store->metrics(run);
    QCOMPARE(own.size(), size_t(1));
    QCOMPARE(own[0].value, 0.5);
    QCOMPARE(own[0].rank, -1);
    const auto ranked = store->rankMetrics(run);
    QCOMPARE(ranked.size(), size_t(2));
    QCOMPARE(ranked[1].rank, 1);
    QCOMPARE(ranked[1].value, 0.6);
    QCOMPARE(store->run(run)->worldSize, 2);
    QCOMPARE(QString::fromStdString(store->run(run)->distBackend), QStringLiteral("gloo"));
    QCOMPARE(QString::fromStdString(store->run(run)->distHosts), QStringLiteral("a,b"));
    store.reset();

    // Back to schema 5 (the columns dropped), then read and migrated.
    rawSql(db,
           "DELETE FROM metrics WHERE rank IS NOT NULL; ALTER TABLE metrics DROP COLUMN rank; "
           "ALTER TABLE runs DROP COLUMN world_size; ALTER TABLE runs DROP COLUMN "
           "dist_backend; ALTER TABLE runs DROP COLUMN dist_hosts; PRAGMA user_version=5");
    QCOMPARE(rawSql(db, "PRAGMA user_version"), QStringLiteral("5"));
    {
      auto old = RunStore::open(db, true);
      QCOMPARE(old->schemaVersion(), 5);
      QCOMPARE(old->metrics(run).size(), size_t(1));
      QVERIFY(old->rankMetrics(run).empty());
      QCOMPARE(old->run(run)->worldSize, 1);
    }
    { RunWriter w(db); }
    QCOMPARE(RunStore::open(db, true)->schemaVersion(), kStoreSchemaVersion);
    QCOMPARE(RunStore::open(db, true)->metrics(run).size(), size_t(1));
    QCOMPARE(rawSql(db, "SELECT count(*) FROM metrics WHERE rank IS NULL"), QStringLiteral("1"));
  }

  void twoProcessesTrainAsOne_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("batch");
    QTest::addColumn<QString>("mode");
    QTest::newRow("baseline") << R"({"method": "baseline"})" << 16 << "";
    QTest::newRow("rodos-data") << R"({"method": "rodos"})" << 16 << "data";
    // A global batch of one pair: rank 1's share is always empty, and it still takes part.
    QTest::newRow("baseline-batch-1") << R"({"method": "baseline"})" << 1 << "";
    // Component parallelism: each group trained whole on one process, then sent to the others.
    QTest::newRow("rodos-components") << R"({"method": "rodos"})" << 16 << "components";
    QTest::newRow("arliss-auto") << R"({"method": "arliss"})" << 16 << "";
    QTest::newRow("dmoerm-components") << R"({"method": "dmoerm"})" << 16 << "components";
  }

  // Over 2 processes, data-parallel or with the components spread: the saved weights and the
  // reported losses of the single-process run with the same global batch, within 1e-5; per-rank
  // rows for both ranks (data-parallel); the run records its world size, backend and hosts; the
  // test accuracy is the same.
  void twoProcessesTrainAsOne() {
    QFETCH(QString, method);
    QFETCH(int, batch);
    QFETCH(QString, mode);
    // auto spreads the components of a method with at least two (every router method here).
    const bool spread = mode == "components" || (mode.isEmpty() && !method.contains("baseline"));
    QTemporaryDir dir;
    const QString cfg = QString::fromStdString(
        writeConfig(dir, configText(method.toStdString(), 1, batch, mode.toStdString())));
    const std::string one = dir.path().toStdString() + "/one.db",
                      two = dir.path().toStdString() + "/two.db";
    const CliResult a = cli({"run", cfg, "--db", QString::fromStdString(one), "--quiet"});
    QVERIFY2(a.code == 0, qPrintable(a.err));
    const CliResult b = cli({"run", cfg, "--db", QString::fromStdString(two), "--quiet", "--nproc",
                             "2", "--dist-timeout", "60"});
    QVERIFY2(b.code == 0, qPrintable(b.err));
    QVERIFY2(!b.err.contains("rank 1"), qPrintable(b.err));  // rank 1 prints nothing
    const std::int64_t ra = onlyRun(one), rb = onlyRun(two);
    QVERIFY(ra > 0 && rb > 0);
    std::string where;
    const double diff = weightDifference(one, ra, two, rb, &where);
    QVERIFY2(diff <= 1e-5, ("weights differ by " + std::to_string(diff) + " in " + where).c_str());

    auto sa = RunStore::open(one, true), sb = RunStore::open(two, true);
    std::map<std::pair<std::string, std::int64_t>, double> lossA, lossB;
    for (const auto& m : sa->metrics(ra))
      if (m.key == "loss") lossA[{m.component, m.step}] = m.value;
    for (const auto& m : sb->metrics(rb))
      if (m.key == "loss") lossB[{m.component, m.step}] = m.value;
    QVERIFY(lossA.size() >= 3);
    QCOMPARE(lossB.size(), lossA.size());
    for (const auto& [k, v] : lossA)
      QVERIFY2(std::abs(lossB[k] - v) <= 1e-5, qPrintable(QString("%1 step %2: %3 vs %4")
                                                              .arg(QString::fromStdString(k.first))
                                                              .arg(k.second)
                                                              .arg(lossB[k])
                                                              .arg(v)));
    // Validation (split over the processes in data-parallel mode, counts summed): the figures of
    // one process, at the same steps.
    std::map<std::tuple<std::string, std::string, std::int64_t>, double> valA, valB;
    for (const auto& m : sa->metrics(ra))
      if (m.key.rfind("val_", 0) == 0) valA[{m.component, m.key, m.step}] = m.value;
    for (const auto& m : sb->metrics(rb))
      if (m.key.rfind("val_", 0) == 0) valB[{m.component, m.key, m.step}] = m.value;
    QVERIFY(valA.size() >= 2);
    QCOMPARE(valB.size(), valA.size());
    for (const auto& [k, v] : valA)
      QVERIFY2(std::abs(valB[k] - v) <= 1e-9,
               qPrintable(QString("%1 %2 step %3: %4 vs %5")
                              .arg(QString::fromStdString(std::get<0>(k)),
                                   QString::fromStdString(std::get<1>(k)))
                              .arg(std::get<2>(k))
                              .arg(valB[k])
                              .arg(v)));
    std::set<int> ranks;
    for (const auto& m : sb->rankMetrics(rb)) ranks.insert(m.rank);
    QCOMPARE(ranks, (spread ? std::set<int>{} : std::set<int>{0, 1}));
    bool saidSo = false;
    for (const auto& l : sb->logs(rb))
      saidSo = saidSo || l.message.find(spread ? "components spread over 2 processes"
                                               : "data-parallel over 2 processes") !=
                             std::string::npos;
    QVERIFY(saidSo);
    // Every component's training time is the run's, whichever process trained it.
    for (const auto& c : sb->components({rb}))
      if (c.paramsTrainable > 0) QVERIFY2(c.trainSeconds > 0, c.name.c_str());
    QVERIFY(sa->rankMetrics(ra).empty());
    const auto info = sb->run(rb);
    QCOMPARE(info->worldSize, 2);
    QCOMPARE(QString::fromStdString(info->distBackend), QStringLiteral("gloo"));
    QCOMPARE(QString::fromStdString(info->distHosts).split(',').size(), 2);
    QCOMPARE(sa->run(ra)->worldSize, 1);
    // Test scoring split over the ranks and gathered: every pair, the same rewards.
    std::map<std::string, double> rewardsA;
    ExampleFilter fa, fb;
    fa.runIds = {ra};
    fb.runIds = {rb};
    const auto ea = sa->examples(fa, 0, 1000000), eb = sb->examples(fb, 0, 1000000);
    QCOMPARE(eb.size(), ea.size());
    for (const auto& e : ea) rewardsA[e.exampleId] = e.rewardChosen - e.rewardRejected;
    for (const auto& e : eb)
      QVERIFY(std::abs(rewardsA.at(e.exampleId) - (e.rewardChosen - e.rewardRejected)) <= 1e-4);
  }

  // kill -9 of rank 1 in the middle of training: rank 0 ends the run failed naming rank 1
  // within the timeout, the store passes SQLite's integrity check, no worker is left.
  void killedWorkerFailsTheRun() {
    QTemporaryDir dir;
    const QString cfg =
        QString::fromStdString(writeConfig(dir, configText(R"({"method": "baseline"})", 40)));
    const std::string db = dir.path().toStdString() + "/kill.db";
    QProcess p;
    QVERIFY(startJob(p, cfg, db, 20));
    std::vector<pid_t> workers;
    const bool killed = signalWhen(
        p, db, [](RunStore& st) { return lossAtStep(st, 3); }, SIGKILL, true, &workers);
    QVERIFY2(killed, "the run ended before a worker could be killed");
    QElapsedTimer sinceKill;
    sinceKill.start();
    QVERIFY(p.waitForFinished(60000));
    QVERIFY2(sinceKill.elapsed() < 25000, "rank 0 took longer than its timeout to notice");
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 1);
    const auto runs = RunStore::open(db, true)->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QVERIFY(runs[0].status == RunStatus::Failed);
    QVERIFY2(QString::fromStdString(runs[0].error).contains("rank 1 of 2 left the job"),
             runs[0].error.c_str());
    QVERIFY2(err.contains("rank 1 of 2 left the job"), qPrintable(err));
    QCOMPARE(rawSql(db, "PRAGMA integrity_check"), QStringLiteral("ok"));
    for (pid_t w : workers) QVERIFY(!QFile::exists(QString("/proc/%1").arg(w)));
  }

  // A worker killed once the first of two runs finished: the second ends failed naming the rank
  // (whether the kill lands between the runs or in the second's training), none is left queued
  // or running, the store is intact.
  void killBetweenRunsFailsTheRest() {
    QTemporaryDir dir;
    const QString cfg = QString::fromStdString(writeConfig(
        dir,
        configText(R"({"method": "baseline"}, {"method": "baseline", "name": "second"})", 40)));
    const std::string db = dir.path().toStdString() + "/between.db";
    QProcess p;
    QVERIFY(startJob(p, cfg, db, 20));
    std::vector<pid_t> workers;
    const bool killed = signalWhen(
        p, db,
        [](RunStore& st) {
          for (const auto& run : st.listRuns())
            if (run.methodName == "baseline" && run.status == RunStatus::Finished) return true;
          return false;
        },
        SIGKILL, true, &workers);
    QVERIFY2(killed, "the first run did not finish while the job ran");
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 1);
    for (const auto& run : RunStore::open(db, true)->listRuns()) {
      if (run.methodName == "baseline") QVERIFY(run.status == RunStatus::Finished);
      if (run.methodName != "second") continue;
      QVERIFY(run.status == RunStatus::Failed);
      QVERIFY2(QString::fromStdString(run.error).contains("rank 1 of 2 left the job"),
               run.error.c_str());
    }
    QCOMPARE(rawSql(db, "PRAGMA integrity_check"), QStringLiteral("ok"));
    for (pid_t w : workers) QVERIFY(!QFile::exists(QString("/proc/%1").arg(w)));
  }

  void componentsStopTogether_data() {
    QTest::addColumn<bool>("killWorker");
    QTest::newRow("sigint-rank-0") << false;
    QTest::newRow("kill-9-rank-1") << true;
  }

  // Components spread over 2 processes train apart, so a stop or a lost worker travels through
  // the job's store: SIGINT to rank 0 ends the run cancelled (exit 130), kill -9 of rank 1 ends
  // it failed naming the rank (exit 1) within a few seconds; the store is intact, no worker left.
  void componentsStopTogether() {
    QFETCH(bool, killWorker);
    QTemporaryDir dir;
    const QString cfg = QString::fromStdString(
        writeConfig(dir, configText(R"({"method": "rodos"})", 400, 16, "components")));
    const std::string db = dir.path().toStdString() + "/spread.db";
    QProcess p;
    QVERIFY(startJob(p, cfg, db, 60));
    std::vector<pid_t> workers;
    // Once both processes have reported steps (rank 1's rows reach the store through rank 0).
    const bool sent = signalWhen(
        p, db,
        [](RunStore& st) {
          std::set<std::string> training;
          for (const auto& run : st.listRuns())
            for (const auto& m : st.metrics(run.id))
              if (m.key == "loss" && m.step >= 3) training.insert(m.component);
          return training.size() >= 2;
        },
        killWorker ? SIGKILL : SIGINT, killWorker, &workers);
    QVERIFY2(sent, "the run ended before it could be stopped");
    QElapsedTimer since;
    since.start();
    QVERIFY(p.waitForFinished(60000));
    QVERIFY2(since.elapsed() < 20000, "the processes took too long to stop together");
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), killWorker ? 1 : 130);
    const auto runs = RunStore::open(db, true)->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    if (killWorker) {
      QVERIFY(runs[0].status == RunStatus::Failed);
      QVERIFY2(QString::fromStdString(runs[0].error).contains("rank 1 of 2 left the job"),
               runs[0].error.c_str());
    } else {
      QVERIFY(runs[0].status == RunStatus::Cancelled);
    }
    QCOMPARE(rawSql(db, "PRAGMA integrity_check"), QStringLiteral("ok"));
    for (pid_t w : workers) {
      QTRY_VERIFY_WITH_TIMEOUT(!QFile::exists(QString("/proc/%1").arg(w)), 5000);
    }
  }

  // SIGINT to rank 0 alone: both ranks stop after the same step, the run ends cancelled with
  // the metrics of every step it took, and no worker is left.
  void stopOnRankZeroStopsAll() {
    QTemporaryDir dir;
    const QString cfg =
        QString::fromStdString(writeConfig(dir, configText(R"({"method": "baseline"})", 400)));
    const std::string db = dir.path().toStdString() + "/stop.db";
    QProcess p;
    QVERIFY(startJob(p, cfg, db, 20));
    std::vector<pid_t> workers;
    const bool sent = signalWhen(
        p, db, [](RunStore& st) { return lossAtStep(st, 3); }, SIGINT, false, &workers);
    QVERIFY2(sent, "the run ended before it could be stopped");
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 130);
    auto store = RunStore::open(db, true);
    const auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QVERIFY(runs[0].status == RunStatus::Cancelled);
    std::map<int, std::int64_t> last;  // rank (-1: the run) -> last step with a loss
    for (const auto& m : store->metrics(runs[0].id))
      if (m.key == "loss") last[-1] = std::max(last[-1], m.step);
    for (const auto& m : store->rankMetrics(runs[0].id))
      if (m.key == "loss") last[m.rank] = std::max(last[m.rank], m.step);
    QCOMPARE(last.size(), size_t(3));
    QVERIFY(last[-1] >= 3 && last[-1] < 400 * 6);
    QCOMPARE(last[0], last[-1]);
    QCOMPARE(last[1], last[-1]);
    QCOMPARE(workers.size(), size_t(1));
    for (pid_t w : workers) QVERIFY(!QFile::exists(QString("/proc/%1").arg(w)));
  }

  // kill -9 of the worker while rank 0 pre-trains the encoder alone (the worker waits for it):
  // rank 0 sees the worker's heartbeat stop and ends the job within the timeout, naming the
  // rank; the store it was to write keeps what it had, intact; no process is left.
  void killDuringPretrainingFailsTheJob() {
    QTemporaryDir dir;
    std::string text = configText(R"({"method": "baseline"})", 1);
    const std::string noPretraining = R"("pretrain": {"steps": 0})";
    text.replace(text.find(noPretraining), noPretraining.size(),
                 R"("pretrain": {"steps": 100000, "batch_size": 8})");
    const QString cfg = QString::fromStdString(writeConfig(dir, text));
    const std::string db = dir.path().toStdString() + "/pretrain.db";
    RunWriter(db).createRun("earlier", "baseline", "baseline", 1, "{}");
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("RR_CACHE_DIR", dir.path() + "/cache");  // nothing cached: rank 0 pre-trains
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(RR_CLI_PATH), {"run", cfg, "--db", QString::fromStdString(db), "--nproc",
                                          "2", "--dist-timeout", "20"});
    QVERIFY(p.waitForStarted());
    p.setReadChannel(QProcess::StandardError);
    QString err;
    QElapsedTimer t;
    t.start();
    while (!err.contains("pre-training the encoder") && t.elapsed() < 120000 &&
           p.state() == QProcess::Running)
      if (p.waitForReadyRead(1000)) err += QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(err.contains("pre-training the encoder"), qPrintable(err));
    QTest::qWait(1000);  // into the pre-training's steps
    const std::vector<pid_t> workers = childrenOf(static_cast<pid_t>(p.processId()));
    QCOMPARE(workers.size(), size_t(1));
    ::kill(workers.front(), SIGKILL);
    QElapsedTimer sinceKill;
    sinceKill.start();
    const bool ended = p.waitForFinished(60000);
    QVERIFY2(ended, "rank 0 pre-trained on for a minute after its worker was killed");
    QVERIFY2(sinceKill.elapsed() < 20000, "rank 0 took longer than its timeout to notice");
    err += QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitCode(), 1);
    QVERIFY2(err.contains("error: rank 1 of 2 left the job"), qPrintable(err.right(2000)));
    QCOMPARE(RunStore::open(db, true)->listRuns().size(), size_t(1));
    QCOMPARE(rawSql(db, "PRAGMA integrity_check"), QStringLiteral("ok"));
    QVERIFY(!QFile::exists(QString("/proc/%1").arg(workers.front())));
  }

  void notAStoreIsOneLineWithinTheTimeout_data() {
    QTest::addColumn<QString>("mode");
    QTest::newRow("silent") << "silent";
    QTest::newRow("answers-garbage") << "garbage";
    QTest::newRow("speaks-first") << "greets";
  }

  // A rank whose master address is served by a program that is no c10d store: it does not wait
  // past its timeout (3 s, plus the start of the process) and ends with one line naming the
  // address and what is wrong, writing nothing.
  void notAStoreIsOneLineWithinTheTimeout() {
    QFETCH(QString, mode);
    QTemporaryDir dir;
    FakeMaster master(mode);
    QVERIFY(master.port() > 0);
    const QString cfg =
        QString::fromStdString(writeConfig(dir, configText(R"({"method": "baseline"})", 1)));
    const QString where = QString("127.0.0.1:%1").arg(master.port());
    QElapsedTimer t;
    t.start();
    QProcess p;
    p.start(QStringLiteral(RR_CLI_PATH),
            {"run", cfg, "--db", dir.path() + "/r1.db", "--quiet", "--rank", "1", "--world-size",
             "2", "--master", where, "--dist-timeout", "3"});
    const bool ended = p.waitForFinished(30000);
    if (!ended) p.kill();
    QVERIFY2(ended, "the rank still waited 30 s after its 3 s timeout");
    QVERIFY2(t.elapsed() < 10000, qPrintable(QString("ended after %1 ms").arg(t.elapsed())));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 1);
    QVERIFY2(err.count('\n') == 1 && err.startsWith("rank 1: error: ") && err.contains(where) &&
                 err.contains("not a c10d store"),
             qPrintable(err));
    QVERIFY(!QFile::exists(dir.path() + "/r1.db"));
  }

  // `run experiments/smoke.json --nproc 2`: every method finished, the report lists them.
  void smokeEndToEnd() {
    QTemporaryDir dir;
    const QString db = dir.path() + "/smoke.db";
    const CliResult r = cli(
        {"run", RR_SOURCE_DIR "/experiments/smoke.json", "--db", db, "--quiet", "--nproc", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto runs = RunStore::open(db.toStdString(), true)->listRuns();
    QVERIFY(!runs.empty());
    for (const auto& run : runs) {
      QVERIFY(run.status == RunStatus::Finished);
      QVERIFY2(r.out.contains(QString::fromStdString(run.methodName)), qPrintable(r.out));
      QCOMPARE(run.worldSize, 2);
    }
  }

  // Two processes started apart, as on two machines (--rank/--world-size/--master here, the
  // launcher variables elsewhere): rank 0 alone writes its store, rank 1 prints nothing and
  // writes none; a job whose second rank never comes fails at the rendezvous in one line.
  void ranksStartedApart() {
    QTemporaryDir dir;
    const QString cfg =
        QString::fromStdString(writeConfig(dir, configText(R"({"method": "baseline"})", 1)));
    const QString master = QString("127.0.0.1:%1").arg(dist::freeLoopbackPort());
    const QString db0 = dir.path() + "/r0.db", db1 = dir.path() + "/r1.db";
    QProcess r0, r1;
    r0.start(QStringLiteral(RR_CLI_PATH), {"run", cfg, "--db", db0, "--quiet", "--rank", "0",
                                           "--world-size", "2", "--master", master});
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("RANK", "1");
    env.insert("WORLD_SIZE", "2");
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", master.section(':', 1));
    r1.setProcessEnvironment(env);
    r1.start(QStringLiteral(RR_CLI_PATH), {"run", cfg, "--db", db1, "--quiet"});
    QVERIFY(r0.waitForFinished(120000) && r1.waitForFinished(120000));
    const QString err0 = QString::fromUtf8(r0.readAllStandardError()),
                  err1 = QString::fromUtf8(r1.readAllStandardError());
    QVERIFY2(r0.exitCode() == 0, qPrintable(err0));
    QVERIFY2(r1.exitCode() == 0, qPrintable(err1));
    QVERIFY2(err1.isEmpty() && r1.readAllStandardOutput().isEmpty(), qPrintable(err1));
    QVERIFY(!QFile::exists(db1));
    const auto runs = RunStore::open(db0.toStdString(), true)->listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QVERIFY(runs[0].status == RunStatus::Finished);
    QCOMPARE(runs[0].worldSize, 2);

    QElapsedTimer t;
    t.start();
    const CliResult alone = cli({"run", cfg, "--db", dir.path() + "/alone.db", "--quiet", "--rank",
                                 "0", "--world-size", "2", "--master",
                                 QString("127.0.0.1:%1").arg(dist::freeLoopbackPort()),
                                 "--dist-timeout", "3"});
    QCOMPARE(alone.code, 1);
    QVERIFY2(alone.err.count('\n') == 1 && alone.err.contains("rendezvous at 127.0.0.1:") &&
                 alone.err.contains("rank 0 of 2 within 3 s"),
             qPrintable(alone.err));
    QVERIFY(t.elapsed() < 40000);
    QVERIFY(!QFile::exists(dir.path() + "/alone.db"));
  }

  // Every method through the data-parallel path (MoRE's gate noise and the adapters' frozen
  // encoders included): all finish over 2 processes, the report lists each.
  void everyMethodOverTwoProcesses() {
    QTemporaryDir dir;
    const QString cfg = QString::fromStdString(writeConfig(
        dir, configText(R"({"method": "baseline"}, {"method": "base-lora"}, {"method": "more"},
                           {"method": "rodos"}, {"method": "arliss"}, {"method": "dmoerm"})",
                        1)));
    const QString db = dir.path() + "/all.db";
    const CliResult r = cli({"run", cfg, "--db", db, "--quiet", "--nproc", "2"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto runs = RunStore::open(db.toStdString(), true)->listRuns();
    QCOMPARE(runs.size(), size_t(6));
    for (const auto& run : runs) {
      QVERIFY2(run.status == RunStatus::Finished, run.methodName.c_str());
      QCOMPARE(run.worldSize, 2);
      QVERIFY2(r.out.contains("| " + QString::fromStdString(run.methodName) + " |"),
               qPrintable(r.out));
    }
  }

  // The launch's errors: one line each, exit code 2, nothing started.
  void launchErrorsAreOneLine() {
    QTemporaryDir dir;
    const QString cfg =
        QString::fromStdString(writeConfig(dir, configText(R"({"method": "baseline"})", 1)));
    const QString db = dir.path() + "/e.db";
    auto check = [&](const QStringList& extra, const QString& want,
                     const QProcessEnvironment& env = {}) {
      const CliResult r = cli(QStringList{"run", cfg, "--db", db} + extra, env);
      QCOMPARE(r.code, 2);
      QVERIFY2(r.err.count('\n') == 1 && r.err.contains(want), qPrintable(r.err));
      QVERIFY(!QFile::exists(db));
    };
    check({"--nproc", "0"}, "--nproc");
    check({"--rank", "2", "--world-size", "2"}, "--rank 2 is not below --world-size 2");
    check({"--rank", "1"}, "--rank needs --world-size too");
    check({"--master", "nohost"}, "--master 'nohost' is not ADDR:PORT");
    check({"--nproc", "2", "--dist-backend", "mpi"}, "backend 'mpi' is not gloo or nccl");
    if (dist::c10dAvailable())
      check({"--nproc", "2", "--resume"}, "--resume: a run over several processes cannot resume");
    if (dist::c10dAvailable())
      check({"--nproc", "2", "--dist-backend", "nccl"}, "this build has no NCCL process group");
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("RANK", "3");
    env.insert("WORLD_SIZE", "2");
    check({}, "rank 3 is not below the world size 2", env);
    env.insert("RANK", "0");
    check({"--nproc", "2"}, "--nproc 2 starts its own workers", env);
    if (!dist::c10dAvailable()) check({"--nproc", "2"}, "this build has no c10d");
  }
};

QTEST_GUILESS_MAIN(TestDistRun)
#include "tst_distrun.moc"
