#pragma once
// What the commands that train (run, extend) share on the terminal: the progress line and log
// sink, and Ctrl-C reaching the work's RunControl.
#include <chrono>
#include <csignal>
#include <mutex>
#include <string>

#include "train/metricsink.h"
#include "train/runcontrol.h"

namespace rr::cli {

// Progress on one rewritten line when stderr is a terminal, else a line every few seconds; log
// lines and the end of each run (finished, failed with its error, cancelled).
class TerminalSink : public core::MetricSink {
 public:
  explicit TerminalSink(bool quiet);
  void metric(const core::MetricRow&) override {}
  void progress(const core::ProgressInfo& p) override;
  void log(std::int64_t runId, core::LogLevel level, const std::string& message) override;
  void runStatus(std::int64_t runId, core::RunStatus status, const std::string& error) override;
  // Ends an open progress line, so that what is printed next starts on its own line.
  void endLine();

 private:
  bool m_quiet, m_tty, m_open = false;
  std::mutex m_mutex;
  std::chrono::steady_clock::time_point m_last{};
};

// While alive, SIGINT and SIGTERM request a clean stop of `control` (the current run ends
// cancelled); a second Ctrl-C ends the process at once. The previous handlers come back after.
class StopOnSignal {
 public:
  explicit StopOnSignal(core::RunControl& control);
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  using Handler = void (*)(int);
  Handler m_oldInt, m_oldTerm;
};

}  // namespace rr::cli
