#include "monitorview.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QTabWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "curveplot.h"
#include "guard.h"
#include "plotstyle.h"
#include "routingpanel.h"

namespace rr::ui {
namespace {

enum XMode { XStep, XWall };

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

QString runLabel(const core::RunInfo& r) {
  return QStringLiteral("#%1 %2 s%3")
      .arg(r.id)
      .arg(QString::fromStdString(r.methodName))
      .arg(r.seed);
}

// The method as its run names it, with the method type when the config renamed it.
QString methodLabel(const core::RunInfo& r) {
  const QString name = QString::fromStdString(r.methodName);
  return r.methodName == r.method || r.method.empty()
             ? name
             : QStringLiteral("%1 (%2)").arg(name, QString::fromStdString(r.method));
}

QString metricLabel(const std::string& key) {
  if (key == "loss") return QObject::tr("loss");
  if (key == "lr") return QObject::tr("learning rate");
  if (key == "pairs_per_s") return QObject::tr("pairs/s");
  if (key == "balance_loss") return QObject::tr("balance loss");
  if (key == "val_accuracy") return QObject::tr("validation accuracy");
  if (key == "val_router_accuracy") return QObject::tr("routing accuracy");
  return QString::fromStdString(key);
}

// What hovering a curve says: the run, its method and seed, the component and the metric.
QString curveLabel(const core::RunInfo& run, const std::string& component, const std::string& key) {
  return QStringLiteral("#%1 %2 · seed %3 · %4 · %5")
      .arg(run.id)
      .arg(methodLabel(run))
      .arg(run.seed)
      .arg(QString::fromStdString(component), metricLabel(key));
}

// One process of a distributed run, drawn in its run's colour: a dash pattern per rank.
Qt::PenStyle rankDash(int rank) {
  static const Qt::PenStyle dashes[] = {Qt::DashLine, Qt::DotLine, Qt::DashDotLine,
                                        Qt::DashDotDotLine};
  return dashes[static_cast<std::size_t>(rank) % 4];
}

const char* levelPrefix(core::LogLevel level) {
  switch (level) {
    case core::LogLevel::Warning:
      return "warning: ";
    case core::LogLevel::Error:
      return "error: ";
    case core::LogLevel::Info:
      break;
  }
  return "";
}

}  // namespace

MonitorView::MonitorView(QWidget* parent) : QWidget(parent) {
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1000);
  m_progress->setTextVisible(false);
  m_progress->setMaximumWidth(260);
  m_progressText = new QLabel(tr("No run in progress."), this);
  m_progressText->setObjectName(QStringLiteral("progressText"));
  m_pause = new QPushButton(tr("Pause"), this);
  m_pause->setObjectName(QStringLiteral("pauseButton"));
  m_pause->setCheckable(true);
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_cancel->setObjectName(QStringLiteral("cancelButton"));
  auto* progressRow = new QHBoxLayout;
  progressRow->addWidget(m_progress);
  progressRow->addWidget(m_progressText, 1);
  progressRow->addWidget(m_pause);
  progressRow->addWidget(m_cancel);

