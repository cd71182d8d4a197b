#include "compareview.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <set>

#include "configdiff.h"
#include "guard.h"
#include "plotstyle.h"
#include "qcp.h"
#include "runbackbone.h"

namespace rr::ui {
namespace {

constexpr int kMeanRole = Qt::UserRole;
constexpr int kStdRole = Qt::UserRole + 1;
// Interval cells: the estimate under kMeanRole, its bounds under these.
constexpr int kLowRole = Qt::UserRole + 2;
constexpr int kHighRole = Qt::UserRole + 3;
// The McNemar cell: the p-value under kMeanRole and whether it is marked.
constexpr int kSignificantRole = Qt::UserRole + 4;
constexpr double kSignificance = 0.05;

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

// A figure of the report (NaN where it is undefined, e.g. no pair whose chosen response is the
// longer one) with its exact value under kMeanRole.
QTableWidgetItem* valueItem(double v, int precision = 4) {
  if (std::isnan(v)) return missingItem();
  auto* it = new QTableWidgetItem(QString::number(v, 'f', precision));
  it->setData(kMeanRole, v);
  it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return it;
}

QTableWidgetItem* intervalItem(const core::Interval& iv) {
  if (std::isnan(iv.estimate)) return missingItem();
  auto* it = new QTableWidgetItem(QStringLiteral("%1 [%2, %3]")
                                      .arg(iv.estimate, 0, 'f', 4)
                                      .arg(iv.low, 0, 'f', 4)
                                      .arg(iv.high, 0, 'f', 4));
  it->setData(kMeanRole, iv.estimate);
  it->setData(kLowRole, iv.low);
  it->setData(kHighRole, iv.high);
  it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return it;
}

// (Not `find`: inside CompareView that name is QWidget::find.)
template <typename Map>
const typename Map::mapped_type* lookup(const Map& m, const typename Map::key_type& k) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : &it->second;
}

QString runLabel(std::int64_t id, const std::string& methodName, int seed) {
  return QStringLiteral("#%1 %2 · seed %3")
      .arg(id)
      .arg(QString::fromStdString(methodName))
      .arg(seed);
}

std::vector<core::ScoredPair> ofDomain(const std::vector<core::ScoredPair>& pairs,
                                       const std::string& domain) {
  if (domain == core::kWholeRun) return pairs;
  std::vector<core::ScoredPair> out;
  for (const auto& p : pairs)
    if (p.domain == domain) out.push_back(p);
  return out;
}

// Each method group's colour: its runs' in the Monitor and Inspect (runStyles over the same runs).
std::vector<QColor> groupColors(const core::Report& report) {
  std::vector<core::RunInfo> runs;
  for (const auto& m : report.methods)
    for (std::size_t i = 0; i < m.runIds.size(); ++i) {
      core::RunInfo r;
      r.id = m.runIds[i];
      r.experiment = m.experiment;
      r.method = m.method;
      r.methodName = m.methodName;
      r.seed = i < m.seeds.size() ? m.seeds[i] : 0;
      runs.push_back(r);
    }
  const std::map<std::int64_t, CurveStyle> styles = runStyles(runs);
  std::vector<QColor> out;
  for (const auto& m : report.methods)
    out.push_back(m.runIds.empty() ? methodColor(m.method) : styles.at(m.runIds.front()).color);
  return out;
}

// Whiskers of one accuracy: std over seeds, or for a group of one run (whose std is 0) its
// bootstrap 95% interval, when the report has one for the domain.
struct Whisker {
  double minus = 0, plus = 0;
};
Whisker whiskerOf(const core::Report& report, const core::MethodSummary& m,
                  const std::string& domain, double value) {
  const core::Stat* s = lookup(m.accuracy, domain);
  Whisker w{s ? s->std : 0, s ? s->std : 0};
  if (m.runIds.size() != 1) return w;
  for (const auto& f : report.runs)
    if (f.runId == m.runIds[0])
      if (const core::Interval* iv = lookup(f.interval, domain); iv && !std::isnan(iv->low))
        w = {std::max(0.0, value - iv->low), std::max(0.0, iv->high - value)};
  return w;
}

QLabel* captionLabel(const QString& text, QWidget* parent) {
  auto* l = new QLabel(text, parent);
  l->setWordWrap(true);  // a long caption must not set the width of the tables' column
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
  placeLegendBelow(m_bars);
  for (QCustomPlot* p : {m_scatter, m_bars}) {
    p->setToolTip(
        tr("Whiskers: std over seeds; for a method with a single run, that run's bootstrap 95% "
           "interval"));
    p->setMinimumHeight(200);
    applyPalette(p);
  }

  m_perRun = makeTable(this, "perRunTable");
  m_reference = new QComboBox(this);
  m_reference->setObjectName(QStringLiteral("referenceRun"));
  m_reference->setToolTip(
      tr("The run every other run is tested against: exact McNemar test on the pairs both "
         "evaluated; * marks p < 0.05"));
  m_figureDomain = new QComboBox(this);
  m_figureDomain->setObjectName(QStringLiteral("figureDomain"));
  m_figureSource = new QComboBox(this);
  m_figureSource->setObjectName(QStringLiteral("figureSource"));
  m_figureSource->setToolTip(
      tr("The runs' test pairs, or the pairs of one of their evaluations (Evaluate on…)"));
  // The reference run's label is the one to read in full; the other two may shorten.
  for (QComboBox* box : {m_figureDomain, m_figureSource}) {
    box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    box->setMinimumContentsLength(10);
  }
  m_perRunNote = new QLabel(this);
  m_perRunNote->setWordWrap(true);
  m_evaluations = makeTable(this, "evaluationTable");
  m_subsets = new QCheckBox(tr("Show subsets"), this);
  m_subsets->setToolTip(tr("A column per subset (domain) of the evaluated pairs"));
  m_evaluationNote = new QLabel(this);
  m_evaluationNote->setWordWrap(true);

  auto* tables = new QWidget(this);
  auto* tl = new QVBoxLayout(tables);
  tl->setContentsMargins(0, 0, 0, 0);
  tl->addWidget(captionLabel(
      tr("Accuracy per domain (mean ± std over seeds; best in bold; the reference row is the "
         "\"longer response wins\" rule on the same test pairs)"),
      tables));
  tl->addWidget(m_accuracy);
  tl->addWidget(captionLabel(tr("Size, train time per component, inference"), tables));
  tl->addWidget(m_cost);
  tl->addWidget(
      captionLabel(tr("Per run: 95% interval, significance, length bias, calibration"), tables));
  auto* pickers = new QHBoxLayout;
  pickers->addWidget(new QLabel(tr("Pairs:"), tables));
  pickers->addWidget(m_figureSource);
  pickers->addWidget(new QLabel(tr("Domain:"), tables));
  pickers->addWidget(m_figureDomain);
  pickers->addWidget(new QLabel(tr("Significance against:"), tables));
  pickers->addWidget(m_reference, 1);
  tl->addLayout(pickers);
  tl->addWidget(m_perRunNote);
  tl->addWidget(m_perRun);
  auto* evalTop = new QHBoxLayout;
  evalTop->addWidget(captionLabel(tr("Evaluations on other pairs files, RewardBench"), tables), 1);
  evalTop->addWidget(m_subsets);
  tl->addLayout(evalTop);
  tl->addWidget(m_evaluationNote);
  tl->addWidget(m_evaluations);
  tl->addWidget(captionLabel(tr("Config keys that differ between the selected runs"), tables));
  tl->addWidget(m_diffNote);
  tl->addWidget(m_diff, 1);
  tl->addStretch(0);
  auto* tablesScroll = new QScrollArea(this);
  tablesScroll->setWidgetResizable(true);
  tablesScroll->setFrameShape(QFrame::NoFrame);
  // Tables scroll sideways on their own (with their frozen first column), the pane only down.
  tablesScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  tablesScroll->setWidget(tables);
  auto* plots = new QSplitter(Qt::Vertical, this);
  plots->addWidget(m_scatter);
  plots->addWidget(m_bars);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(tablesScroll);
  split->addWidget(plots);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({640, 480});
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(split, 1);

  connect(exportButton, &QPushButton::clicked, this,
          [this] { guarded([this] { exportTable(); }); });
  connect(m_scatter, &QCustomPlot::afterLayout, this, &CompareView::placeScatterLabels);
  connect(saveScatter, &QPushButton::clicked, this,
          [this] { exportPlot(m_scatter, this, QStringLiteral("accuracy-vs-params")); });
  connect(saveBars, &QPushButton::clicked, this,
          [this] { exportPlot(m_bars, this, QStringLiteral("accuracy-per-domain")); });
  connect(m_reference, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this] { fillPerRun(); });
  connect(m_figureDomain, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this] { fillPerRun(); });
  connect(m_figureSource, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    guarded([this] { loadFigureSource(); });
    fillReferenceChoices();
    fillPerRun();
    fitHeight(m_perRun);
  });
  connect(m_subsets, &QCheckBox::toggled, this, [this] {
    fillEvaluations();
    fitHeight(m_evaluations);
  });
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
  // The per-run figures are those of `report --length-bias --calibration --ci` (1000 resamples,
  // seed 0).
  core::ReportOptions options;
  options.lengthBias = options.calibration = options.intervals = true;
  m_report = m_store && !runIds.empty() ? core::buildReport(*m_store, runIds, "", options)
                                        : core::Report{};
  {
    const QString current = m_figureSource->currentData().toString();
    const QSignalBlocker block(m_figureSource);
    m_figureSource->clear();
    m_figureSource->addItem(tr("test pairs"), QString());
    std::set<std::string> names;
    for (const auto& e : m_report.evaluations) names.insert(e.info.name);
    for (const auto& n : names)
      m_figureSource->addItem(tr("evaluation: %1").arg(QString::fromStdString(n)),
                              QString::fromStdString(n));
    m_figureSource->setCurrentIndex(std::max(0, m_figureSource->findData(current)));
  }
  loadFigureSource();
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
  fillReferenceChoices();
  fillPerRun();
  fillEvaluations();
  fitHeight(m_accuracy);
  fitHeight(m_cost);
  fitHeight(m_perRun);
  fitHeight(m_evaluations);
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
  // The reference rows: what the "longer response wins" rule scores on each experiment's test
  // pairs. Not a method, so never bold.
  const bool severalExperiments = m_report.lengthHeuristic.size() > 1;
  for (const auto& [experiment, byDomain] : m_report.lengthHeuristic) {
    const int row = m_accuracy->rowCount();
    m_accuracy->insertRow(row);
    QString name = tr("longer response wins");
    if (severalExperiments) name = QString::fromStdString(experiment) + '/' + name;
    QTableWidgetItem* label = textItem(name);
    label->setToolTip(
        tr("Reference: the longer response taken as the chosen one (equal lengths count as "
           "wrong), on the same test pairs"));
    QFont f = label->font();
    f.setItalic(true);
    label->setFont(f);
    m_accuracy->setItem(row, 0, label);
    for (std::size_t c = 0; c < cols.size(); ++c) {
      const double* v = lookup(byDomain, cols[c]);
      QTableWidgetItem* item = v ? valueItem(*v) : missingItem();
      item->setFont(f);
      m_accuracy->setItem(row, static_cast<int>(c) + kFirstAccuracyColumn, item);
    }
    m_accuracy->setItem(row, seedsColumn, textItem(QStringLiteral("–")));
    m_accuracy->setItem(row, seedsColumn + 1, textItem(tr("rule")));
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
  m_scatterLabels.clear();
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
    const Whisker w = whiskerOf(m_report, m, core::kWholeRun, y);
    auto* err = new QCPErrorBars(m_scatter->xAxis, m_scatter->yAxis);
    err->setDataPlottable(g);
    err->setData({w.minus}, {w.plus});
    err->setPen(QPen(colors[i]));
    auto* label = new QCPItemText(m_scatter);
    // Placed in pixels after each layout (placeScatterLabels), clear of the other labels.
    label->position->setType(QCPItemPosition::ptAbsolute);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    label->setPadding(QMargins(2, 1, 2, 1));
    label->setClipToAxisRect(false);
    label->setText(methodLabel(m));
    label->setColor(palette().color(QPalette::WindowText));
    // A label moved away from its point is tied to it by a thin line.
    auto* leader = new QCPItemLine(m_scatter);
    leader->start->setCoords(x, y);
    leader->end->setParentAnchor(label->bottomLeft);
    QColor faded = colors[i];
    faded.setAlpha(150);
    leader->setPen(QPen(faded, 1));
    leader->setVisible(false);
    m_scatterLabels.push_back({label, leader, x, y});
    xr = any ? QCPRange(std::min(xr.lower, x), std::max(xr.upper, x)) : QCPRange(x, x);
    yr = any ? QCPRange(std::min(yr.lower, y - w.minus), std::max(yr.upper, y + w.plus))
             : QCPRange(y - w.minus, y + w.plus);
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

void CompareView::placeScatterLabels() {
  // Each label up and to the right of its point; one that would cover a label placed before it
  // (methods of nearly the same size and accuracy) moves up above that one. From the lowest
  // point up, so labels stack upwards, away from the points below them.
  std::vector<std::size_t> order(m_scatterLabels.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto pixelOf = [this](const ScatterLabel& l) {
    return QPointF(m_scatter->xAxis->coordToPixel(l.x), m_scatter->yAxis->coordToPixel(l.y));
  };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return pixelOf(m_scatterLabels[a]).y() > pixelOf(m_scatterLabels[b]).y();
  });
  std::vector<QRectF> placed;
  for (std::size_t i : order) {
    QCPItemText* label = m_scatterLabels[i].item;
    const QFontMetricsF fm(label->font());
    const QMargins pad = label->padding();
    const QSizeF size(fm.horizontalAdvance(label->text()) + pad.left() + pad.right() + 2,
                      fm.height() + pad.top() + pad.bottom());
    const QPointF at = pixelOf(m_scatterLabels[i]);
    QRectF box(QPointF(at.x() + 6, at.y() - 4 - size.height()), size);
    for (bool moved = true; moved;) {
      moved = false;
      for (const QRectF& other : placed)
        if (box.intersects(other)) {
          box.moveBottom(other.top() - 1);
          moved = true;
        }
    }
    placed.push_back(box);
    label->position->setCoords(box.left(), box.bottom());
    m_scatterLabels[i].leader->setVisible(box.bottom() < at.y() - 4 - 0.5);
  }
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
    QVector<double> keys, values, minus, plus;
    for (std::size_t d = 0; d < m_report.domains.size(); ++d) {
      auto it = m.accuracy.find(m_report.domains[d]);
      if (it == m.accuracy.end()) continue;
      const double v = it->second.mean;
      const Whisker w = whiskerOf(m_report, m, m_report.domains[d], v);
      keys.append(static_cast<double>(d) - 0.4 + width * (i + 0.5));
      values.append(v);
      minus.append(w.minus);
      plus.append(w.plus);
      lo = std::min(lo, v - w.minus);
      hi = std::max(hi, v + w.plus);
    }
    bars->setData(keys, values, true);
    auto* err = new QCPErrorBars(m_bars->xAxis, m_bars->yAxis);
    err->setDataPlottable(bars);
    err->setData(minus, plus);
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

void CompareView::loadFigureSource() {
  const std::string source = m_figureSource->currentData().toString().toStdString();
  m_figures.clear();
  m_scored.clear();
  if (!m_store) return;
  if (source.empty()) {
    m_figures = m_report.runs;
    std::vector<std::int64_t> ids;
    for (const auto& f : m_figures) ids.push_back(f.runId);
    if (!ids.empty()) m_scored = m_store->scoredPairs(ids);
    return;
  }
  for (const auto& e : m_report.evaluations) {
    if (e.info.name != source) continue;
    const std::optional<core::RunInfo> run = m_store->run(e.info.runId);
    if (!run) continue;
    std::vector<core::ScoredPair> pairs = m_store->evaluationPairs(e.info.id);
    // The temperature the run's own validation pairs give, as for its test pairs.
    auto validation = m_store->validationPairs({run->id});
    m_figures.push_back(core::figuresOfPairs(
        *run, pairs, m_report.options,
        validation.count(run->id) ? validation.at(run->id) : std::vector<core::ScoredPair>{}));
    m_scored[e.info.runId] = std::move(pairs);
  }
}

void CompareView::fillReferenceChoices() {
  const QVariant current = m_reference->currentData();
  const QString currentDomain = m_figureDomain->currentText();
  const QSignalBlocker b1(m_reference), b2(m_figureDomain);
  m_reference->clear();
  for (const auto& f : m_figures)
    m_reference->addItem(runLabel(f.runId, f.methodName, f.seed),
                         QVariant::fromValue<qlonglong>(f.runId));
  m_reference->setCurrentIndex(std::max(0, m_reference->findData(current)));
  std::set<std::string> domains;
  for (const auto& f : m_figures)
    for (const auto& d : f.domains)
      if (d != core::kWholeRun) domains.insert(d);
  m_figureDomain->clear();
  m_figureDomain->addItem(tr("all (mean over domains)"), QString::fromLatin1(core::kWholeRun));
  for (const auto& d : domains)
    m_figureDomain->addItem(QString::fromStdString(d), QString::fromStdString(d));
  m_figureDomain->setCurrentIndex(std::max(0, m_figureDomain->findText(currentDomain)));
}

void CompareView::fillPerRun() {
  const std::string domain = m_figureDomain->currentData().toString().toStdString();
  const bool allDomains = domain == core::kWholeRun;
  const std::int64_t ref = m_reference->currentData().toLongLong();
  const QString refLabel = QStringLiteral("#%1").arg(ref);
  QStringList heads = {tr("Run"),
                       tr("Pairs"),
                       tr("Accuracy [95% CI]"),
                       tr("vs %1").arg(refLabel),
                       tr("Longer wins"),
                       tr("Acc. chosen longer"),
                       tr("Acc. chosen not longer"),
                       tr("ρ(reward, length)"),
                       tr("ECE"),
                       tr("Brier"),
                       tr("Log loss"),
                       tr("ECE (T)"),
                       tr("Brier (T)"),
                       tr("Log loss (T)")};
  // Over all domains the row holds two kinds of figure: the accuracies set side by side (the
  // model's and the length rule's) are means over domains, as the accuracy table's; the rest
  // pool every pair. Each head says which.
  constexpr int kMeanColumns[] = {2, 4};
  if (allDomains)
    for (int c = 1; c < heads.size(); ++c)
      if (c != 3)
        heads[c] += std::count(std::begin(kMeanColumns), std::end(kMeanColumns), c)
                        ? tr("\nmean over domains")
                        : tr("\nall pairs");
  m_perRun->clear();
  m_perRun->setColumnCount(heads.size());
  m_perRun->setHorizontalHeaderLabels(heads);
  const QStringList headTips = {
      {},
      tr("pairs of the run (in the domain)"),
      tr("the mean over domains (or the domain's accuracy) with its percentile bootstrap 95% "
         "interval: 1000 resamples of the pairs within each domain, seed 0"),
      tr("exact McNemar test against the reference run on the pairs both evaluated; * marks "
         "p < 0.05"),
      tr("accuracy of the \"longer response wins\" rule on these pairs (over all domains: the "
         "mean over domains, as the model's accuracy beside it)"),
      tr("the run's accuracy on the pairs whose chosen response is the longer one"),
      tr("the run's accuracy on the pairs whose chosen response is shorter or as long"),
      tr("Spearman's rank correlation of reward with response length (characters)"),
      tr("expected calibration error of sigmoid(r_chosen − r_rejected), 10 bins"),
      tr("Brier score of P(chosen)"),
      tr("mean −ln P(chosen)"),
      tr("after the temperature the report fits (docs/EVALUATION.md)"),
      tr("after the fitted temperature"),
      tr("after the fitted temperature")};
  for (int c = 0; c < headTips.size(); ++c)
    if (!headTips[c].isEmpty()) m_perRun->horizontalHeaderItem(c)->setToolTip(headTips[c]);
  m_perRun->setRowCount(static_cast<int>(m_figures.size()));
  const auto refPairs = m_scored.find(ref);
  for (std::size_t r = 0; r < m_figures.size(); ++r) {
    const core::RunFigures& f = m_figures[r];
    const int row = static_cast<int>(r);
    int col = 0;
    QTableWidgetItem* name = textItem(runLabel(f.runId, f.methodName, f.seed));
    name->setData(kMeanRole, QVariant::fromValue<qlonglong>(f.runId));
    m_perRun->setItem(row, col++, name);
    const std::int64_t* pairs = lookup(f.pairs, domain);
    m_perRun->setItem(row, col++,
                      pairs ? valueItem(static_cast<double>(*pairs), 0) : missingItem());
    const core::Interval* iv = lookup(f.interval, domain);
    m_perRun->setItem(row, col++, iv ? intervalItem(*iv) : missingItem());

    QTableWidgetItem* test = nullptr;
    const auto mine = m_scored.find(f.runId);
    if (f.runId == ref) {
      test = textItem(tr("reference"));
    } else if (refPairs != m_scored.end() && mine != m_scored.end()) {
      const core::McNemar m =
          core::mcnemar(ofDomain(refPairs->second, domain), ofDomain(mine->second, domain));
      if (m.pairs > 0) {
        const bool significant = m.pValue < kSignificance;
        test = new QTableWidgetItem(QStringLiteral("p %1%2")
                                        .arg(m.pValue, 0, 'f', 4)
                                        .arg(significant ? QStringLiteral(" *") : QString()));
        test->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        test->setData(kMeanRole, m.pValue);
        test->setData(kSignificantRole, significant);
        // Short lines: one long line ran off the window.
        test->setToolTip(
            tr("Exact McNemar test on the %1 pairs both runs evaluated:\nonly %2 right %3, only "
               "#%4 right %5;\ntwo-sided p = %6 (%7)")
                .arg(m.pairs)
                .arg(refLabel)
                .arg(m.onlyA)
                .arg(f.runId)
                .arg(m.onlyB)
                .arg(m.pValue, 0, 'g', 6)
                .arg(significant ? tr("significant at 0.05") : tr("not significant at 0.05")));
        if (significant) {
          QFont bold = test->font();
          bold.setBold(true);
          test->setFont(bold);
        }
      } else {
        test = textItem(tr("no shared pair"));
      }
    }
    m_perRun->setItem(row, col++, test ? test : missingItem());

    const core::LengthBias* b = lookup(f.lengthBias, domain);
    const bool lengths = b && b->pairs > 0;
    const double rule = !lengths     ? NAN
                        : allDomains ? f.meanHeuristicAccuracy
                                     : b->heuristicAccuracy;
    for (double v :
         {rule, lengths ? b->accuracyChosenLonger : NAN, lengths ? b->accuracyChosenNotLonger : NAN,
          lengths ? b->rewardLengthSpearman : NAN})
      m_perRun->setItem(row, col++, valueItem(v));
    for (const auto* cal : {lookup(f.calibration, domain), lookup(f.calibrationFitted, domain)})
      for (double v : {cal ? cal->ece : NAN, cal ? cal->brier : NAN, cal ? cal->logLoss : NAN})
        m_perRun->setItem(row, col++, valueItem(v));
  }
  if (m_figures.empty()) {
    m_perRunNote->setText(tr("No selected finished run has these pairs in the store."));
  } else {
    m_perRunNote->setText(
        tr("On each run's %1; (T): after the report's fitted temperature. *: p < 0.05 "
           "against %2 (hover for the discordant counts).")
            .arg(m_figureSource->currentIndex() == 0
                     ? tr("test pairs")
                     : tr("pairs of evaluation '%1'").arg(m_figureSource->currentData().toString()))
            .arg(refLabel));
  }
}

void CompareView::fillEvaluations() {
  const auto& evals = m_report.evaluations;
  bool v1 = false, v2 = false;
  std::set<std::string> subsets;
  for (const auto& e : evals) {
    v1 = v1 || e.rewardBenchV1;
    v2 = v2 || e.rewardBenchV2;
    for (const auto& [d, c] : e.perDomain) subsets.insert(d);
  }
  QStringList heads = {tr("Run"), tr("Evaluation"), tr("Pairs"), tr("Accuracy"), tr("Longer wins")};
  if (v1) {
    for (const auto& sec : core::rewardBenchSections()) heads << QString::fromStdString(sec);
    heads << tr("Score");
  }
  if (v2) heads << tr("Best-of-N score");
  const int firstSubset = heads.size();
  if (m_subsets->isChecked())
    for (const auto& d : subsets) heads << QString::fromStdString(d);
  m_evaluations->clear();
  m_evaluations->setColumnCount(heads.size());
  m_evaluations->setHorizontalHeaderLabels(heads);
  m_evaluations->setRowCount(static_cast<int>(evals.size()));
  for (std::size_t r = 0; r < evals.size(); ++r) {
    const core::EvaluationSummary& e = evals[r];
    const int row = static_cast<int>(r);
    int col = 0;
    m_evaluations->setItem(row, col++, textItem(runLabel(e.info.runId, e.methodName, e.seed)));
    QTableWidgetItem* name = textItem(QString::fromStdString(e.info.name));
    name->setToolTip(
        tr("%1\nevaluated %2")
            .arg(QString::fromStdString(e.info.source), QString::fromStdString(e.info.createdAt)));
    m_evaluations->setItem(row, col++, name);
    m_evaluations->setItem(row, col++, valueItem(static_cast<double>(e.info.pairs), 0));
    m_evaluations->setItem(row, col++, valueItem(e.accuracy));
    m_evaluations->setItem(row, col++, valueItem(e.lengthHeuristic));
    if (v1) {
      for (const auto& sec : core::rewardBenchSections()) {
        const double* v = e.rewardBenchV1 ? lookup(e.v1.sections, sec) : nullptr;
        m_evaluations->setItem(row, col++, v ? valueItem(*v) : missingItem());
      }
      m_evaluations->setItem(row, col++, e.rewardBenchV1 ? valueItem(e.v1.score) : missingItem());
    }
    if (v2)
      m_evaluations->setItem(row, col++,
                             e.rewardBenchV2 ? valueItem(e.bestOfNScore) : missingItem());
    if (!m_subsets->isChecked()) continue;
    col = firstSubset;
    for (const auto& d : subsets) {
      // A subset's figure as the report gives it: best-of-N for RewardBench 2, else accuracy.
      const double* v = e.rewardBenchV2   ? lookup(e.bestOfN, d)
                        : e.rewardBenchV1 ? lookup(e.v1.subsets, d)
                                          : nullptr;
      const core::SubsetCount* c = lookup(e.perDomain, d);
      QTableWidgetItem* item =
          v ? valueItem(*v)
          : c && !e.rewardBenchV2 && c->total > 0
              ? valueItem(static_cast<double>(c->correct) / static_cast<double>(c->total))
              : missingItem();
      if (c) item->setToolTip(tr("%1 of %2 pairs right").arg(c->correct).arg(c->total));
      m_evaluations->setItem(row, col++, item);
    }
  }
  if (evals.empty()) {
    m_evaluationNote->setText(
        tr("The selected runs have no evaluation. Evaluate on… (File menu, or the run browser's "
           "context menu) scores a finished run on another pairs file, as rewardrouter-cli "
           "evaluate does."));
  } else {
    m_evaluationNote->setText(
        v1 || v2 ? tr("RewardBench: sections weighted by the official subset sizes, score = mean "
                      "of the sections present (a tie is wrong); RewardBench 2: best-of-N.")
                 : tr("Accuracy: mean over the evaluation's domains."));
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
