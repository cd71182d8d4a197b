#include "routingpanel.h"

#include <QGridLayout>
#include <QLabel>
#include <algorithm>

#include "curveplot.h"
#include "plotstyle.h"

namespace rr::ui {
namespace {

QSharedPointer<QCPAxisTickerText> textTicker(const std::vector<std::string>& names) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (std::size_t i = 0; i < names.size(); ++i)
    ticker->addTick(static_cast<double>(i), QString::fromStdString(names[i]));
  return ticker;
}

QLabel* noteLabel(QWidget* parent) {
  auto* l = new QLabel(parent);
  l->setWordWrap(true);
  l->setForegroundRole(QPalette::PlaceholderText);
  return l;
}

}  // namespace

RoutingPanel::RoutingPanel(QWidget* parent) : QWidget(parent) {
  m_load = new QCustomPlot(this);
  m_load->setObjectName(QStringLiteral("loadPlot"));
  m_load->xAxis->setLabel(tr("step"));
  m_load->yAxis->setLabel(tr("share of routed inputs (stacked)"));
  placeLegendBelow(m_load);  // inside the axes it covered the stacked area
  m_confusion = new QCustomPlot(this);
  m_confusion->setObjectName(QStringLiteral("confusionPlot"));
  m_confusion->xAxis->setLabel(tr("routed to"));
  m_confusion->yAxis->setLabel(tr("true domain"));
  m_balance = new CurvePlot(tr("Load-balance loss"), this);
  m_balance->setObjectName(QStringLiteral("balancePlot"));
  m_balance->setMinimumHeight(160);
  for (QCustomPlot* p : {m_load, m_confusion}) {
    p->setMinimumHeight(220);
    applyPalette(p);
  }
  m_loadNote = noteLabel(this);
  m_confusionNote = noteLabel(this);
  auto* grid = new QGridLayout(this);
  grid->addWidget(m_loadNote, 0, 0);
  grid->addWidget(m_load, 1, 0);
  grid->addWidget(m_confusionNote, 0, 1);
  grid->addWidget(m_confusion, 1, 1);
  grid->addWidget(m_balance, 2, 0, 1, 2);
  grid->setRowStretch(1, 3);
  grid->setRowStretch(2, 2);
  connect(m_confusion, &QCustomPlot::mousePress, this, &RoutingPanel::onConfusionClick);
  setLoad({}, {});
  setConfusion({});
}

void RoutingPanel::setLoad(
    const QString& runLabel,
    const std::map<std::string, std::vector<std::pair<double, double>>>& load) {
  m_load->clearGraphs();
  if (load.empty()) {
    m_loadNote->setText(
        tr("Expert / adapter load: no load/* metrics in the shown runs "
           "(single models and external routers log none)."));
    m_load->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  m_loadNote->setText(tr("Expert load over steps, %1").arg(runLabel));
  // Stacking: each expert's graph is the running sum up to it, filled down to the one below.
  std::map<double, double> cumulative;
  QCPGraph* below = nullptr;
  int i = 0;
  for (const auto& [expert, points] : load) {
    QVector<double> xs, ys;
    for (const auto& [step, value] : points) {
      xs.append(step);
      ys.append(cumulative[step] += value);
    }
    QCPGraph* g = m_load->addGraph();
    g->setName(QString::fromStdString(expert));
    QColor c = seriesColor(i++);
    g->setPen(QPen(c, 1));
    c.setAlpha(150);
    g->setBrush(c);
    g->setChannelFillGraph(below);
    g->setData(xs, ys, true);
    below = g;
  }
  m_load->rescaleAxes();
  m_load->yAxis->setRangeLower(0);
  m_load->replot(QCustomPlot::rpQueuedReplot);
}

void RoutingPanel::setConfusion(const ConfusionCounts& c) {
  m_counts = c;
  m_confusion->clearPlottables();
  m_confusion->clearItems();
  m_map = nullptr;
  if (c.counts.empty()) {
    m_confusionNote->setText(
        tr("Router confusion: no routed test examples in the shown "
           "finished runs."));
    m_confusion->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  m_confusionNote->setText(tr("Router confusion, %1 — click a cell to list its examples in "
                              "Inspect")
                               .arg(c.runLabel));
  const int nx = static_cast<int>(c.routes.size()), ny = static_cast<int>(c.domains.size());
  m_map = new QCPColorMap(m_confusion->xAxis, m_confusion->yAxis);
  m_map->data()->setSize(nx, ny);
  m_map->data()->setRange(QCPRange(0, std::max(nx - 1, 1)), QCPRange(0, std::max(ny - 1, 1)));
  std::int64_t maxCount = 1;
  for (const auto& [cell, n] : c.counts) maxCount = std::max(maxCount, n);
  for (int x = 0; x < nx; ++x)
    for (int y = 0; y < ny; ++y) {
      auto it = c.counts.find({c.domains[y], c.routes[x]});
      const std::int64_t n = it == c.counts.end() ? 0 : it->second;
      m_map->data()->setCell(x, y, static_cast<double>(n));
      auto* text = new QCPItemText(m_confusion);
      text->position->setCoords(x, y);
      text->setText(QString::number(n));
      // Dark text on the light end of the gradient, light text on the dark end.
      text->setColor(n * 2 > maxCount ? Qt::black : Qt::white);
    }
  m_map->setGradient(QCPColorGradient(QCPColorGradient::gpThermal));
  m_map->setDataRange(QCPRange(0, static_cast<double>(maxCount)));
  m_map->setInterpolate(false);
  m_confusion->xAxis->setTicker(textTicker(c.routes));
  m_confusion->yAxis->setTicker(textTicker(c.domains));
  m_confusion->xAxis->setRange(-0.5, nx - 0.5);
  m_confusion->yAxis->setRange(-0.5, ny - 0.5);
  m_confusion->replot(QCustomPlot::rpQueuedReplot);
}

void RoutingPanel::onConfusionClick(QMouseEvent* event) {
  if (!m_map) return;
  const double x = m_confusion->xAxis->pixelToCoord(event->pos().x());
  const double y = m_confusion->yAxis->pixelToCoord(event->pos().y());
  const int ix = qRound(x), iy = qRound(y);
  if (ix < 0 || iy < 0 || ix >= static_cast<int>(m_counts.routes.size()) ||
      iy >= static_cast<int>(m_counts.domains.size()))
    return;
  Q_EMIT cellClicked(m_counts.runId, QString::fromStdString(m_counts.domains[iy]),
                     QString::fromStdString(m_counts.routes[ix]));
}

}  // namespace rr::ui
