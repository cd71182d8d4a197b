#pragma once
// One stacked plot of the Monitor: named curves appended incrementally, each drawn as an EMA
// smoothed line over its faded raw line, with a linear or log value axis, a hover cursor, and a
// legend in a row of its own between the title and the axes, where it never covers a curve.
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include "plotstyle.h"
#include "qcp.h"

namespace rr::ui {

class CurvePlot : public QCustomPlot {
  Q_OBJECT
 public:
  explicit CurvePlot(const QString& title, QWidget* parent = nullptr);

  // Appends points (x ascending, after what the curve has) to curve `id`, created with `label`
  // (what hovering it says) and `style` on first use. Call replot afterwards; appends use
  // QCPGraph::addData(..., true).
  void append(const QString& id, const QString& label, const CurveStyle& style,
              const QVector<double>& xs, const QVector<double>& ys);
  void clearCurves();
  // Raw data of a curve, for checks; empty when there is no such curve.
  QVector<QPointF> curveData(const QString& id) const;
  // The pen of the line that carries the curve (the smoothed one when smoothing is on).
  QPen curvePen(const QString& id) const;
  // Where the curve's point at data index `index` is drawn, in widget pixels (after a replot).
  QPointF curvePixel(const QString& id, int index) const;

  // Replaces the legend; an empty list hides it.
  void setLegendEntries(const QVector<LegendEntry>& entries);
  QStringList legendLabels() const;

  // EMA weight in [0, 1): 0 draws the raw curve alone.
  void setSmoothing(double weight);
  void setLogScale(bool on);
  // The x range spanned by the data of every curve; found is false without data.
  QCPRange dataKeyRange(bool& found) const;
  // Fits the value axis to the data inside the visible x range.
  void fitValueRange();
  // "label: value" of each curve that has points around x (from its first to its last point,
  // give or take the selection tolerance) at its point nearest to x.
  QStringList valuesAt(double x) const;
  // What hovering at `pixel` shows: the nearest curve within the selection tolerance, named by
  // its label with its value there (and drawn thicker until the next call); with no curve that
  // close, valuesAt that x (at most kHoverLines, then how many more).
  QString hoverText(const QPointF& pixel);
  void clearHighlight();
  // Vertical cursor line at x; NaN hides it.
  void setCursorX(double x);

  static constexpr int kHoverLines = 10;

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  struct Curve {
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    CurveStyle style;
    double ema = 0, norm = 0;  // bias-corrected EMA state: value = ema / norm
  };
  void appendSmoothed(Curve& c, const QVector<double>& xs, const QVector<double>& ys);
  void styleCurve(Curve& c, bool highlighted) const;
  const QCPGraph* shownGraph(const Curve& c) const;
  void fitValueTicks();
  double hoverSlack() const;  // the selection tolerance in x units
  void setHighlighted(const QString& id);

  QMap<QString, Curve> m_curves;
  QVector<QCPGraph*> m_legendGraphs;  // data-less graphs that only draw legend icons
  QString m_highlighted;
  double m_smoothing = 0.6;
  bool m_log = false;
  QCPItemStraightLine* m_cursor;
};

}  // namespace rr::ui
