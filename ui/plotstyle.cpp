#include "plotstyle.h"

#include <QFileDialog>
#include <QMessageBox>

#include <algorithm>
#include <set>
#include <tuple>
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

void fitLegendColumns(QCustomPlot* plot, int width) {
  QCPLegend* legend = plot->legend;
  int widest = 0;
  for (int i = 0; i < legend->itemCount(); ++i)  // a wrapped grid has empty cells
    if (const QCPAbstractLegendItem* item = legend->item(i))
      widest = std::max(widest, item->minimumOuterSizeHint().width());
  const QMargins m = legend->margins();
  const int available = width - m.left() - m.right() - 8;
  const int columns = std::max(
      1, (available + legend->columnSpacing()) / std::max(1, widest + legend->columnSpacing()));
  if (legend->wrap() != columns) {
    legend->setWrap(columns);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
  }
}

void unboundLegendWidth(QCPLegend* legend) {
  // An empty legend's widest is its margins, and the layout column it shares with the axes is
  // as wide as its narrowest element allows: with nothing to list yet, the axes shrank to a
  // box in the corner. A width set below QWIDGETSIZE_MAX is taken instead of that, for the
  // legend and the row that holds it.
  for (QCPLayoutElement* e :
       {static_cast<QCPLayoutElement*>(legend), static_cast<QCPLayoutElement*>(legend->layout())})
    if (e) e->setMaximumSize(QWIDGETSIZE_MAX - 1, QWIDGETSIZE_MAX);
}

void placeLegendBelow(QCustomPlot* plot) {
  plot->legend->setVisible(true);
  auto* row = new QCPLayoutGrid;
  plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, row);
  row->addElement(0, 0, plot->legend);
  unboundLegendWidth(plot->legend);
  row->setMargins(QMargins(0, 0, 0, 4));
  plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot->legend->setIconSize(16, 10);
  plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
  QObject::connect(plot, &QCustomPlot::beforeReplot, plot,
                   [plot] { fitLegendColumns(plot, plot->width()); });
}

std::map<std::int64_t, CurveStyle> runStyles(const std::vector<core::RunInfo>& runs) {
  std::vector<const core::RunInfo*> sorted;
  for (const auto& r : runs) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->id < b->id; });
  using Group = std::pair<std::string, std::string>;  // experiment, method name
  std::map<Group, QColor> colors;
  std::map<Group, std::set<int>> dashes;  // the patterns a group's runs have (Qt::PenStyle)
  std::vector<QColor> taken;
  std::map<std::int64_t, CurveStyle> out;
  const auto isTaken = [&](const QColor& c) {
    return std::find(taken.begin(), taken.end(), c) != taken.end();
  };
  for (const core::RunInfo* r : sorted) {
    const Group g{r->experiment, r->methodName};
    auto color = colors.find(g);
    if (color == colors.end()) {
      QColor c = methodColor(r->method.empty() ? r->methodName : r->method);
      for (int i = 0; isTaken(c) && i < 10; ++i) c = seriesColor(i);
      taken.push_back(c);
      color = colors.emplace(g, c).first;
    }
    Qt::PenStyle dash = seedDash(r->seed);
    std::set<int>& used = dashes[g];
    for (int k = 1; used.count(dash) && k <= 5; ++k) dash = seedDash(k);
    if (used.count(dash)) dash = seedDash(r->seed);  // every pattern taken: the seed's again
    used.insert(dash);
    out[r->id] = {color->second, dash};
  }
  return out;
}

QString groupLabel(const core::RunInfo& run, bool severalExperiments) {
  const QString name = QString::fromStdString(run.methodName.empty() ? run.method : run.methodName);
  return severalExperiments ? QString::fromStdString(run.experiment) + '/' + name : name;
}

QVector<LegendEntry> runLegend(const std::vector<core::RunInfo>& runs,
                               const std::map<std::int64_t, CurveStyle>& styles,
                               const QColor& ink) {
  QVector<LegendEntry> entries;
  std::set<std::string> experiments;
  for (const auto& r : runs) experiments.insert(r.experiment);
  const bool several = experiments.size() > 1;
  const auto styleOf = [&](const core::RunInfo& r) {
    auto it = styles.find(r.id);
    return it == styles.end() ? CurveStyle{methodColor(r.method), seedDash(r.seed)} : it->second;
  };
  if (runs.size() <= kRunsInLegend) {
    for (const auto& r : runs)
      entries.append(
          {QStringLiteral("#%1 %2 · seed %3").arg(r.id).arg(groupLabel(r, several)).arg(r.seed),
           styleOf(r)});
    return entries;
  }
  // A key to the encoding: twelve runs take eight short entries.
  struct Group {
    QString label;
    QColor color;
    std::ptrdiff_t rank;
    std::int64_t first;
  };
  std::vector<Group> groups;
  std::set<int> seeds;
  const std::vector<std::string> order = core::methodNames();
  for (const auto& r : runs) {
    seeds.insert(r.seed);
    const QString label = groupLabel(r, several);
    if (std::any_of(groups.begin(), groups.end(), [&](const Group& g) { return g.label == label; }))
      continue;
    const std::string type = r.method.empty() ? r.methodName : r.method;
    groups.push_back({label, styleOf(r).color,
                      std::find(order.begin(), order.end(), type) - order.begin(), r.id});
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return std::tie(a.rank, a.first) < std::tie(b.rank, b.first);
  });
  for (const Group& g : groups) entries.append({g.label, {g.color, Qt::SolidLine}});
  if (seeds.size() > 1)
    for (int seed : seeds)
      entries.append({QObject::tr("seed %1").arg(seed), {ink, seedDash(seed)}});
  return entries;
}

}  // namespace rr::ui
