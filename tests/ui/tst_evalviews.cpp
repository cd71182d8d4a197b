// The evaluation figures in Compare and Inspect are the core's (docs/EVALUATION.md) on a small
// hand-made store: the "longer response wins" row, bootstrap intervals, the exact McNemar mark,
// calibration, the RewardBench table, the reward-vs-length plot and the reliability diagram,
// whose bins and points, clicked, list their pairs.
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>
#include <cmath>
#include <map>
#include <set>

#include "compareview.h"
#include "eval/metrics.h"
#include "eval/rewardbench.h"
#include "inspectview.h"
#include "qcp.h"
#include "store/runstore.h"

using namespace rr;

namespace {

struct TestPair {
  const char* id;
  const char* domain;
  int chosenLength, rejectedLength;
  double margin1, margin2;  // r_chosen - r_rejected of run 1 and run 2
};

// Run 1 is right on a1, a2, b1 only; run 2 on all but b4: 6 pairs only run 2 gets right, none
// only run 1 gets right, so the exact McNemar p is 2 * 0.5^6 = 0.03125. The chosen response is
// strictly longer in a1..a4 (4 of 6) and b1 (1 of 4; b2's are equally long).
const TestPair kPairs[] = {
    {"a1", "a", 30, 10, 2.0, 1.0},  {"a2", "a", 25, 20, 0.5, 2.0},  {"a3", "a", 40, 5, -1.0, 0.3},
    {"a4", "a", 12, 11, -0.2, 0.8}, {"a5", "a", 8, 20, -3.0, 1.5},  {"a6", "a", 3, 30, -0.5, 4.0},
    {"b1", "b", 50, 10, 1.0, 0.7},  {"b2", "b", 10, 10, -1.0, 2.5}, {"b3", "b", 5, 15, -2.0, 0.1},
    {"b4", "b", 7, 9, -0.1, -1.0},
};

std::string text(char c, int n) { return std::string(static_cast<std::size_t>(n), c); }

// The column whose head starts with the line `head` (a second line may say what it is over).
int column(const QTableWidget* t, const QString& head) {
  for (int c = 0; c < t->columnCount(); ++c)
    if (t->horizontalHeaderItem(c)->text().section('\n', 0, 0) == head) return c;
  return -1;
}

int rowOf(const QTableWidget* t, const QString& first) {
  for (int r = 0; r < t->rowCount(); ++r)
    if (t->item(r, 0) && t->item(r, 0)->text() == first) return r;
  return -1;
}

double value(const QTableWidget* t, int row, const QString& head) {
  const int c = column(t, head);
  if (c < 0 || !t->item(row, c)) return std::nan("");
  return t->item(row, c)->data(Qt::UserRole).toDouble();
}

std::vector<double> margins(int run) {
  std::vector<double> m;
  for (const auto& p : kPairs) m.push_back(run == 1 ? p.margin1 : p.margin2);
  return m;
}

// Whether every entry of `plot`'s legend lies inside the plot, as wide as its text needs: a
// legend with more columns than fit was cut off at the plot's right edge.
QString legendCut(QCustomPlot* plot) {
  for (int i = 0; i < plot->legend->itemCount(); ++i) {
    QCPAbstractLegendItem* item = plot->legend->item(i);
    if (!item) continue;
    const QRect r = item->outerRect();
    if (!plot->rect().contains(r) || r.width() < item->minimumOuterSizeHint().width())
      return QStringLiteral("%1: legend item %2 at %3,%4 %5x%6 (needs %7) in %8x%9")
          .arg(plot->objectName())
          .arg(i)
          .arg(r.x())
          .arg(r.y())
          .arg(r.width())
          .arg(r.height())
          .arg(item->minimumOuterSizeHint().width())
          .arg(plot->width())
          .arg(plot->height());
  }
  return {};
}

// The (run, example id) rows the Inspect table lists, all pages read.
std::set<std::pair<std::int64_t, std::string>> listed(ui::InspectView& view) {
  while (view.model()->canFetchMore({})) view.model()->fetchMore({});
  std::set<std::pair<std::int64_t, std::string>> out;
  for (int r = 0; r < view.model()->rowCount(); ++r)
    out.emplace(view.model()->example(r).runId, view.model()->example(r).exampleId);
  return out;
}

// An Inspect view of `runs`, shown at a size where its plots take clicks.
bool showInspect(ui::InspectView& view, const core::RunStore* store,
                 const std::vector<std::int64_t>& runs) {
  view.resize(1200, 800);
  view.setStore(store);
  view.showRuns(runs);
  view.show();
  return QTest::qWaitForWindowExposed(&view);
}

}  // namespace

