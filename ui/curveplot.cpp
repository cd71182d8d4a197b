#include "curveplot.h"

#include <cmath>

#include "plotstyle.h"

namespace rr::ui {

CurvePlot::CurvePlot(const QString& title, QWidget* parent) : QCustomPlot(parent) {
  plotLayout()->insertRow(0);
  auto* titleElement =
      new QCPTextElement(this, title, QFont(font().family(), font().pointSize(), QFont::Bold));
  titleElement->setTextColor(palette().color(QPalette::WindowText));
  plotLayout()->addElement(0, 0, titleElement);
  legend->setVisible(true);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.8);
  legend->setFont(small);
  legend->setRowSpacing(0);
  axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
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
}

void CurvePlot::styleCurve(Curve& c) const {
  QColor faded = c.color;
  faded.setAlpha(70);
  c.raw->setPen(QPen(m_smoothing > 0 ? faded : c.color, 1));
  c.smooth->setPen(QPen(c.color, 1.8));
  c.smooth->setVisible(m_smoothing > 0);
}

void CurvePlot::append(const QString& id, const QString& label, const QVector<double>& xs,
                       const QVector<double>& ys) {
  if (xs.isEmpty()) return;
  auto it = m_curves.find(id);
  if (it == m_curves.end()) {
    Curve c;
    c.raw = addGraph();
    c.smooth = addGraph();
    c.raw->setName(label);
    c.smooth->setName(label);
    c.color = seriesColor(m_curves.size());
    styleCurve(c);
    c.raw->removeFromLegend();
    it = m_curves.insert(id, c);
    // A longer legend would cover the curves; hovering names them all.
    legend->setVisible(m_curves.size() <= 6);
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
  legend->setVisible(true);
}

QVector<QPointF> CurvePlot::curveData(const QString& id) const {
  QVector<QPointF> out;
  auto it = m_curves.find(id);
  if (it == m_curves.end()) return out;
  for (const auto& d : *it->raw->data()) out.append({d.key, d.value});
  return out;
}

void CurvePlot::setSmoothing(double weight) {
  m_smoothing = std::clamp(weight, 0.0, 0.999);
  for (Curve& c : m_curves) {
    styleCurve(c);
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

QStringList CurvePlot::valuesAt(double x) const {
  QStringList out;
  for (const Curve& c : m_curves) {
    const QCPGraph* g = c.smooth->visible() ? c.smooth : c.raw;
    auto data = g->data();
    if (data->isEmpty()) continue;
    auto it = data->findBegin(x, false);
    if (it == data->constEnd()) --it;
    if (it != data->constBegin() && std::abs((it - 1)->key - x) < std::abs(it->key - x)) --it;
    QString line = QStringLiteral("%1: %2").arg(g->name(), QString::number(it->value, 'g', 5));
    if (g == c.smooth) {
      auto raw = c.raw->data()->findBegin(it->key, false);
      if (raw != c.raw->data()->constEnd())
        line += QStringLiteral("  (raw %1)").arg(QString::number(raw->value, 'g', 5));
    }
    out << line;
  }
  return out;
}

void CurvePlot::setCursorX(double x) {
  const bool show = !std::isnan(x);
  m_cursor->setVisible(show);
  if (show) {
    m_cursor->point1->setCoords(x, 0);
    m_cursor->point2->setCoords(x, 1);
  }
}

}  // namespace rr::ui
