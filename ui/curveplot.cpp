#include "curveplot.h"

#include <QFontMetrics>
#include <algorithm>
#include <cmath>

#include "plotstyle.h"

namespace rr::ui {

CurvePlot::CurvePlot(const QString& title, QWidget* parent) : QCustomPlot(parent) {
  plotLayout()->insertRow(0);
  auto* titleElement =
      new QCPTextElement(this, title, QFont(font().family(), font().pointSize(), QFont::Bold));
  titleElement->setTextColor(palette().color(QPalette::WindowText));
  plotLayout()->addElement(0, 0, titleElement);
  // The legend gets a row of its own between the title and the axes: inside the axes it covered
  // the curves once more than a few runs were shown.
  setAutoAddPlottableToLegend(false);
  plotLayout()->insertRow(1);
  auto* legendRow = new QCPLayoutGrid;
  plotLayout()->addElement(1, 0, legendRow);
  legendRow->addElement(0, 0, legend);
  plotLayout()->setRowStretchFactor(1, 0.001);
  unboundLegendWidth(legend);
  legend->setVisible(true);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.8);
  legend->setFont(small);
  legend->setRowSpacing(0);
  legend->setColumnSpacing(4);
  legend->setIconSize(28, 10);
  legend->setMargins(QMargins(64, 0, 8, 0));
  legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  // The same left margin on every stacked plot keeps their x axes aligned.
  axisRect()->setAutoMargins(QCP::msBottom | QCP::msTop | QCP::msRight);
  axisRect()->setMargins(QMargins(64, 0, 0, 0));
  setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  axisRect()->setRangeDrag(Qt::Horizontal);
  axisRect()->setRangeZoom(Qt::Horizontal);
  m_cursor = new QCPItemStraightLine(this);
  m_cursor->setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DashLine));
  m_cursor->point1->setTypeY(QCPItemPosition::ptAxisRectRatio);
  m_cursor->point2->setTypeY(QCPItemPosition::ptAxisRectRatio);
  m_cursor->setVisible(false);
  setNoAntialiasingOnDrag(true);
  applyPalette(this);
  // Outside the axes the legend needs no box of its own.
  legend->setBorderPen(Qt::NoPen);
  legend->setBrush(Qt::NoBrush);
  connect(this, &QCustomPlot::beforeReplot, this, &CurvePlot::fitValueTicks);
}

void CurvePlot::fitValueTicks() {
  // Ticks at least two and a half lines apart: five ticks on a plot squeezed to 80 pixels
  // printed their labels over each other.
  const int line = QFontMetrics(yAxis->tickLabelFont()).height();
  const int ticks = std::clamp(axisRect()->height() / std::max(1, line * 5 / 2), 2, 6);
  yAxis->ticker()->setTickCount(ticks);
}

void CurvePlot::styleCurve(Curve& c, bool highlighted) const {
  // The raw line stays solid and faded under the smoothed one: a dashed noisy line reads as
  // noise. Without smoothing the raw line is the curve and carries the seed's dashes.
  QColor faded = c.style.color;
  faded.setAlpha(70);
  const bool smooth = m_smoothing > 0;
  c.raw->setPen(smooth ? QPen(faded, 1)
                       : QPen(c.style.color, highlighted ? 3.0 : 1.4, c.style.dash));
  c.smooth->setPen(QPen(c.style.color, highlighted ? 3.2 : 1.8, c.style.dash));
  c.smooth->setVisible(smooth);
}

const QCPGraph* CurvePlot::shownGraph(const Curve& c) const {
  return c.smooth->visible() ? c.smooth : c.raw;
}

void CurvePlot::append(const QString& id, const QString& label, const CurveStyle& style,
                       const QVector<double>& xs, const QVector<double>& ys) {
  if (xs.isEmpty()) return;
  auto it = m_curves.find(id);
  if (it == m_curves.end()) {
    Curve c;
    c.raw = addGraph();
    c.smooth = addGraph();
    c.raw->setName(label);
    c.smooth->setName(label);
    c.style = style;
    styleCurve(c, false);
    it = m_curves.insert(id, c);
  }
  it->raw->addData(xs, ys, true);
  appendSmoothed(*it, xs, ys);
}

