#pragma once
// The sink that `run` writes a run's metric stream through into the run store. Public so that
// the bench's run-store overhead times exactly this sink.
#include <chrono>
#include <cstdint>
#include <string>

#include "train/metricsink.h"

namespace rr::core {

class RunWriter;

// Writes what a run reports into the run store: every metric and log line of a run (runId > 0),
// its progress at most twice a second plus the final step.
class StoreSink : public MetricSink {
 public:
  explicit StoreSink(RunWriter& writer) : m_writer(writer) {}
  void metric(const MetricPoint& p) override;
  void progress(const ProgressInfo& i) override;
  void log(std::int64_t runId, LogLevel level, const std::string& message) override;

 private:
  RunWriter& m_writer;
  std::chrono::steady_clock::time_point m_last{};
};

}  // namespace rr::core