  m_xMode = new QComboBox(this);
  m_xMode->addItems({tr("Step"), tr("Wall time (s)")});
  m_logScale = new QCheckBox(tr("Log scale (loss, lr)"), this);
  m_smoothing = new QSlider(Qt::Horizontal, this);
  m_smoothing->setRange(0, 99);
  m_smoothing->setValue(60);
  m_smoothing->setMaximumWidth(160);
  m_smoothing->setToolTip(tr("EMA smoothing weight; the raw curve stays faded behind"));
  m_follow = new QCheckBox(tr("Follow"), this);
  m_follow->setChecked(true);
  m_follow->setToolTip(
      tr("Keep the whole x range in view as data arrives; zooming or dragging "
         "a plot turns this off, a double click turns it back on"));
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("x axis:"), this));
  controls->addWidget(m_xMode);
  controls->addWidget(m_logScale);
  controls->addWidget(new QLabel(tr("Smoothing:"), this));
  controls->addWidget(m_smoothing);
  controls->addWidget(m_follow);
  m_perRank = new QCheckBox(tr("Per process"), this);
  m_perRank->setObjectName(QStringLiteral("perRank"));
  m_perRank->setToolTip(
      tr("Runs over several processes (run --nproc): each process's loss and pairs/s as well as "
         "the whole job's"));
  controls->addWidget(m_perRank);
  controls->addStretch(1);

  auto* stack = new QSplitter(Qt::Vertical, this);
  const std::pair<const char*, QString> plots[] = {{"lossPlot", tr("Training loss")},
                                                   {"accuracyPlot", tr("Validation accuracy")},
                                                   {"lrPlot", tr("Learning rate")},
                                                   {"throughputPlot", tr("Throughput (pairs/s)")}};
  for (const auto& [name, title] : plots) {
    auto* p = new CurvePlot(title, stack);
    p->setObjectName(QString::fromLatin1(name));
    p->setMinimumHeight(110);
    stack->addWidget(p);
    m_plots.push_back(p);
  }
  stack->setStretchFactor(0, 3);
  stack->setStretchFactor(1, 3);
  stack->setStretchFactor(2, 2);
  stack->setStretchFactor(3, 2);
  m_routing = new RoutingPanel(this);
  m_plots.push_back(m_routing->balancePlot());
  auto* tabs = new QTabWidget(this);
  tabs->addTab(stack, tr("Curves"));
  tabs->addTab(m_routing, tr("Routing"));

  m_log = new QPlainTextEdit(this);
  m_log->setObjectName(QStringLiteral("logPane"));
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(10000);
  m_log->setLineWrapMode(QPlainTextEdit::NoWrap);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(tabs);
  split->addWidget(m_log);
  split->setStretchFactor(0, 5);
  split->setStretchFactor(1, 1);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(progressRow);
  layout->addLayout(controls);
  layout->addWidget(split, 1);

  for (CurvePlot* p : m_plots) {
    connect(p->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            [this, p] { syncXRange(p); });
    connect(p, &QCustomPlot::mouseWheel, this, [this] { setFollow(false); });
    connect(p, &QCustomPlot::mouseDoubleClick, this, [this] { setFollow(true); });
    connect(p, &QCustomPlot::mouseMove, this, [this, p](QMouseEvent* e) {
      if (e->buttons() != Qt::NoButton) {
        setFollow(false);
        return;
      }
      const double x = p->xAxis->pixelToCoord(e->position().x());
      for (CurvePlot* other : m_plots) {
        other->setCursorX(x);
        other->replot(QCustomPlot::rpQueuedReplot);
      }
      const QString values = p->hoverText(e->position());
      if (values.isEmpty()) return;
      const QString head = m_xMode->currentIndex() == XStep ? tr("step %1").arg(qRound(x))
                                                            : tr("t = %1 s").arg(x, 0, 'f', 1);
      QToolTip::showText(e->globalPosition().toPoint(), head + '\n' + values, p);
    });
    p->installEventFilter(this);
  }
  connect(m_xMode, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    for (CurvePlot* p : m_plots) p->xAxis->setLabel(m_xMode->currentText().toLower());
    rebuildPlots();
  });
  connect(m_logScale, &QCheckBox::toggled, this, [this](bool on) {
    m_plots[0]->setLogScale(on);
    m_plots[2]->setLogScale(on);
    afterAppend();
  });
  connect(m_smoothing, &QSlider::valueChanged, this, [this](int v) {
    for (CurvePlot* p : m_plots) p->setSmoothing(v / 100.0);
    afterAppend();
  });
  connect(m_follow, &QCheckBox::toggled, this, [this](bool on) {
    if (on) afterAppend();
  });
  connect(m_perRank, &QCheckBox::toggled, this, [this](bool on) {
    guarded([&] {
      for (auto& [id, run] : m_runs) {
        run.rankSeries.clear();
        run.rankRowsRead = 0;
        if (on) readRankRows(run);
      }
    });
    rebuildPlots();
  });
  connect(m_pause, &QPushButton::toggled, this, [this](bool on) {
    m_pause->setText(on ? tr("Resume") : tr("Pause"));
    Q_EMIT pauseRequested(on);
  });
  connect(m_cancel, &QPushButton::clicked, this, &MonitorView::cancelRequested);
  connect(m_routing, &RoutingPanel::cellClicked, this, &MonitorView::confusionCellClicked);
  for (CurvePlot* p : m_plots) p->xAxis->setLabel(m_xMode->currentText().toLower());
  setJobActive(false, false);
}

