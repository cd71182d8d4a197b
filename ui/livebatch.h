#pragma once
// What the GUI learns about running work in one drain of the run controller's buffer or one poll
// of a database another process writes: metric points, the latest progress, log lines and status
// changes. Everything carries its run id and the database it belongs to, so a view drops what is
// not about the runs it shows.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/metricsink.h"

namespace rr::ui {

struct LogLine {
  std::int64_t runId = 0;
  core::LogLevel level = core::LogLevel::Info;
  std::string message;
};

struct StatusChange {
  std::int64_t runId = 0;
  core::RunStatus status = core::RunStatus::Queued;
  std::string error;
};

struct LiveBatch {
  std::string dbPath;
  bool remote = false;  // written by another process: watched, not controllable from here
  std::vector<core::MetricRow> metrics;
  std::optional<core::ProgressInfo> progress;  // the latest only
  std::vector<LogLine> logs;
  std::vector<StatusChange> statuses;

  bool empty() const { return metrics.empty() && !progress && logs.empty() && statuses.empty(); }
};

}  // namespace rr::ui
