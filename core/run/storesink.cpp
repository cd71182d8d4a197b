#include "run/storesink.h"

#include "store/runstore.h"

namespace rr::core {

void StoreSink::metric(const MetricRow& p) {
  if (p.runId > 0) m_writer.addMetric(p);
}

void StoreSink::progress(const ProgressInfo& i) {
  if (i.runId <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last < std::chrono::milliseconds(500) && i.step < i.totalSteps) return;
  m_last = now;
  m_writer.setProgress(i.runId, i.step, i.totalSteps, i.runFraction);
}

void StoreSink::log(std::int64_t runId, LogLevel level, const std::string& message) {
  if (runId <= 0) return;
  const auto it = m_started.find(runId);
  const double wallTime =
      it == m_started.end()
          ? 0
          : std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
  m_writer.addLog({runId, wallTime, level, message});
}

void StoreSink::runStatus(std::int64_t runId, RunStatus status, const std::string& error) {
  // RunWriter::createRun writes a run queued; the store has nothing to change then.
  if (runId <= 0 || status == RunStatus::Queued) return;
  if (status == RunStatus::Running) m_started[runId] = std::chrono::steady_clock::now();
  m_writer.setStatus(runId, status, error);
}

void StoreSink::rewind(std::int64_t runId, const std::string& component, std::int64_t step) {
  if (runId > 0) m_writer.rewindMetrics(runId, component, step);
}

void StoreSink::flush() { m_writer.flush(); }

}  // namespace rr::core
