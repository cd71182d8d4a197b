#include "inspectview.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleValidator>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSplitter>

#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>
#include <set>

#include "guard.h"
#include "plotstyle.h"
#include "qcp.h"
#include "scorebox.h"

namespace rr::ui {
namespace {

std::optional<double> numberOf(const QLineEdit* edit) {
  bool ok = false;
  const double v = edit->text().trimmed().toDouble(&ok);
  return ok ? std::optional<double>(v) : std::nullopt;
}

QPlainTextEdit* textPane(QWidget* parent) {
  auto* t = new QPlainTextEdit(parent);
  t->setReadOnly(true);
  return t;
}

}  // namespace

InspectView::InspectView(QWidget* parent) : QWidget(parent) {
  m_model = new ExampleModel(this);
  m_domain = new QComboBox(this);
  m_domain->setObjectName(QStringLiteral("domainFilter"));
  m_result = new QComboBox(this);
  m_result->setObjectName(QStringLiteral("resultFilter"));
  m_result->addItems({tr("all"), tr("correct"), tr("wrong")});
  m_minMargin = new QLineEdit(this);
  m_minMargin->setObjectName(QStringLiteral("minMargin"));
  m_maxMargin = new QLineEdit(this);
  m_maxMargin->setObjectName(QStringLiteral("maxMargin"));
  for (QLineEdit* e : {m_minMargin, m_maxMargin}) {
    auto* v = new QDoubleValidator(e);
    v->setLocale(QLocale::c());  // the text is read back with QString::toDouble
    e->setValidator(v);
    e->setPlaceholderText(tr("any"));
    e->setMaximumWidth(80);
  }
  m_misrouted = new QCheckBox(tr("Routed ≠ true domain"), this);
  m_flipped = new QCheckBox(tr("Flipped between the two selected runs"), this);
  m_flipped->setToolTip(
      tr("Examples one run gets right and the other wrong; select exactly two "
         "runs. Lists both runs' rows in example id order."));
  m_search = new QLineEdit(this);
  m_search->setObjectName(QStringLiteral("exampleSearch"));
  m_search->setPlaceholderText(tr("Search prompt / responses"));
  m_search->setClearButtonEnabled(true);
  m_routeChip = new QToolButton(this);
  m_routeChip->setObjectName(QStringLiteral("routeChip"));
  m_routeChip->setToolButtonStyle(Qt::ToolButtonTextOnly);
  m_routeChip->setToolTip(tr("Set by a confusion-matrix cell; click to clear"));
  m_routeChip->hide();
  m_count = new QLabel(this);
  m_count->setObjectName(QStringLiteral("exampleCount"));
  m_source = new QComboBox(this);
  m_source->setObjectName(QStringLiteral("pairSource"));
  m_source->setToolTip(
      tr("The runs' own test pairs, or an evaluation of them on another pairs file (Evaluate "
         "on…)"));
  m_pickChip = new QToolButton(this);
  m_pickChip->setObjectName(QStringLiteral("plotPick"));
  m_pickChip->setToolButtonStyle(Qt::ToolButtonTextOnly);
  m_pickChip->setToolTip(tr("Set by a click on a plot; click to clear"));
  m_pickChip->hide();

  auto* row1 = new QHBoxLayout;
  row1->addWidget(new QLabel(tr("Pairs:"), this));
  row1->addWidget(m_source);
  row1->addWidget(new QLabel(tr("Domain:"), this));
  row1->addWidget(m_domain);
  row1->addWidget(new QLabel(tr("Result:"), this));
  row1->addWidget(m_result);
  row1->addWidget(new QLabel(tr("Margin from"), this));
  row1->addWidget(m_minMargin);
  row1->addWidget(new QLabel(tr("to"), this));
  row1->addWidget(m_maxMargin);
  row1->addWidget(m_misrouted);
  row1->addWidget(m_routeChip);
  row1->addWidget(m_pickChip);
  row1->addStretch(1);
  auto* row2 = new QHBoxLayout;
  row2->addWidget(m_search, 1);
  row2->addWidget(m_flipped);
  row2->addWidget(m_count);

  m_table = new QTableView(this);
  m_table->setObjectName(QStringLiteral("exampleTable"));
  m_table->setModel(m_model);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(ExampleModel::ColRun, Qt::AscendingOrder);
  m_table->verticalHeader()->hide();
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setAlternatingRowColors(true);

  m_header = new QLabel(this);
  m_header->setWordWrap(true);
  m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_prompt = textPane(this);
  m_chosen = textPane(this);
  m_rejected = textPane(this);
  m_contrib = new QCustomPlot(this);
  m_contrib->setObjectName(QStringLiteral("contributionPlot"));
  m_contrib->setMinimumHeight(150);
  m_contrib->yAxis->setLabel(tr("contribution"));
  applyPalette(m_contrib);
  m_contribNote = new QLabel(this);
  m_contribNote->setWordWrap(true);
  m_contribNote->setForegroundRole(QPalette::PlaceholderText);
  auto* detail = new QWidget(this);
  auto* form = new QFormLayout(detail);
  form->setRowWrapPolicy(QFormLayout::WrapAllRows);
  form->addRow(m_header);
  form->addRow(tr("Prompt"), m_prompt);
  form->addRow(tr("Chosen"), m_chosen);
  form->addRow(tr("Rejected"), m_rejected);
  form->addRow(tr("Contributions"), m_contribNote);
  form->addRow(m_contrib);
  m_scoreBox = new ScoreBox(this);
  form->addRow(tr("Score your own text (the first selected run)"), m_scoreBox);

  m_lengthPlot = new QCustomPlot(this);
  m_lengthPlot->setObjectName(QStringLiteral("rewardLengthPlot"));
  m_lengthPlot->xAxis->setLabel(tr("response length (characters)"));
  m_lengthPlot->xAxis->ticker()->setTickCount(4);
  m_lengthPlot->yAxis->setLabel(tr("reward"));
  placeLegendBelow(m_lengthPlot);
  m_lengthPlot->setToolTip(
      tr("Each response of each pair: filled = chosen, hollow = rejected; colour = domain. Click "
         "a point to list its pair."));
  m_reliability = new QCustomPlot(this);
  m_reliability->setObjectName(QStringLiteral("reliabilityPlot"));
  m_reliability->xAxis->setLabel(tr("predicted P (10 bins)"));
  m_reliability->yAxis->setLabel(tr("observed frequency"));
  placeLegendBelow(m_reliability);
  m_reliability->setToolTip(
      tr("Reliability of P(chosen) = sigmoid(r_chosen − r_rejected), each pair counted as p "
         "(chosen first) and 1 − p (rejected first), as the ECE does; the diagonal is perfect "
         "calibration. Click a bin to list its pairs."));
  for (QCustomPlot* p : {m_lengthPlot, m_reliability}) {
    p->setMinimumHeight(180);
    applyPalette(p);
    connect(p, &QCustomPlot::plottableClick, this,
            [this](QCPAbstractPlottable* pl, int i, QMouseEvent*) {
              guarded([&] { onPlotClick(pl, i); });
            });
  }
  m_plotNote = new QLabel(this);
  m_plotNote->setWordWrap(true);
  m_plotNote->setForegroundRole(QPalette::PlaceholderText);
  auto* plots = new QWidget(this);
  auto* plotsLayout = new QVBoxLayout(plots);
  plotsLayout->setContentsMargins(0, 0, 0, 0);
  auto* plotRow = new QSplitter(Qt::Horizontal, plots);
  plotRow->addWidget(m_lengthPlot);
  plotRow->addWidget(m_reliability);
  plotRow->setSizes({500, 500});  // halves, whatever the legends ask for
  plotRow->setChildrenCollapsible(false);
  plotsLayout->addWidget(m_plotNote);
  plotsLayout->addWidget(plotRow, 1);
  auto* left = new QSplitter(Qt::Vertical, this);
  left->addWidget(m_table);
  left->addWidget(plots);
  left->setStretchFactor(0, 1);
  left->setStretchFactor(1, 1);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(left);
  split->addWidget(detail);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({720, 420});  // room for the two plots side by side
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(row1);
  layout->addLayout(row2);
  layout->addWidget(split, 1);

  // Every filter change reads the store: through guarded(), so that a store that fails shows
  // its error instead of ending the program.
  const auto refilter = [this] { guarded([this] { applyFilter(); }); };
  m_searchDelay = new QTimer(this);
  m_searchDelay->setSingleShot(true);
  m_searchDelay->setInterval(300);
  connect(m_searchDelay, &QTimer::timeout, this, refilter);
  connect(m_search, &QLineEdit::textChanged, m_searchDelay, qOverload<>(&QTimer::start));
  for (QComboBox* c : {m_domain, m_result})
    connect(c, qOverload<int>(&QComboBox::currentIndexChanged), this, refilter);
  for (QLineEdit* e : {m_minMargin, m_maxMargin})
    connect(e, &QLineEdit::editingFinished, this, refilter);
  for (QCheckBox* c : {m_misrouted, m_flipped}) connect(c, &QCheckBox::toggled, this, refilter);
  connect(m_pickChip, &QToolButton::clicked, this, [this] { guarded([this] { clearPick(); }); });
  connect(m_source, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    guarded([this] {
      loadSource();
      applyFilter();
    });
  });
  connect(m_routeChip, &QToolButton::clicked, this, [this] {
    m_routedTo.clear();
    m_routeChip->hide();
    guarded([this] { applyFilter(); });
  });
  connect(m_model, &ExampleModel::modelReset, this, [this] {
    clearDetail();
    updateCount();
  });
  connect(m_model, &ExampleModel::fetched, this, &InspectView::updateCount);
  connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) {
            if (current.isValid()) guarded([&] { showDetail(current.row()); });
          });
  clearDetail();
}

