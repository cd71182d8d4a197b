#pragma once
// The Compare view: the paper's tables for the selected runs, built by core::buildReport so they
// equal `rewardrouter-cli report` (accuracy per method x domain as mean ± std with the best of
// each column in bold; parameters and % of Baseline; train time per component; inference time),
// a scatter of mean accuracy vs parameters, per-domain bars, and the config keys that differ.
// The evaluation figures (docs/EVALUATION.md) come from the same report: the "longer response
// wins" reference row, per run the bootstrap 95% interval, length bias and calibration, the
// exact McNemar test against a reference run, and the evaluations with their RewardBench score.
#include <QWidget>
#include <cstdint>
#include <map>
#include <vector>

#include "report/report.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QTableWidget;
class QTableWidgetItem;
class QCustomPlot;
class QCPItemLine;
class QCPItemText;

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
  // One row per finished run with test pairs: accuracy [95% interval], the McNemar mark against
  // the reference run, length bias and calibration, for the domain figureDomainBox() names.
  QTableWidget* perRunTable() const { return m_perRun; }
  QComboBox* referenceBox() const { return m_reference; }
  QComboBox* figureDomainBox() const { return m_figureDomain; }
  // Whose figures the per-run table shows: "" for the runs' test pairs, else an evaluation name.
  QComboBox* figureSourceBox() const { return m_figureSource; }
  // One row per evaluation of the selected runs, RewardBench sections and score where they apply.
  QTableWidget* evaluationTable() const { return m_evaluations; }
  QCheckBox* subsetsBox() const { return m_subsets; }

 private:
  void fillAccuracy();
  void fillCost();
  void fillScatter();
  void placeScatterLabels();
  void fillBars();
  void fillDiff(const std::vector<std::int64_t>& runIds);
  void fillPerRun();
  void fillEvaluations();
  void fillReferenceChoices();
  void loadFigureSource();
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
  struct ScatterLabel {
    QCPItemText* item;
    QCPItemLine* leader;
    double x, y;  // the point it names
  };
  std::vector<ScatterLabel> m_scatterLabels;
  QCustomPlot* m_bars;
  QTableWidget* m_perRun;
  QComboBox* m_reference;
  QComboBox* m_figureDomain;
  QComboBox* m_figureSource;
  QLabel* m_perRunNote;
  QTableWidget* m_evaluations;
  QCheckBox* m_subsets;
  QLabel* m_evaluationNote;
  // The per-run figures of the chosen source (m_report.runs for the test pairs), and its pairs
  // per run for the McNemar test against the reference run.
  std::vector<core::RunFigures> m_figures;
  std::map<std::int64_t, std::vector<core::ScoredPair>> m_scored;
};

}  // namespace rr::ui