bool MonitorView::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::Leave) {
    for (CurvePlot* p : m_plots) {
      p->setCursorX(std::nan(""));
      p->clearHighlight();
      p->replot(QCustomPlot::rpQueuedReplot);
    }
  }
  return QWidget::eventFilter(watched, event);
}

void MonitorView::setStore(const core::RunStore* store) {
  m_store = store;
  m_runs.clear();
  m_live.clear();
  m_selected.clear();
  m_log->clear();
  m_progress->setValue(0);
  m_lastProgress.reset();
  showProgress();
  m_styles.clear();
  rebuildPlots();
  updateRouting();
}

bool MonitorView::addRun(std::int64_t runId) {
  if (m_runs.count(runId)) return true;
  if (!m_store) return false;
  std::optional<core::RunInfo> info = m_store->run(runId);
  if (!info) return false;
  m_runs[runId].info = *info;
  return true;
}

void MonitorView::showRuns(const std::vector<std::int64_t>& runIds) {
  m_selected = runIds;
  for (auto it = m_runs.begin(); it != m_runs.end();) {
    const bool keep = m_live.count(it->first) ||
                      std::find(runIds.begin(), runIds.end(), it->first) != runIds.end();
    it = keep ? std::next(it) : m_runs.erase(it);
  }
  for (auto id : runIds) {
    if (m_runs.count(id) || !addRun(id)) continue;
    addPoints(id, m_store->metrics(id));
    readRankRows(m_runs[id]);
  }
  updateStyles();
  rebuildPlots();
  updateRouting();
  updateLog();
}

void MonitorView::addPoints(std::int64_t runId, const std::vector<core::MetricRow>& rows) {
  RunData& run = m_runs[runId];
  for (const auto& r : rows)
    run.series[{r.component, r.key}].push_back({static_cast<double>(r.step), r.wallTime, r.value});
}

void MonitorView::updateStyles() {
  std::vector<core::RunInfo> runs;
  for (const auto& [id, run] : m_runs) runs.push_back(run.info);
  m_styles = runStyles(runs);
}

CurveStyle MonitorView::styleOf(std::int64_t runId) const {
  auto it = m_styles.find(runId);
  return it == m_styles.end() ? CurveStyle{} : it->second;
}

