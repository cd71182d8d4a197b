// The SQLite run store: schema and migrations, batched writes, paged example queries, and the
// rule that a run whose writer process died is marked interrupted on the next open.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <QtTest>

#include "common/errors.h"
#include "store/runstore.h"

using namespace rr::core;

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
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
