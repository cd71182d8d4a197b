#include "run/storesink.h"

#include "store/runstore.h"

namespace rr::core {

void StoreSink::metric(const MetricPoint& p) {
  if (p.runId > 0) m_writer.addMetric({p.runId, p.component, p.step, p.wallTime, p.key, p.value});
}

void StoreSink::progress(const ProgressInfo& i) {
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last < std::chrono::milliseconds(500) && i.step < i.totalSteps) return;
  m_last = now;
  m_writer.setProgress(i.runId, i.step, i.totalSteps, i.runFraction);
}

void StoreSink::log(std::int64_t runId, LogLevel level, const std::string& message) {
  if (runId <= 0) return;
  const char* lv = level == LogLevel::Error     ? "error"
                   : level == LogLevel::Warning ? "warning"
                                                : "info";
  m_writer.addLog({runId, 0, lv, message});
}

}  // namespace rr::core