void InspectView::setStore(const core::RunStore* store) {
  m_store = store;
  m_model->setStore(store);
  showRuns({});
}

void InspectView::showRuns(const std::vector<std::int64_t>& runIds) {
  m_runIds = runIds;
  std::int64_t scoreRun = 0;
  if (m_store)
    for (std::int64_t id : runIds)
      if (auto r = m_store->run(id); r && r->status == core::RunStatus::Finished) {
        scoreRun = id;
        break;
      }
  m_scoreBox->setRun(m_store ? QString::fromStdString(m_store->path()) : QString(), scoreRun);
  m_routedTo.clear();
  m_routeChip->hide();
  fillSources();
  loadSource();
  applyFilter();
}

void InspectView::fillSources() {
  const QString current = m_source->currentData().toString();
  const QSignalBlocker block(m_source);
  m_source->clear();
  m_source->addItem(tr("test pairs"), QString());
  std::set<std::string> names;
  if (m_store && !m_runIds.empty())
    for (const auto& e : m_store->evaluations(m_runIds)) names.insert(e.name);
  for (const auto& n : names)
    m_source->addItem(tr("evaluation: %1").arg(QString::fromStdString(n)),
                      QString::fromStdString(n));
  m_source->setCurrentIndex(std::max(0, m_source->findData(current)));
}

