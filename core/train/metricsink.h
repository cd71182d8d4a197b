#pragma once
// What a training run reports while it goes: metric points, progress and log lines. Sinks are
// called on the worker thread; a GUI sink buffers under a mutex and the GUI drains it on a timer.
#include <cstdint>
#include <string>

#include "common/runtypes.h"

namespace rr::core {

struct ProgressInfo {
  std::int64_t runId = 0;
  std::string method;
  int seed = 0;
  int runIndex = 0, runCount = 0;  // which run of the experiment (0-based) out of how many
  std::string component;
  std::int64_t step = 0, totalSteps = 0;  // over the whole run, all components
  double runFraction = 0;                 // 0..1 of this run
  double experimentFraction = 0;          // 0..1 of the whole experiment
  double etaSeconds = -1;                 // of the whole experiment; -1 while unknown
  double pairsPerSecond = 0;
  double loss = 0;
};

class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual void metric(const MetricRow& point) = 0;
  virtual void progress(const ProgressInfo& info) = 0;
  virtual void log(std::int64_t runId, LogLevel level, const std::string& message) = 0;
  // A resumed run repeats the steps of `component` after `step`: what was reported for them is
  // dropped (the run store deletes those metric rows).
  virtual void rewind(std::int64_t runId, const std::string& component, std::int64_t step) {
    (void)runId;
    (void)component;
    (void)step;
  }
  // What was reported so far is stored (a checkpoint follows).
  virtual void flush() {}
  // A run changed status; error is set for failed and cancelled runs.
  virtual void runStatus(std::int64_t runId, RunStatus status, const std::string& error) {
    (void)runId;
    (void)status;
    (void)error;
  }
};

// Takes everything and keeps nothing (a recorder whose caller listens to the store only).
class NullSink : public MetricSink {
 public:
  void metric(const MetricRow&) override {}
  void progress(const ProgressInfo&) override {}
  void log(std::int64_t, LogLevel, const std::string&) override {}
};

// Forwards everything to two sinks (e.g. the run store and the terminal).
class TeeSink : public MetricSink {
 public:
  TeeSink(MetricSink& a, MetricSink& b) : m_a(a), m_b(b) {}
  void metric(const MetricRow& p) override {
    m_a.metric(p);
    m_b.metric(p);
  }
  void progress(const ProgressInfo& i) override {
    m_a.progress(i);
    m_b.progress(i);
  }
  void log(std::int64_t runId, LogLevel level, const std::string& message) override {
    m_a.log(runId, level, message);
    m_b.log(runId, level, message);
  }
  void rewind(std::int64_t runId, const std::string& component, std::int64_t step) override {
    m_a.rewind(runId, component, step);
    m_b.rewind(runId, component, step);
  }
  void flush() override {
    m_a.flush();
    m_b.flush();
  }
  void runStatus(std::int64_t runId, RunStatus status, const std::string& error) override {
    m_a.runStatus(runId, status, error);
    m_b.runStatus(runId, status, error);
  }

 private:
  MetricSink& m_a;
  MetricSink& m_b;
};

}  // namespace rr::core