class TestEvalViews : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string m_db;
  std::int64_t m_run1 = 0, m_run2 = 0;

 private Q_SLOTS:
  void initTestCase() {
    m_db = m_dir.filePath(QStringLiteral("eval.db")).toStdString();
    core::RunWriter w(m_db);
    std::vector<core::PreferencePair> texts;
    for (const auto& p : kPairs) {
      core::PreferencePair t;
      t.id = p.id;
      t.domain = p.domain;
      t.prompt = "prompt";
      t.chosen = text('c', p.chosenLength);
      t.rejected = text('r', p.rejectedLength);
      t.split = "test";
      texts.push_back(t);
    }
    w.addPairs(texts);
    for (int run = 1; run <= 2; ++run) {
      const char* method = run == 1 ? "baseline" : "more";
      const std::int64_t id = w.createRun("ev", method, method, 1, "{}");
      (run == 1 ? m_run1 : m_run2) = id;
      std::vector<core::ExampleRow> rows;
      std::map<std::string, std::pair<int, int>> right;
      for (const auto& p : kPairs) {
        const double m = run == 1 ? p.margin1 : p.margin2;
        core::ExampleRow e;
        e.runId = id;
        e.exampleId = p.id;
        e.domain = p.domain;
        e.rewardChosen = m / 2;
        e.rewardRejected = -m / 2;
        e.correct = m > 0;
        rows.push_back(e);
        right[p.domain].first += e.correct;
        right[p.domain].second += 1;
      }
      w.addExamples(rows);
      std::vector<core::ResultRow> results;
      double sum = 0;
      for (const auto& [d, c] : right) {
        const double acc = static_cast<double>(c.first) / c.second;
        results.push_back({id, d, "accuracy", acc});
        sum += acc;
      }
      results.push_back({id, "*", "accuracy", sum / 2});
      w.addResults(results);
      w.setStatus(id, core::RunStatus::Finished);
    }
    // Run 1 evaluated on four RewardBench pairs: alpacaeval-easy (Chat) 1 of 2, refusals-dangerous
    // (Safety) 1 of 1, hep-python (Reasoning) 1 of 1.
    std::vector<core::PreferencePair> rb;
    std::vector<core::EvaluationExample> rbRows;
    const struct {
      const char* id;
      const char* subset;
      double chosen, rejected;
    } evals[] = {{"e1", "alpacaeval-easy", 1.0, 0.0},
                 {"e2", "alpacaeval-easy", 0.0, 0.5},
                 {"e3", "refusals-dangerous", 2.0, 1.0},
                 {"e4", "hep-python", 0.3, 0.1}};
    for (const auto& e : evals) {
      core::PreferencePair p;
      p.id = e.id;
      p.domain = e.subset;
      p.prompt = "q";
      p.chosen = "good answer";
      p.rejected = "bad";
      p.split = "test";
      rb.push_back(p);
      core::EvaluationExample x;
      x.row.runId = m_run1;
      x.row.exampleId = e.id;
      x.row.domain = e.subset;
      x.row.rewardChosen = e.chosen;
      x.row.rewardRejected = e.rejected;
      x.row.correct = e.chosen > e.rejected;
      rbRows.push_back(x);
    }
    w.addEvaluation(m_run1, "rb", "rb-pairs.jsonl", rb, rbRows);
    // Run 2 on the same file: wrong on e1 only (run 1 on e2 only).
    const double run2[][2] = {{0.0, 1.0}, {1.0, 0.0}, {1.0, 0.0}, {1.0, 0.0}};
    for (std::size_t i = 0; i < rbRows.size(); ++i) {
      rbRows[i].row.runId = m_run2;
      rbRows[i].row.rewardChosen = run2[i][0];
      rbRows[i].row.rewardRejected = run2[i][1];
      rbRows[i].row.correct = run2[i][0] > run2[i][1];
    }
    w.addEvaluation(m_run2, "rb", "rb-pairs.jsonl", rb, rbRows);
    w.flush();
  }

  void reliabilityBinsAreTheEcesBins() {
    // The diagram's bins give calibration()'s ECE back: sum count * |mean p - observed| / 2n.
    for (int run : {1, 2}) {
      const auto m = margins(run);
      const auto bins = core::reliabilityDiagram(m);
      QCOMPARE(bins.size(), std::size_t(10));
      double ece = 0;
      std::int64_t count = 0;
      for (const auto& b : bins) {
        count += b.count;
        if (b.count) ece += b.count * std::abs(b.meanPredicted - b.observed);
      }
      QCOMPARE(count, std::int64_t(2 * m.size()));
      QVERIFY(std::abs(ece / (2.0 * m.size()) - core::calibration(m).ece) < 1e-12);
    }
    // By hand: margin 0 -> p = 0.5 in bin 5 twice (outcome 1, then 1 - p = 0.5 with outcome 0);
    // margin ln 3 -> p = 0.75 in bin 7 (outcome 1) and 0.25 in bin 2 (outcome 0).
    const auto bins = core::reliabilityDiagram({0.0, std::log(3.0)});
    QCOMPARE(bins[5].count, std::int64_t(2));
    QCOMPARE(bins[5].meanPredicted, 0.5);
    QCOMPARE(bins[5].observed, 0.5);
    QCOMPARE(bins[5].pairs, std::vector<std::size_t>({0}));
    QCOMPARE(bins[7].count, std::int64_t(1));
    QVERIFY(std::abs(bins[7].meanPredicted - 0.75) < 1e-12);
    QCOMPARE(bins[7].observed, 1.0);
    QCOMPARE(bins[2].observed, 0.0);
    QCOMPARE(bins[2].pairs, std::vector<std::size_t>({1}));
    QVERIFY(std::isnan(bins[0].meanPredicted));
    QCOMPARE(bins[9].upper, 1.0);
  }

  void compareShowsTheLengthRuleRow() {
    auto store = core::RunStore::open(m_db, true);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QTableWidget* acc = view.accuracyTable();
    const int row = rowOf(acc, QStringLiteral("longer response wins"));
    QVERIFY(row >= 0);
    QCOMPARE(acc->rowCount(), 3);  // two methods and the rule
    // a: 4 of 6, b: 1 of 4 (equal lengths are wrong), mean over domains 11/24.
    QCOMPARE(value(acc, row, QStringLiteral("a")), 4.0 / 6);
    QCOMPARE(value(acc, row, QStringLiteral("b")), 0.25);
    QVERIFY(std::abs(value(acc, row, QStringLiteral("mean")) - 11.0 / 24) < 1e-12);
    QVERIFY(!acc->item(row, column(acc, QStringLiteral("mean")))->font().bold());
  }

  void perRunTableHasTheCoresFigures() {
    auto store = core::RunStore::open(m_db, true);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QTableWidget* t = view.perRunTable();
    QCOMPARE(t->rowCount(), 2);
    const auto scored = store->scoredPairs({m_run1, m_run2});
    for (int r = 0; r < 2; ++r) {
      const std::int64_t id = t->item(r, 0)->data(Qt::UserRole).toLongLong();
      const int run = id == m_run1 ? 1 : 2;
      // Interval: stratified bootstrap of the mean over domains, 1000 resamples, seed 0.
      std::map<std::string, std::vector<bool>> right;
      for (const auto& p : scored.at(id)) right[p.domain].push_back(p.correct);
      const core::Interval iv = core::bootstrapAccuracy({right["a"], right["b"]}, 1000, 0);
      const int ci = column(t, QStringLiteral("Accuracy [95% CI]"));
      QCOMPARE(t->item(r, ci)->data(Qt::UserRole).toDouble(), iv.estimate);
      QCOMPARE(t->item(r, ci)->data(Qt::UserRole + 2).toDouble(), iv.low);
      QCOMPARE(t->item(r, ci)->data(Qt::UserRole + 3).toDouble(), iv.high);
      // Run 1: a 2 of 6, b 1 of 4 -> (1/3 + 1/4) / 2; run 2: a 6 of 6, b 3 of 4.
      QVERIFY(std::abs(iv.estimate - (run == 1 ? 7.0 / 24 : 7.0 / 8)) < 1e-12);
      QVERIFY(iv.low <= iv.estimate && iv.estimate <= iv.high && iv.low < iv.high);
      const core::Calibration cal = core::calibration(margins(run));
      QCOMPARE(value(t, r, QStringLiteral("ECE")), cal.ece);
      QCOMPARE(value(t, r, QStringLiteral("Brier")), cal.brier);
      QCOMPARE(value(t, r, QStringLiteral("Log loss")), cal.logLoss);
      // Brier by hand for run 1: mean (1 - sigmoid(m))^2.
      double brier = 0;
      for (double m : margins(run)) brier += std::pow(1 - 1 / (1 + std::exp(-m)), 2);
      QVERIFY(std::abs(cal.brier - brier / 10) < 1e-12);
      QVERIFY(!std::isnan(value(t, r, QStringLiteral("ECE (T)"))));
      // The rule over all domains is the mean over domains, as the accuracy beside it.
      QVERIFY(std::abs(value(t, r, QStringLiteral("Longer wins")) - 11.0 / 24) < 1e-12);
      // Run 2 is wrong only on b4, whose chosen response is the shorter one.
      if (run == 2) {
        QCOMPARE(value(t, r, QStringLiteral("Acc. chosen longer")), 1.0);
        QCOMPARE(value(t, r, QStringLiteral("Acc. chosen not longer")), 4.0 / 5);
      }
    }
  }

  // Issue 25, item 10: over all domains the per-run row sets the model's accuracy beside the
  // length rule's: both are means over domains, as in the accuracy table; the pooled figures
  // say that they pool. Within a domain there is one kind and no such line.
  void perRunRowComparesFiguresOfOneKind() {
    auto store = core::RunStore::open(m_db, true);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QTableWidget* t = view.perRunTable();
    const auto head = [&](const QString& first) {
      return t->horizontalHeaderItem(column(t, first))->text();
    };
    QCOMPARE(head(QStringLiteral("Accuracy [95% CI]")),
             QStringLiteral("Accuracy [95% CI]\nmean over domains"));
    QCOMPARE(head(QStringLiteral("Longer wins")), QStringLiteral("Longer wins\nmean over domains"));
    QCOMPARE(head(QStringLiteral("ECE")), QStringLiteral("ECE\nall pairs"));
    QCOMPARE(head(QStringLiteral("Acc. chosen longer")),
             QStringLiteral("Acc. chosen longer\nall pairs"));
    // The same number as the accuracy table's "longer response wins" row.
    QTableWidget* acc = view.accuracyTable();
    const double tableRule =
        value(acc, rowOf(acc, QStringLiteral("longer response wins")), QStringLiteral("mean"));
    QCOMPARE(value(t, 0, QStringLiteral("Longer wins")), tableRule);
    // Picked with the keyboard, as a user would: the domain "a".
    QComboBox* domain = view.figureDomainBox();
    domain->setFocus();
    while (domain->currentText() != QStringLiteral("a") &&
           domain->currentIndex() < domain->count() - 1)
      QTest::keyClick(domain, Qt::Key_Down);
    QCOMPARE(domain->currentText(), QStringLiteral("a"));
    QCOMPARE(head(QStringLiteral("Longer wins")), QStringLiteral("Longer wins"));
    QCOMPARE(value(t, 0, QStringLiteral("Longer wins")), 4.0 / 6);
  }

  void significanceMarkAgainstTheReferenceRun() {
    auto store = core::RunStore::open(m_db, true);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QComboBox* ref = view.referenceBox();
    ref->setCurrentIndex(ref->findData(QVariant::fromValue<qlonglong>(m_run1)));
    QTableWidget* t = view.perRunTable();
    const QString head = QStringLiteral("vs #%1").arg(m_run1);
    const int c = column(t, head);
    QVERIFY(c >= 0);
    const int r1 = t->item(0, 0)->data(Qt::UserRole).toLongLong() == m_run1 ? 0 : 1;
    const int r2 = 1 - r1;
    QCOMPARE(t->item(r1, c)->text(), QStringLiteral("reference"));
    QCOMPARE(t->item(r2, c)->data(Qt::UserRole).toDouble(), 0.03125);
    QCOMPARE(t->item(r2, c)->data(Qt::UserRole).toDouble(), core::mcnemarExactP(0, 6));
    QVERIFY(t->item(r2, c)->text().endsWith(QStringLiteral(" *")));
    QVERIFY(t->item(r2, c)->toolTip().contains(QStringLiteral("only #%1 right 0").arg(m_run1)));
    QVERIFY(t->item(r2, c)->toolTip().contains(QStringLiteral("only #%1 right 6").arg(m_run2)));
    // In short lines: one long line ran off the window.
    for (const QString& line : t->item(r2, c)->toolTip().split('\n'))
      QVERIFY2(line.size() <= 60, qPrintable(line));
    // Within domain b: run 2 alone right on b2, b3 (b1 both, b4 neither): p = 2 * 0.5^2 = 0.5.
    QComboBox* domain = view.figureDomainBox();
    domain->setCurrentIndex(domain->findText(QStringLiteral("b")));
    QCOMPARE(t->item(r2, c)->data(Qt::UserRole).toDouble(), 0.5);
    QVERIFY(!t->item(r2, c)->text().contains('*'));
    QCOMPARE(value(t, r2, QStringLiteral("Pairs")), 4.0);
  }

  void perRunFiguresOfAnEvaluation() {
    auto store = core::RunStore::open(m_db, true);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QComboBox* source = view.figureSourceBox();
    QCOMPARE(source->count(), 2);
    source->setCurrentIndex(source->findData(QStringLiteral("rb")));
    QTableWidget* t = view.perRunTable();
    QCOMPARE(t->rowCount(), 2);
    const int r1 = t->item(0, 0)->data(Qt::UserRole).toLongLong() == m_run1 ? 0 : 1;
    QCOMPARE(value(t, r1, QStringLiteral("Pairs")), 4.0);
    // The mean over the three subsets: (1/2 + 1 + 1) / 3, with its interval.
    const int ci = column(t, QStringLiteral("Accuracy [95% CI]"));
    QVERIFY(std::abs(t->item(r1, ci)->data(Qt::UserRole).toDouble() - 2.5 / 3) < 1e-12);
    const core::Interval iv =
        core::bootstrapAccuracy({{true, false}, {true}, {true}}, 1000, 0);  // by subset name
    QCOMPARE(t->item(r1, ci)->data(Qt::UserRole + 2).toDouble(), iv.low);
    QCOMPARE(t->item(r1, ci)->data(Qt::UserRole + 3).toDouble(), iv.high);
    QCOMPARE(value(t, r1, QStringLiteral("ECE")), core::calibration({1.0, -0.5, 1.0, 0.2}).ece);
    // The chosen response ("good answer") is the longer one in every pair.
    QCOMPARE(value(t, r1, QStringLiteral("Longer wins")), 1.0);
    QCOMPARE(value(t, r1, QStringLiteral("Acc. chosen longer")), 0.75);
    // McNemar on the evaluation's pairs: one discordant pair each way, p = 1.
    view.referenceBox()->setCurrentIndex(
        view.referenceBox()->findData(QVariant::fromValue<qlonglong>(m_run1)));
    const int c = column(t, QStringLiteral("vs #%1").arg(m_run1));
    QCOMPARE(t->item(1 - r1, c)->data(Qt::UserRole).toDouble(), 1.0);
    QVERIFY(t->item(1 - r1, c)->toolTip().contains(QStringLiteral("on the 4 pairs")));
  }

  void rewardBenchTableOfTheEvaluation() {
    auto store = core::RunStore::open(m_db, true);
    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QTableWidget* t = view.evaluationTable();
    QCOMPARE(t->rowCount(), 2);  // by run: run 1's first
    QCOMPARE(t->item(0, column(t, QStringLiteral("Evaluation")))->text(), QStringLiteral("rb"));
    QVERIFY(t->item(0, 0)->text().startsWith(QStringLiteral("#%1 ").arg(m_run1)));
    std::map<std::string, core::SubsetCount> subsets = {
        {"alpacaeval-easy", {1, 2}}, {"refusals-dangerous", {1, 1}}, {"hep-python", {1, 1}}};
    const core::RewardBenchScore score = core::rewardBenchV1(subsets);
    QCOMPARE(value(t, 0, QStringLiteral("Chat")), 0.5);
    QCOMPARE(value(t, 0, QStringLiteral("Safety")), 1.0);
    QCOMPARE(value(t, 0, QStringLiteral("Reasoning")), 1.0);
    QCOMPARE(t->item(0, column(t, QStringLiteral("Chat Hard")))->text(), QStringLiteral("–"));
    QCOMPARE(value(t, 0, QStringLiteral("Score")), score.score);
    QVERIFY(std::abs(score.score - 2.5 / 3) < 1e-12);
    QCOMPARE(value(t, 0, QStringLiteral("Pairs")), 4.0);
    QCOMPARE(value(t, 0, QStringLiteral("Accuracy")), (0.5 + 1 + 1) / 3);
    QCOMPARE(column(t, QStringLiteral("hep-python")), -1);
    view.subsetsBox()->setChecked(true);
    QCOMPARE(value(t, 0, QStringLiteral("alpacaeval-easy")), 0.5);
    QCOMPARE(value(t, 0, QStringLiteral("hep-python")), 1.0);
  }

  void inspectPlotsTheCoresDiagram() {
    auto store = core::RunStore::open(m_db, true);
    ui::InspectView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QCOMPARE(view.reliability().size(), std::size_t(2));
    for (const auto& [id, bins] : view.reliability()) {
      const auto expected = core::reliabilityDiagram(margins(id == m_run1 ? 1 : 2));
      QCOMPARE(bins.size(), expected.size());
      for (std::size_t b = 0; b < bins.size(); ++b) {
        QCOMPARE(bins[b].count, expected[b].count);
        QCOMPARE(bins[b].pairs, expected[b].pairs);
      }
    }
    // The length plot: every response of both runs, at its length and reward.
    QCustomPlot* lp = view.lengthPlot();
    int points = 0;
    for (int i = 0; i < lp->graphCount(); ++i) points += lp->graph(i)->dataCount();
    QCOMPARE(points, 2 * 2 * 10);
    QCOMPARE(lp->legend->itemCount(), 2);  // one entry per domain
  }

  void clickingABinListsItsPairs() {
    auto store = core::RunStore::open(m_db, true);
    ui::InspectView view;
    QVERIFY(showInspect(view, store.get(), {m_run1, m_run2}));
    QCustomPlot* plot = view.reliabilityPlot();
    plot->replot();
    // Run 2's bin with p in [0.9, 1): margins 2.5 (b2) and 4 (a6).
    QCPGraph* g = nullptr;
    for (int i = 0; i < plot->graphCount(); ++i)
      if (plot->graph(i)->name().startsWith(QStringLiteral("#%1 ").arg(m_run2))) g = plot->graph(i);
    QVERIFY(g);
    const core::ReliabilityBin& bin = view.reliability().at(m_run2)[9];
    QCOMPARE(bin.count, std::int64_t(2));
    const QPointF at(plot->xAxis->coordToPixel(bin.meanPredicted),
                     plot->yAxis->coordToPixel(bin.observed));
    QTest::mouseClick(plot, Qt::LeftButton, {}, at.toPoint());
    // Both orders count, so bin 9 holds p of b2, a6 and 1 - p of none; bin 0 the same pairs.
    std::set<std::pair<std::int64_t, std::string>> expected = {{m_run2, "a6"}, {m_run2, "b2"}};
    QCOMPARE(listed(view), expected);
    auto* chip = view.findChild<QToolButton*>(QStringLiteral("plotPick"));
    QVERIFY(chip && chip->isVisible());
    chip->click();
    QCOMPARE(listed(view).size(), std::size_t(20));

    // A point of the length plot: b1's chosen response (50 characters) of run 1.
    QCustomPlot* lp = view.lengthPlot();
    lp->replot();
    QCPGraph* chosenB = nullptr;
    for (int i = 0; i < lp->graphCount(); ++i)
      if (lp->graph(i)->name() == QStringLiteral("b")) chosenB = lp->graph(i);
    QVERIFY(chosenB);
    const QPointF pt(lp->xAxis->coordToPixel(50), lp->yAxis->coordToPixel(0.5));
    QTest::mouseClick(lp, Qt::LeftButton, {}, pt.toPoint());
    expected = {{m_run1, "b1"}};
    QCOMPARE(listed(view), expected);
    QCOMPARE(view.findChild<QLabel*>(QStringLiteral("exampleCount"))->text(),
             QStringLiteral("1 example"));
  }

  // Issue 25, item 8: the length plot and the reliability diagram show the pairs the filters
  // let through, set with the keyboard as a user sets them.
  void plotsFollowTheFilters() {
    auto store = core::RunStore::open(m_db, true);
    ui::InspectView view;
    QVERIFY(showInspect(view, store.get(), {m_run1, m_run2}));
    const auto points = [&] {
      int n = 0;
      for (int i = 0; i < view.lengthPlot()->graphCount(); ++i)
        n += view.lengthPlot()->graph(i)->dataCount();
      return n;
    };
    const auto binned = [&](std::int64_t run) {
      std::int64_t n = 0;
      for (const auto& b : view.reliability().at(run)) n += b.count;
      return n;
    };
    QCOMPARE(points(), 2 * 2 * 10);
    auto* domain = view.findChild<QComboBox*>(QStringLiteral("domainFilter"));
    QVERIFY(domain);
    domain->setFocus();
    QTest::keyClick(domain, Qt::Key_Down);  // all -> a
    QCOMPARE(domain->currentText(), QStringLiteral("a"));
    QCOMPARE(points(), 2 * 2 * 6);  // both responses of the six pairs of a, both runs
    QCOMPARE(binned(m_run1), std::int64_t(2 * 6));
    for (const auto& [run, pairs] : view.shownPairs())
      for (const auto& p : pairs) QCOMPARE(p.domain, std::string("a"));
    auto* result = view.findChild<QComboBox*>(QStringLiteral("resultFilter"));
    QVERIFY(result);
    result->setFocus();
    QTest::keyClick(result, Qt::Key_Down);
    QTest::keyClick(result, Qt::Key_Down);  // all -> correct -> wrong
    QCOMPARE(result->currentText(), QStringLiteral("wrong"));
    // Wrong in a: run 1 on a3..a6, run 2 on none.
    QCOMPARE(view.shownPairs().at(m_run1).size(), std::size_t(4));
    QVERIFY(view.shownPairs().at(m_run2).empty());
    QCOMPARE(points(), 4 * 2);
    QCOMPARE(binned(m_run1), std::int64_t(2 * 4));
    QCOMPARE(binned(m_run2), std::int64_t(0));
    // A margin floor typed in: run 1's wrong pairs of a with margin >= -0.5 are a4 and a6.
    auto* minMargin = view.findChild<QLineEdit*>(QStringLiteral("minMargin"));
    QVERIFY(minMargin);
    QTest::keyClicks(minMargin, QStringLiteral("-0.5"));
    QTest::keyClick(minMargin, Qt::Key_Return);
    std::set<std::string> ids;
    for (const auto& p : view.shownPairs().at(m_run1)) ids.insert(p.id);
    QCOMPARE(ids, (std::set<std::string>{"a4", "a6"}));
    QCOMPARE(view.model()->totalCount(), std::int64_t(2));  // the table lists the same pairs
  }

  // Many runs, methods and domains with long names: every legend fits its plot (the Compare
  // bars, the Inspect domains and the reliability diagram of fifteen runs were cut off), and the
  // scatter's labels of methods of nearly one size and accuracy do not cover each other.
  void legendsAndLabelsFitTheirPlots() {
    const std::string db = m_dir.filePath(QStringLiteral("many.db")).toStdString();
    std::vector<std::int64_t> ids;
    {
      core::RunWriter w(db);
      std::vector<core::PreferencePair> texts;
      for (int d = 0; d < 8; ++d)
        for (int i = 0; i < 3; ++i) {
          core::PreferencePair p;
          p.domain = "domain-with-a-long-name-" + std::to_string(d);
          p.id = p.domain + "-" + std::to_string(i);
          p.prompt = "p";
          p.chosen = text('c', 10 + i + d);
          p.rejected = text('r', 14 - i);
          p.split = "test";
          texts.push_back(p);
        }
      w.addPairs(texts);
      const char* methods[] = {"baseline", "more", "rodos", "arliss", "dmoerm"};
      for (int m = 0; m < 5; ++m)
        for (int seed = 1; seed <= 3; ++seed) {
          const std::string name = std::string(methods[m]) + "-with-a-long-display-name";
          const std::int64_t id = w.createRun("many", methods[m], name, seed, "{}");
          std::vector<core::ExampleRow> rows;
          for (std::size_t k = 0; k < texts.size(); ++k) {
            core::ExampleRow e;
            e.runId = id;
            e.exampleId = texts[k].id;
            e.domain = texts[k].domain;
            e.rewardChosen = 0.1 * static_cast<double>((k + static_cast<std::size_t>(m)) % 7) - 0.3;
            e.rewardRejected = 0.05 * seed;
            e.correct = e.rewardChosen > e.rewardRejected;
            rows.push_back(e);
          }
          w.addExamples(rows);
          std::vector<core::ResultRow> results;
          for (int d = 0; d < 8; ++d)
            results.push_back(
                {id, "domain-with-a-long-name-" + std::to_string(d), "accuracy", 0.60 + 0.002 * m});
          results.push_back({id, "*", "accuracy", 0.60 + 0.002 * m});
          results.push_back({id, "*", "params_total", 10000.0 + 100 * m});
          w.addResults(results);
          w.setStatus(id, core::RunStatus::Finished);
          ids.push_back(id);
        }
      w.flush();
    }
    auto store = core::RunStore::open(db, true);
    ui::CompareView compare;
    compare.resize(1300, 900);
    compare.setStore(store.get());
    compare.show();
    QVERIFY(QTest::qWaitForWindowExposed(&compare));
    compare.showRuns(ids);
    auto* bars = compare.findChild<QCustomPlot*>(QStringLiteral("domainBarsPlot"));
    auto* scatter = compare.findChild<QCustomPlot*>(QStringLiteral("scatterPlot"));
    QVERIFY(bars && scatter);
    for (QCustomPlot* p : {bars, scatter}) p->replot();
    const QString cut = legendCut(bars);
    QVERIFY2(cut.isEmpty(), qPrintable(cut));
    std::vector<QRectF> labels;
    for (int i = 0; i < scatter->itemCount(); ++i)
      if (auto* t = qobject_cast<QCPItemText*>(scatter->item(i)))
        labels.emplace_back(t->topLeft->pixelPosition(), t->bottomRight->pixelPosition());
    QCOMPARE(labels.size(), std::size_t(5));
    for (std::size_t a = 0; a < labels.size(); ++a)
      for (std::size_t b = a + 1; b < labels.size(); ++b)
        QVERIFY2(!labels[a].intersects(labels[b]),
                 qPrintable(QStringLiteral("labels %1 and %2 overlap").arg(a).arg(b)));

    ui::InspectView inspect;
    inspect.resize(1300, 900);
    inspect.setStore(store.get());
    inspect.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspect));
    inspect.showRuns(ids);
    for (QCustomPlot* p : {inspect.lengthPlot(), inspect.reliabilityPlot()}) {
      p->replot();
      const QString cut = legendCut(p);
      QVERIFY2(cut.isEmpty(), qPrintable(cut));
    }
    // Fifteen runs: the reliability legend is the key (five methods, three seeds), not 15 names.
    QCPLegend* key = inspect.reliabilityPlot()->legend;
    int entries = 0;
    for (int i = 0; i < key->itemCount(); ++i) entries += key->item(i) != nullptr;
    QCOMPARE(entries, 1 + 5 + 3);  // the diagonal, the methods, the seeds
  }

  void evaluationIsASourceToPick() {
    auto store = core::RunStore::open(m_db, true);
    ui::InspectView view;
    view.setStore(store.get());
    view.showRuns({m_run1, m_run2});
    QComboBox* source = view.sourceBox();
    QCOMPARE(source->count(), 2);
    source->setCurrentIndex(source->findData(QStringLiteral("rb")));
    const std::set<std::pair<std::int64_t, std::string>> all = {
        {m_run1, "e1"}, {m_run1, "e2"}, {m_run1, "e3"}, {m_run1, "e4"},
        {m_run2, "e1"}, {m_run2, "e2"}, {m_run2, "e3"}, {m_run2, "e4"}};
    QCOMPARE(listed(view), all);
    QCOMPARE(view.shownPairs().size(), std::size_t(2));
    QCOMPARE(view.reliability().at(m_run1)[7].count,
             core::reliabilityDiagram({1.0, -0.5, 1.0, 0.2})[7].count);
    // The filters apply in memory: wrong ones only -> e2.
    const QList<QComboBox*> result = view.findChildren<QComboBox*>();
    QComboBox* correctness = nullptr;
    for (QComboBox* c : result)
      if (c->count() == 3 && c->itemText(2) == QStringLiteral("wrong")) correctness = c;
    QVERIFY(correctness);
    correctness->setCurrentIndex(2);
    const std::set<std::pair<std::int64_t, std::string>> wrong = {{m_run1, "e2"}, {m_run2, "e1"}};
    QCOMPARE(listed(view), wrong);
  }
};

QTEST_MAIN(TestEvalViews)
#include "tst_evalviews.moc"