void InspectView::loadSource() {
  const std::string evaluation = m_source->currentData().toString().toStdString();
  m_pairs.clear();
  m_pick.reset();
  m_pickChip->hide();
  std::set<QString> domains;
  if (m_store && !m_runIds.empty()) {
    if (evaluation.empty()) {
      m_pairs = m_store->scoredPairs(m_runIds);
      for (const auto& r : m_store->results(m_runIds))
        if (r.metric == "accuracy" && r.domain != core::kWholeRun)
          domains.insert(QString::fromStdString(r.domain));
    } else {
      for (const auto& e : m_store->evaluations(m_runIds))
        if (e.name == evaluation) m_pairs[e.runId] = m_store->evaluationPairs(e.id);
    }
  }
  if (evaluation.empty()) {
    m_model->setRows(std::nullopt);
  } else {
    std::vector<core::ExampleRow> rows;
    for (const auto& [runId, pairs] : m_pairs)
      for (const auto& p : pairs) {
        core::ExampleRow r;
        r.runId = runId;
        r.exampleId = p.id;
        r.domain = p.domain;
        r.rewardChosen = p.rewardChosen;
        r.rewardRejected = p.rewardRejected;
        r.correct = p.correct;
        rows.push_back(r);
        domains.insert(QString::fromStdString(p.domain));
      }
    m_model->setRows(std::move(rows));
  }
  const QString current = m_domain->currentText();
  {
    const QSignalBlocker block(m_domain);
    m_domain->clear();
    m_domain->addItem(tr("all"));
    for (const QString& d : domains) m_domain->addItem(d);
    m_domain->setCurrentIndex(std::max(0, m_domain->findText(current)));
  }
  // Routes and the flipped scan are read from the test examples only.
  const bool testPairs = evaluation.empty();
  m_flipped->setEnabled(testPairs && m_runIds.size() == 2);
  m_misrouted->setEnabled(testPairs);
}