void CurvePlot::appendSmoothed(Curve& c, const QVector<double>& xs, const QVector<double>& ys) {
  if (m_smoothing <= 0) return;
  QVector<double> smoothed(ys.size());
  for (int i = 0; i < ys.size(); ++i) {
    c.ema = m_smoothing * c.ema + (1 - m_smoothing) * ys[i];
    c.norm = m_smoothing * c.norm + (1 - m_smoothing);
    smoothed[i] = c.ema / c.norm;
  }
  c.smooth->addData(xs, smoothed, true);
}

void CurvePlot::clearCurves() {
  for (const Curve& c : m_curves) {
    removeGraph(c.raw);
    removeGraph(c.smooth);
  }
  m_curves.clear();
  m_highlighted.clear();
}

QVector<QPointF> CurvePlot::curveData(const QString& id) const {
  QVector<QPointF> out;
  auto it = m_curves.find(id);
  if (it == m_curves.end()) return out;
  for (const auto& d : *it->raw->data()) out.append({d.key, d.value});
  return out;
}

QPen CurvePlot::curvePen(const QString& id) const {
  auto it = m_curves.find(id);
  return it == m_curves.end() ? QPen() : shownGraph(*it)->pen();
}

QPointF CurvePlot::curvePixel(const QString& id, int index) const {
  auto it = m_curves.find(id);
  if (it == m_curves.end()) return {};
  const auto data = shownGraph(*it)->data();
  if (index < 0 || index >= data->size()) return {};
  const auto point = data->at(index);
  return {xAxis->coordToPixel(point->key), yAxis->coordToPixel(point->value)};
}

void CurvePlot::setLegendEntries(const QVector<LegendEntry>& entries) {
  for (QCPGraph* g : m_legendGraphs) removeGraph(g);
  m_legendGraphs.clear();
  for (const LegendEntry& e : entries) {
    QCPGraph* g = addGraph();
    g->setName(e.label);
    g->setPen(QPen(e.style.color, 1.8, e.style.dash));
    g->addToLegend();
    m_legendGraphs.append(g);
  }
  legend->setVisible(!entries.isEmpty());
  // A dozen runs' key takes two or three short rows instead of a column taller than the plot.
  ui::fitLegendColumns(this, width());
}

QStringList CurvePlot::legendLabels() const {
  QStringList out;
  for (int i = 0; i < legend->itemCount(); ++i)
    if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i)))
      out << item->plottable()->name();
  return out;
}

void CurvePlot::resizeEvent(QResizeEvent* event) {
  ui::fitLegendColumns(this, event->size().width());
  QCustomPlot::resizeEvent(event);
}

void CurvePlot::setSmoothing(double weight) {
  clearHighlight();
  m_smoothing = std::clamp(weight, 0.0, 0.999);
  for (Curve& c : m_curves) {
    styleCurve(c, false);
    c.smooth->data()->clear();
    c.ema = c.norm = 0;
    QVector<double> xs, ys;
    for (const auto& d : *c.raw->data()) {
      xs.append(d.key);
      ys.append(d.value);
    }
    appendSmoothed(c, xs, ys);
  }
}

void CurvePlot::setLogScale(bool on) {
  m_log = on;
  yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (on) {
    yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
  } else {
    yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  }
  fitValueRange();
}

QCPRange CurvePlot::dataKeyRange(bool& found) const {
  found = false;
  QCPRange range;
  for (const Curve& c : m_curves) {
    bool f = false;
    const QCPRange r = c.raw->getKeyRange(f);
    if (!f) continue;
    range = found ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
    found = true;
  }
  return range;
}

