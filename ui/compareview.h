#pragma once
// The Compare view: the paper's tables for the selected runs, built by core::buildReport so they
// equal `rewardrouter-cli report` (accuracy per method x domain as mean ± std with the best of
// each column in bold; parameters and % of Baseline; train time per component; inference time),
// a scatter of mean accuracy vs parameters, per-domain bars, and the config keys that differ.
#include <QWidget>
#include <cstdint>
#include <vector>

#include "report/report.h"

class QLabel;
class QTableWidget;
class QTableWidgetItem;
class QCustomPlot;

namespace rr::ui {

class CompareView : public QWidget {
  Q_OBJECT
 public:
  explicit CompareView(QWidget* parent = nullptr);

  void setStore(const core::RunStore* store);
  void showRuns(const std::vector<std::int64_t>& runIds);
  const core::Report& report() const { return m_report; }
  QTableWidget* accuracyTable() const { return m_accuracy; }
  QTableWidget* costTable() const { return m_cost; }

 private:
  void fillAccuracy();
  void fillCost();
  void fillScatter();
  void fillBars();
  void fillDiff(const std::vector<std::int64_t>& runIds);
  void exportTable();
  QString methodLabel(const core::MethodSummary& m) const;
  // The backbone(s) of the group's runs, with their paths as the tooltip.
  QTableWidgetItem* backboneItem(const core::MethodSummary& m) const;

  const core::RunStore* m_store = nullptr;
  core::Report m_report;
  QLabel* m_note;
  QTableWidget* m_accuracy;
  QTableWidget* m_cost;
  QTableWidget* m_diff;
  QLabel* m_diffNote;
  QCustomPlot* m_scatter;
  QCustomPlot* m_bars;
};

}  // namespace rr::ui