void InspectView::fillLengthPlot() {
  m_lengthPlot->clearPlottables();
  m_lengthPlot->clearItems();
  std::map<std::string, int> domainIndex;
  for (const auto& [runId, pairs] : m_shown)
    for (const auto& p : pairs) domainIndex.emplace(p.domain, 0);
  int i = 0;
  for (auto& [d, index] : domainIndex) index = i++;
  // One graph per domain and side; QCPGraph keeps its data sorted by key, so the points are
  // sorted here and their references with them.
  struct Point {
    double length, reward;
    std::int64_t runId;
    std::size_t pair;
  };
  std::map<std::pair<std::string, bool>, std::vector<Point>> series;
  std::size_t unknown = 0;
  for (const auto& [runId, pairs] : m_shown)
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const core::ScoredPair& p = pairs[k];
      if (p.chosenLength < 0 || p.rejectedLength < 0) {
        ++unknown;
        continue;
      }
      series[{p.domain, true}].push_back(
          {static_cast<double>(p.chosenLength), p.rewardChosen, runId, k});
      series[{p.domain, false}].push_back(
          {static_cast<double>(p.rejectedLength), p.rewardRejected, runId, k});
    }
  for (auto& [key, points] : series) {
    std::stable_sort(points.begin(), points.end(),
                     [](const Point& a, const Point& b) { return a.length < b.length; });
    const QColor c = seriesColor(domainIndex.at(key.first));
    auto* g = m_lengthPlot->addGraph();
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(key.second ? QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 5)
                                  : QCPScatterStyle(QCPScatterStyle::ssCircle, c, 5));
    g->setPen(QPen(c));
    QVector<double> x, y;
    auto& refs = m_pointRefs[g];
    for (const Point& p : points) {
      x.append(p.length);
      y.append(p.reward);
      refs.emplace_back(p.runId, p.pair);
    }
    g->setData(x, y, true);
    if (key.second)
      g->setName(QString::fromStdString(key.first));
    else
      g->removeFromLegend();
  }
  m_lengthPlot->rescaleAxes();
  for (QCPAxis* a : {m_lengthPlot->xAxis, m_lengthPlot->yAxis}) {
    const QCPRange r = a->range();
    a->setRange(r.lower - 0.05 * r.size() - 1e-9, r.upper + 0.05 * r.size() + 1e-9);
  }
  m_lengthPlot->replot(QCustomPlot::rpQueuedReplot);
  QStringList notes;
  if (m_pairs.empty())
    notes << tr("No scored pairs for the selected runs.");
  else if (std::all_of(m_shown.begin(), m_shown.end(),
                       [](const auto& r) { return r.second.empty(); }))
    notes << tr("No pair matches the filters.");
  else if (unknown > 0)
    notes << tr("%n pair(s) without their texts in the store are not on the length plot.", nullptr,
                static_cast<int>(unknown));
  m_plotNote->setText(notes.join(' '));
}