void CurvePlot::fitValueRange() {
  bool found = false;
  QCPRange range;
  const QCP::SignDomain domain = m_log ? QCP::sdPositive : QCP::sdBoth;
  for (const Curve& c : m_curves) {
    for (QCPGraph* g : {c.raw, c.smooth}) {
      if (!g->visible()) continue;
      bool f = false;
      const QCPRange r = g->getValueRange(f, domain, xAxis->range());
      if (!f) continue;
      range = found ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
      found = true;
    }
  }
  if (!found) return;
  if (m_log) {
    yAxis->setRange(range.lower / 1.2, range.upper * 1.2);
    return;
  }
  // A flat curve (EMA rounding makes it differ in the last bits) still gets a readable span.
  const double flat = std::max(std::abs(range.center()) * 0.05, 1e-3);
  const double pad = range.size() > flat * 0.01 ? range.size() * 0.06 : flat;
  yAxis->setRange(range.lower - pad, range.upper + pad);
}

namespace {

// "label: value" of graph `g` at its data point nearest to x, with the raw value when `g` is the
// smoothed line over `raw`; "" when x is more than `slack` (in x units) outside the curve's
// points: a run that ended at step 80 has no value at step 349.
QString valueLine(const QCPGraph* g, const QCPGraph* raw, double x, double slack) {
  auto data = g->data();
  if (data->isEmpty()) return {};
  if (x < data->constBegin()->key - slack || x > (data->constEnd() - 1)->key + slack) return {};
  auto it = data->findBegin(x, false);
  if (it == data->constEnd()) --it;
  if (it != data->constBegin() && std::abs((it - 1)->key - x) < std::abs(it->key - x)) --it;
  QString line = QStringLiteral("%1: %2").arg(g->name(), QString::number(it->value, 'g', 5));
  if (g != raw) {
    auto r = raw->data()->findBegin(it->key, false);
    if (r != raw->data()->constEnd())
      line += QStringLiteral("  (raw %1)").arg(QString::number(r->value, 'g', 5));
  }
  return line;
}

}  // namespace

double CurvePlot::hoverSlack() const {
  return std::abs(xAxis->pixelToCoord(selectionTolerance()) - xAxis->pixelToCoord(0));
}

QStringList CurvePlot::valuesAt(double x) const {
  QStringList out;
  const double slack = hoverSlack();
  for (const Curve& c : m_curves) {
    const QString line = valueLine(shownGraph(c), c.raw, x, slack);
    if (!line.isEmpty()) out << line;
  }
  return out;
}

QString CurvePlot::hoverText(const QPointF& pixel) {
  QString nearest;
  double best = selectionTolerance() + 0.5;
  for (auto it = m_curves.cbegin(); it != m_curves.cend(); ++it) {
    const double d = shownGraph(*it)->selectTest(pixel, false);
    if (d >= 0 && d < best) {
      best = d;
      nearest = it.key();
    }
  }
  setHighlighted(nearest);
  const double x = xAxis->pixelToCoord(pixel.x());
  if (!nearest.isEmpty()) {
    const Curve& c = m_curves[nearest];
    return valueLine(shownGraph(c), c.raw, x, hoverSlack());
  }
  QStringList lines = valuesAt(x);
  if (lines.size() > kHoverLines) {
    const int more = static_cast<int>(lines.size()) - kHoverLines;
    lines = lines.mid(0, kHoverLines);
    lines << tr("… and %n more: point at a curve to name it", nullptr, more);
  }
  return lines.join('\n');
}

void CurvePlot::setHighlighted(const QString& id) {
  if (id == m_highlighted) return;
  if (auto old = m_curves.find(m_highlighted); old != m_curves.end()) {
    styleCurve(*old, false);
    old->raw->setLayer(QStringLiteral("main"));
    old->smooth->setLayer(QStringLiteral("main"));
  }
  if (auto now = m_curves.find(id); now != m_curves.end()) {
    styleCurve(*now, true);
    // Drawn last, so that it is on top of the curves it crosses.
    now->raw->setLayer(QStringLiteral("overlay"));
    now->smooth->setLayer(QStringLiteral("overlay"));
  }
  m_highlighted = id;
  replot(rpQueuedReplot);
}

void CurvePlot::clearHighlight() { setHighlighted(QString()); }

void CurvePlot::setCursorX(double x) {
  const bool show = !std::isnan(x);
  m_cursor->setVisible(show);
  if (show) {
    m_cursor->point1->setCoords(x, 0);
    m_cursor->point2->setCoords(x, 1);
  }
}

}  // namespace rr::ui
