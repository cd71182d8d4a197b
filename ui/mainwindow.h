#pragma once
// The workbench window: a run browser beside the Configure, Monitor, Compare and Inspect views.
// It owns the open run store, the run controller (training started here) and the store watcher
// (runs other processes write), and routes selections and live batches to the views.
#include <QMainWindow>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "launchoptions.h"
#include "livebatch.h"
#include "store/runstore.h"

class QAction;
class QLabel;
class QProgressBar;
class QSplitter;
class QTabWidget;
class QThread;

namespace rr::core {
struct ExperimentConfig;
}

namespace rr::ui {

class CompareView;
class ConfigureView;
class EvaluateController;
class EvaluateDialog;
struct EvaluateJob;
struct EvaluateOutcome;
class InspectView;
class MonitorView;
class RunBrowser;
class RunController;
class StoreWatcher;
struct JobResult;

// What exporting a run as Hugging Face model folders gave: the folders written, or the one-line
// reason it cannot export (not finished, its own encoder, MoRE/DMoERM, a folder in the way).
struct RunExport {
  std::int64_t runId = 0;
  QString outDir;
  QStringList folders;
  QString error;
};

// Exports on the calling thread (core::exportRun); the window runs it on a worker thread.
RunExport exportRunFolders(const QString& dbPath, std::int64_t runId, const QString& outDir);

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  enum View { Configure, Monitor, Compare, Inspect };

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens a run store; a path that does not exist yet becomes the database the next Run
  // creates. Errors are shown in the window; returns false on them. A store that opens but
  // fails RunStore::quickCheck stays open (what can be read is shown) with its damage named in
  // the message bar.
  bool openDatabase(const QString& path);
  bool openExperiment(const QString& path);
  void showView(View view);
  View currentView() const;
  // Opens what `options` names, selects and shows; the screenshot itself is saveScreenshot's.
  // False, with the first error in `error`, when the database or the experiment did not open.
  bool apply(const LaunchOptions& options, QString* error = nullptr);
  // Renders the whole window (plots replotted first) into a PNG.
  bool saveScreenshot(const QString& path);

  RunBrowser* browser() const { return m_browser; }
  ConfigureView* configureView() const { return m_configure; }
  MonitorView* monitorView() const { return m_monitor; }
  RunController* controller() const { return m_controller; }

  // "Export as Hugging Face folder…" without the dialog: exports run `runId` of the open store
  // into `outDir` (new or empty) on a worker thread; exportFinished reports it and a message
  // shows it. False (nothing started) while another export runs or no store is open.
  bool startExport(std::int64_t runId, const QString& outDir);
  bool exportBusy() const { return m_exportThread != nullptr; }
  QAction* exportAction() const { return m_exportAction; }

  // "Resume" on an interrupted, failed or cancelled run: `run --resume` of the experiment it was
  // started from, on the worker thread. The experiment is the Configure view's when that is the
  // run's config, else `experimentFile`, else the one the user picks. False when nothing started.
  bool resumeRun(std::int64_t runId, const QString& experimentFile = {});
  QAction* resumeAction() const { return m_resumeAction; }
  // "Evaluate on…" without the dialog: scores job.pairsPath with run job.runId's saved system on
  // a worker thread and stores the evaluation in the open store (job.dbPath is set here); the
  // views are refreshed and a message shows the result. False (nothing started) while another
  // evaluation runs or no store is open.
  bool startEvaluation(EvaluateJob job);
  EvaluateController* evaluateController() const { return m_evaluator; }
  QAction* evaluateAction() const { return m_evaluateAction; }
  CompareView* compareView() const { return m_compare; }
  InspectView* inspectView() const { return m_inspect; }

 Q_SIGNALS:
  void exportFinished(const rr::ui::RunExport& result);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void startRun(const core::ExperimentConfig& config, const QString& dbPath, bool resume = false);
  void onBatch(const LiveBatch& batch);
  void onJobFinished(const JobResult& result);
  void onRunsChanged(const std::vector<core::RunInfo>& runs);
  void onSelection(const std::vector<std::int64_t>& runIds);
  void refreshCurrentView();
  void showError(const QString& message);
  void updatePausedRuns();
  void chooseExportFolder();
  void onExportFinished(const RunExport& result);
  void updateExportAction();
  void updateResumeAction();
  void chooseEvaluation();
  void onEvaluationFinished(const EvaluateOutcome& outcome);
  void updateTitle();
  void updateDbLabel();

  std::unique_ptr<core::RunStore> m_store;
  QString m_storeDamage;  // RunStore::quickCheck of the open store
  QString m_dbPath;
  RunBrowser* m_browser;
  QTabWidget* m_tabs;
  QSplitter* m_split;
  ConfigureView* m_configure;
  MonitorView* m_monitor;
  CompareView* m_compare;
  InspectView* m_inspect;
  RunController* m_controller;
  StoreWatcher* m_watcher;
  QLabel* m_dbLabel;
  // Above the views: this window's errors (a store that cannot be read, a run that failed,
  // anything a view threw), one line each, the newest first.
  QWidget* m_messageBar;
  QLabel* m_messageText;
  QAction* m_runAction = nullptr;
  QPointer<EvaluateDialog> m_evaluateDialog;
  QAction* m_exportAction = nullptr;
  QAction* m_resumeAction = nullptr;
  QThread* m_exportThread = nullptr;
  EvaluateController* m_evaluator;
  QAction* m_evaluateAction = nullptr;
  QProgressBar* m_evaluateProgress;
  std::vector<std::int64_t> m_selection;
  std::map<std::int64_t, core::RunStatus> m_selectionStatus;
  bool m_stale[4] = {false, false, false, false};  // per view: the selection changed meanwhile
};

}  // namespace rr::ui