void MonitorView::appendLive(const LiveBatch& batch) {
  if (!m_store || batch.dbPath != m_store->path()) return;
  // The progress first: a run that ended in this batch then clears the line below.
  if (batch.progress) {
    m_lastProgress = batch.progress;
    m_progressRemote = batch.remote;
    showProgress();
  }
  bool finished = false;
  bool newRun = false;
  for (const auto& s : batch.statuses) {
    const bool known = m_runs.count(s.runId) > 0;
    if (!addRun(s.runId)) continue;
    newRun = newRun || !known;
    RunData& run = m_runs[s.runId];
    run.info.status = s.status;
    if (s.status == core::RunStatus::Queued || s.status == core::RunStatus::Running) {
      m_live.insert(s.runId);
    } else {
      m_live.erase(s.runId);
      finished = finished || s.status == core::RunStatus::Finished;
      // The run the progress line was about has ended: the line says so, not "step 84/84 · ETA 0s".
      if (m_lastProgress && m_lastProgress->runId == s.runId) {
        m_progressText->setText(tr("#%1 %2 seed %3 %4 · no run in progress")
                                    .arg(s.runId)
                                    .arg(QString::fromStdString(m_lastProgress->method))
                                    .arg(m_lastProgress->seed)
                                    .arg(QString::fromStdString(core::toString(s.status))));
        m_lastProgress.reset();
      }
      m_log->appendPlainText(QStringLiteral("[#%1] %2%3%4")
                                 .arg(s.runId)
                                 .arg(QString::fromStdString(core::toString(s.status)))
                                 .arg(s.error.empty() ? QString() : QStringLiteral(": "))
                                 .arg(QString::fromStdString(s.error)));
    }
  }
  // New points per series, then one append per curve.
  std::map<std::pair<std::int64_t, SeriesKey>, std::size_t> firstNew;
  for (const auto& p : batch.metrics) {
    if (!m_runs.count(p.runId)) continue;
    auto& points = m_runs[p.runId].series[{p.component, p.key}];
    firstNew.emplace(std::make_pair(p.runId, SeriesKey{p.component, p.key}), points.size());
    points.push_back({static_cast<double>(p.step), p.wallTime, p.value});
  }
  bool newSeries = false;
  std::set<std::int64_t> grown;
  for (const auto& [key, from] : firstNew) {
    plotPoints(m_runs[key.first], key.second, from);
    newSeries = newSeries || from == 0;
    grown.insert(key.first);
  }
  // A distributed run's processes write their rows with the run's: read them as they come.
  for (std::int64_t id : grown) readRankRows(m_runs[id]);
  if (newSeries) updateLegends();
  for (const auto& l : batch.logs)
    m_log->appendPlainText((l.runId > 0 ? QStringLiteral("[#%1] ").arg(l.runId) : QString()) +
                           QString::fromLatin1(levelPrefix(l.level)) +
                           QString::fromStdString(l.message));
  if (newRun) {
    // A run that joins may take a colour or dashes another run had: every curve is redrawn.
    updateStyles();
    rebuildPlots();
  } else if (!firstNew.empty() || finished) {
    afterAppend();
  }
  if (finished) updateRouting();
}

void MonitorView::plotPoints(const RunData& run, const SeriesKey& key, std::size_t from) {
  CurvePlot* plot = plotFor(key.second);
  if (!plot) return;
  appendTo(plot, curveId(run.info.id, key.first, key.second),
           curveLabel(run.info, key.first, key.second), styleOf(run.info.id), run.series.at(key),
           from);
}

void MonitorView::appendTo(CurvePlot* plot, const QString& id, const QString& label,
                           const CurveStyle& style, const std::vector<Point>& points,
                           std::size_t from) const {
  QVector<double> xs, ys;
  const bool byStep = m_xMode->currentIndex() == XStep;
  for (std::size_t i = from; i < points.size(); ++i) {
    xs.append(byStep ? points[i].step : points[i].wall);
    ys.append(points[i].value);
  }
  plot->append(id, label, style, xs, ys);
}

void MonitorView::readRankRows(RunData& run) {
  if (!m_perRank->isChecked() || !m_store || run.info.worldSize <= 1) return;
  std::map<RankKey, std::size_t> firstNew;
  for (const auto& r : m_store->rankMetrics(run.info.id, run.rankRowsRead, &run.rankRowsRead)) {
    if (!plotFor(r.key)) continue;
    auto& points = run.rankSeries[{r.component, r.key, r.rank}];
    firstNew.emplace(RankKey{r.component, r.key, r.rank}, points.size());
    points.push_back({static_cast<double>(r.step), r.wallTime, r.value});
  }
  for (const auto& [key, from] : firstNew) plotRankPoints(run, key, from);
  if (!firstNew.empty()) updateLegends();
}

void MonitorView::plotRankPoints(const RunData& run, const RankKey& key, std::size_t from) {
  const auto& [component, metric, rank] = key;
  CurvePlot* plot = plotFor(metric);
  if (!plot) return;
  appendTo(plot, rankCurveId(run.info.id, component, metric, rank),
           curveLabel(run.info, component, metric) + tr(" · process %1").arg(rank),
           {styleOf(run.info.id).color, rankDash(rank)}, run.rankSeries.at(key), from);
}

