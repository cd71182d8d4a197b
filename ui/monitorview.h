#pragma once
// The Monitor view: stacked live curves (loss, validation accuracy, learning rate, pairs/s)
// against step or wall time, the routing panel, progress with pause / resume / cancel, and the
// log. It shows the runs selected in the browser plus every run that is live right now.
#include <QWidget>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "livebatch.h"
#include "plotstyle.h"
#include "store/runstore.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;

namespace rr::ui {

class CurvePlot;
class RoutingPanel;

class MonitorView : public QWidget {
  Q_OBJECT
 public:
  explicit MonitorView(QWidget* parent = nullptr);

  // A new store (or none): forgets every shown run.
  void setStore(const core::RunStore* store);
  // Shows these runs' stored curves next to the live runs.
  void showRuns(const std::vector<std::int64_t>& runIds);
  // Adds what a run controller or the store watcher delivered; batches of another database
  // and of runs this view does not know how to label are dropped.
  void appendLive(const LiveBatch& batch);
  // Whether the pause / cancel buttons act on a job of this process, and whether it is paused
  // (the progress line then says so, without an ETA).
  void setJobActive(bool active, bool paused);

  // Raw points of a run's metric as plotted (x follows the current x-axis mode).
  QVector<QPointF> curve(std::int64_t runId, const std::string& key,
                         const std::string& component = "model") const;
  // The plot a metric key is drawn in (loss, val_accuracy, lr, pairs_per_s, balance_loss), or
  // null; its curves have the ids curveId() gives.
  CurvePlot* plotFor(const std::string& key) const;
  static QString curveId(std::int64_t runId, const std::string& component, const std::string& key);
  // The id of one process's curve of a distributed run (shown with "Per process").
  static QString rankCurveId(std::int64_t runId, const std::string& component,
                             const std::string& key, int rank);

  // Up to this many runs in a plot, the legend has an entry per run; above, one per method group
  // and one per seed.
  static constexpr std::size_t kRunsInLegend = ui::kRunsInLegend;

 Q_SIGNALS:
  void pauseRequested(bool paused);
  void cancelRequested();
  void confusionCellClicked(std::int64_t runId, const QString& domain, const QString& routedTo);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  struct Point {
    double step, wall, value;
  };
  using SeriesKey = std::pair<std::string, std::string>;  // component, key
  using RankKey = std::tuple<std::string, std::string, int>;  // component, key, rank
  struct RunData {
    core::RunInfo info;
    std::map<SeriesKey, std::vector<Point>> series;
    // A distributed run's per-process rows, read while "Per process" is on.
    std::map<RankKey, std::vector<Point>> rankSeries;
    std::int64_t rankRowsRead = 0;  // the store row they were read up to
  };

  bool addRun(std::int64_t runId);
  void addPoints(std::int64_t runId, const std::vector<core::MetricRow>& rows);
  void plotPoints(const RunData& run, const SeriesKey& key, std::size_t from);
  // Reads and plots the per-process rows the store has beyond those read (Per process on).
  void readRankRows(RunData& run);
  void plotRankPoints(const RunData& run, const RankKey& key, std::size_t from);
  // Adds points[from..] to the curve `id` of `plot`, x as the x-axis mode says.
  void appendTo(CurvePlot* plot, const QString& id, const QString& label, const CurveStyle& style,
                const std::vector<Point>& points, std::size_t from) const;
  void rebuildPlots();
  void updateLegends();
  void updateRouting();
  void updateLog();
  void afterAppend();
  void syncXRange(CurvePlot* source);
  void setFollow(bool follow);
  void showProgress();
  void updateStyles();
  CurveStyle styleOf(std::int64_t runId) const;

  const core::RunStore* m_store = nullptr;
  std::map<std::int64_t, RunData> m_runs;
  std::set<std::int64_t> m_live;
  std::vector<std::int64_t> m_selected;
  std::map<std::int64_t, CurveStyle> m_styles;  // runStyles of the shown runs
  std::optional<core::ProgressInfo> m_lastProgress;
  bool m_progressRemote = false;
  bool m_paused = false;

  std::vector<CurvePlot*> m_plots;
  RoutingPanel* m_routing;
  QComboBox* m_xMode;
  QCheckBox* m_logScale;
  QSlider* m_smoothing;
  QCheckBox* m_follow;
  QCheckBox* m_perRank;
  QProgressBar* m_progress;
  QLabel* m_progressText;
  QPushButton* m_pause;
  QPushButton* m_cancel;
  QPlainTextEdit* m_log;
  bool m_syncing = false;
};

}  // namespace rr::ui
