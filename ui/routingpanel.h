#pragma once
// The Monitor's routing panel: expert / adapter load over steps as a stacked area, the router's
// confusion matrix (true vs routed domain) as a colour map whose cells filter the Inspect table,
// and the load-balance loss curve.
#include <QWidget>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "qcp.h"

class QLabel;

namespace rr::ui {

class CurvePlot;

// How many test examples of a run each (true domain, routed domain) cell holds.
struct ConfusionCounts {
  std::int64_t runId = 0;
  QString runLabel;
  std::vector<std::string> domains, routes;
  std::map<std::pair<std::string, std::string>, std::int64_t> counts;
};

class RoutingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit RoutingPanel(QWidget* parent = nullptr);

  // expert -> (step, load) points of one run; empty clears the plot.
  void setLoad(const QString& runLabel,
               const std::map<std::string, std::vector<std::pair<double, double>>>& load);
  void setConfusion(const ConfusionCounts& c);
  CurvePlot* balancePlot() const { return m_balance; }

 Q_SIGNALS:
  void cellClicked(std::int64_t runId, const QString& domain, const QString& routedTo);

 private:
  void onConfusionClick(QMouseEvent* event);

  QCustomPlot* m_load;
  QCustomPlot* m_confusion;
  CurvePlot* m_balance;
  QLabel* m_loadNote;
  QLabel* m_confusionNote;
  ConfusionCounts m_counts;
  QCPColorMap* m_map = nullptr;
};

}  // namespace rr::ui
