#pragma once
// Runs an experiment on a worker thread for the GUI. The worker reports into a mutex-protected
// buffer; a 40 ms GUI timer swaps the buffer out and emits it as one LiveBatch, so the GUI
// thread never gets a queued signal per training step and the worker never touches a widget.
#include <QObject>
#include <QString>
#include <QTimer>
#include <cstdint>
#include <memory>
#include <thread>

#include "livebatch.h"
#include "run/experiment.h"

namespace rr::ui {

struct JobResult {
  std::string dbPath;
  core::ExperimentOutcome outcome;
  QString error;  // set when the experiment stopped on an exception (bad data, I/O)
};

class RunController : public QObject {
  Q_OBJECT
 public:
  explicit RunController(QObject* parent = nullptr);
  // Stops and joins a job still running, without emitting anything.
  ~RunController() override;

  // Starts `config` on the worker thread; returns false (nothing started) while a job runs.
  bool start(const core::ExperimentConfig& config, const core::ExperimentOptions& options);
  bool busy() const { return m_thread.joinable(); }
  bool paused() const;
  void setPaused(bool paused);
  // Asks the job to stop at its next checkpoint; the current run ends `cancelled`.
  void cancel();
  // Cancels, waits for the worker and delivers its last batch and jobFinished.
  void shutdown();
  // Whether the current job created `runId` (callable from any thread).
  bool ownsRun(std::int64_t runId) const;
  const std::string& dbPath() const { return m_dbPath; }

 Q_SIGNALS:
  void batchReady(const rr::ui::LiveBatch& batch);
  void jobStarted();
  void jobFinished(const rr::ui::JobResult& result);
  void pausedChanged(bool paused);

 private:
  class BufferSink;
  void drain();

  std::shared_ptr<BufferSink> m_sink;
  std::shared_ptr<core::RunControl> m_control;
  std::thread m_thread;
  std::string m_dbPath;
  QTimer m_timer;
};

}  // namespace rr::ui
