#pragma once
// The Inspect view: the example table of the selected runs with its filters, and a detail pane
// with the pair's texts, both rewards, the route and the per-expert / per-capability
// contributions as a bar chart. Its pairs are the runs' test pairs or one of their evaluations
// (the Source box). Two plots over those pairs: reward against response length (one colour per
// domain) and the reliability diagram of P(chosen) = sigmoid(r_chosen - r_rejected) per run
// (core::reliabilityDiagram, the bins of the report's ECE); clicking a point lists its pair,
// clicking a bin lists that bin's pairs.
#include <QWidget>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eval/metrics.h"
#include "examplemodel.h"
#include "store/runstore.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTableView;
class QTimer;
class QToolButton;
class QCustomPlot;
class QCPAbstractPlottable;

namespace rr::ui {

class InspectView : public QWidget {
  Q_OBJECT
 public:
  explicit InspectView(QWidget* parent = nullptr);

  void setStore(const core::RunStore* store);
  void showRuns(const std::vector<std::int64_t>& runIds);
  // A confusion-matrix cell: run `runId`'s (one of the shown runs) examples of `domain` routed
  // to `routedTo`, with a chip that clears the route.
  void showConfusionCell(std::int64_t runId, const QString& domain, const QString& routedTo);
  ExampleModel* model() const { return m_model; }
  // "" for the runs' test pairs, else the name of an evaluation of the selected runs.
  QComboBox* sourceBox() const { return m_source; }
  QCustomPlot* lengthPlot() const { return m_lengthPlot; }
  QCustomPlot* reliabilityPlot() const { return m_reliability; }
  // The scored pairs of the shown source per run that the filters let through (the plots'
  // pairs; a click's pick narrows the table only), and each run's reliability diagram of them.
  const std::map<std::int64_t, std::vector<core::ScoredPair>>& shownPairs() const {
    return m_shown;
  }
  const std::map<std::int64_t, std::vector<core::ReliabilityBin>>& reliability() const {
    return m_bins;
  }
  // What a click on a plot does: list only that pair / the pairs with a prediction in that bin.
  void pickPair(std::int64_t runId, const std::string& pairId);
  void pickBin(std::int64_t runId, int bin);
  void clearPick();
  class ScoreBox* scoreBox() const { return m_scoreBox; }

 private:
  // The table's filter from the boxes; with `plots`, the plots follow it as well.
  void applyFilter(bool plots = true);
  std::map<std::int64_t, std::vector<core::ScoredPair>> filteredPairs(const InspectFilter& f) const;
  void loadSource();
  void fillSources();
  void fillLengthPlot();
  void fillReliabilityPlot();
  void onPlotClick(QCPAbstractPlottable* plottable, int dataIndex);
  void setPick(std::set<std::pair<std::int64_t, std::string>> pairs, const QString& label);
  void updateCount();
  void showDetail(int row);
  void clearDetail();

  const core::RunStore* m_store = nullptr;
  std::vector<std::int64_t> m_runIds;
  ExampleModel* m_model;
  QComboBox* m_domain;
  QComboBox* m_result;
  QLineEdit* m_minMargin;
  QLineEdit* m_maxMargin;
  QCheckBox* m_misrouted;
  QCheckBox* m_flipped;
  QLineEdit* m_search;
  QToolButton* m_routeChip;
  QString m_routedTo;
  QLabel* m_count;
  QTableView* m_table;
  QTimer* m_searchDelay;
  QComboBox* m_source;
  QCustomPlot* m_lengthPlot;
  QCustomPlot* m_reliability;
  QLabel* m_plotNote;
  QToolButton* m_pickChip;
  std::optional<std::set<std::pair<std::int64_t, std::string>>> m_pick;
  std::map<std::int64_t, std::vector<core::ScoredPair>> m_pairs;  // all of the source
  std::map<std::int64_t, std::vector<core::ScoredPair>> m_shown;  // those the filters pass
  std::map<std::int64_t, std::vector<core::ReliabilityBin>> m_bins;
  // What each plotted point is: (run, index into m_shown[run]) on the length plot, (run, bin) on
  // the reliability diagram, by plottable and data index.
  std::map<const QCPAbstractPlottable*, std::vector<std::pair<std::int64_t, std::size_t>>>
      m_pointRefs;

  QLabel* m_header;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_chosen;
  QPlainTextEdit* m_rejected;
  QCustomPlot* m_contrib;
  QLabel* m_contribNote;
  class ScoreBox* m_scoreBox;
};

}  // namespace rr::ui
