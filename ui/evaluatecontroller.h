#pragma once
// "Evaluate on…": a finished run's saved system scores another pairs file on a worker thread
// (core::evaluateRun, as `rewardrouter-cli evaluate` does), optionally after importing a
// dataset file into canonical pairs (core::importToFile, as `rewardrouter-cli import` does).
// The worker never touches a widget; its stages and its one result reach the GUI thread as
// queued calls (a handful per job, not one per scored batch).
#include <QObject>
#include <QString>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>

namespace rr::ui {

struct EvaluateJob {
  QString dbPath;
  std::int64_t runId = 0;
  QString pairsPath;  // a canonical pairs file, or the dataset file to import first
  QString name;       // "" = the canonical pairs file's name without its extension
  // Non-empty: pairsPath is a file of this import format (core::importFormatNames()), imported
  // into importOutput (which must not exist yet, or be a file `import` may replace), and that
  // canonical file is evaluated.
  QString importFormat;
  QString importOutput;
};

struct EvaluateOutcome {
  EvaluateJob job;
  std::int64_t evaluationId = 0;  // 0 when it failed
  QString name;
  std::int64_t pairs = 0, right = 0;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> perDomain;  // (right, pairs)
  QString error;  // one line; nothing was written to the store when set
};

// Runs a job on the calling thread; the controller runs it on its worker.
EvaluateOutcome runEvaluateJob(const EvaluateJob& job,
                               const std::function<void(const QString&)>& stage = {});

class EvaluateController : public QObject {
  Q_OBJECT
 public:
  explicit EvaluateController(QObject* parent = nullptr);
  // Waits for a job still running: evaluateRun cannot be interrupted, and it writes its
  // evaluation in one transaction at the end.
  ~EvaluateController() override;

  // False (nothing started) while a job runs.
  bool start(const EvaluateJob& job);
  bool busy() const { return m_thread.joinable(); }

 Q_SIGNALS:
  void stageChanged(const QString& text);
  void finished(const rr::ui::EvaluateOutcome& outcome);

 private:
  std::thread m_thread;
};

}  // namespace rr::ui
