// The SQLite run store: schema and migrations, batched writes, paged example queries, the rule
// that a run whose writer process died is marked interrupted, and what opening a file that is not
// a (healthy, current) store does: refuse it with its bytes unchanged.
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "common/errors.h"
#include "store/runstore.h"

using namespace rr::core;

namespace {

QByteArray sha256(const std::string& path) {
  QFile f(QString::fromStdString(path));
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

// Runs SQL on a plain SQLite connection (no RunStore checks); returns the first column of the
// last row, if any.
QString rawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  QString last;
  char* err = nullptr;
  auto grab = [](void* out, int, char** cols, char**) {
    *static_cast<QString*>(out) = cols[0] ? QString(cols[0]) : QString();
    return 0;
  };
  if (sqlite3_exec(db, sql.c_str(), grab, &last, &err) != SQLITE_OK) {
    last = QStringLiteral("error: ") + err;
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return last;
}

// Expects `fn` to throw an InputError whose message contains `part`.
template <class Fn>
bool throwsInput(Fn&& fn, const QString& part, QString* message = nullptr) {
  try {
    fn();
  } catch (const InputError& e) {
    if (message) *message = QString::fromUtf8(e.what());
    return QString::fromUtf8(e.what()).contains(part);
  } catch (const std::exception& e) {
    if (message) *message = QStringLiteral("not an InputError: ") + e.what();
    return false;
  }
  if (message) *message = QStringLiteral("no error");
  return false;
}

// A pid that no process has: a child that has exited and been reaped.
std::int64_t deadPid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

}  // namespace

class TestStore : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string path(const char* name) { return (m_dir.path() + "/" + name).toStdString(); }

 private Q_SLOTS:
  void newStoreHasCurrentSchema() {
    auto store = RunStore::open(path("a.db"));
    QCOMPARE(store->schemaVersion(), kStoreSchemaVersion);
    QVERIFY(store->listRuns().empty());
  }

  void writesRunsMetricsResultsAndComponents() {
    const std::string db = path("b.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "baseline", "baseline", 3, "{}");
      w.setStatus(id, RunStatus::Running);
      for (int i = 1; i <= 1000; ++i) w.addMetric({id, "model", i, i * 0.01, "loss", 1.0 / i});
      w.addResults({{id, "harmless", "accuracy", 0.75}, {id, "*", "accuracy", 0.7}});
      w.addComponent({id, "model", 1000, 900, 12.5});
      w.setStatus(id, RunStatus::Finished);
    }
    auto store = RunStore::open(db);
    auto run = store->run(id);
    QVERIFY(run.has_value());
    QCOMPARE(QString::fromStdString(toString(run->status)), QStringLiteral("finished"));
    QCOMPARE(run->seed, 3);
    QVERIFY(!run->startedAt.empty());
    QVERIFY(!run->finishedAt.empty());
    std::int64_t last = 0;
    auto metrics = store->metrics(id, 0, &last);
    QCOMPARE(metrics.size(), size_t(1000));
    QCOMPARE(metrics.back().value, 1.0 / 1000);
    QVERIFY(store->metrics(id, last).empty());  // incremental reads see nothing new
    auto results = store->results({id});
    QCOMPARE(results.size(), size_t(2));
    auto comps = store->components({id});
    QCOMPARE(comps.size(), size_t(1));
    QCOMPARE(comps[0].paramsTrainable, std::int64_t(900));
  }

  void deadWriterProcessMeansInterrupted() {
    const std::string db = path("c.db");
    RunStore::open(db);  // create the schema first
    const pid_t child = fork();
    if (child == 0) {
      {
        RunWriter w(db);
        std::int64_t id = w.createRun("exp", "baseline", "baseline", 1, "{}");
        w.setStatus(id, RunStatus::Running);
        w.addMetric({id, "model", 1, 0.1, "loss", 0.5});
        w.flush();
      }
      _exit(0);  // the process ends without finishing its run
    }
    int status = 0;
    waitpid(child, &status, 0);
    QCOMPARE(WEXITSTATUS(status), 0);
    // A run of this (live) process stays running.
    std::int64_t live = 0;
    {
      RunWriter w(db);
      live = w.createRun("exp", "baseline", "baseline", 2, "{}");
      w.setStatus(live, RunStatus::Running);
    }
    auto store = RunStore::open(db);
    auto runs = store->listRuns();
    QCOMPARE(runs.size(), size_t(2));
    QCOMPARE(QString::fromStdString(toString(runs[0].status)), QStringLiteral("interrupted"));
    QVERIFY(!runs[0].error.empty());
    QCOMPARE(QString::fromStdString(toString(runs[1].status)), QStringLiteral("running"));
    QCOMPARE(store->metrics(runs[0].id).size(), size_t(1));  // what it had is kept
  }

