#include "compareview.h"

#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <set>

#include "configdiff.h"
#include "plotstyle.h"
#include "qcp.h"
#include "runbackbone.h"

namespace rr::ui {
namespace {

constexpr int kMeanRole = Qt::UserRole;
constexpr int kStdRole = Qt::UserRole + 1;

// A table whose first column (the method, or the config key) stays in place while the others
// scroll sideways: a second view over the same model and selection shows only that column and
// lies over the first view's, which scrolls underneath it.
class FrozenColumnTable : public QTableWidget {
 public:
  explicit FrozenColumnTable(QWidget* parent)
      : QTableWidget(parent), m_frozen(new QTableView(this)) {
    m_frozen->setObjectName(QStringLiteral("frozenColumn"));
    m_frozen->setModel(model());
    m_frozen->setSelectionModel(selectionModel());
    m_frozen->setFocusPolicy(Qt::NoFocus);
    m_frozen->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_frozen->verticalHeader()->hide();
    m_frozen->horizontalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_frozen->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_frozen->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_frozen->setFrameShape(QFrame::NoFrame);
    m_frozen->setVerticalScrollMode(ScrollPerPixel);
    setVerticalScrollMode(ScrollPerPixel);
    setHorizontalScrollMode(ScrollPerPixel);
    viewport()->stackUnder(m_frozen);
    connect(horizontalHeader(), &QHeaderView::sectionResized, this, [this](int col, int, int size) {
      if (col != 0) return;
      m_frozen->setColumnWidth(0, size);
      placeFrozen();
    });
    connect(verticalHeader(), &QHeaderView::sectionResized, this,
            [this](int row, int, int size) { m_frozen->setRowHeight(row, size); });
    connect(verticalScrollBar(), &QAbstractSlider::valueChanged, m_frozen->verticalScrollBar(),
            &QAbstractSlider::setValue);
    connect(m_frozen->verticalScrollBar(), &QAbstractSlider::valueChanged, verticalScrollBar(),
            &QAbstractSlider::setValue);
    for (auto signal : {&QAbstractItemModel::columnsInserted, &QAbstractItemModel::columnsRemoved,
                        &QAbstractItemModel::rowsInserted})
      connect(model(), signal, this, [this] { syncFrozen(); });
    connect(model(), &QAbstractItemModel::modelReset, this, [this] { syncFrozen(); });
    syncFrozen();
  }

  ~FrozenColumnTable() override {
    // The base destructor deletes the model and the headers, whose signals would reach this
    // half-destroyed table.
    for (QObject* sender :
         std::initializer_list<QObject*>{model(), horizontalHeader(), verticalHeader()})
      QObject::disconnect(sender, nullptr, this, nullptr);
  }

 protected:
  void resizeEvent(QResizeEvent* event) override {
    QTableWidget::resizeEvent(event);
    placeFrozen();
  }

  void scrollTo(const QModelIndex& index, ScrollHint hint) override {
    const int x = horizontalScrollBar()->value();
    QTableWidget::scrollTo(index, hint);
    if (index.column() == 0) {
      // The frozen column is always in view: moving to it must not jump back to the left.
      horizontalScrollBar()->setValue(x);
      return;
    }
    // A cell scrolled into view at the left edge would lie under the frozen column.
    const int hidden = columnWidth(0) - columnViewportPosition(index.column());
    if (hidden > 0) horizontalScrollBar()->setValue(horizontalScrollBar()->value() - hidden);
  }

 private:
  void syncFrozen() {
    for (int c = 0; c < columnCount(); ++c) m_frozen->setColumnHidden(c, c != 0);
    m_frozen->setAlternatingRowColors(alternatingRowColors());
    if (columnCount() > 0) m_frozen->setColumnWidth(0, columnWidth(0));
    for (int r = 0; r < rowCount(); ++r) m_frozen->setRowHeight(r, rowHeight(r));
    placeFrozen();
  }

