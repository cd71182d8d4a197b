#include "storewatcher.h"

#include <tuple>

#include "guard.h"

namespace rr::ui {
namespace {

bool sameRuns(const std::vector<core::RunInfo>& a, const std::vector<core::RunInfo>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tie(a[i].id, a[i].status, a[i].step, a[i].totalSteps) !=
        std::tie(b[i].id, b[i].status, b[i].step, b[i].totalSteps))
      return false;
  return true;
}

}  // namespace

StoreWatcher::StoreWatcher(QObject* parent) : QObject(parent) {
  m_timer.setInterval(1000);
  connect(&m_timer, &QTimer::timeout, this, &StoreWatcher::poll);
}

void StoreWatcher::setStore(const core::RunStore* store,
                            std::function<bool(std::int64_t)> isLocal) {
  m_store = store;
  m_isLocal = std::move(isLocal);
  m_watched.clear();
  m_lastRuns.clear();
  if (m_store) {
    m_timer.start();
  } else {
    m_timer.stop();
  }
}

void StoreWatcher::poll() {
  if (!m_store) return;
  try {
    std::vector<core::RunInfo> runs = m_store->listRuns();
    LiveBatch batch;
    batch.dbPath = m_store->path();
    batch.remote = true;
    for (const auto& run : runs) {
      auto it = m_watched.find(run.id);
      const bool running = run.status == core::RunStatus::Running;
      if (it == m_watched.end()) {
        if (!running || (m_isLocal && m_isLocal(run.id))) continue;
        it = m_watched.emplace(run.id, Watched{}).first;
        batch.statuses.push_back({run.id, core::RunStatus::Running, ""});
      }
      follow(run, it->second, batch);
      if (!running) {
        batch.statuses.push_back({run.id, run.status, run.error});
        m_watched.erase(it);
      }
    }
    if (!batch.empty()) Q_EMIT batchReady(batch);
    if (!sameRuns(runs, m_lastRuns)) {
      m_lastRuns = runs;
      Q_EMIT runsChanged(m_lastRuns);
    }
  } catch (...) {
    Q_EMIT failed(currentErrorMessage());  // a timer callback: nothing may reach the event loop
  }
}

void StoreWatcher::follow(const core::RunInfo& run, Watched& w, LiveBatch& batch) {
  for (const auto& m : m_store->metrics(run.id, w.lastMetricRow, &w.lastMetricRow)) {
    batch.metrics.push_back(m);
    w.lastWallTime = m.wallTime;
  }
  const auto logs = m_store->logs(run.id);
  for (std::size_t i = w.logsSeen; i < logs.size(); ++i)
    batch.logs.push_back({run.id, logs[i].level, logs[i].message});
  w.logsSeen = logs.size();
  core::ProgressInfo p;
  p.runId = run.id;
  p.method = run.methodName;
  p.seed = run.seed;
  p.runCount = 1;
  p.step = run.step;
  p.totalSteps = run.totalSteps;
  p.runFraction = p.experimentFraction = run.progress;
  // The store keeps no ETA: extrapolate this run's elapsed time from its progress.
  if (run.progress > 0 && w.lastWallTime > 0)
    p.etaSeconds = w.lastWallTime * (1 - run.progress) / run.progress;
  batch.progress = p;
}

}  // namespace rr::ui
