#pragma once
// The Inspect view: the example table of the selected runs with its filters, and a detail pane
// with the pair's texts, both rewards, the route and the per-expert / per-capability
// contributions as a bar chart.
#include <QWidget>
#include <cstdint>
#include <vector>

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

namespace rr::ui {

class InspectView : public QWidget {
  Q_OBJECT
 public:
  explicit InspectView(QWidget* parent = nullptr);

  void setStore(const core::RunStore* store);
  void showRuns(const std::vector<std::int64_t>& runIds);
  // A confusion-matrix cell: that run's examples of `domain` routed to `routedTo`.
  void showConfusionCell(std::int64_t runId, const QString& domain, const QString& routedTo);
  ExampleModel* model() const { return m_model; }
  class ScoreBox* scoreBox() const { return m_scoreBox; }

 private:
  void applyFilter();
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

  QLabel* m_header;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_chosen;
  QPlainTextEdit* m_rejected;
  QCustomPlot* m_contrib;
  QLabel* m_contribNote;
  class ScoreBox* m_scoreBox;
};

}  // namespace rr::ui
