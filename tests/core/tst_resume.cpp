// Resumable runs (`run --resume`): a run stopped in the middle of a component, by a cancel or by
// kill -9, continues from its last checkpoint and ends with the weights and the metrics of a run
// that was never interrupted.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "common/digest.h"
#include "config/config.h"
#include "run/experiment.h"
#include "run/persist.h"
#include "store/runstore.h"

using namespace rr::core;

namespace {

// The smoke experiment's data with one method, dropout on (LibTorch's generator state is part of
// what a checkpoint restores), several epochs and a checkpoint every 3 steps.
std::string configText(const std::string& method, int epochs = 3) {
  return R"({
  "name": "resume",
  "data": {
    "synthetic": {"pairs_per_domain": 60, "domains": ["harmless", "instruct", "ranked"],
                  "house_style": 0.4, "seed": 7},
    "split": {"train": 0.7, "validation": 0.1, "test": 0.2}
  },
  "tokenizer": {"vocab_size": 300},
  "encoder": {"preset": "tiny", "hidden": 64, "layers": 1, "heads": 2, "ffn": 128, "max_len": 64,
              "dropout": 0.1},
  "pretrain": {"steps": 0},
  "training": {"lr": 0.001, "batch_size": 16, "epochs": )" +
         std::to_string(epochs) + R"(, "eval_every": 5, "seed": 1,
               "checkpoint_every": 3},
  "methods": [)" +
         method + "]\n}\n";
}

