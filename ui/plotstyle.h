#pragma once
// Shared look and export of the QCustomPlot plots: colours from the widget palette (so light and
// dark themes stay readable), a qualitative colour cycle for series, and PNG/PDF export.
#include <QColor>
#include <QString>
#include <string>

class QCustomPlot;
class QWidget;

namespace rr::ui {

// Background, axes, tick labels, grid and legend from `plot`'s palette.
void applyPalette(QCustomPlot* plot);

// The legend in a row of its own under the axes, where it cannot hide any data: entries side by
// side, `columns` to a row.
void placeLegendBelow(QCustomPlot* plot, int columns);

// The i-th colour of a qualitative cycle that reads on light and dark backgrounds.
QColor seriesColor(int i);

// The colour of a method (its type, e.g. "rodos"): its place in core::methodNames(), so a method
// keeps its colour whatever else is shown; other names get the cycle's later colours.
QColor methodColor(const std::string& method);

// The dash pattern of a seed: solid, dashed, dotted, dash-dot, dash-dot-dot, then round again
// (seed 1 solid, seed 6 solid too).
Qt::PenStyle seedDash(int seed);

// Asks for a file name and saves `plot` as PNG or PDF (chosen by the filter); errors go to a
// message box. Returns false when cancelled or failed.
bool exportPlot(QCustomPlot* plot, QWidget* parent, const QString& suggestedName);

// "1m05s", "2h03m", "--" for negative (unknown) durations.
QString formatDuration(double seconds);

}  // namespace rr::ui