  void placeFrozen() {
    const int left = (verticalHeader()->isHidden() ? 0 : verticalHeader()->width()) + frameWidth();
    m_frozen->setVisible(columnCount() > 0);
    m_frozen->setGeometry(left, frameWidth(), columnCount() > 0 ? columnWidth(0) : 0,
                          viewport()->height() + horizontalHeader()->height());
  }

  QTableView* m_frozen;
};

QTableWidget* makeTable(QWidget* parent, const char* name) {
  auto* t = new FrozenColumnTable(parent);
  t->setObjectName(QString::fromLatin1(name));
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->verticalHeader()->hide();
  t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  t->setAlternatingRowColors(true);
  return t;
}

// Tables as tall as their rows (up to a cap), so the space below goes to the next table.
void fitHeight(QTableWidget* t) {
  int h = t->horizontalHeader()->height() + 2 * t->frameWidth() + 2;
  for (int r = 0; r < t->rowCount(); ++r) h += t->rowHeight(r);
  // Room for a horizontal scroll bar: whether one shows is only known after layout.
  h += t->horizontalScrollBar()->sizeHint().height();
  t->setFixedHeight(std::min(h, 320));
}

QTableWidgetItem* textItem(const QString& text) {
  auto* it = new QTableWidgetItem(text);
  it->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  return it;
}

QTableWidgetItem* statItem(const core::Stat& s, int precision, double scale = 1) {
  QString text = QString::number(s.mean * scale, 'f', precision);
  if (s.n > 1) text += QStringLiteral(" ± ") + QString::number(s.std * scale, 'f', precision);
  auto* it = new QTableWidgetItem(text);
  it->setData(kMeanRole, s.mean);
  it->setData(kStdRole, s.std);
  it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  it->setToolTip(QObject::tr("mean %1, std %2 over %3 seed(s)").arg(s.mean).arg(s.std).arg(s.n));
  return it;
}

QTableWidgetItem* missingItem() {
  auto* it = new QTableWidgetItem(QStringLiteral("–"));
  it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return it;
}

// Each method group's colour: its method's, as in the Monitor, unless an earlier group (the same
// method in another experiment) has it; then the first colour of the cycle no group has.
std::vector<QColor> groupColors(const core::Report& report) {
  std::vector<QColor> out;
  const auto taken = [&](const QColor& c) {
    return std::find(out.begin(), out.end(), c) != out.end();
  };
  for (const auto& m : report.methods) {
    QColor c = methodColor(m.method);
    for (int i = 0; taken(c) && i < 10; ++i) c = seriesColor(i);
    out.push_back(c);
  }
  return out;
}

QLabel* captionLabel(const QString& text, QWidget* parent) {
  auto* l = new QLabel(text, parent);
  QFont f = l->font();
  f.setBold(true);
  l->setFont(f);
  return l;
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  m_note = new QLabel(this);
  m_note->setWordWrap(true);
  auto* exportButton = new QPushButton(tr("Export table…"), this);
  exportButton->setToolTip(
      tr("Markdown, CSV, LaTeX or JSON, exactly as rewardrouter-cli report "
         "writes them"));
  auto* saveScatter = new QPushButton(tr("Save scatter…"), this);
  auto* saveBars = new QPushButton(tr("Save bars…"), this);
  auto* top = new QHBoxLayout;
  top->addWidget(m_note, 1);
  top->addWidget(exportButton);
  top->addWidget(saveScatter);
  top->addWidget(saveBars);

  m_accuracy = makeTable(this, "accuracyTable");
  m_cost = makeTable(this, "costTable");
  m_diff = makeTable(this, "configDiffTable");
  m_diffNote = new QLabel(this);
  m_diffNote->setWordWrap(true);
  m_scatter = new QCustomPlot(this);
  m_scatter->setObjectName(QStringLiteral("scatterPlot"));
  m_scatter->xAxis->setLabel(tr("parameters served (M)"));
  m_scatter->xAxis->ticker()->setTickCount(4);
  m_scatter->yAxis->setLabel(tr("mean accuracy over domains"));
  m_bars = new QCustomPlot(this);
  m_bars->setObjectName(QStringLiteral("domainBarsPlot"));
  m_bars->yAxis->setLabel(tr("accuracy"));
  m_bars->legend->setVisible(true);
  // The legend in a row of its own under the bars, where it cannot hide any of them.
  auto* legendRow = new QCPLayoutGrid;
  m_bars->plotLayout()->addElement(1, 0, legendRow);
  legendRow->addElement(0, 0, m_bars->legend);
  legendRow->setMargins(QMargins(0, 0, 0, 4));
  m_bars->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  m_bars->legend->setWrap(4);
  m_bars->plotLayout()->setRowStretchFactor(1, 0.001);
  for (QCustomPlot* p : {m_scatter, m_bars}) {
    p->setMinimumHeight(200);
    applyPalette(p);
  }

  auto* tables = new QWidget(this);
  auto* tl = new QVBoxLayout(tables);
  tl->setContentsMargins(0, 0, 0, 0);
  tl->addWidget(
      captionLabel(tr("Accuracy per domain (mean ± std over seeds; best in bold)"), tables));
  tl->addWidget(m_accuracy);
  tl->addWidget(captionLabel(tr("Size, train time per component, inference"), tables));
  tl->addWidget(m_cost);
  tl->addWidget(captionLabel(tr("Config keys that differ between the selected runs"), tables));
  tl->addWidget(m_diffNote);
  tl->addWidget(m_diff, 1);
  tl->addStretch(0);
  auto* plots = new QSplitter(Qt::Vertical, this);
  plots->addWidget(m_scatter);
  plots->addWidget(m_bars);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(tables);
  split->addWidget(plots);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({640, 480});
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(split, 1);

  connect(exportButton, &QPushButton::clicked, this, &CompareView::exportTable);
  connect(saveScatter, &QPushButton::clicked, this,
          [this] { exportPlot(m_scatter, this, QStringLiteral("accuracy-vs-params")); });
  connect(saveBars, &QPushButton::clicked, this,
          [this] { exportPlot(m_bars, this, QStringLiteral("accuracy-per-domain")); });
  showRuns({});
}

void CompareView::setStore(const core::RunStore* store) {
  m_store = store;
  showRuns({});
}

QString CompareView::methodLabel(const core::MethodSummary& m) const {
  std::set<std::string> experiments;
  for (const auto& s : m_report.methods) experiments.insert(s.experiment);
  const QString name = QString::fromStdString(m.methodName);
  return experiments.size() > 1 ? QString::fromStdString(m.experiment) + '/' + name : name;
}

void CompareView::showRuns(const std::vector<std::int64_t>& runIds) {
  // buildReport reads every finished run for an empty id list; no selection means no table.
  m_report = m_store && !runIds.empty() ? core::buildReport(*m_store, runIds) : core::Report{};
  if (runIds.empty()) {
    m_note->setText(tr("Select runs in the browser to compare them."));
  } else if (m_report.methods.empty()) {
    m_note->setText(
        tr("None of the %n selected run(s) has finished; only finished runs have results.", nullptr,
           static_cast<int>(runIds.size())));
  } else {
    int runs = 0;
    for (const auto& m : m_report.methods) runs += static_cast<int>(m.runIds.size());
    m_note->setText(
        tr("%1 finished run(s) in %2 method group(s).").arg(runs).arg(m_report.methods.size()));
  }
  fillAccuracy();
  fillCost();
  fillScatter();
  fillBars();
  fillDiff(runIds);
  fitHeight(m_accuracy);
  fitHeight(m_cost);
}

void CompareView::fillAccuracy() {
  // The mean over domains is the column people read first: it follows the method, then the
  // domains, then the seeds and backbone that say what the numbers are over.
  std::vector<std::string> cols = {"*"};
  cols.insert(cols.end(), m_report.domains.begin(), m_report.domains.end());
  constexpr int kFirstAccuracyColumn = 1;
  const int seedsColumn = kFirstAccuracyColumn + static_cast<int>(cols.size());
  QStringList heads = {tr("Method")};
  for (const auto& c : cols) heads << (c == "*" ? tr("mean") : QString::fromStdString(c));
  heads << tr("Seeds") << tr("Backbone");
  m_accuracy->clear();
  m_accuracy->setColumnCount(heads.size());
  m_accuracy->setHorizontalHeaderLabels(heads);
  m_accuracy->horizontalHeaderItem(kFirstAccuracyColumn)
      ->setToolTip(tr("mean accuracy over the domains, the report's headline number"));
  m_accuracy->setRowCount(static_cast<int>(m_report.methods.size()));
  for (std::size_t c = 0; c < cols.size(); ++c) {
    double best = -1;
    for (const auto& m : m_report.methods)
      if (auto it = m.accuracy.find(cols[c]); it != m.accuracy.end())
        best = std::max(best, it->second.mean);
    for (std::size_t r = 0; r < m_report.methods.size(); ++r) {
      const auto& m = m_report.methods[r];
      auto it = m.accuracy.find(cols[c]);
      QTableWidgetItem* item = it == m.accuracy.end() ? missingItem() : statItem(it->second, 4);
      if (it != m.accuracy.end() && std::abs(it->second.mean - best) < 1e-12) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
      }
      m_accuracy->setItem(static_cast<int>(r), static_cast<int>(c) + kFirstAccuracyColumn, item);
    }
  }
  for (std::size_t r = 0; r < m_report.methods.size(); ++r) {
    const auto& m = m_report.methods[r];
    m_accuracy->setItem(static_cast<int>(r), 0, textItem(methodLabel(m)));
    m_accuracy->setItem(static_cast<int>(r), seedsColumn,
                        textItem(QString::number(m.runIds.size())));
    m_accuracy->setItem(static_cast<int>(r), seedsColumn + 1, backboneItem(m));
  }
}

QTableWidgetItem* CompareView::backboneItem(const core::MethodSummary& m) const {
  QStringList labels, paths;
  for (auto id : m.runIds) {
    const std::optional<core::RunInfo> run = m_store ? m_store->run(id) : std::nullopt;
    if (!run) continue;
    const RunBackbone b = runBackbone(*run);
    if (labels.contains(b.label)) continue;
    labels << b.label;
    if (!b.path.isEmpty()) paths << b.path;
  }
  QTableWidgetItem* item = textItem(labels.join(QStringLiteral(", ")));
  item->setToolTip(paths.join('\n'));
  return item;
}

void CompareView::fillCost() {
  std::set<std::string> components;
  for (const auto& m : m_report.methods)
    for (const auto& [name, s] : m.componentSeconds) components.insert(name);
  struct MetricColumn {
    const char* key;
    QString head;
    int precision;
    double scale;
  };
  const std::vector<MetricColumn> metrics = {{"params_total", tr("Params (M)"), 3, 1e-6},
                                             {"params_trainable", tr("Trainable (M)"), 3, 1e-6},
                                             {"train_seconds", tr("Train s"), 1, 1},
                                             {"infer_ms_per_step", tr("Infer ms/step"), 2, 1},
                                             {"infer_pairs_per_s", tr("Pairs/s @32"), 0, 1},
                                             {"router_accuracy", tr("Router acc."), 4, 1}};
  QStringList heads = {tr("Method")};
  for (const auto& mc : metrics) heads << mc.head;
  heads << tr("% of Baseline");
  for (const auto& c : components) heads << tr("Train s: %1").arg(QString::fromStdString(c));
  m_cost->clear();
  m_cost->setColumnCount(heads.size());
  m_cost->setHorizontalHeaderLabels(heads);
  m_cost->setRowCount(static_cast<int>(m_report.methods.size()));
  for (std::size_t r = 0; r < m_report.methods.size(); ++r) {
    const auto& m = m_report.methods[r];
    const int row = static_cast<int>(r);
    int col = 0;
    m_cost->setItem(row, col++, textItem(methodLabel(m)));
    for (const auto& mc : metrics) {
      auto it = m.metrics.find(mc.key);
      m_cost->setItem(
          row, col++,
          it == m.metrics.end() ? missingItem() : statItem(it->second, mc.precision, mc.scale));
    }
    m_cost->setItem(
        row, col++,
        m.paramsPctOfBaseline < 0 ? missingItem() : statItem({m.paramsPctOfBaseline, 0, 1}, 1));
    for (const auto& c : components) {
      auto it = m.componentSeconds.find(c);
      m_cost->setItem(row, col++,
                      it == m.componentSeconds.end() ? missingItem() : statItem(it->second, 1));
    }
  }
}

void CompareView::fillScatter() {
  m_scatter->clearPlottables();
  m_scatter->clearItems();
  bool any = false;
  QCPRange xr, yr;
  const std::vector<QColor> colors = groupColors(m_report);
  for (std::size_t i = 0; i < m_report.methods.size(); ++i) {
    const auto& m = m_report.methods[i];
    auto acc = m.accuracy.find("*");
    auto params = m.metrics.find("params_total");
    if (acc == m.accuracy.end() || params == m.metrics.end()) continue;
    const double x = params->second.mean / 1e6, y = acc->second.mean;
    auto* g = m_scatter->addGraph();
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colors[i], 9));
    g->setData({x}, {y});
    auto* err = new QCPErrorBars(m_scatter->xAxis, m_scatter->yAxis);
    err->setDataPlottable(g);
    err->setData({acc->second.std});
    err->setPen(QPen(colors[i]));
    auto* label = new QCPItemText(m_scatter);
    label->position->setCoords(x, y);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setPadding(QMargins(6, 0, 0, 4));
    label->setText(methodLabel(m));
    label->setColor(palette().color(QPalette::WindowText));
    xr = any ? QCPRange(std::min(xr.lower, x), std::max(xr.upper, x)) : QCPRange(x, x);
    yr = any ? QCPRange(std::min(yr.lower, y - acc->second.std),
                        std::max(yr.upper, y + acc->second.std))
             : QCPRange(y - acc->second.std, y + acc->second.std);
    any = true;
  }
  if (any) {
    // Room on the right for the labels; a lone point gets a span around it.
    const double xpad = std::max(xr.size() * 0.25, std::max(xr.upper * 0.5, 1e-3));
    const double ypad = std::max(yr.size() * 0.25, 0.01);
    m_scatter->xAxis->setRange(std::max(0.0, xr.lower - xpad), xr.upper + 1.5 * xpad);
    m_scatter->yAxis->setRange(yr.lower - ypad, yr.upper + ypad);
  }
  m_scatter->replot(QCustomPlot::rpQueuedReplot);
}