std::string writeConfig(const QTemporaryDir& dir, const std::string& name,
                        const std::string& text) {
  const std::string path = dir.path().toStdString() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Records nothing; requests a stop once `component`'s loss at `step` was reported, or once the
// n-th component (in order of appearance) reports its loss at `step` when component is "".
class StopAt : public MetricSink {
 public:
  StopAt(RunControl& control, int componentIndex, std::int64_t step)
      : m_control(control), m_index(componentIndex), m_step(step) {}
  void metric(const MetricRow& p) override {
    if (p.key != "loss") return;
    if (std::find(m_seen.begin(), m_seen.end(), p.component) == m_seen.end())
      m_seen.push_back(p.component);
    if (static_cast<int>(m_seen.size()) == m_index + 1 && p.component == m_seen.back() &&
        p.step == m_step) {
      stoppedIn = p.component;
      m_control.requestStop();
    }
  }
  void progress(const ProgressInfo&) override {}
  void log(std::int64_t, LogLevel, const std::string&) override {}
  std::string stoppedIn;

 private:
  RunControl& m_control;
  int m_index;
  std::int64_t m_step;
  std::vector<std::string> m_seen;
};

class Quiet : public MetricSink {
 public:
  void metric(const MetricRow&) override {}
  void progress(const ProgressInfo&) override {}
  void log(std::int64_t, LogLevel, const std::string&) override {}
};

// Largest absolute difference between the two runs' saved systems, module by module.
double weightDifference(const std::string& dbA, std::int64_t runA, const std::string& dbB,
                        std::int64_t runB) {
  auto a = loadRunSystem(dbA, *RunStore::open(dbA, true)->run(runA));
  auto b = loadRunSystem(dbB, *RunStore::open(dbB, true)->run(runB));
  const NamedModules ma = a->system->namedModules(), mb = b->system->namedModules();
  if (ma.size() != mb.size()) return 1e9;
  double worst = 0;
  for (size_t i = 0; i < ma.size(); ++i) {
    const auto pa = ma[i].second->named_parameters(), pb = mb[i].second->named_parameters();
    if (ma[i].first != mb[i].first || pa.size() != pb.size()) return 1e9;
    for (size_t k = 0; k < pa.size(); ++k)
      worst = std::max(worst, (pa[k].value() - pb[k].value()).abs().max().item<double>());
  }
  return worst;
}

// (component, key, step) -> value of every metric row; a row twice is a failure.
std::map<std::tuple<std::string, std::string, std::int64_t>, double> metricTable(
    const std::string& db, std::int64_t run, bool* repeated) {
  std::map<std::tuple<std::string, std::string, std::int64_t>, double> out;
  for (const auto& m : RunStore::open(db, true)->metrics(run)) {
    if (m.key == "pairs_per_s") continue;  // a speed, not a result
    if (!out.emplace(std::make_tuple(m.component, m.key, m.step), m.value).second)
      *repeated = true;
  }
  return out;
}

void compareMetrics(const std::string& dbA, std::int64_t runA, const std::string& dbB,
                    std::int64_t runB) {
  bool repeatedA = false, repeatedB = false;
  const auto a = metricTable(dbA, runA, &repeatedA), b = metricTable(dbB, runB, &repeatedB);
  QVERIFY(!repeatedA);
  QVERIFY2(!repeatedB, "the resumed run has a metric row twice");
  QCOMPARE(b.size(), a.size());  // no gap
  for (const auto& [key, value] : a) {
    const auto it = b.find(key);
    QVERIFY2(it != b.end(), (std::get<0>(key) + " " + std::get<1>(key) + " step " +
                             std::to_string(std::get<2>(key)) + " missing after resume")
                                .c_str());
    QVERIFY2(std::abs(it->second - value) <= 1e-6 * std::max(1.0, std::abs(value)),
             (std::get<0>(key) + " " + std::get<1>(key) + " step " +
              std::to_string(std::get<2>(key)) + ": " + std::to_string(it->second) + " vs " +
              std::to_string(value))
                 .c_str());
  }
}

struct CliResult {
  int code = -1;
  QString out, err;
};

CliResult cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.waitForFinished(180000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

// A checkpoint file is the archive LibTorch writes followed by its SHA-256 in 64 hex digits and
// 8 bytes saying so (docs/STORE.md, "Resume"). Applies `change` to the archive and writes the
// file again with the SHA-256 of the changed archive: damage that the checksum does not catch.
constexpr char kTrailerMagic[] = "RRckpt\x01\n";
constexpr size_t kTrailer = 64 + 8;

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void rewriteArchive(const std::string& file, const std::function<void(std::string&)>& change) {
  std::string bytes = readBytes(file);
  const bool sealed =
      bytes.size() > kTrailer && bytes.compare(bytes.size() - 8, 8, kTrailerMagic, 8) == 0;
  std::string archive = sealed ? bytes.substr(0, bytes.size() - kTrailer) : bytes;
  change(archive);
  std::string out = archive;
  if (sealed) out += sha256Hex(archive) + std::string(kTrailerMagic, 8);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << out;
}

// Every file of `dir` by name, with its bytes.
std::map<std::string, std::string> filesIn(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out[e.path().filename().string()] = readBytes(e.path().string());
  return out;
}

// The bytes of the archive's batch order (int64, little-endian), found by reading it back.
size_t orderOffset(const std::string& archive) {
  torch::serialize::InputArchive ar;
  ar.load_from(archive.data(), archive.size());
  torch::Tensor order;
  ar.read("order", order);
  const std::string raw(static_cast<const char*>(order.data_ptr()),
                        static_cast<size_t>(order.numel()) * 8);
  const size_t at = archive.find(raw);
  if (at == std::string::npos || archive.find(raw, at + 1) != std::string::npos)
    throw std::runtime_error("the batch order is not found once in the archive");
  return at;
}

// A run of `method` cancelled after `step` of its first component, with checkpoints; returns
// its checkpoint folder.
std::string cancelledRun(const ExperimentConfig& config, const std::string& db, int step = 14) {
  ExperimentOptions o;
  o.inferenceRepeats = 1;
  o.dbPath = db;
  RunControl control;
  StopAt stop(control, 0, step);
  const ExperimentOutcome b = runExperiment(config, o, stop, control);
  if (!b.cancelled) throw std::runtime_error("the run was not cancelled");
  return checkpointDirFor(db, b.runIds[0]);
}

}  // namespace

class TestResume : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void cancelledRunResumesToTheSameWeights_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("component");  // the stop lands in this component (0-based) ...
    QTest::addColumn<int>("step");       // ... after this step (not a multiple of 3)
    QTest::newRow("baseline") << R"({"method": "baseline"})" << 0 << 14;
    QTest::newRow("base-lora") << R"({"method": "base-lora"})" << 0 << 8;
    QTest::newRow("more") << R"({"method": "more"})" << 0 << 10;
    QTest::newRow("rodos") << R"({"method": "rodos"})" << 1 << 4;
    QTest::newRow("arliss") << R"({"method": "arliss"})" << 2 << 5;
    QTest::newRow("dmoerm") << R"({"method": "dmoerm"})" << 3 << 2;
  }

  // Every method: a run cancelled in the middle of a component, then resumed, has the weights
  // and the metric rows of an uninterrupted run (within 1e-6), with no row missing or twice.
  void cancelledRunResumesToTheSameWeights() {
    QFETCH(QString, method);
    QFETCH(int, component);
    QFETCH(int, step);
    QTemporaryDir dir;
    const ExperimentConfig config =
        loadExperimentConfig(writeConfig(dir, "cfg.json", configText(method.toStdString())));
    const std::string whole = dir.path().toStdString() + "/whole.db";
    const std::string cut = dir.path().toStdString() + "/cut.db";
    Quiet quiet;
    ExperimentOptions o;
    o.inferenceRepeats = 1;
    o.dbPath = whole;
    RunControl c1;
    const ExperimentOutcome a = runExperiment(config, o, quiet, c1);
    QCOMPARE(a.finished, 1);

    o.dbPath = cut;
    RunControl c2;
    StopAt stop(c2, component, step);
    const ExperimentOutcome b = runExperiment(config, o, stop, c2);
    QVERIFY(b.cancelled);
    QVERIFY2(!stop.stoppedIn.empty(), "the stop point was never reached");
    QVERIFY(RunStore::open(cut, true)->run(b.runIds[0])->status == RunStatus::Cancelled);
    QVERIFY(std::filesystem::exists(checkpointDirFor(cut, b.runIds[0])));

    o.resume = true;
    RunControl c3;
    const ExperimentOutcome r = runExperiment(config, o, quiet, c3);
    QCOMPARE(r.resumed, 1);
    QCOMPARE(r.finished, 1);
    QCOMPARE(r.runIds, b.runIds);  // the same run, not a new one
    const auto info = RunStore::open(cut, true)->run(b.runIds[0]);
    QVERIFY(info->status == RunStatus::Finished);
    QVERIFY(info->error.empty());
    QVERIFY(!std::filesystem::exists(checkpointDirFor(cut, b.runIds[0])));

    const double diff = weightDifference(whole, a.runIds[0], cut, b.runIds[0]);
    QVERIFY2(diff <= 1e-6, ("weights differ by " + std::to_string(diff)).c_str());
    compareMetrics(whole, a.runIds[0], cut, b.runIds[0]);
    // The results are there once, as for the uninterrupted run.
    auto rs = RunStore::open(cut, true);
    QCOMPARE(rs->components({b.runIds[0]}).size(),
             RunStore::open(whole, true)->components({a.runIds[0]}).size());
  }

  // An interrupted pre-training continues from its checkpoint the next time a run needs the
  // encoder: the cached encoder is the one an uninterrupted pre-training saves.
  void interruptedPretrainingContinues() {
    QTemporaryDir dir;
    std::string text = configText(R"({"method": "baseline"})", 1);
    const std::string off = R"("pretrain": {"steps": 0})";
    text.replace(text.find(off), off.size(), R"("pretrain": {"steps": 14, "batch_size": 8})");
    const ExperimentConfig config = loadExperimentConfig(writeConfig(dir, "cfg.json", text));
    const QByteArray cacheBefore = qgetenv("RR_CACHE_DIR");
    auto encoderIn = [&](const QString& cache) {
      qputenv("RR_CACHE_DIR", cache.toUtf8());
      std::string found;
      for (const auto& e : std::filesystem::directory_iterator(cache.toStdString() + "/encoders"))
        if (e.path().extension() == ".pt") found = e.path().string();
      return found;
    };
    ExperimentOptions o;
    o.inferenceRepeats = 1;
    o.dbPath = dir.path().toStdString() + "/whole.db";
    qputenv("RR_CACHE_DIR", (dir.path() + "/cache-whole").toUtf8());
    Quiet quiet;
    RunControl c1;
    QCOMPARE(runExperiment(config, o, quiet, c1).finished, 1);
    const std::string whole = encoderIn(dir.path() + "/cache-whole");

    qputenv("RR_CACHE_DIR", (dir.path() + "/cache-cut").toUtf8());
    o.dbPath = dir.path().toStdString() + "/cut.db";
    RunControl c2;
    StopAt stop(c2, 0, 8);  // in pre-training, after a checkpoint at step 6
    // Cancelled before any run exists: the experiment itself ends as cancelled.
    QVERIFY_THROWS_EXCEPTION(Cancelled, runExperiment(config, o, stop, c2));
    QCOMPARE(QString::fromStdString(stop.stoppedIn), QStringLiteral("pretrain"));
    QVERIFY(!std::filesystem::exists(dir.path().toStdString() + "/cache-cut/encoders/" +
                                     std::filesystem::path(whole).filename().string()));
    // What the continued pre-training says, and its first loss step.
    struct Watch : MetricSink {
      std::vector<std::string> logs;
      std::int64_t firstStep = -1;
      void metric(const MetricRow& p) override {
        if (p.component == "pretrain" && p.key == "loss" && firstStep < 0) firstStep = p.step;
      }
      void progress(const ProgressInfo&) override {}
      void log(std::int64_t, LogLevel, const std::string& m) override { logs.push_back(m); }
    } watch;
    RunControl c3;
    QCOMPARE(runExperiment(config, o, watch, c3).finished, 1);
    QCOMPARE(watch.firstStep, std::int64_t(7));
    QVERIFY(std::any_of(watch.logs.begin(), watch.logs.end(), [](const std::string& m) {
      return m.find("pretrain: resumed at step 6 of 14") != std::string::npos;
    }));
    const std::string cut = encoderIn(dir.path() + "/cache-cut");
    QCOMPARE(std::filesystem::path(cut).filename(), std::filesystem::path(whole).filename());
    QVERIFY(!std::filesystem::exists(cut + ".resume"));
    torch::serialize::InputArchive a, b;
    a.load_from(whole);
    b.load_from(cut);
    int compared = 0;
    for (const auto& key : a.keys()) {
      torch::Tensor x, y;
      if (!a.try_read(key, x)) continue;
      QVERIFY2(b.try_read(key, y), key.c_str());
      QVERIFY2((x - y).abs().max().item<double>() <= 1e-6, key.c_str());
      ++compared;
    }
    QVERIFY(compared > 0);
    qputenv("RR_CACHE_DIR", cacheBefore);
  }

  // The CLI: kill -9 in the middle of a run, `run --resume`, the same weights and metrics as an
  // uninterrupted run; the killed run reads as interrupted before it is resumed.
  void killNineThenResume() {
    QTemporaryDir dir;
    // Two methods: the first finishes before the kill and is not run again.
    const std::string cfg = writeConfig(
        dir, "cfg.json", configText(R"({"method": "baseline"}, {"method": "rodos"})", 12));
    const QString whole = dir.path() + "/whole.db", cut = dir.path() + "/cut.db";
    const CliResult a = cli({"run", QString::fromStdString(cfg), "--db", whole, "--quiet"});
    QVERIFY2(a.code == 0, qPrintable(a.err));

    QProcess p;
    p.start(QStringLiteral(RR_CLI_PATH),
            {"run", QString::fromStdString(cfg), "--db", cut, "--quiet"});
    QVERIFY(p.waitForStarted());
    // Kill once the second run (RODOS) has trained part of its second domain model.
    bool killed = false;
    QElapsedTimer t;
    t.start();
    while (!killed && t.elapsed() < 120000 && p.state() != QProcess::NotRunning) {
      QThread::msleep(5);
      if (!std::filesystem::exists(cut.toStdString())) continue;
      try {
        auto store = RunStore::open(cut.toStdString(), true);
        for (const auto& run : store->listRuns()) {
          if (run.methodName != "rodos") continue;
          for (const auto& m : store->metrics(run.id))
            if (m.component == "rm:instruct" && m.key == "loss" && m.step >= 4) {
              ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
              killed = true;
              break;
            }
        }
      } catch (const std::exception&) {
        // The store is being created; look again.
      }
    }
    p.waitForFinished(30000);
    QVERIFY2(killed, "the run ended before it could be killed");
    QCOMPARE(p.exitStatus(), QProcess::CrashExit);
    std::int64_t rodosRun = 0;
    for (const auto& run : RunStore::open(cut.toStdString(), true)->listRuns()) {
      if (run.methodName == "baseline") QVERIFY(run.status == RunStatus::Finished);
      if (run.methodName == "rodos") {
        rodosRun = run.id;
        QVERIFY(run.status == RunStatus::Interrupted);
      }
    }
    QVERIFY(rodosRun > 0);

    const CliResult r =
        cli({"run", QString::fromStdString(cfg), "--db", cut, "--quiet", "--resume"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("2 finished, 0 failed, 1 resumed"), qPrintable(r.err));
    const auto runs = RunStore::open(cut.toStdString(), true)->listRuns();
    QCOMPARE(runs.size(), size_t(2));  // resumed, not added
    for (const auto& run : runs) QVERIFY(run.status == RunStatus::Finished);
    for (const auto& run : RunStore::open(whole.toStdString(), true)->listRuns()) {
      const double diff = weightDifference(whole.toStdString(), run.id, cut.toStdString(), run.id);
      QVERIFY2(diff <= 1e-6,
               (run.methodName + ": weights differ by " + std::to_string(diff)).c_str());
      compareMetrics(whole.toStdString(), run.id, cut.toStdString(), run.id);
    }
  }

  // A checkpoint that is damaged, changed or not a file is refused with one line naming it and
  // saying what to do; nothing crashes or hangs (before: a huge index in the batch order was a
  // SIGSEGV, a FIFO hung forever, a flipped bit resumed to other weights).
  void damagedCheckpointIsRefused_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("flipped bit") << "flip"
                                 << "component-0.pt: damaged (its SHA-256";
    QTest::newRow("cut short") << "truncate"
                               << "component-0.pt: damaged (";
    QTest::newRow("huge index in the batch order")
        << "huge-index"
        << "component-0.pt: the batch order holds 1099511627776";
    QTest::newRow("an index twice in the batch order")
        << "repeated-index"
        << "component-0.pt: the batch order is not a permutation of the component's";
    QTest::newRow("FIFO") << "fifo"
                          << "component-0.pt: not a regular file (a FIFO)";
    QTest::newRow("symbolic link") << "symlink"
                                   << "component-0.pt: a symbolic link";
    QTest::newRow("written before checksums") << "unsealed"
                                              << "component-0.pt: damaged (no SHA-256 at its end";
  }
  void damagedCheckpointIsRefused() {
    QFETCH(QString, damage);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string cfg = writeConfig(dir, "cfg.json", configText(R"({"method": "baseline"})"));
    const std::string db = dir.path().toStdString() + "/r.db";
    const std::string resumeDir = cancelledRun(loadExperimentConfig(cfg), db);
    const std::string file = resumeDir + "/component-0.pt";
    QVERIFY(std::filesystem::is_regular_file(file));
    if (damage == "flip") {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(std::filesystem::file_size(file) / 2));
      char c = 0;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(file) / 2));
      f.put(static_cast<char>(c ^ 0x04));
    } else if (damage == "truncate") {
      std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
    } else if (damage == "huge-index" || damage == "repeated-index") {
      rewriteArchive(file, [&](std::string& archive) {
        const size_t at = orderOffset(archive);
        std::int64_t v = 1LL << 40;
        if (damage == "repeated-index") std::memcpy(&v, archive.data() + at + 8, 8);
        std::memcpy(archive.data() + at, &v, 8);
      });
    } else if (damage == "fifo") {
      std::filesystem::remove(file);
      QCOMPARE(::mkfifo(file.c_str(), 0600), 0);
    } else if (damage == "symlink") {
      const std::string elsewhere = dir.path().toStdString() + "/elsewhere.pt";
      std::filesystem::rename(file, elsewhere);
      std::filesystem::create_symlink(elsewhere, file);
    } else if (damage == "unsealed") {
      const std::string bytes = readBytes(file);
      std::ofstream(file, std::ios::binary | std::ios::trunc)
          << bytes.substr(0, bytes.size() - kTrailer);
    }
    const auto before = RunStore::open(db, true)->run(1);
    const CliResult r = cli({"run", QString::fromStdString(cfg), "--db", QString::fromStdString(db),
                             "--quiet", "--resume"});
    QVERIFY2(r.err.contains(QString::fromStdString(resumeDir) + "/" + expected), qPrintable(r.err));
    const QString advice = "remove " + QString::fromStdString(resumeDir) +
                           " and resume again to train from the first step";
    QVERIFY2(r.err.contains(advice), qPrintable(r.err));
    const auto run = RunStore::open(db, true)->run(1);
    // A file that is not whole (or not a file) is found before the run is taken up: exit 2 and
    // the store unchanged. Contents that are whole but wrong are found when the component loads
    // them: the run fails with the message.
    const bool caughtOnLoad = damage == "huge-index" || damage == "repeated-index";
    QVERIFY2(r.code == (caughtOnLoad ? 1 : 2), qPrintable(QString::number(r.code) + " " + r.err));
    if (caughtOnLoad) {
      QVERIFY(run->status == RunStatus::Failed);
      QVERIFY2(run->error.find(expected.toStdString()) != std::string::npos, run->error.c_str());
      QVERIFY2(run->error.find('\n') == std::string::npos, run->error.c_str());
    } else {
      QVERIFY(run->status == before->status);
      QCOMPARE(run->finishedAt, before->finishedAt);
      QCOMPARE(r.err.count('\n'), 1);
    }
    if (damage != "flip") return;
    // What the message says to do works: the run is trained again, to an uninterrupted run's
    // weights and metrics.
    std::filesystem::remove_all(resumeDir);
    const CliResult again = cli({"run", QString::fromStdString(cfg), "--db",
                                 QString::fromStdString(db), "--quiet", "--resume"});
    QVERIFY2(again.code == 0, qPrintable(again.err));
    const std::string whole = dir.path().toStdString() + "/whole.db";
    QCOMPARE(
        cli({"run", QString::fromStdString(cfg), "--db", QString::fromStdString(whole), "--quiet"})
            .code,
        0);
    QVERIFY(weightDifference(whole, 1, db, 1) <= 1e-6);
    compareMetrics(whole, 1, db, 1);
  }

  // Links planted in a run's checkpoint folder (or as that folder) are never written through:
  // the file they point at keeps its bytes; a linked folder is refused in one line.
  void checkpointLinksAreNotWrittenThrough_data() {
    QTest::addColumn<QString>("plant");
    QTest::addColumn<QString>("expected");  // "" = the run finishes
    QTest::newRow("symlink at the old temporary name") << "tmp-symlink"
                                                       << "";
    QTest::newRow("hard link at the old temporary name") << "tmp-hardlink"
                                                         << "";
    QTest::newRow("hard link as the checkpoint") << "hardlink"
                                                 << "component-0.pt: damaged";
    QTest::newRow("the .resume folder a symlink") << "folder-symlink"
                                                  << ".resume: a symbolic link";
    QTest::newRow("the .models folder a symlink") << "models-symlink"
                                                  << ".models: a symbolic link";
  }
  void checkpointLinksAreNotWrittenThrough() {
    QFETCH(QString, plant);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const ExperimentConfig config =
        loadExperimentConfig(writeConfig(dir, "cfg.json", configText(R"({"method": "baseline"})")));
    const std::string db = root + "/r.db";
    const std::string outside = root + "/outside";
    std::filesystem::create_directories(outside);
    const std::string victim = outside + "/component-0.pt";
    const std::string precious = "precious bytes\n";
    std::ofstream(victim, std::ios::binary) << precious;
    const bool fresh = plant == "models-symlink";
    if (fresh) std::filesystem::create_directory_symlink(outside, db + ".models");
    const std::string resumeDir = fresh ? checkpointDirFor(db, 1) : cancelledRun(config, db);
    const std::string file = resumeDir + "/component-0.pt";
    const std::string oldTmp = file + ".tmp." + std::to_string(::getpid());
    if (plant == "tmp-symlink") std::filesystem::create_symlink(victim, oldTmp);
    if (plant == "tmp-hardlink") std::filesystem::create_hard_link(victim, oldTmp);
    if (plant == "hardlink") {
      std::filesystem::remove(file);
      std::filesystem::create_hard_link(victim, file);
    }
    if (plant == "folder-symlink") {
      // The folder's files moved outside, the folder replaced by a link to them.
      for (const auto& e : std::filesystem::directory_iterator(resumeDir))
        std::filesystem::rename(e.path(), outside + "/" + e.path().filename().string());
      std::ofstream(victim, std::ios::binary | std::ios::trunc) << precious;
      std::filesystem::remove(resumeDir);
      std::filesystem::create_directory_symlink(outside, resumeDir);
    }
    const std::map<std::string, std::string> before = filesIn(outside);

    ExperimentOptions o;
    o.inferenceRepeats = 1;
    o.dbPath = db;
    o.resume = !fresh;
    Quiet quiet;
    RunControl control;
    if (plant == "hardlink" || plant == "models-symlink") {
      // Found before the run is taken up (a checkpoint without its SHA-256 at its end; a linked
      // <db>.models before the store is made): one line, the store as it was, nothing written.
      const bool hadStore = std::filesystem::exists(db);
      std::optional<RunInfo> runBefore;
      if (hadStore) runBefore = RunStore::open(db, true)->run(1);
      QString message;
      try {
        runExperiment(config, o, quiet, control);
      } catch (const InputError& e) {
        message = QString::fromUtf8(e.what());
      }
      QVERIFY2(message.contains(expected), qPrintable(message));
      QVERIFY(!message.contains('\n'));
      QCOMPARE(std::filesystem::exists(db), hadStore);
      if (hadStore) {
        const auto runAfter = RunStore::open(db, true)->run(1);
        QVERIFY(runAfter->status == runBefore->status);
        QCOMPARE(runAfter->finishedAt, runBefore->finishedAt);
      }
      QVERIFY(filesIn(outside) == before);
      QCOMPARE(QString::fromStdString(readBytes(victim)), QString::fromStdString(precious));
      return;
    }
    const ExperimentOutcome r = runExperiment(config, o, quiet, control);
    const auto run = RunStore::open(db, true)->run(1);
    if (expected.isEmpty()) {
      QVERIFY2(r.finished == 1, run->error.c_str());
    } else {
      QCOMPARE(r.failed, 1);
      QVERIFY2(run->error.find(expected.toStdString()) != std::string::npos, run->error.c_str());
      QVERIFY2(run->error.find('\n') == std::string::npos, run->error.c_str());
    }
    QVERIFY(filesIn(outside) == before);
    QCOMPARE(QString::fromStdString(readBytes(victim)), QString::fromStdString(precious));
  }

  void resumeErrorsAreOneLine() {
    QTemporaryDir dir;
    const std::string cfg = writeConfig(dir, "cfg.json", configText(R"({"method": "baseline"})", 1));
    const QString db = dir.path() + "/r.db";
    // No store yet.
    CliResult r = cli({"run", QString::fromStdString(cfg), "--db", db, "--resume", "--quiet"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("does not exist; there is nothing to resume"), qPrintable(r.err));
    QVERIFY(!QFile::exists(db));
    r = cli({"run", QString::fromStdString(cfg), "--db", db, "--quiet"});
    QCOMPARE(r.code, 0);
    // Another config: nothing of the store matches.
    r = cli({"run", QString::fromStdString(cfg), "--db", db, "--resume", "--quiet", "--set",
             "training.lr=0.002"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("has no run of experiment 'resume' with this configuration"),
             qPrintable(r.err));
    QCOMPARE(r.err.trimmed().count('\n'), 0);
    // Everything finished: nothing is trained again, nothing is added.
    r = cli({"run", QString::fromStdString(cfg), "--db", db, "--resume", "--quiet"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.contains("1 finished, 0 failed, 0 resumed"), qPrintable(r.err));
    QCOMPARE(RunStore::open(db.toStdString(), true)->listRuns().size(), size_t(1));
  }
};

QTEST_GUILESS_MAIN(TestResume)
#include "tst_resume.moc"