  void refusesForeignAndNewerDatabases() {
    const std::string foreign = path("foreign.db");
    sqlite3* db = nullptr;
    sqlite3_open(foreign.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    QVERIFY_THROWS_EXCEPTION(InputError, RunStore::open(foreign));

    const std::string newer = path("newer.db");
    RunStore::open(newer);
    sqlite3_open(newer.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    try {
      RunStore::open(newer);
      QFAIL("expected an error");
    } catch (const InputError& e) {
      QVERIFY(QString(e.what()).contains("schema version 99 is newer"));
    }
  }

  void examplesArePagedAndFiltered() {
    const std::string db = path("d.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "rodos", "rodos", 1, "{}");
      std::vector<ExampleRow> rows;
      std::vector<PreferencePair> pairs;
      for (int i = 0; i < 250; ++i) {
        ExampleRow e;
        e.runId = id;
        e.exampleId = "ex" + std::to_string(1000 + i);
        e.domain = i % 2 ? "a" : "b";
        e.rewardChosen = i * 0.01;
        e.rewardRejected = 1.005;
        e.correct = e.rewardChosen > e.rewardRejected;
        e.routedTo = i % 5 == 0 ? "c" : e.domain;
        rows.push_back(e);
        PreferencePair p;
        p.id = e.exampleId;
        p.domain = e.domain;
        p.prompt = i == 7 ? "needle prompt" : "prompt";
        p.chosen = "c";
        p.rejected = "r";
        p.split = "test";
        pairs.push_back(p);
      }
      w.addExamples(rows);
      w.addPairs(pairs);
    }
    auto store = RunStore::open(db);
    ExampleFilter f;
    f.runIds = {id};
    QCOMPARE(store->countExamples(f), std::int64_t(250));
    QCOMPARE(store->examples(f, 240, 100).size(), size_t(10));
    f.domain = "a";
    QCOMPARE(store->countExamples(f), std::int64_t(125));
    f.domain.clear();
    f.correct = true;  // chosen reward > 1.005 for i >= 101
    QCOMPARE(store->countExamples(f), std::int64_t(149));
    f.correct.reset();
    f.misroutedOnly = true;
    QCOMPARE(store->countExamples(f), std::int64_t(50));
    f.misroutedOnly = false;
    f.minMargin = -0.01;
    f.maxMargin = 0.5;
    QCOMPARE(store->countExamples(f), std::int64_t(51));  // margin i/100 - 1.005: i = 100 .. 150
    f.minMargin.reset();
    f.maxMargin.reset();
    f.sort = ExampleFilter::Sort::MarginAsc;
    QCOMPARE(QString::fromStdString(store->examples(f, 0, 1)[0].exampleId),
             QStringLiteral("ex1000"));
    f.search = "needle";
    QCOMPARE(store->countExamples(f), std::int64_t(1));
    QCOMPARE(QString::fromStdString(store->pair("ex1007")->prompt),
             QStringLiteral("needle prompt"));
  }

  void readersAndWritersRefuseWhatIsNotAStoreUnchanged() {
    QDir(m_dir.path()).mkdir("refuse");
    const auto at = [&](const char* name) { return path("refuse/") + name; };
    std::vector<std::pair<std::string, QString>> cases;  // file, expected message part

    cases.push_back({at("foreign.db"), "not a RewardRouter run store"});
    rawSql(cases.back().first, "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
    cases.push_back({at("foreign-wal.db"), "not a RewardRouter run store"});
    rawSql(cases.back().first, "PRAGMA journal_mode=WAL; CREATE TABLE t(x)");
    cases.push_back({at("other-app.db"), "application_id"});
    rawSql(cases.back().first, "PRAGMA application_id=1234; CREATE TABLE runs(x)");
    cases.push_back({at("lookalike.db"), "no table 'metrics'"});
    rawSql(cases.back().first, "PRAGMA user_version=1; CREATE TABLE runs(x)");
    cases.push_back({at("empty-sqlite.db"), "an empty SQLite database"});
    rawSql(cases.back().first, "VACUUM");
    cases.push_back({at("text.db"), "not an SQLite database"});
    QFile t(QString::fromStdString(cases.back().first));
    QVERIFY(t.open(QIODevice::WriteOnly));
    t.write("id,accuracy\n1,0.5\n");
    t.close();
    cases.push_back({at("newer.db"), "schema version 99 is newer"});
    { RunWriter w(cases.back().first); }
    rawSql(cases.back().first, "PRAGMA user_version=99");
    cases.push_back({at("zero.db"), "an empty file"});
    QFile(QString::fromStdString(cases.back().first)).open(QIODevice::WriteOnly);

    for (const auto& [file, part] : cases) {
      const QByteArray before = sha256(file);
      const QStringList siblings = QDir(m_dir.path() + "/refuse").entryList(QDir::Files);
      QString msg;
      QVERIFY2(throwsInput([&] { RunStore::open(file, true); }, part, &msg), qPrintable(msg));
      QVERIFY2(msg.startsWith(QString::fromStdString(file) + ": "), qPrintable(msg));
      QVERIFY2(!msg.contains('\n'), qPrintable(msg));
      const bool writable = part == "an empty file" || part == "an empty SQLite database";
      if (!writable) {
        QVERIFY2(throwsInput([&] { RunStore::open(file); }, part, &msg), qPrintable(msg));
        QVERIFY2(throwsInput([&] { RunWriter w(file); }, part, &msg), qPrintable(msg));
        QVERIFY2(throwsInput([&] { RunWriter::checkWritable(file); }, part, &msg), qPrintable(msg));
      }
      QVERIFY2(sha256(file) == before, file.c_str());
      // Not even a -wal or -shm file appears beside it.
      QCOMPARE(QDir(m_dir.path() + "/refuse").entryList(QDir::Files), siblings);
    }
    // Missing files and folders are no stores to read; nothing is created.
    QVERIFY(throwsInput([&] { RunStore::open(at("missing.db"), true); }, "no such run store"));
    QVERIFY(!QFile::exists(QString::fromStdString(at("missing.db"))));
    QVERIFY(throwsInput([&] { RunStore::open(path("refuse"), true); }, "is a folder"));
    QVERIFY(throwsInput([&] { RunWriter w(path("refuse")); }, "is a folder"));
  }

  void readOnlyOpenWritesNothing() {
    const std::string db = path("ro.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.setStatus(id, RunStatus::Running);
      w.addResults({{id, "a", "accuracy", 0.5}, {id, kWholeRun, "accuracy", 0.5}});
    }
    // The writer "died": its pid is gone.
    rawSql(db, "UPDATE runs SET pid=" + std::to_string(deadPid()));
    const QByteArray before = sha256(db);
    {
      auto store = RunStore::open(db, true);
      const auto run = store->run(id);
      QCOMPARE(QString::fromStdString(toString(run->status)), QStringLiteral("interrupted"));
      QVERIFY(!run->error.empty());
      QCOMPARE(store->results({id}).size(), size_t(2));
    }
    QCOMPARE(sha256(db), before);
    QCOMPARE(rawSql(db, "SELECT status FROM runs"), QStringLiteral("running"));
    // The next writer records it.
    { RunWriter w(db); }
    QCOMPARE(rawSql(db, "SELECT status FROM runs"), QStringLiteral("interrupted"));
  }

  void readOnlyFolderIsReadWithoutWriting() {
    if (::geteuid() == 0) QSKIP("root writes to any folder: no read-only folder to test with");
    QDir(m_dir.path()).mkdir("locked");
    const std::string db = path("locked/s.db");
    {
      RunWriter w(db);
      w.createRun("exp", "baseline", "baseline", 1, "{}");
    }
    ::chmod(path("locked").c_str(), 0555);
    const QByteArray before = sha256(db);
    QString msg;
    bool read = false;
    try {
      read = RunStore::open(db, true)->listRuns().size() == 1;
    } catch (const std::exception& e) {
      msg = e.what();
    }
    const bool refusedWrite =
        throwsInput([&] { RunWriter::checkWritable(db); }, "cannot write the run store", &msg);
    ::chmod(path("locked").c_str(), 0755);
    QVERIFY2(read, qPrintable(msg));
    QVERIFY2(refusedWrite, qPrintable(msg));
    QCOMPARE(sha256(db), before);
  }

  void checkWritableCreatesNothing() {
    const std::string fresh = path("new/sub/fresh.db");
    RunWriter::checkWritable(fresh);
    QVERIFY(!QFile::exists(m_dir.path() + "/new"));
    QFile f(m_dir.path() + "/plain.txt");
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.close();
    QString msg;
    QVERIFY2(throwsInput([&] { RunWriter::checkWritable(path("plain.txt/x/s.db")); },
                         "is not a folder", &msg),
             qPrintable(msg));
    // A writer creates the missing folders; the store is made aside and linked in whole.
    { RunWriter w(fresh); }
    QCOMPARE(QDir(m_dir.path() + "/new/sub").entryList({"*.new-*"}, QDir::Files), QStringList());
    QCOMPARE(RunStore::open(fresh, true)->schemaVersion(), kStoreSchemaVersion);
  }

  void wholeRunResultsAreStoredApartFromDomains() {
    const std::string db = path("apart.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.addResults({{id, "a", "accuracy", 0.25},
                    {id, "b", "accuracy", 0.75},
                    {id, kWholeRun, "accuracy", 0.5},
                    {id, kWholeRun, "params_total", 1000}});
      QString msg;
      PreferencePair p;
      p.id = "x";
      p.domain = "*";
      QVERIFY2(throwsInput([&] { w.addPairs({p}); }, "domain '*' is reserved", &msg),
               qPrintable(msg));
    }
    QCOMPARE(rawSql(db, "SELECT count(*) FROM results WHERE domain='*'"), QStringLiteral("0"));
    QCOMPARE(rawSql(db, "SELECT value FROM run_results WHERE metric='accuracy'"),
             QStringLiteral("0.5"));
    QCOMPARE(rawSql(db, "SELECT count(*) FROM pairs"), QStringLiteral("0"));
    const auto rows = RunStore::open(db, true)->results({id});
    QCOMPARE(rows.size(), size_t(4));
    QCOMPARE(QString::fromStdString(rows[0].domain), QStringLiteral("*"));
    QCOMPARE(rows[0].value, 0.5);
    QCOMPARE(QString::fromStdString(rows[2].domain), QStringLiteral("a"));
    QCOMPARE(rows[2].value, 0.25);
    QVERIFY(throwsInput([] { checkDomainName("*", "pairs.jsonl:3"); },
                        "pairs.jsonl:3: domain '*' is reserved"));
    checkDomainName("math", "pairs.jsonl:3");
  }

  // Schema 5: validation pairs' rewards, apart from the test pairs' examples; a store of version
  // 4 reads as having none (unchanged) and gets the table on the next write.
  void validationExamplesAndSchemaFour() {
    const std::string db = path("v4.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.addExamples({{id, "t1", "a", 1, 0, "", true, "{}"}});
      w.addValidationExamples({{id, "v2", "b", 0, 2, "b", false, ""},
                               {id, "v1", "a", 3, 1, "", true, ""}});
      w.setStatus(id, RunStatus::Finished);
    }
    {
      auto store = RunStore::open(db, true);
      const auto v = store->validationPairs({id});
      QCOMPARE(v.at(id).size(), size_t(2));
      QCOMPARE(QString::fromStdString(v.at(id)[0].id), QStringLiteral("v1"));  // by pair id
      QCOMPARE(v.at(id)[0].rewardChosen - v.at(id)[0].rewardRejected, 2.0);
      QVERIFY(v.at(id)[0].correct);
      QCOMPARE(QString::fromStdString(v.at(id)[1].domain), QStringLiteral("b"));
      QVERIFY(!v.at(id)[1].correct);
      // The test pairs are only the examples.
      QCOMPARE(store->scoredPairs({id}).at(id).size(), size_t(1));
      QVERIFY(store->validationPairs({id + 1}).empty());
    }
    // Back to schema 4: without what versions 5 and 6 added.
    rawSql(db, "DROP TABLE validation_examples; ALTER TABLE metrics DROP COLUMN rank; "
               "ALTER TABLE runs DROP COLUMN world_size; ALTER TABLE runs DROP COLUMN "
               "dist_backend; ALTER TABLE runs DROP COLUMN dist_hosts; PRAGMA user_version=4");
    const QByteArray before = sha256(db);
    {
      auto store = RunStore::open(db, true);
      QCOMPARE(store->schemaVersion(), 4);
      QVERIFY(store->validationPairs({id}).empty());
    }
    QCOMPARE(sha256(db), before);
    QCOMPARE(RunStore::open(db)->schemaVersion(), kStoreSchemaVersion);
    QCOMPARE(rawSql(db, "SELECT count(*) FROM validation_examples"), QStringLiteral("0"));
  }

  void schemaVersionOneIsReadAsIsAndMigratedOnWrite() {
    const std::string db = path("v1.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.addResults({{id, "a", "accuracy", 0.25}, {id, kWholeRun, "accuracy", 0.5}});
      w.setStatus(id, RunStatus::Finished);
    }
    // Back to the layout of schema version 1: whole-run rows as domain '*', no application_id.
    rawSql(db,
           "INSERT INTO results SELECT run_id, '*', metric, value FROM run_results; "
           "DROP TABLE run_results; ALTER TABLE runs DROP COLUMN uuid; DROP TABLE "
           "evaluation_examples; DROP TABLE evaluations; DROP TABLE validation_examples; "
           "ALTER TABLE metrics DROP COLUMN rank; ALTER TABLE runs DROP COLUMN world_size; "
           "ALTER TABLE runs DROP COLUMN dist_backend; ALTER TABLE runs DROP COLUMN dist_hosts; "
           "PRAGMA user_version=1; "
           "PRAGMA application_id=0");
    const QByteArray before = sha256(db);
    {
      auto store = RunStore::open(db, true);
      QCOMPARE(store->schemaVersion(), 1);
      const auto rows = store->results({id});
      QCOMPARE(rows.size(), size_t(2));
      QCOMPARE(QString::fromStdString(rows[0].domain), QStringLiteral("*"));
      QCOMPARE(rows[0].value, 0.5);
    }
    QCOMPARE(sha256(db), before);
    {
      auto store = RunStore::open(db);
      QCOMPARE(store->schemaVersion(), kStoreSchemaVersion);
      QCOMPARE(store->results({id}).size(), size_t(2));
    }
    QCOMPARE(rawSql(db, "SELECT count(*) FROM results WHERE domain='*'"), QStringLiteral("0"));
    QCOMPARE(rawSql(db, "SELECT value FROM run_results"), QStringLiteral("0.5"));
    QCOMPARE(rawSql(db, "SELECT count(*) FROM evaluations"), QStringLiteral("0"));  // schema 4
    QCOMPARE(rawSql(db, "SELECT count(*) FROM validation_examples"), QStringLiteral("0"));  // 5
    QCOMPARE(rawSql(db, "PRAGMA application_id").toLongLong(),
             static_cast<qint64>(kStoreApplicationId));
  }

  void damagedStoreTakesNoNewRuns() {
    const std::string db = path("damaged.db");
    std::int64_t id = 0;
    {
      RunWriter w(db);
      id = w.createRun("exp", "baseline", "baseline", 1, "{}");
      for (int i = 0; i < 3000; ++i) w.addMetric({id, "model", i, i * 0.01, "loss", 1.0 / (i + 1)});
      w.setStatus(id, RunStatus::Finished);
    }
    const int pageSize = rawSql(db, "PRAGMA page_size").toInt();
    const int root = rawSql(db, "SELECT rootpage FROM sqlite_master WHERE name='metrics'").toInt();
    QVERIFY(root > 1);
    {
      // Garbage over the b-tree header of the metrics table's root page; page 1 stays whole.
      QFile f(QString::fromStdString(db));
      QVERIFY(f.open(QIODevice::ReadWrite));
      QVERIFY(f.seek(static_cast<qint64>(root - 1) * pageSize));
      f.write(QByteArray(64, '\xee'));
    }
    const QByteArray before = sha256(db);
    QString msg;
    QVERIFY2(throwsInput([&] { RunWriter w(db); }, "damaged store (integrity_check: ", &msg),
             qPrintable(msg));
    QVERIFY2(msg.startsWith(QString::fromStdString(db)), qPrintable(msg));
    // The problem itself, not the report's "*** in database main ***" heading.
    QVERIFY2(!msg.contains("***") && msg.contains("page", Qt::CaseInsensitive), qPrintable(msg));
    QVERIFY2(throwsInput([&] { RunWriter::checkWritable(db); }, "damaged store", &msg),
             qPrintable(msg));
    QVERIFY(throwsInput([&] { RunStore::open(db); }, "damaged store"));
    QCOMPARE(sha256(db), before);
    // Reading what is still whole works; reading the damaged table names the damage.
    auto store = RunStore::open(db, true);
    QCOMPARE(store->listRuns().size(), size_t(1));
    QVERIFY2(throwsInput([&] { store->metrics(id); }, "damaged store (integrity_check: ", &msg),
             qPrintable(msg));
    QVERIFY2(!msg.contains("***") && !msg.contains('\n'), qPrintable(msg));
    // What a viewer runs once when it opens a store.
    bool partial = true;
    const QString damage = QString::fromStdString(store->quickCheck(std::int64_t{256} << 20, &partial));
    QVERIFY(!partial);
    QVERIFY2(damage.startsWith(QString::fromStdString(db) + ": damaged store (quick_check: "),
             qPrintable(damage));
    QVERIFY(!damage.contains('\n'));
    QCOMPARE(RunStore::open(path("b.db"), true)->quickCheck(), std::string());
  }

  // The store the user names may be a symbolic link to a store (followed on purpose: SQLite
  // keeps -wal and -shm beside the store itself). Nothing is created through a link, and a file
  // reached under a second name (a hard link, planted or not) is refused, its bytes unchanged.
  void linksAtTheStorePath() {
    const std::string real = path("linked-real.db"), viaLink = path("linked.db");
    {
      RunWriter w(real);
      w.createRun("exp", "baseline", "baseline", 0, "{}");
    }
    QVERIFY(::symlink(real.c_str(), viaLink.c_str()) == 0);
    {
      RunWriter w(viaLink);
      w.createRun("exp", "baseline", "baseline", 1, "{}");
      QVERIFY(QFile::exists(QString::fromStdString(real + "-wal")));
      QVERIFY(!QFile::exists(QString::fromStdString(viaLink + "-wal")));
    }
    QCOMPARE(RunStore::open(real, true)->listRuns().size(), size_t(2));

    // A link to nothing: no store is made where it points.
    const std::string dangling = path("dangling.db"), target = path("nowhere/made.db");
    QVERIFY(::symlink(target.c_str(), dangling.c_str()) == 0);
    QString msg;
    QVERIFY2(throwsInput([&] { RunWriter w(dangling); }, "which does not exist; a store is not "
                                                        "created through a link", &msg),
             qPrintable(msg));
    QVERIFY(!QFile::exists(QString::fromStdString(target)));
    QVERIFY(throwsInput([&] { RunStore::open(dangling, true); }, "a symbolic link to"));

    // A link to a file that is not a store: refused, the file unchanged.
    const std::string outside = path("outside.txt"), planted = path("planted.db");
    {
      QFile f(QString::fromStdString(outside));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("precious\n");
    }
    const QByteArray before = sha256(outside);
    QVERIFY(::symlink(outside.c_str(), planted.c_str()) == 0);
    QVERIFY(throwsInput([&] { RunWriter w(planted); }, "not a RewardRouter run store"));
    // An empty file hard-linked into place would have been made a store through the link.
    const std::string emptyOutside = path("empty-outside"), hard = path("hard.db");
    QFile(QString::fromStdString(emptyOutside)).open(QIODevice::WriteOnly);
    QVERIFY(::link(emptyOutside.c_str(), hard.c_str()) == 0);
    QVERIFY2(throwsInput([&] { RunWriter w(hard); }, "hard links", &msg), qPrintable(msg));
    QCOMPARE(QFileInfo(QString::fromStdString(emptyOutside)).size(), qint64(0));
    QCOMPARE(sha256(outside), before);

    // A store under a second name: each name would get a write-ahead log of its own.
    const std::string second = path("second-name.db");
    QVERIFY(::link(real.c_str(), second.c_str()) == 0);
    QVERIFY(throwsInput([&] { RunWriter w(second); }, "hard links"));
    QVERIFY(throwsInput([&] { RunStore::open(real, true); }, "hard links"));
    QVERIFY(::unlink(second.c_str()) == 0);
    QCOMPARE(RunStore::open(real, true)->listRuns().size(), size_t(2));
  }

  // The GUI's way: one connection kept open for hours, the store opened again and again beside
  // it (a view, a writer of its own run), while another process (a CLI run) writes runs into
  // the same store. POSIX drops every fcntl lock a process holds on a file when any descriptor
  // of that file is closed; a store file opened outside SQLite dropped this process's SQLite
  // locks, the other process then thought itself the last user, checkpointed and deleted the
  // write-ahead log under the open connection, which went on reading a deleted -wal/-shm: later
  // runs never appeared and the healthy store was called damaged.
  void otherProcessWritesBesideALongLivedConnection() {
    const std::string db = path("shared.db");
    const std::string config = path("tiny.json");
    {
      std::ofstream(config) << R"({"name": "tiny", "methods": [{"method": "baseline"}],
        "data": {"synthetic": {"pairs_per_domain": 12, "domains": ["harmless", "instruct"]}},
        "tokenizer": {"vocab_size": 120},
        "encoder": {"preset": "tiny", "hidden": 16, "layers": 1, "heads": 2, "ffn": 32, "max_len": 24},
        "training": {"batch_size": 8, "epochs": 1, "seeds": 1}})";
    }
    {
      RunWriter w(db);
      w.createRun("exp", "baseline", "baseline", 0, "{}");
    }
    auto gui = RunStore::open(db, true);
    QCOMPARE(gui->listRuns().size(), size_t(1));
    const int rounds = 4;
    for (int i = 0; i < rounds; ++i) {
      // What the GUI does between two polls: open the store once more, for reading and for
      // writing, and close it again.
      RunStore::open(db, true);
      RunWriter::checkWritable(db);
      QProcess cli;
      cli.start(QStringLiteral(RR_CLI_PATH),
                {"run", QString::fromStdString(config), "--db", QString::fromStdString(db),
                 "--quiet", "--set", QStringLiteral("training.seed=%1").arg(i + 1)});
      QVERIFY(cli.waitForFinished(120000));
      QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
      QCOMPARE(gui->listRuns().size(), size_t(i + 2));
      QVERIFY(!gui->metrics(gui->listRuns().back().id).empty());
    }
    // No descriptor of this process points at a deleted -wal or -shm.
    const QDir fds(QStringLiteral("/proc/self/fd"));
    for (const QString& fd : fds.entryList(QDir::Files | QDir::System | QDir::NoDotAndDotDot)) {
      char buf[4096] = {0};
      const ssize_t n = ::readlink(fds.filePath(fd).toLocal8Bit().constData(), buf, sizeof buf - 1);
      const QString target = QString::fromLocal8Bit(buf, n > 0 ? static_cast<int>(n) : 0);
      QVERIFY2(!target.endsWith(QStringLiteral(" (deleted)")), qPrintable(target));
    }
    QCOMPARE(rawSql(db, "PRAGMA integrity_check"), QStringLiteral("ok"));
    QCOMPARE(RunStore::open(db, true)->listRuns().size(), size_t(rounds + 1));
  }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