void CompareView::fillBars() {
  m_bars->clearPlottables();
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (std::size_t d = 0; d < m_report.domains.size(); ++d)
    ticker->addTick(static_cast<double>(d), QString::fromStdString(m_report.domains[d]));
  m_bars->xAxis->setTicker(ticker);
  const int n = static_cast<int>(m_report.methods.size());
  if (n == 0 || m_report.domains.empty()) {
    m_bars->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  // Bars are spread inside each domain's slot by hand: QCPBarsGroup leaks on clearPlottables.
  const double width = 0.8 / n;
  double lo = 1, hi = 0;
  const std::vector<QColor> colors = groupColors(m_report);
  for (int i = 0; i < n; ++i) {
    const auto& m = m_report.methods[static_cast<std::size_t>(i)];
    auto* bars = new QCPBars(m_bars->xAxis, m_bars->yAxis);
    bars->setName(methodLabel(m));
    bars->setWidth(width);
    QColor c = colors[static_cast<std::size_t>(i)];
    bars->setPen(QPen(c));
    c.setAlpha(190);
    bars->setBrush(c);
    QVector<double> keys, values, errs;
    for (std::size_t d = 0; d < m_report.domains.size(); ++d) {
      auto it = m.accuracy.find(m_report.domains[d]);
      if (it == m.accuracy.end()) continue;
      keys.append(static_cast<double>(d) - 0.4 + width * (i + 0.5));
      values.append(it->second.mean);
      errs.append(it->second.std);
      lo = std::min(lo, it->second.mean - it->second.std);
      hi = std::max(hi, it->second.mean + it->second.std);
    }
    bars->setData(keys, values, true);
    auto* err = new QCPErrorBars(m_bars->xAxis, m_bars->yAxis);
    err->setDataPlottable(bars);
    err->setData(errs);
    err->setPen(QPen(palette().color(QPalette::WindowText)));
    err->removeFromLegend();
  }
  m_bars->xAxis->setRange(-0.6, static_cast<double>(m_report.domains.size()) - 0.4);
  // Accuracy bars start at a floor below the lowest value so that differences stay visible.
  const double floor = std::max(0.0, std::floor((lo - 0.05) * 10) / 10);
  m_bars->yAxis->setRange(floor, std::min(1.0, hi + 0.05));
  m_bars->replot(QCustomPlot::rpQueuedReplot);
}

void CompareView::fillDiff(const std::vector<std::int64_t>& runIds) {
  m_diff->clear();
  m_diff->setRowCount(0);
  m_diff->setColumnCount(0);
  // One column per distinct config; its header names the runs that share it.
  std::vector<QString> configs;
  std::vector<QStringList> owners;
  for (auto id : runIds) {
    const std::optional<core::RunInfo> run = m_store ? m_store->run(id) : std::nullopt;
    if (!run) continue;
    const QString cfg = QString::fromStdString(run->configJson);
    auto it = std::find(configs.begin(), configs.end(), cfg);
    if (it == configs.end()) {
      configs.push_back(cfg);
      owners.emplace_back();
      it = configs.end() - 1;
    }
    owners[static_cast<std::size_t>(it - configs.begin())] << QStringLiteral("#%1").arg(id);
  }
  m_diff->setVisible(configs.size() > 1);
  if (configs.size() < 2) {
    m_diffNote->setText(configs.empty() ? QString()
                                        : tr("All selected runs share one experiment config."));
    return;
  }
  const ConfigDiff diff = diffConfigs(configs);
  m_diffNote->setText(tr("%n key(s) differ.", nullptr, static_cast<int>(diff.keys.size())));
  QStringList heads = {tr("Key")};
  for (const QStringList& o : owners) heads << o.join(' ');
  m_diff->setColumnCount(heads.size());
  m_diff->setHorizontalHeaderLabels(heads);
  m_diff->setRowCount(static_cast<int>(diff.keys.size()));
  for (int r = 0; r < diff.keys.size(); ++r) {
    m_diff->setItem(r, 0, textItem(diff.keys[r]));
    for (std::size_t c = 0; c < diff.values.size(); ++c)
      m_diff->setItem(r, static_cast<int>(c) + 1, textItem(diff.values[c][r]));
  }
}

void CompareView::exportTable() {
  if (m_report.methods.empty()) {
    QMessageBox::information(this, tr("Export table"), tr("No finished runs are selected."));
    return;
  }
  const std::vector<std::pair<QString, std::string>> formats = {{tr("Markdown (*.md)"), "md"},
                                                                {tr("CSV (*.csv)"), "csv"},
                                                                {tr("LaTeX (*.tex)"), "latex"},
                                                                {tr("JSON (*.json)"), "json"}};
  QStringList filters;
  for (const auto& f : formats) filters << f.first;
  QString chosen;
  QString path = QFileDialog::getSaveFileName(this, tr("Export table"), QStringLiteral("report.md"),
                                              filters.join(QStringLiteral(";;")), &chosen);
  if (path.isEmpty()) return;
  std::string format = "md";
  for (const auto& f : formats)
    if (f.first == chosen) format = f.second;
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
      file.write(QByteArray::fromStdString(core::formatReport(m_report, format))) < 0) {
    QMessageBox::warning(this, tr("Export table"),
                         tr("Could not write %1: %2").arg(path, file.errorString()));
  }
}

}  // namespace rr::ui