void InspectView::fillReliabilityPlot() {
  m_reliability->clearPlottables();
  m_bins.clear();
  // The diagonal first: the bins' graphs lie above it and take the clicks near it.
  auto* diagonal = m_reliability->addGraph();
  diagonal->setData({0.0, 1.0}, {0.0, 1.0}, true);
  QPen dash(palette().color(QPalette::PlaceholderText), 1, Qt::DashLine);
  diagonal->setPen(dash);
  diagonal->setName(tr("perfect calibration"));
  // Each run in the look it has in the Monitor and Compare (runStyles), the legend as theirs.
  std::vector<core::RunInfo> runs;
  for (const auto& [runId, pairs] : m_shown)
    if (const std::optional<core::RunInfo> run = m_store->run(runId)) runs.push_back(*run);
  const std::map<std::int64_t, CurveStyle> styles = runStyles(runs);
  for (const auto& [runId, pairs] : m_shown) {
    std::vector<double> margins;
    for (const auto& p : pairs) margins.push_back(p.rewardChosen - p.rewardRejected);
    const std::vector<core::ReliabilityBin>& bins = m_bins[runId] =
        core::reliabilityDiagram(margins);
    const auto style = styles.find(runId);
    const CurveStyle look = style == styles.end() ? CurveStyle{seriesColor(0)} : style->second;
    auto* g = m_reliability->addGraph();
    g->setPen(QPen(look.color, 1.5, look.dash));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, look.color, look.color, 7));
    g->removeFromLegend();
    QVector<double> x, y;
    auto& refs = m_pointRefs[g];
    for (std::size_t b = 0; b < bins.size(); ++b) {
      if (bins[b].count == 0) continue;
      x.append(bins[b].meanPredicted);
      y.append(bins[b].observed);
      refs.emplace_back(runId, b);
    }
    // Bins are in order of their mean prediction already.
    g->setData(x, y, true);
    g->setName(QStringLiteral("#%1").arg(runId));
  }
  // Data-less graphs that only draw the legend's entries.
  for (const LegendEntry& e : runLegend(runs, styles, palette().color(QPalette::WindowText))) {
    auto* g = m_reliability->addGraph();
    g->setName(e.label);
    g->setPen(QPen(e.style.color, 1.5, e.style.dash));
  }
  m_reliability->xAxis->setRange(-0.02, 1.02);
  m_reliability->yAxis->setRange(-0.02, 1.02);
  m_reliability->replot(QCustomPlot::rpQueuedReplot);
}

void InspectView::onPlotClick(QCPAbstractPlottable* plottable, int dataIndex) {
  auto it = m_pointRefs.find(plottable);
  if (it == m_pointRefs.end() || dataIndex < 0 || dataIndex >= static_cast<int>(it->second.size()))
    return;
  const auto [runId, index] = it->second[static_cast<std::size_t>(dataIndex)];
  if (plottable->parentPlot() == m_reliability)
    pickBin(runId, static_cast<int>(index));
  else
    pickPair(runId, m_shown.at(runId).at(index).id);
}

void InspectView::pickPair(std::int64_t runId, const std::string& pairId) {
  setPick({{runId, pairId}},
          tr("pair %1 of #%2  ✕").arg(QString::fromStdString(pairId)).arg(runId));
}

void InspectView::pickBin(std::int64_t runId, int bin) {
  auto it = m_bins.find(runId);
  if (it == m_bins.end() || bin < 0 || bin >= static_cast<int>(it->second.size())) return;
  const core::ReliabilityBin& b = it->second[static_cast<std::size_t>(bin)];
  std::set<std::pair<std::int64_t, std::string>> pairs;
  for (std::size_t k : b.pairs) pairs.emplace(runId, m_shown.at(runId).at(k).id);
  setPick(std::move(pairs),
          tr("#%1, P in [%2, %3): %n pair(s)  ✕", nullptr, static_cast<int>(b.pairs.size()))
              .arg(runId)
              .arg(b.lower, 0, 'f', 1)
              .arg(b.upper, 0, 'f', 1));
}

void InspectView::setPick(std::set<std::pair<std::int64_t, std::string>> pairs,
                          const QString& label) {
  m_pick = std::move(pairs);
  m_pickChip->setText(label);
  m_pickChip->show();
  // The plots stay as they are: the pick narrows the table only (and a plot is not rebuilt in
  // its own click).
  applyFilter(false);
}

void InspectView::clearPick() {
  m_pick.reset();
  m_pickChip->hide();
  applyFilter(false);
}

