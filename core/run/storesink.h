#pragma once
// The sink that writes a run's reports into the run store (through RunRecorder, run/runrecorder.h).
// Public so that the bench's run-store overhead times exactly this sink.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "train/metricsink.h"

namespace rr::core {

class RunWriter;

// Writes what a run reports into the run store: every metric and log line of a run (runId > 0),
// its progress at most twice a second plus the final step, and its status changes. Log lines get
// the seconds since their run started running.
class StoreSink : public MetricSink {
 public:
  explicit StoreSink(RunWriter& writer) : m_writer(writer) {}
  void metric(const MetricRow& p) override;
  void progress(const ProgressInfo& i) override;
  void log(std::int64_t runId, LogLevel level, const std::string& message) override;
  void runStatus(std::int64_t runId, RunStatus status, const std::string& error) override;
  void rewind(std::int64_t runId, const std::string& component, std::int64_t step) override;
  void flush() override;

 private:
  RunWriter& m_writer;
  std::chrono::steady_clock::time_point m_last{};
  std::map<std::int64_t, std::chrono::steady_clock::time_point> m_started;
};

}  // namespace rr::core
