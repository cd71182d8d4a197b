#pragma once
// One stacked plot of the Monitor: named curves appended incrementally, each drawn as an EMA
// smoothed line over its faded raw line, with a linear or log value axis and a hover cursor.
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include "qcp.h"

namespace rr::ui {

class CurvePlot : public QCustomPlot {
  Q_OBJECT
 public:
  explicit CurvePlot(const QString& title, QWidget* parent = nullptr);

  // Appends points (x ascending, after what the curve has) to curve `id`, created with `label`
  // on first use. Call replot afterwards; appends use QCPGraph::addData(..., true).
  void append(const QString& id, const QString& label, const QVector<double>& xs,
              const QVector<double>& ys);
  void clearCurves();
  // Raw data of a curve, for checks; empty when there is no such curve.
  QVector<QPointF> curveData(const QString& id) const;

  // EMA weight in [0, 1): 0 draws the raw curve alone.
  void setSmoothing(double weight);
  void setLogScale(bool on);
  // The x range spanned by the data of every curve; found is false without data.
  QCPRange dataKeyRange(bool& found) const;
  // Fits the value axis to the data inside the visible x range.
  void fitValueRange();
  // "label: value" of each curve at the data point nearest to x.
  QStringList valuesAt(double x) const;
  // Vertical cursor line at x; NaN hides it.
  void setCursorX(double x);

 private:
  struct Curve {
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    QColor color;
    double ema = 0, norm = 0;  // bias-corrected EMA state: value = ema / norm
  };
  void appendSmoothed(Curve& c, const QVector<double>& xs, const QVector<double>& ys);
  void styleCurve(Curve& c) const;

  QMap<QString, Curve> m_curves;
  double m_smoothing = 0.6;
  bool m_log = false;
  QCPItemStraightLine* m_cursor;
};

}  // namespace rr::ui
