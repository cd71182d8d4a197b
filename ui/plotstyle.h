#pragma once
// Shared look and export of the QCustomPlot plots: colours from the widget palette (so light and
// dark themes stay readable), a qualitative colour cycle for series, and PNG/PDF export.
#include <QColor>
#include <QString>
#include <QVector>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/runstore.h"

class QCPLegend;
class QCustomPlot;
class QWidget;

namespace rr::ui {

// How a run's curve is drawn: the colour says its method group, the dash pattern its seed.
struct CurveStyle {
  QColor color;
  Qt::PenStyle dash = Qt::SolidLine;
};

// One line of a legend: a short line drawn in `style`, then `label`.
struct LegendEntry {
  QString label;
  CurveStyle style;
};

// Background, axes, tick labels, grid and legend from `plot`'s palette.
void applyPalette(QCustomPlot* plot);

// The legend in a row of its own under the axes, where it cannot hide any data: entries side by
// side, as many to a row as fit the plot's width (refitted before every replot), so that no
// entry is cut off at the plot's edge.
void placeLegendBelow(QCustomPlot* plot);
// Lets a legend in a layout row of its own leave the plot's width to the axes when it is empty.
void unboundLegendWidth(QCPLegend* legend);
// Sets the legend's columns to as many entries as fit across `width` pixels.
void fitLegendColumns(QCustomPlot* plot, int width);

// The i-th colour of a qualitative cycle that reads on light and dark backgrounds.
QColor seriesColor(int i);

// The colour of a method (its type, e.g. "rodos"): its place in core::methodNames(), so a method
// keeps its colour whatever else is shown; other names get the cycle's later colours.
QColor methodColor(const std::string& method);

// The dash pattern of a seed: solid, dashed, dotted, dash-dot, dash-dot-dot, then round again
// (seed 1 solid, seed 6 solid too).
Qt::PenStyle seedDash(int seed);

// The look of each of `runs` shown together, the same in Monitor, Compare and Inspect. One
// colour per method group (experiment and method name): the method's colour, unless a group
// whose first run is older has it, then the first colour of the cycle no group has. The seed's
// dashes; a second run of one group and seed (an experiment run twice into one store) gets the
// first pattern no run of its group has, so that no two runs draw alike.
std::map<std::int64_t, CurveStyle> runStyles(const std::vector<core::RunInfo>& runs);

// A method group's name: the method name, after the experiment's when the runs shown span
// several experiments ("quickstart/rodos").
QString groupLabel(const core::RunInfo& run, bool severalExperiments);

// Up to this many runs a legend names each run; beyond, it is a key to the encoding.
constexpr std::size_t kRunsInLegend = 4;

// The legend of curves of `runs` drawn with `styles` (runStyles): each run named ("#3 rodos ·
// seed 1") up to kRunsInLegend runs; beyond, one entry per method group (its colour, in the
// order of core::methodNames()) and one per seed (its dashes, drawn in `ink`).
QVector<LegendEntry> runLegend(const std::vector<core::RunInfo>& runs,
                               const std::map<std::int64_t, CurveStyle>& styles, const QColor& ink);

// Asks for a file name and saves `plot` as PNG or PDF (chosen by the filter); errors go to a
// message box. Returns false when cancelled or failed.
bool exportPlot(QCustomPlot* plot, QWidget* parent, const QString& suggestedName);

// "1m05s", "2h03m", "--" for negative (unknown) durations.
QString formatDuration(double seconds);

}  // namespace rr::ui
