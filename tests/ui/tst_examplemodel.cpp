// The Inspect table's model against the store's own counts: every SQL filter lists exactly
// countExamples rows, paged; the exact-route and flipped scans list what the data says.
#include <QTemporaryDir>
#include <QtTest>
#include <random>

#include "examplemodel.h"
#include "store/runstore.h"

using namespace rr;

namespace {

constexpr int kPerRun = 900;
const char* const kDomains[] = {"harmless", "summary", "ranked"};

}  // namespace

class TestExampleModel : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::unique_ptr<core::RunStore> m_store;
  std::int64_t m_a = 0, m_b = 0;
  std::vector<core::ExampleRow> m_rowsA, m_rowsB;

  // Reads every page the way a scrolling view does; checks a page never exceeds kPageSize.
  static void fetchAll(ui::ExampleModel& m) {
    while (m.canFetchMore({})) {
      const int before = m.rowCount();
      m.fetchMore({});
      QVERIFY(m.rowCount() - before <= ui::ExampleModel::kPageSize);
    }
  }

  void checkAgainstSql(const core::ExampleFilter& f) {
    ui::ExampleModel m;
    m.setStore(m_store.get());
    ui::InspectFilter filter;
    filter.base = f;
    m.setFilter(filter);
    const std::int64_t expected = m_store->countExamples(f);
    QCOMPARE(m.totalCount(), expected);
    QCOMPARE(m.rowCount(), 0);  // nothing is read before the view asks
    fetchAll(m);
    QCOMPARE(static_cast<std::int64_t>(m.rowCount()), expected);
    for (int r = 0; r < m.rowCount(); ++r) {
      const core::ExampleRow& e = m.example(r);
      const double margin = e.rewardChosen - e.rewardRejected;
      if (!f.domain.empty()) QCOMPARE(e.domain, f.domain);
      if (f.correct) QCOMPARE(e.correct, *f.correct);
      if (f.minMargin) QVERIFY(margin >= *f.minMargin);
      if (f.maxMargin) QVERIFY(margin <= *f.maxMargin);
      if (f.misroutedOnly) QVERIFY(e.routedTo != e.domain);
    }
  }

 private Q_SLOTS:
  void initTestCase() {
    const std::string db = m_dir.filePath(QStringLiteral("examples.db")).toStdString();
    {
      core::RunWriter w(db);
      m_a = w.createRun("exp", "rodos", "rodos", 1, "{}");
      m_b = w.createRun("exp", "rodos", "rodos", 2, "{}");
      std::mt19937 rng(5);
      std::uniform_real_distribution<double> reward(-2, 2);
      std::vector<core::PreferencePair> pairs;
      for (int i = 0; i < kPerRun; ++i) {
        core::PreferencePair p;
        p.domain = kDomains[i % 3];
        p.prompt = "prompt " + std::to_string(i) + (i % 10 == 0 ? " needle" : "");
        p.chosen = "good " + std::to_string(i);
        p.rejected = "bad " + std::to_string(i);
        p.split = "test";
        p.id = core::makePairId(p.domain, p.prompt, p.chosen, p.rejected);
        pairs.push_back(p);
        for (auto* rows : {&m_rowsA, &m_rowsB}) {
          core::ExampleRow e;
          e.runId = rows == &m_rowsA ? m_a : m_b;
          e.exampleId = p.id;
          e.domain = p.domain;
          e.rewardChosen = reward(rng);
          e.rewardRejected = reward(rng);
          e.correct = e.rewardChosen > e.rewardRejected;
          // Every seventh example goes to the next domain's model.
          e.routedTo = i % 7 == 0 ? kDomains[(i + 1) % 3] : p.domain;
          e.detailJson = "{}";
          rows->push_back(e);
        }
      }
      w.addPairs(pairs);
      w.addExamples(m_rowsA);
      w.addExamples(m_rowsB);
      w.flush();
    }
    m_store = core::RunStore::open(db);
  }

  void sqlFiltersMatchCountExamples() {
    core::ExampleFilter f;
    f.runIds = {m_a, m_b};
    checkAgainstSql(f);
    QCOMPARE(m_store->countExamples(f), std::int64_t(2 * kPerRun));
    core::ExampleFilter domain = f;
    domain.domain = "summary";
    checkAgainstSql(domain);
    core::ExampleFilter wrong = f;
    wrong.correct = false;
    checkAgainstSql(wrong);
    core::ExampleFilter margins = f;
    margins.minMargin = -0.5;
    margins.maxMargin = 1.25;
    checkAgainstSql(margins);
    core::ExampleFilter misrouted = f;
    misrouted.runIds = {m_b};
    misrouted.misroutedOnly = true;
    misrouted.domain = "ranked";
    checkAgainstSql(misrouted);
    core::ExampleFilter search = f;
    search.search = "needle";
    search.correct = true;
    checkAgainstSql(search);
  }

  void sortsByMargin() {
    ui::ExampleModel m;
    m.setStore(m_store.get());
    ui::InspectFilter f;
    f.base.runIds = {m_a};
    m.setFilter(f);
    m.sort(ui::ExampleModel::ColMargin, Qt::DescendingOrder);
    fetchAll(m);
    QCOMPARE(m.rowCount(), kPerRun);
    for (int r = 1; r < m.rowCount(); ++r)
      QVERIFY(m.index(r - 1, ui::ExampleModel::ColMargin).data(Qt::UserRole).toDouble() >=
              m.index(r, ui::ExampleModel::ColMargin).data(Qt::UserRole).toDouble());
  }

  void exactRouteScan() {
    // A confusion-matrix cell: true domain harmless, routed to summary, in run b.
    std::int64_t expected = 0;
    for (const auto& e : m_rowsB) expected += e.domain == "harmless" && e.routedTo == "summary";
    QVERIFY(expected > 0);
    ui::ExampleModel m;
    m.setStore(m_store.get());
    ui::InspectFilter f;
    f.base.runIds = {m_b};
    f.base.domain = "harmless";
    f.routedTo = "summary";
    m.setFilter(f);
    QCOMPARE(m.totalCount(), std::int64_t(-1));  // unknown until the scan is done
    fetchAll(m);
    QCOMPARE(m.totalCount(), expected);
    for (int r = 0; r < m.rowCount(); ++r) QCOMPARE(m.example(r).routedTo, std::string("summary"));
  }

  void flippedBetweenTwoRuns() {
    std::int64_t flipped = 0, flippedRanked = 0;
    for (int i = 0; i < kPerRun; ++i) {
      const bool differs = m_rowsA[i].correct != m_rowsB[i].correct;
      flipped += differs;
      flippedRanked += differs && m_rowsA[i].domain == "ranked";
    }
    QVERIFY(flipped > ui::ExampleModel::kPageSize / 2);  // more than one page of rows
    ui::ExampleModel m;
    m.setStore(m_store.get());
    ui::InspectFilter f;
    f.base.runIds = {m_a, m_b};
    f.base.correct = true;  // ignored: flipped decides correctness
    f.flipped = true;
    m.setFilter(f);
    fetchAll(m);
    QCOMPARE(m.totalCount(), 2 * flipped);
    for (int r = 0; r + 1 < m.rowCount(); r += 2) {
      QCOMPARE(m.example(r).exampleId, m.example(r + 1).exampleId);
      QCOMPARE(m.example(r).runId, m_a);
      QCOMPARE(m.example(r + 1).runId, m_b);
      QVERIFY(m.example(r).correct != m.example(r + 1).correct);
    }
    f.base.domain = "ranked";
    m.setFilter(f);
    fetchAll(m);
    QCOMPARE(m.totalCount(), 2 * flippedRanked);
  }
};

QTEST_MAIN(TestExampleModel)
#include "tst_examplemodel.moc"
