#include "runcontroller.h"

#include <mutex>
#include <set>

#include "guard.h"

namespace rr::ui {

class RunController::BufferSink : public core::MetricSink {
 public:
  void metric(const core::MetricRow& p) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_batch.metrics.push_back(p);
  }
  void progress(const core::ProgressInfo& info) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_batch.progress = info;
  }
  void log(std::int64_t runId, core::LogLevel level, const std::string& message) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_batch.logs.push_back({runId, level, message});
  }
  void runStatus(std::int64_t runId, core::RunStatus status, const std::string& error) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_batch.statuses.push_back({runId, status, error});
    m_owned.insert(runId);
  }
  void finish(JobResult result) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_result = std::move(result);
  }

  LiveBatch take() {
    LiveBatch out;
    std::lock_guard<std::mutex> lock(m_mutex);
    std::swap(out, m_batch);
    return out;
  }
  std::optional<JobResult> takeResult() {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::optional<JobResult> out;
    std::swap(out, m_result);
    return out;
  }
  bool owns(std::int64_t runId) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_owned.count(runId) > 0;
  }

 private:
  mutable std::mutex m_mutex;
  LiveBatch m_batch;
  std::set<std::int64_t> m_owned;
  std::optional<JobResult> m_result;
};

RunController::RunController(QObject* parent) : QObject(parent) {
  m_timer.setInterval(40);
  connect(&m_timer, &QTimer::timeout, this, &RunController::drain);
}

RunController::~RunController() {
  if (!busy()) return;
  m_control->requestStop();
  m_control->setPaused(false);
  m_thread.join();
}

bool RunController::start(const core::ExperimentConfig& config,
                          const core::ExperimentOptions& options) {
  if (busy()) return false;
  m_sink = std::make_shared<BufferSink>();
  m_control = std::make_shared<core::RunControl>();
  m_dbPath = options.dbPath;
  // The worker owns copies and shared handles only: nothing it touches dies with a view.
  m_thread = std::thread([sink = m_sink, control = m_control, config, options]() {
    JobResult result;
    result.dbPath = options.dbPath;
    try {
      result.outcome = core::runExperiment(config, options, *sink, *control);
    } catch (const core::Cancelled&) {
      result.outcome.cancelled = true;
    } catch (...) {
      result.error = currentErrorMessage();  // nothing thrown may leave the worker thread
    }
    sink->finish(std::move(result));
  });
  m_timer.start();
  Q_EMIT jobStarted();
  return true;
}

bool RunController::paused() const { return busy() && m_control->paused(); }

void RunController::setPaused(bool paused) {
  if (!busy() || paused == m_control->paused()) return;
  m_control->setPaused(paused);
  Q_EMIT pausedChanged(paused);
}

void RunController::cancel() {
  if (!busy()) return;
  m_control->requestStop();
  m_control->setPaused(false);
}

void RunController::shutdown() {
  if (!busy()) return;
  cancel();
  m_thread.join();
  drain();
}

bool RunController::ownsRun(std::int64_t runId) const { return m_sink && m_sink->owns(runId); }

void RunController::drain() {
  if (!m_sink) return;
  // The result first: whatever the worker reported before finishing is then in this batch.
  std::optional<JobResult> result = m_sink->takeResult();
  LiveBatch batch = m_sink->take();
  batch.dbPath = m_dbPath;
  if (!batch.empty()) Q_EMIT batchReady(batch);
  if (!result) return;
  if (m_thread.joinable()) m_thread.join();
  m_timer.stop();
  if (m_control->paused()) Q_EMIT pausedChanged(false);
  Q_EMIT jobFinished(*result);
}

}  // namespace rr::ui