void InspectView::showConfusionCell(std::int64_t runId, const QString& domain,
                                    const QString& routedTo) {
  if (m_source->currentIndex() != 0) {
    const QSignalBlocker b(m_source);
    m_source->setCurrentIndex(0);
  }
  loadSource();
  {
    const QSignalBlocker b1(m_domain), b2(m_misrouted), b3(m_flipped), b4(m_result);
    if (m_domain->findText(domain) < 0) m_domain->addItem(domain);
    m_domain->setCurrentText(domain);
    m_misrouted->setChecked(false);
    m_flipped->setChecked(false);
    m_result->setCurrentIndex(0);
  }
  m_routedTo = routedTo;
  m_routeChip->setText(tr("run #%1 routed to %2  ✕").arg(runId).arg(routedTo));
  m_routeChip->show();
  applyFilter();
}

std::map<std::int64_t, std::vector<core::ScoredPair>> InspectView::filteredPairs(
    const InspectFilter& f) const {
  const core::ExampleFilter& b = f.base;
  // What a scored pair cannot say (its texts, its route) is asked of the store, once.
  std::optional<std::set<std::pair<std::int64_t, std::string>>> allowed;
  const bool evaluation = m_model->hasOwnRows();
  if (!b.search.empty() || (!evaluation && (b.misroutedOnly || !f.routedTo.empty()))) {
    allowed.emplace();
    if (evaluation) {
      for (const auto& [runId, pairs] : m_pairs)
        for (const auto& p : pairs) {
          const std::optional<core::PreferencePair> t = m_store->pair(p.id);
          if (t && (t->prompt.find(b.search) != std::string::npos ||
                    t->chosen.find(b.search) != std::string::npos ||
                    t->rejected.find(b.search) != std::string::npos))
            allowed->emplace(runId, p.id);
        }
    } else {
      core::ExampleFilter query = b;
      if (f.flipped) query.correct.reset();  // as the table's flipped scan
      for (const auto& r : m_store->examples(query, 0, std::numeric_limits<std::int64_t>::max()))
        if (f.routedTo.empty() || r.routedTo == f.routedTo) allowed->emplace(r.runId, r.exampleId);
    }
  }
  // Flipped: right in one of the two runs, wrong in the other.
  std::map<std::string, int> rightIn;
  if (f.flipped && m_runIds.size() == 2)
    for (const auto& [runId, pairs] : m_pairs)
      for (const auto& p : pairs) rightIn[p.id] += p.correct ? 1 : 0;
  std::map<std::int64_t, std::vector<core::ScoredPair>> out;
  for (const auto& [runId, pairs] : m_pairs) {
    std::vector<core::ScoredPair>& kept = out[runId];
    for (const auto& p : pairs) {
      const double margin = p.rewardChosen - p.rewardRejected;
      if (!b.domain.empty() && p.domain != b.domain) continue;
      if (!f.flipped && b.correct && p.correct != *b.correct) continue;
      if ((b.minMargin && margin < *b.minMargin) || (b.maxMargin && margin > *b.maxMargin))
        continue;
      if (f.flipped && rightIn[p.id] != 1) continue;
      if (allowed && !allowed->count({runId, p.id})) continue;
      kept.push_back(p);
    }
  }
  return out;
}

void InspectView::applyFilter(bool plots) {
  InspectFilter f;
  f.base.runIds = m_runIds;
  if (m_domain->currentIndex() > 0) f.base.domain = m_domain->currentText().toStdString();
  if (m_result->currentIndex() > 0) f.base.correct = m_result->currentIndex() == 1;
  f.base.minMargin = numberOf(m_minMargin);
  f.base.maxMargin = numberOf(m_maxMargin);
  f.base.misroutedOnly = m_misrouted->isChecked();
  f.base.search = m_search->text().toStdString();
  f.base.sort = m_model->filter().base.sort;
  f.routedTo = m_routedTo.toStdString();
  f.flipped = m_flipped->isChecked() && m_flipped->isEnabled();
  f.base.misroutedOnly = f.base.misroutedOnly && m_misrouted->isEnabled();
  if (plots) {
    m_shown = filteredPairs(f);
    // Both plots are rebuilt together: the references of the graphs they delete go with them.
    m_pointRefs.clear();
    fillLengthPlot();
    fillReliabilityPlot();
  }
  f.only = m_pick;
  m_model->setFilter(f);
  // The first page now, so that the first example's detail shows without a click.
  if (m_model->canFetchMore({})) m_model->fetchMore({});
  if (m_model->rowCount() > 0) {
    m_table->resizeColumnsToContents();
    m_table->setCurrentIndex(m_model->index(0, 0));
  }
}