QString MonitorView::rankCurveId(std::int64_t runId, const std::string& component,
                                 const std::string& key, int rank) {
  return curveId(runId, component, key) + QStringLiteral("|rank%1").arg(rank);
}

QString MonitorView::curveId(std::int64_t runId, const std::string& component,
                             const std::string& key) {
  return QStringLiteral("%1|%2|%3")
      .arg(runId)
      .arg(QString::fromStdString(component), QString::fromStdString(key));
}

CurvePlot* MonitorView::plotFor(const std::string& key) const {
  if (key == "loss") return m_plots[0];
  if (key == "val_accuracy" || key == "val_router_accuracy") return m_plots[1];
  if (key == "lr") return m_plots[2];
  if (key == "pairs_per_s") return m_plots[3];
  if (key == "balance_loss") return m_plots[4];
  return nullptr;
}

QVector<QPointF> MonitorView::curve(std::int64_t runId, const std::string& key,
                                    const std::string& component) const {
  CurvePlot* p = plotFor(key);
  return p ? p->curveData(curveId(runId, component, key)) : QVector<QPointF>();
}

void MonitorView::rebuildPlots() {
  for (CurvePlot* p : m_plots) p->clearCurves();
  for (const auto& [id, run] : m_runs) {
    for (const auto& [key, points] : run.series) plotPoints(run, key, 0);
    for (const auto& [key, points] : run.rankSeries) plotRankPoints(run, key, 0);
  }
  updateLegends();
  afterAppend();
}

void MonitorView::updateLegends() {
  const QColor ink = palette().color(QPalette::WindowText);
  for (CurvePlot* plot : m_plots) {
    // The runs with a curve in this plot, in id order.
    std::vector<core::RunInfo> runs;
    for (const auto& [id, run] : m_runs)
      for (const auto& [key, points] : run.series)
        if (!points.empty() && plotFor(key.second) == plot) {
          runs.push_back(run.info);
          break;
        }
    QVector<LegendEntry> entries = runLegend(runs, m_styles, ink);
    // The processes' own curves, when shown: one entry per rank (its dashes).
    std::set<int> ranks;
    for (const auto& [id, run] : m_runs)
      for (const auto& [key, points] : run.rankSeries)
        if (!points.empty() && plotFor(std::get<1>(key)) == plot) ranks.insert(std::get<2>(key));
    for (int rank : ranks) entries.append({tr("process %1").arg(rank), {ink, rankDash(rank)}});
    plot->setLegendEntries(entries);
  }
}

void MonitorView::afterAppend() {
  if (m_follow->isChecked()) {
    bool any = false;
    QCPRange range;
    for (CurvePlot* p : m_plots) {
      bool found = false;
      const QCPRange r = p->dataKeyRange(found);
      if (!found) continue;
      range = any ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
      any = true;
    }
    if (any) {
      if (range.size() <= 0) range = QCPRange(range.lower - 1, range.upper + 1);
      m_syncing = true;
      for (CurvePlot* p : m_plots) p->xAxis->setRange(range);
      m_syncing = false;
    }
  }
  for (CurvePlot* p : m_plots) {
    p->fitValueRange();
    p->replot(QCustomPlot::rpQueuedReplot);
  }
}

void MonitorView::syncXRange(CurvePlot* source) {
  if (m_syncing) return;
  m_syncing = true;
  for (CurvePlot* p : m_plots) {
    if (p != source) p->xAxis->setRange(source->xAxis->range());
    p->fitValueRange();
    p->replot(QCustomPlot::rpQueuedReplot);
  }
  m_syncing = false;
}

void MonitorView::setFollow(bool follow) {
  if (m_follow->isChecked() != follow) m_follow->setChecked(follow);
}

