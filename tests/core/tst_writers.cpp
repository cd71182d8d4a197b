// What the project writes, with links planted where it writes (docs/ARCHITECTURE.md, "Files and
// links"): a symbolic or hard link at a name the project writes is never written through, a
// symbolic link at a target the user names is refused in one line, and the file a link points
// at is left byte for byte as it was. Also the export's targets (a trailing slash, a folder it
// cannot write, a store's own folders) and its tokenizer_config.json, which carries the run's
// input limit so that the exported model cuts where the run did.
#include <sys/stat.h>
#include <unistd.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cliutil.h"
#include "common/atomicfile.h"
#include "common/errors.h"

using namespace rr::core;
namespace fs = std::filesystem;

namespace {

using Result = rr::test::CliResult;

Result cli(const QStringList& args, const QByteArray& input = {}) {
  return rr::test::runCli(args, input);
}

std::string bytesOf(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeText(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string messageOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool isOneLineError(const QString& err) {
  return err.startsWith("error: ") && err.count('\n') == 1;
}

// Every entry under `dir`, recursively, as relative paths (links not followed).
QStringList entriesOf(const fs::path& dir) {
  QStringList out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out << QString::fromStdString(fs::relative(e.path(), dir).string());
  out.sort();
  return out;
}

const char* kVictim = "precious bytes\n";

// A run on the bert-rm fixture with a small input limit (16 tokens; the model's own is 64).
QByteArray hfConfig() {
  return QStringLiteral(R"({"name": "w",
    "data": {"synthetic": {"pairs_per_domain": 30, "domains": ["harmless", "ranked"], "seed": 3},
             "split": {"train": 0.6, "validation": 0.1, "test": 0.3}},
    "encoder": {"pretrained": "%1", "max_len": 16},
    "training": {"lr": 0.001, "batch_size": 16, "epochs": 1, "seed": 1, "seeds": 1},
    "methods": [{"method": "baseline"}]})")
      .arg(QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/bert-rm"))
      .toUtf8();
}

// Inputs far longer than 16 tokens, and one short one.
QByteArray longInputs() {
  QByteArray in;
  for (int k = 0; k < 4; ++k) {
    QString prompt, response;
    for (int w = 0; w < 30 + 7 * k; ++w) prompt += QStringLiteral("word%1 ").arg((w * 7 + k) % 13);
    for (int w = 0; w < 25 + 5 * k; ++w) response += QStringLiteral("reply%1 ").arg((w + k) % 11);
    in += QJsonDocument(QJsonObject{{"prompt", prompt}, {"response", response}})
              .toJson(QJsonDocument::Compact) +
          "\n";
  }
  in += "{\"prompt\": \"hi\", \"response\": \"there\"}\n";
  return in;
}

std::vector<double> rewardsOf(const QString& jsonl) {
  std::vector<double> out;
  for (const auto& line : jsonl.split('\n', Qt::SkipEmptyParts))
    out.push_back(QJsonDocument::fromJson(line.toUtf8()).object()["reward"].toDouble());
  return out;
}

}  // namespace

class TestWriters : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  fs::path m_root, m_outside, m_victim;
  QString m_db;  // a finished run on the bert-rm backbone (run 1)

  fs::path path(const std::string& name) const { return m_root / name; }
  void victimUnchanged() const {
    QCOMPARE(QString::fromStdString(bytesOf(m_victim)), QString::fromLatin1(kVictim));
    QCOMPARE(entriesOf(m_outside), QStringList{"victim.txt"});
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_root = m_dir.path().toStdString();
    m_outside = m_root / "outside";
    fs::create_directories(m_outside);
    m_victim = m_outside / "victim.txt";
    writeText(m_victim, kVictim);
    // A finished run on a Hugging Face backbone, for the export tests.
    m_db = QString::fromStdString(path("hf.db").string());
    const fs::path cfg = path("hf.json");
    writeText(cfg, hfConfig().toStdString());
    const Result r = cli({"run", QString::fromStdString(cfg.string()), "--db", m_db, "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
  }
  // Each test starts with the file outside as it was, alone in its folder.
  void init() {
    fs::remove_all(m_outside);
    fs::create_directories(m_outside);
    writeText(m_victim, kVictim);
  }

  // AtomicFile (every file the project writes goes through it): its temporary file is a new
  // name of its own, created with O_EXCL | O_NOFOLLOW, so a link planted at the name the
  // temporary file used to have (PATH.tmp.PID) is not opened; a symbolic link at the target is
  // refused; a hard link at the target is replaced (its other name keeps its bytes).
  void atomicFileNeverWritesThroughALink_data() {
    QTest::addColumn<QString>("plant");
    QTest::addColumn<QString>("expected");  // "" = written
    QTest::newRow("symlink at PATH.tmp.PID") << "tmp-symlink"
                                             << "";
    QTest::newRow("hard link at PATH.tmp.PID") << "tmp-hardlink"
                                               << "";
    QTest::newRow("hard link at the target") << "hardlink"
                                             << "";
    QTest::newRow("symlink at the target") << "symlink"
                                           << "out.txt: a symbolic link";
    QTest::newRow("dangling symlink at the target") << "dangling"
                                                    << "out.txt: a symbolic link";
    QTest::newRow("FIFO at the target") << "fifo"
                                        << "out.txt: not a regular file (a FIFO)";
    QTest::newRow("folder at the target") << "folder"
                                          << "out.txt: not a regular file (a folder)";
  }
  void atomicFileNeverWritesThroughALink() {
    QFETCH(QString, plant);
    QFETCH(QString, expected);
    const fs::path dir = path("atomic-" + plant.toStdString());
    fs::create_directories(dir);
    const fs::path target = dir / "out.txt";
    const fs::path oldTmp = target.string() + ".tmp." + std::to_string(::getpid());
    if (plant == "tmp-symlink") fs::create_symlink(m_victim, oldTmp);
    if (plant == "tmp-hardlink") fs::create_hard_link(m_victim, oldTmp);
    if (plant == "hardlink") fs::create_hard_link(m_victim, target);
    if (plant == "symlink") fs::create_symlink(m_victim, target);
    if (plant == "dangling") fs::create_symlink(m_outside / "nothing", target);
    if (plant == "fifo") QCOMPARE(::mkfifo(target.c_str(), 0600), 0);
    if (plant == "folder") fs::create_directory(target);
    const std::string msg = messageOf([&] {
      AtomicFile out(target.string());
      out.stream() << "new";
      out.commit();
    });
    if (expected.isEmpty()) {
      QVERIFY2(msg.empty(), msg.c_str());
      QCOMPARE(QString::fromStdString(bytesOf(target)), QStringLiteral("new"));
      QVERIFY(!fs::is_symlink(target));
    } else {
      QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
      QVERIFY2(msg.find('\n') == std::string::npos, msg.c_str());
    }
    if (plant == "dangling") QVERIFY(!fs::exists(m_outside / "nothing"));
    victimUnchanged();
    // Nothing but what was planted and the target is left in the folder.
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      QVERIFY2(name == "out.txt" || e.path() == oldTmp, name.c_str());
    }
  }

  // `import -o` and `synth -o`: a symbolic link named as the output is refused in one line
  // (exit 2); a hard link is replaced by the new file, its other name unchanged.
  void pairsOutputLinks_data() {
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("link");
    for (const char* c : {"import", "synth"}) {
      QTest::newRow((std::string(c) + " symlink").c_str()) << c << "symlink";
      QTest::newRow((std::string(c) + " hard link").c_str()) << c << "hardlink";
    }
  }
  void pairsOutputLinks() {
    QFETCH(QString, command);
    QFETCH(QString, link);
    const fs::path dir = path("pairs-" + command.toStdString() + "-" + link.toStdString());
    fs::create_directories(dir);
    const fs::path out = dir / "out.jsonl";
    if (link == "symlink")
      fs::create_symlink(m_victim, out);
    else
      fs::create_hard_link(m_victim, out);
    const fs::path input = dir / "in.jsonl";
    writeText(input, "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
    QStringList args;
    if (command == "import")
      args << "import"
           << "--format"
           << "jsonl" << QString::fromStdString(input.string());
    else
      args << "synth"
           << "--pairs-per-domain"
           << "2";
    args << "-o" << QString::fromStdString(out.string());
    const Result r = cli(args);
    if (link == "symlink") {
      QCOMPARE(r.code, 2);
      QVERIFY2(isOneLineError(r.err) &&
                   r.err.contains(QString::fromStdString(out.string()) + ": a symbolic link"),
               qPrintable(r.err));
      QVERIFY(fs::is_symlink(out));
    } else {
      QVERIFY2(r.code == 0, qPrintable(r.err));
      QVERIFY(bytesOf(out).find("\"chosen\"") != std::string::npos);
    }
    victimUnchanged();
  }

  // The exported folder carries the run's input limit as model_max_length: scored with
  // `score --model` it gives the run's own rewards on inputs longer than the limit.
  void exportKeepsTheInputLimit() {
    const QString out = QString::fromStdString(path("export-limit").string());
    const Result e = cli({"export", "--db", m_db, "--run", "1", "-o", out});
    QVERIFY2(e.code == 0, qPrintable(e.err));
    QFile f(out + "/tokenizer_config.json");
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonObject tc = QJsonDocument::fromJson(f.readAll()).object();
    QCOMPARE(tc["model_max_length"].toInt(), 16);
    // The run keeps the end of a prompt that is too long: transformers' "left".
    QCOMPARE(tc["truncation_side"].toString(), QStringLiteral("left"));
    QCOMPARE(tc["do_lower_case"].toBool(), true);  // the rest is the backbone's
    const QByteArray in = longInputs();
    const Result a = cli({"score", "--db", m_db, "--run", "1"}, in);
    const Result b = cli({"score", "--model", out}, in);
    QVERIFY2(a.code == 0 && b.code == 0, qPrintable(a.err + b.err));
    const auto ra = rewardsOf(a.out), rb = rewardsOf(b.out);
    QCOMPARE(ra.size(), size_t(5));
    QCOMPARE(rb.size(), ra.size());
    for (size_t i = 0; i < ra.size(); ++i)
      QVERIFY2(std::abs(ra[i] - rb[i]) < 1e-5,
               qPrintable(QString("input %1: run %2, export %3").arg(i).arg(ra[i]).arg(rb[i])));
  }

  // Export targets that are refused in one line with exit 2, leaving nothing behind.
  void exportTargetsRefused_data() {
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("expected");
    QTest::newRow("symlink to an empty folder") << "symlink-empty"
                                                << ": a symbolic link";
    QTest::newRow("dangling symlink") << "dangling"
                                      << ": a symbolic link";
    QTest::newRow("inside the store's models folder") << "models"
                                                      << "inside the models folder";
    QTest::newRow("the store's models folder") << "models-itself"
                                               << "is the models folder";
    QTest::newRow("inside a saved system") << "saved"
                                           << "inside the saved system";
    QTest::newRow("under /proc") << "proc"
                                 << "/proc/rr-export: cannot create";
    QTest::newRow("a file") << "file"
                            << "exists and is not an empty folder";
  }
  void exportTargetsRefused() {
    QFETCH(QString, target);
    QFETCH(QString, expected);
    const fs::path models = m_db.toStdString() + ".models";
    const QStringList modelsBefore = entriesOf(models);
    const fs::path empty = m_outside / "empty";
    fs::create_directories(empty);
    fs::path out;
    if (target == "symlink-empty") {
      out = path("export-link");
      fs::create_symlink(empty, out);
    } else if (target == "dangling") {
      out = path("export-dangling");
      fs::create_symlink(m_outside / "nothing", out);
    } else if (target == "models") {
      out = models / "run-6";
    } else if (target == "models-itself") {
      out = models;
    } else if (target == "saved") {
      out = models / "run-1" / "inner";
    } else if (target == "proc") {
      out = "/proc/rr-export";
    } else {
      out = m_victim;
    }
    const Result r = cli({"export", "--db", m_db, "--run", "1", "-o", QString::fromStdString(out)});
    QCOMPARE(r.code, 2);
    QVERIFY2(isOneLineError(r.err) && r.err.contains(expected), qPrintable(r.err));
    QVERIFY(fs::is_empty(empty));
    fs::remove(empty);
    victimUnchanged();
    QCOMPARE(entriesOf(models), modelsBefore);
    for (const auto& e : fs::directory_iterator(m_root))
      QVERIFY2(e.path().filename().string().find(".tmp") == std::string::npos, e.path().c_str());
  }

  // A trailing slash names the same folder; the export is written there, and nothing else.
  void exportWithTrailingSlash() {
    const fs::path dir = path("slash");
    fs::create_directories(dir);
    const QString out = QString::fromStdString((dir / "model").string()) + "/";
    const Result r = cli({"export", "--db", m_db, "--run", "1", "-o", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(entriesOf(dir).filter(QRegularExpression("^[^/]*$")), QStringList{"model"});
    QVERIFY(fs::is_regular_file(dir / "model" / "model.safetensors"));
    const Result again = cli({"export", "--db", m_db, "--run", "1", "-o", out});
    QCOMPARE(again.code, 2);
    QVERIFY2(isOneLineError(again.err) && again.err.contains("exists and is not an empty folder"),
             qPrintable(again.err));
  }

  // A folder the export cannot write: one line, exit 2, nothing created. Root writes into
  // read-only folders, so as root the CLI runs as nobody (setpriv, util-linux).
  void exportIntoAReadOnlyFolder() {
    const fs::path dir = path("read-only");
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                             fs::perms::others_exec);
    QStringList args = {"export",
                        "--db",
                        m_db,
                        "--run",
                        "1",
                        "-o",
                        QString::fromStdString((dir / "model").string())};
    Result r;
    if (::geteuid() == 0) {
      const QString setpriv = QStandardPaths::findExecutable("setpriv");
      if (setpriv.isEmpty()) QSKIP("root writes into read-only folders, and setpriv is missing");
      // nobody reads the store through the test's folders.
      fs::permissions(m_root, fs::perms::others_read | fs::perms::others_exec,
                      fs::perm_options::add);
      QProcess p;
      p.start(setpriv, QStringList{"--reuid=65534", "--regid=65534", "--clear-groups",
                                   QStringLiteral(RR_CLI_PATH)} +
                           args);
      p.waitForFinished(120000);
      r = {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString(),
           QString::fromUtf8(p.readAllStandardError())};
    } else {
      r = cli(args);
    }
    fs::permissions(dir, fs::perms::owner_all);
    QCOMPARE(r.code, 2);
    QVERIFY2(isOneLineError(r.err) && r.err.contains((dir / "model").string().c_str()) &&
                 r.err.contains("Permission denied"),
             qPrintable(r.err));
    QVERIFY(fs::is_empty(dir));
  }

  // `report` of a run the store does not have: exit 2 and one line, as export and evaluate.
  void reportOfAMissingRun() {
    const Result r = cli({"report", "--db", m_db, "--run", "99"});
    QCOMPARE(r.code, 2);
    QVERIFY2(isOneLineError(r.err) && r.err.contains(m_db + ": no run 99"), qPrintable(r.err));
    QCOMPARE(r.out, QString());
  }
};

QTEST_GUILESS_MAIN(TestWriters)
#include "tst_writers.moc"