void InspectView::updateCount() {
  const std::int64_t total = m_model->totalCount();
  if (m_runIds.empty()) {
    m_count->setText(tr("Select runs in the browser"));
  } else if (total < 0) {
    m_count->setText(tr("%1+ examples (scrolling reads more)").arg(m_model->rowCount()));
  } else {
    m_count->setText(total == 1 ? tr("1 example") : tr("%1 examples").arg(total));
  }
}

void InspectView::clearDetail() {
  m_header->setText(tr("Select an example to see its texts and rewards."));
  for (QPlainTextEdit* t : {m_prompt, m_chosen, m_rejected}) t->clear();
  m_contrib->clearPlottables();
  m_contrib->hide();
  m_contribNote->clear();
}

void InspectView::showDetail(int row) {
  const core::ExampleRow& e = m_model->example(row);
  const double margin = e.rewardChosen - e.rewardRejected;
  QString route = m_model->hasOwnRows() ? tr("evaluation pair")
                  : e.routedTo.empty()  ? tr("not routed (single model)")
                                       : tr("routed to %1").arg(QString::fromStdString(e.routedTo));
  m_header->setText(tr("<b>Run #%1</b> · %2 · %3<br>reward chosen %4 · rejected %5 · margin %6 "
                       "· %7")
                        .arg(e.runId)
                        .arg(QString::fromStdString(e.domain))
                        .arg(e.correct ? tr("correct") : tr("wrong"))
                        .arg(e.rewardChosen, 0, 'f', 4)
                        .arg(e.rewardRejected, 0, 'f', 4)
                        .arg(margin, 0, 'f', 4)
                        .arg(route));
  const std::optional<core::PreferencePair> pair =
      m_store ? m_store->pair(e.exampleId) : std::nullopt;
  m_prompt->setPlainText(pair ? QString::fromStdString(pair->prompt)
                              : tr("(text not in the store)"));
  m_chosen->setPlainText(pair ? QString::fromStdString(pair->chosen) : QString());
  m_rejected->setPlainText(pair ? QString::fromStdString(pair->rejected) : QString());

  m_contrib->clearPlottables();
  const QJsonObject detail =
      QJsonDocument::fromJson(QByteArray::fromStdString(e.detailJson)).object();
  m_contrib->setVisible(!detail.isEmpty());
  if (detail.isEmpty()) {
    m_contribNote->setText(tr("This method records no per-expert or per-capability parts."));
    return;
  }
  m_contribNote->setText(tr("Per-expert / per-capability contributions to this example"));
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  auto* bars = new QCPBars(m_contrib->xAxis, m_contrib->yAxis);
  QColor c = seriesColor(0);
  bars->setPen(QPen(c));
  c.setAlpha(170);
  bars->setBrush(c);
  QVector<double> keys, values;
  for (auto it = detail.begin(); it != detail.end(); ++it) {
    keys.append(keys.size());
    values.append(it.value().toDouble());
    ticker->addTick(keys.back(), it.key());
  }
  bars->setData(keys, values, true);
  m_contrib->xAxis->setTicker(ticker);
  m_contrib->xAxis->setTickLabelRotation(keys.size() > 4 ? 30 : 0);
  m_contrib->xAxis->setRange(-0.7, keys.size() - 0.3);
  bool found = false;
  QCPRange r = bars->getValueRange(found);
  r.expand(0);
  m_contrib->yAxis->setRange(r.lower - 0.1 * r.size(), r.upper + 0.1 * r.size());
  m_contrib->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace rr::ui
