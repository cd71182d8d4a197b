#pragma once
// Watch mode: polls the open run store about once a second, reports the run list when it
// changed, and streams runs that another process is writing (incremental metric reads) as
// LiveBatches, like the run controller does for runs started here.
#include <QObject>
#include <QTimer>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "livebatch.h"
#include "store/runstore.h"

namespace rr::ui {

class StoreWatcher : public QObject {
  Q_OBJECT
 public:
  explicit StoreWatcher(QObject* parent = nullptr);

  // Starts polling `store` (not owned; nullptr stops). Runs for which `isLocal` is true are
  // streamed by this process already and are not watched.
  void setStore(const core::RunStore* store, std::function<bool(std::int64_t)> isLocal);
  // Polls now (also called by the timer).
  void poll();

 Q_SIGNALS:
  void runsChanged(const std::vector<rr::core::RunInfo>& runs);
  void batchReady(const rr::ui::LiveBatch& batch);
  void failed(const QString& message);

 private:
  struct Watched {
    std::int64_t lastMetricRow = 0;
    std::size_t logsSeen = 0;
    double lastWallTime = 0;
  };
  void follow(const core::RunInfo& run, Watched& w, LiveBatch& batch);

  const core::RunStore* m_store = nullptr;
  std::function<bool(std::int64_t)> m_isLocal;
  std::map<std::int64_t, Watched> m_watched;
  std::vector<core::RunInfo> m_lastRuns;
  QTimer m_timer;
};

}  // namespace rr::ui
