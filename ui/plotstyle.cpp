#include "plotstyle.h"

#include <QFileDialog>
#include <QMessageBox>

#include <algorithm>
#include <vector>

#include "config/config.h"
#include "qcp.h"

namespace rr::ui {
namespace {

void styleAxis(QCPAxis* axis, const QPalette& pal) {
  const QColor fg = pal.color(QPalette::WindowText);
  QColor grid = pal.color(QPalette::Mid);
  grid.setAlpha(110);
  axis->setBasePen(QPen(fg));
  axis->setTickPen(QPen(fg));
  axis->setSubTickPen(QPen(fg));
  axis->setTickLabelColor(fg);
  axis->setLabelColor(fg);
  axis->grid()->setPen(QPen(grid, 0, Qt::DotLine));
  axis->grid()->setZeroLinePen(Qt::NoPen);
}

}  // namespace

void applyPalette(QCustomPlot* plot) {
  const QPalette pal = plot->palette();
  plot->setBackground(pal.brush(QPalette::Base));
  for (QCPAxisRect* rect : plot->axisRects()) {
    rect->setBackground(pal.brush(QPalette::Base));
    for (QCPAxis* axis : rect->axes()) styleAxis(axis, pal);
  }
  if (plot->legend) {
    QColor bg = pal.color(QPalette::Base);
    bg.setAlpha(200);
    plot->legend->setBrush(bg);
    plot->legend->setBorderPen(QPen(pal.color(QPalette::Mid)));
    plot->legend->setTextColor(pal.color(QPalette::WindowText));
  }
}

QColor seriesColor(int i) {
  // Tableau 10: mid-lightness hues that keep contrast against both white and near-black.
  static const QColor kColors[] = {
      {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  constexpr int n = sizeof(kColors) / sizeof(kColors[0]);
  return kColors[((i % n) + n) % n];
}

QColor methodColor(const std::string& method) {
  const std::vector<std::string> names = core::methodNames();
  const auto it = std::find(names.begin(), names.end(), method);
  if (it != names.end()) return seriesColor(static_cast<int>(it - names.begin()));
  // A name outside the registry (a store written by another version) still gets a stable colour.
  const int known = static_cast<int>(names.size());
  return seriesColor(known + static_cast<int>(qHash(QString::fromStdString(method)) % 4u));
}

Qt::PenStyle seedDash(int seed) {
  static const Qt::PenStyle kDashes[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine, Qt::DashDotLine,
                                         Qt::DashDotDotLine};
  constexpr int n = sizeof(kDashes) / sizeof(kDashes[0]);
  return kDashes[(((seed - 1) % n) + n) % n];
}

bool exportPlot(QCustomPlot* plot, QWidget* parent, const QString& suggestedName) {
  QString filter;
  const QString png = QObject::tr("PNG image (*.png)"), pdf = QObject::tr("PDF document (*.pdf)");
  QString path = QFileDialog::getSaveFileName(parent, QObject::tr("Save plot"),
                                              suggestedName + ".png", png + ";;" + pdf, &filter);
  if (path.isEmpty()) return false;
  const bool asPdf = filter == pdf || path.endsWith(".pdf", Qt::CaseInsensitive);
  if (asPdf && !path.endsWith(".pdf", Qt::CaseInsensitive)) path += ".pdf";
  if (!asPdf && !path.endsWith(".png", Qt::CaseInsensitive)) path += ".png";
  const bool ok = asPdf ? plot->savePdf(path) : plot->savePng(path, 0, 0, 2.0);
  if (!ok)
    QMessageBox::warning(parent, QObject::tr("Save plot"),
                         QObject::tr("Could not write %1").arg(path));
  return ok;
}

QString formatDuration(double seconds) {
  if (seconds < 0) return QStringLiteral("--");
  const long t = static_cast<long>(seconds + 0.5);
  if (t >= 3600)
    return QStringLiteral("%1h%2m").arg(t / 3600).arg((t / 60) % 60, 2, 10, QChar('0'));
  if (t >= 60) return QStringLiteral("%1m%2s").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
  return QStringLiteral("%1s").arg(t);
}

void placeLegendBelow(QCustomPlot* plot, int columns) {
  plot->legend->setVisible(true);
  auto* row = new QCPLayoutGrid;
  plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, row);
  row->addElement(0, 0, plot->legend);
  row->setMargins(QMargins(0, 0, 0, 4));
  plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot->legend->setWrap(columns);
  plot->legend->setIconSize(16, 10);
  plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
}

}  // namespace rr::ui