void MonitorView::updateRouting() {
  // Load: the newest shown run that logs load/<expert>.
  std::map<std::string, std::vector<std::pair<double, double>>> load;
  QString loadRun;
  for (auto it = m_runs.rbegin(); it != m_runs.rend() && load.empty(); ++it) {
    for (const auto& [key, points] : it->second.series) {
      if (!startsWith(key.second, "load/")) continue;
      auto& out = load[key.second.substr(5)];
      for (const auto& p : points) out.emplace_back(p.step, p.value);
      loadRun = runLabel(it->second.info);
    }
  }
  m_routing->setLoad(loadRun, load);

  // Confusion: the newest shown finished run whose examples carry a route.
  ConfusionCounts counts;
  for (auto it = m_runs.rbegin(); m_store && it != m_runs.rend(); ++it) {
    if (it->second.info.status != core::RunStatus::Finished) continue;
    core::ExampleFilter f;
    f.runIds = {it->first};
    const auto first = m_store->examples(f, 0, 1);
    if (first.empty() || first[0].routedTo.empty()) continue;
    std::set<std::string> domains, routes;
    constexpr std::int64_t kPage = 5000;
    for (std::int64_t offset = 0;; offset += kPage) {
      const auto rows = m_store->examples(f, offset, kPage);
      for (const auto& r : rows) {
        ++counts.counts[{r.domain, r.routedTo}];
        domains.insert(r.domain);
        routes.insert(r.routedTo);
      }
      if (static_cast<std::int64_t>(rows.size()) < kPage) break;
    }
    counts.runId = it->first;
    counts.runLabel = runLabel(it->second.info);
    counts.domains.assign(domains.begin(), domains.end());
    counts.routes.assign(routes.begin(), routes.end());
    break;
  }
  m_routing->setConfusion(counts);
}

void MonitorView::updateLog() {
  m_log->clear();
  if (!m_store) return;
  for (const auto& [id, run] : m_runs)
    for (const auto& l : m_store->logs(id))
      m_log->appendPlainText(
          QStringLiteral("[#%1] %2%3")
              .arg(id)
              .arg(QString::fromLatin1(levelPrefix(l.level)))
              .arg(QString::fromStdString(l.message)));
}

void MonitorView::showProgress() {
  if (!m_lastProgress) {
    m_progressText->setText(tr("No run in progress."));
    return;
  }
  const core::ProgressInfo& p = *m_lastProgress;
  m_progress->setValue(qRound(p.experimentFraction * 1000));
  QStringList parts;
  if (m_paused) parts << tr("Paused");
  if (m_progressRemote) {
    parts << tr("Watching #%1 %2 seed %3 (written by another process)")
                 .arg(p.runId)
                 .arg(QString::fromStdString(p.method))
                 .arg(p.seed);
  } else if (p.runId == 0) {
    // Before its runs exist the experiment pre-trains the encoder they share.
    parts << (p.runCount == 1 ? tr("Pre-training the encoder of the experiment's run")
                              : tr("Pre-training the encoder shared by the experiment's %1 runs")
                                    .arg(p.runCount));
  } else {
    parts << tr("Run %1/%2: #%3 %4 seed %5")
                 .arg(p.runIndex + 1)
                 .arg(p.runCount)
                 .arg(p.runId)
                 .arg(QString::fromStdString(p.method))
                 .arg(p.seed);
    if (!p.component.empty()) parts << QString::fromStdString(p.component);
  }
  parts << tr("step %1/%2").arg(p.step).arg(p.totalSteps);
  if (!m_paused) {
    if (p.pairsPerSecond > 0) parts << tr("%1 pairs/s").arg(p.pairsPerSecond, 0, 'f', 0);
    parts << tr("ETA %1").arg(formatDuration(p.etaSeconds));
  }
  m_progressText->setText(parts.join(QStringLiteral(" · ")));
}

void MonitorView::setJobActive(bool active, bool paused) {
  m_pause->setEnabled(active);
  m_cancel->setEnabled(active);
  const QSignalBlocker block(m_pause);
  m_pause->setChecked(active && paused);
  m_pause->setText(active && paused ? tr("Resume") : tr("Pause"));
  if (m_paused != (active && paused)) {
    m_paused = active && paused;
    showProgress();
  }
}

}  // namespace rr::ui
