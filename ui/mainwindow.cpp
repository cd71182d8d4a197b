#include "mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <set>

#include "compareview.h"
#include "configform.h"
#include "configureview.h"
#include "evaluatecontroller.h"
#include "evaluatedialog.h"
#include "guard.h"
#include "inspectview.h"
#include "monitorview.h"
#include "qcp.h"
#include "run/export.h"
#include "runbrowser.h"
#include "runcontroller.h"
#include "storewatcher.h"

namespace rr::ui {
namespace {

// Export's folder picker: an existing (empty) folder, or the name of a new one typed into it,
// which the export creates. Qt's directory mode refuses a name that does not exist yet
// ("Directory not found"), so a name whose parent folder exists is taken as it is.
class ExportFolderPicker : public QFileDialog {
 public:
  using QFileDialog::QFileDialog;

 protected:
  void accept() override {
    const QStringList files = selectedFiles();
    if (files.size() == 1) {
      const QFileInfo f(files.front());
      if (!f.exists() && f.dir().exists()) {
        QDialog::accept();
        return;
      }
    }
    QFileDialog::accept();
  }
};

// The core's messages name their file; one that does not gets it in front.
QString naming(const QString& path, const QString& message) {
  return message.contains(QFileInfo(path).fileName()) ? message
                                                      : QStringLiteral("%1: %2").arg(path, message);
}

}  // namespace

RunExport exportRunFolders(const QString& dbPath, std::int64_t runId, const QString& outDir) {
  RunExport r;
  r.runId = runId;
  r.outDir = outDir;
  try {
    for (const auto& f : core::exportRun(dbPath.toStdString(), runId, outDir.toStdString()).folders)
      r.folders << QDir::cleanPath(QString::fromStdString(f));  // the core's may end in '/'
  } catch (...) {
    r.error = currentErrorMessage();
  }
  return r;
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  m_browser = new RunBrowser(this);
  m_configure = new ConfigureView(this);
  m_monitor = new MonitorView(this);
  m_compare = new CompareView(this);
  m_inspect = new InspectView(this);
  m_tabs = new QTabWidget(this);
  m_tabs->setObjectName(QStringLiteral("views"));
  m_tabs->addTab(m_configure, tr("&Configure"));
  m_tabs->addTab(m_monitor, tr("&Monitor"));
  m_tabs->addTab(m_compare, tr("Com&pare"));
  m_tabs->addTab(m_inspect, tr("&Inspect"));
  m_split = new QSplitter(Qt::Horizontal, this);
  m_split->addWidget(m_browser);
  m_split->addWidget(m_tabs);
  m_split->setStretchFactor(0, 0);
  m_split->setStretchFactor(1, 1);
  m_split->setSizes({300, 1000});
  // The message bar: errors stay readable above the views without a dialog to dismiss (none can
  // be dismissed in a headless run).
  auto* frame = new QFrame(this);
  frame->setFrameShape(QFrame::StyledPanel);
  m_messageBar = frame;
  m_messageBar->setObjectName(QStringLiteral("messageBar"));
  m_messageBar->setStyleSheet(QStringLiteral(
      "#messageBar { background: rgba(214, 39, 40, 40); border: 1px solid #d62728; }"));
  m_messageText = new QLabel(m_messageBar);
  m_messageText->setObjectName(QStringLiteral("messageText"));
  m_messageText->setWordWrap(true);
  m_messageText->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* dismiss = new QToolButton(m_messageBar);
  dismiss->setObjectName(QStringLiteral("dismissMessages"));
  dismiss->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
  dismiss->setAutoRaise(true);
  dismiss->setToolTip(tr("Hide these messages"));
  auto* icon = new QLabel(m_messageBar);
  icon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(18, 18));
  auto* bar = new QHBoxLayout(m_messageBar);
  bar->setContentsMargins(6, 2, 2, 2);
  bar->addWidget(icon, 0, Qt::AlignTop);
  bar->addWidget(m_messageText, 1);
  bar->addWidget(dismiss, 0, Qt::AlignTop);
  m_messageBar->hide();
  connect(dismiss, &QToolButton::clicked, this, [this] {
    m_messageText->clear();
    m_messageBar->hide();
  });
  auto* central = new QWidget(this);
  auto* column = new QVBoxLayout(central);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(2);
  column->addWidget(m_messageBar);
  column->addWidget(m_split, 1);
  setCentralWidget(central);
  m_dbLabel = new QLabel(this);
  statusBar()->addPermanentWidget(m_dbLabel);

  m_evaluateProgress = new QProgressBar(this);
  m_evaluateProgress->setRange(0, 0);  // evaluateRun reports no steps: a busy indicator
  m_evaluateProgress->setMaximumWidth(160);
  m_evaluateProgress->hide();
  statusBar()->addPermanentWidget(m_evaluateProgress);

  m_controller = new RunController(this);
  m_evaluator = new EvaluateController(this);
  m_watcher = new StoreWatcher(this);
  buildMenus();
  connect(ErrorRelay::instance(), &ErrorRelay::raised, this, &MainWindow::showError);
  connect(m_evaluator, &EvaluateController::stageChanged, this,
          [this](const QString& text) { statusBar()->showMessage(text); });
  connect(m_evaluator, &EvaluateController::finished, this, &MainWindow::onEvaluationFinished);

  connect(m_browser, &RunBrowser::selectionChanged, this, &MainWindow::onSelection);
  connect(m_tabs, &QTabWidget::currentChanged, this, &MainWindow::refreshCurrentView);
  connect(m_configure, &ConfigureView::runRequested, this,
          [this](const core::ExperimentConfig& config, const QString& dbPath) {
            startRun(config, dbPath);
          });
  connect(m_configure, &ConfigureView::titleChanged, this, &MainWindow::updateTitle);
  connect(m_configure, &ConfigureView::statusMessage, this,
          [this](const QString& m) { statusBar()->showMessage(m, 10000); });
  connect(m_configure, &ConfigureView::failed, this, &MainWindow::showError);
  connect(m_controller, &RunController::batchReady, this, &MainWindow::onBatch);
  connect(m_controller, &RunController::jobFinished, this, &MainWindow::onJobFinished);
  connect(m_controller, &RunController::pausedChanged, this, [this](bool paused) {
    m_monitor->setJobActive(m_controller->busy(), paused);
    updatePausedRuns();
  });
  connect(m_watcher, &StoreWatcher::batchReady, this, &MainWindow::onBatch);
  connect(m_watcher, &StoreWatcher::runsChanged, this, &MainWindow::onRunsChanged);
  connect(m_watcher, &StoreWatcher::failed, this, &MainWindow::showError);
  connect(m_monitor, &MonitorView::pauseRequested, m_controller, &RunController::setPaused);
  connect(m_monitor, &MonitorView::cancelRequested, this, [this] {
    m_controller->cancel();
    statusBar()->showMessage(tr("Stopping at the next step…"));
  });
  // A confusion-matrix cell selects its run in the browser, so that every view (Monitor,
  // Inspect and its score box) follows that one selection; Inspect then filters to the cell.
  // Queued: the click's own handling in the plot finishes before the Monitor is refreshed.
  connect(m_monitor, &MonitorView::confusionCellClicked, this,
          [this](std::int64_t runId, const QString& domain, const QString& routedTo) {
            QMetaObject::invokeMethod(
                this,
                [this, runId, domain, routedTo] {
                  m_browser->selectRuns({runId});
                  showView(Inspect);
                  guarded([&] { m_inspect->showConfusionCell(runId, domain, routedTo); });
                },
                Qt::QueuedConnection);
          });

  QSettings settings;
  resize(1360, 860);
  restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
  m_split->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray());
  updateTitle();
  statusBar()->showMessage(
      tr("Open a run database (Ctrl+O) or configure an experiment and Run it."));
}

MainWindow::~MainWindow() {
  // An export cannot be interrupted; it ends on its own (it writes one model folder at a time).
  if (m_exportThread) {
    m_exportThread->wait();
    delete m_exportThread;
  }
  // Views hold raw pointers to the store: detach them before it goes.
  m_watcher->setStore(nullptr, {});
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &database…"), QKeySequence::Open, this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open run database"),
                                                   QFileInfo(m_dbPath).absolutePath(),
                                                   tr("Run stores (*.db);;All files (*)"));
    if (!p.isEmpty()) openDatabase(p);
  });
  file->addAction(tr("Open &experiment…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this,
                  [this] {
                    if (m_configure->chooseAndLoad()) showView(Configure);
                  });
  file->addAction(tr("&Save experiment"), QKeySequence::Save, m_configure, &ConfigureView::save);
  file->addAction(tr("Save experiment &as…"), QKeySequence::SaveAs, m_configure,
                  &ConfigureView::saveAs);
  file->addSeparator();
  m_exportAction =
      file->addAction(tr("E&xport as Hugging Face folder…"), this, &MainWindow::chooseExportFolder);
  m_exportAction->setStatusTip(
      tr("Write the selected finished run's reward model(s) as Hugging Face model folders"));
  m_browser->addRunAction(m_exportAction);
  m_evaluateAction = file->addAction(tr("E&valuate on…"), this, &MainWindow::chooseEvaluation);
  m_evaluateAction->setStatusTip(
      tr("Score another pairs file (an imported benchmark) with the selected finished run's saved "
         "system and store it as an evaluation of the run"));
  m_browser->addRunAction(m_evaluateAction);
  updateExportAction();
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  const QStringList names = {tr("&Configure"), tr("&Monitor"), tr("Com&pare"), tr("&Inspect")};
  for (int i = 0; i < names.size(); ++i)
    view->addAction(names[i], QKeySequence(Qt::CTRL | (Qt::Key_1 + i)), this,
                    [this, i] { showView(static_cast<View>(i)); });
  view->addSeparator();
  view->addAction(tr("Select &all runs"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A), m_browser,
                  &RunBrowser::selectAllRuns);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  // The window's shortcut, not the Run button's: a button's shortcut works only while the
  // button is shown (Configure).
  m_runAction =
      run->addAction(tr("&Run experiment"), QKeySequence(Qt::CTRL | Qt::Key_R), m_configure,
                     [this] { guarded([this] { m_configure->requestRun(); }); });
  m_runAction->setObjectName(QStringLiteral("runAction"));
  m_resumeAction = run->addAction(tr("Resume &run"), this, [this] {
    if (m_selection.size() == 1) resumeRun(m_selection.front());
  });
  m_resumeAction->setStatusTip(
      tr("Continue the selected interrupted, failed or cancelled run from its last checkpoint"));
  m_browser->addRunAction(m_resumeAction);
  updateResumeAction();
  run->addAction(tr("&Pause / resume"), QKeySequence(Qt::CTRL | Qt::Key_P), this,
                 [this] { m_controller->setPaused(!m_controller->paused()); });
  run->addAction(tr("&Cancel"), QKeySequence(Qt::CTRL | Qt::Key_Period), m_controller,
                 &RunController::cancel);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About"), this, [this] {
    QMessageBox::about(this, tr("About RewardRouter"),
                       tr("<b>RewardRouter</b> %1<br>Domain-robust lightweight reward models with "
                          "routers: Baseline, MoRE, RODOS, ARLISS, DMoERM.<br>Guide: docs/GUI.md")
                           .arg(QApplication::applicationVersion()));
  });
}

void MainWindow::showError(const QString& message) {
  statusBar()->showMessage(message, 15000);
  // The newest first; one a poll repeats every second is not repeated here.
  QStringList lines = m_messageText->text().split('\n', Qt::SkipEmptyParts);
  lines.removeAll(message);
  lines.prepend(message);
  constexpr int kShownMessages = 4;
  m_messageText->setText(lines.mid(0, kShownMessages).join('\n'));
  m_messageBar->show();
}

void MainWindow::updateExportAction() {
  // One finished run of the open store; the core refuses the rest with its reason.
  const bool one = m_selection.size() == 1 && m_selectionStatus.size() == 1 &&
                   m_selectionStatus.begin()->second == core::RunStatus::Finished;
  m_exportAction->setEnabled(m_store && one && !m_exportThread);
  updateResumeAction();
  m_exportAction->setToolTip(m_exportThread ? tr("An export is in progress")
                             : one          ? m_exportAction->statusTip()
                                            : tr("Select one finished run to export"));
  m_evaluateAction->setEnabled(m_store && one && !m_evaluator->busy());
  m_evaluateAction->setToolTip(m_evaluator->busy() ? tr("An evaluation is in progress")
                               : one               ? m_evaluateAction->statusTip()
                                                   : tr("Select one finished run to evaluate"));
}

void MainWindow::chooseEvaluation() {
  if (m_selection.size() != 1 || !m_store || m_evaluateDialog) return;
  const std::int64_t runId = m_selection.front();
  std::optional<core::RunInfo> run;
  if (!guarded([&] { run = m_store->run(runId); })) return;
  auto* dialog = new EvaluateDialog(runId,
                                    run ? tr("run %1 (%2, seed %3)")
                                              .arg(runId)
                                              .arg(QString::fromStdString(run->methodName))
                                              .arg(run->seed)
                                        : tr("run %1").arg(runId),
                                    this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  m_evaluateDialog = dialog;
  // The dialog stays open while its job runs: an error is shown in it with what was typed.
  connect(dialog, &EvaluateDialog::evaluateRequested, this, [this, dialog](EvaluateJob job) {
    if (startEvaluation(std::move(job)))
      dialog->setBusy(true);
    else
      dialog->showError(tr("An evaluation is already running; wait for it to end."));
  });
  dialog->open();
}

bool MainWindow::startEvaluation(EvaluateJob job) {
  if (m_evaluator->busy() || !m_store) return false;
  job.dbPath = QString::fromStdString(m_store->path());
  if (!m_evaluator->start(job)) return false;
  m_evaluateProgress->show();
  updateExportAction();
  statusBar()->showMessage(tr("Evaluating run %1 on %2…").arg(job.runId).arg(job.pairsPath));
  return true;
}

void MainWindow::onEvaluationFinished(const EvaluateOutcome& outcome) {
  m_evaluateProgress->hide();
  updateExportAction();
  if (m_evaluateDialog) {
    if (!outcome.error.isEmpty()) {
      m_evaluateDialog->setBusy(false);
      m_evaluateDialog->showError(outcome.error);
      statusBar()->showMessage(outcome.error, 15000);
      return;
    }
    m_evaluateDialog->accept();
  }
  auto* box = new QMessageBox(this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setWindowTitle(tr("Evaluate run %1").arg(outcome.job.runId));
  if (outcome.error.isEmpty()) {
    QStringList lines;
    for (const auto& [domain, counts] : outcome.perDomain)
      lines << tr("%1: %2 of %3 right")
                   .arg(QString::fromStdString(domain))
                   .arg(counts.first)
                   .arg(counts.second);
    box->setIcon(QMessageBox::Information);
    box->setText(tr("Evaluation '%1' of run %2: %3 pairs, %4 right. Compare and Inspect show it.")
                     .arg(outcome.name)
                     .arg(outcome.job.runId)
                     .arg(outcome.pairs)
                     .arg(outcome.right));
    box->setInformativeText(lines.join(QLatin1Char('\n')));
    statusBar()->showMessage(
        tr("Stored evaluation '%1' of run %2").arg(outcome.name).arg(outcome.job.runId), 10000);
    for (bool& s : m_stale) s = true;
    refreshCurrentView();
  } else {
    box->setIcon(QMessageBox::Warning);
    box->setText(tr("Run %1 was not evaluated; nothing was stored.").arg(outcome.job.runId));
    box->setInformativeText(outcome.error);
    statusBar()->showMessage(outcome.error, 15000);
  }
  box->open();
}

void MainWindow::updateResumeAction() {
  if (!m_resumeAction) return;
  const bool one = m_selection.size() == 1 && m_selectionStatus.size() == 1 &&
                   (m_selectionStatus.begin()->second == core::RunStatus::Interrupted ||
                    m_selectionStatus.begin()->second == core::RunStatus::Failed ||
                    m_selectionStatus.begin()->second == core::RunStatus::Cancelled);
  const bool busy = m_controller->busy();
  m_resumeAction->setEnabled(m_store && one && !busy);
  m_resumeAction->setToolTip(busy  ? tr("An experiment is running here")
                             : one ? m_resumeAction->statusTip()
                                   : tr("Select one interrupted, failed or cancelled run"));
}

bool MainWindow::resumeRun(std::int64_t runId, const QString& experimentFile) {
  if (!m_store || m_controller->busy()) return false;
  std::optional<core::RunInfo> run;
  std::optional<core::ExperimentConfig> config;
  const bool read = guarded([&] {
    run = m_store->run(runId);
    if (!run) return;
    if (!experimentFile.isEmpty()) {
      config = core::loadExperimentConfig(experimentFile.toStdString());
    } else if (auto form = m_configure->form()->parsed();  // shows nothing in the form
               form && core::experimentConfigToJson(*form) == run->configJson) {
      config = std::move(form);
    }
  });
  if (!read || !run) return false;
  if (!config) {
    // The stored config names its data files relative to its own file, which the store does not
    // record: the user points at it.
    const QString p = QFileDialog::getOpenFileName(
        this, tr("Open the experiment run %1 was started from").arg(runId), QString(),
        tr("Experiments (*.json);;All files (*)"));
    if (p.isEmpty()) return false;
    return resumeRun(runId, p);
  }
  startRun(*config, m_dbPath, true);
  return m_controller->busy();
}

void MainWindow::chooseExportFolder() {
  if (m_selection.size() != 1 || !m_store) return;
  const std::int64_t runId = m_selection.front();
  auto* picker =
      new ExportFolderPicker(this, tr("Export run %1 into a new or empty folder").arg(runId),
                             QFileInfo(m_dbPath).absolutePath());
  picker->setObjectName(QStringLiteral("exportFolderPicker"));
  // Qt's own dialog: the one whose acceptance of a typed new name this window decides.
  picker->setOptions(QFileDialog::ShowDirsOnly | QFileDialog::DontUseNativeDialog);
  picker->setFileMode(QFileDialog::Directory);
  picker->setLabelText(QFileDialog::Accept, tr("Export"));
  picker->setAttribute(Qt::WA_DeleteOnClose);
  connect(picker, &QDialog::accepted, this, [this, picker, runId] {
    const QStringList files = picker->selectedFiles();
    if (!files.isEmpty()) startExport(runId, files.front());
  });
  picker->open();
}

bool MainWindow::startExport(std::int64_t runId, const QString& outDir) {
  if (m_exportThread || !m_store) return false;
  auto result = std::make_shared<RunExport>();
  const QString db = QString::fromStdString(m_store->path());
  m_exportThread = QThread::create(
      [result, db, runId, outDir] { *result = exportRunFolders(db, runId, outDir); });
  connect(m_exportThread, &QThread::finished, this, [this, result] {
    m_exportThread->deleteLater();
    m_exportThread = nullptr;
    onExportFinished(*result);
  });
  m_exportThread->start();
  updateExportAction();
  statusBar()->showMessage(tr("Exporting run %1 to %2…").arg(runId).arg(outDir));
  return true;
}

void MainWindow::onExportFinished(const RunExport& result) {
  updateExportAction();
  // Not modal-blocking: the window (and a test driving it) goes on while the message is shown.
  auto* box = new QMessageBox(this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setWindowTitle(tr("Export run %1").arg(result.runId));
  if (result.error.isEmpty()) {
    box->setIcon(QMessageBox::Information);
    box->setText(tr("Run %1 is exported as %n Hugging Face model folder(s):", nullptr,
                    static_cast<int>(result.folders.size()))
                     .arg(result.runId));
    box->setInformativeText(result.folders.join(QLatin1Char('\n')));
    statusBar()->showMessage(tr("Exported run %1 to %2").arg(result.runId).arg(result.outDir),
                             10000);
  } else {
    box->setIcon(QMessageBox::Warning);
    box->setText(tr("Run %1 was not exported.").arg(result.runId));
    box->setInformativeText(result.error);
    statusBar()->showMessage(result.error, 15000);
  }
  box->open();
  Q_EMIT exportFinished(result);
}

bool MainWindow::openDatabase(const QString& path) {
  const QString abs = QFileInfo(path).absoluteFilePath();
  std::unique_ptr<core::RunStore> store;
  QString damage;
  if (QFileInfo::exists(abs)) {
    try {
      store = core::RunStore::open(abs.toStdString(), true);
      damage = QString::fromStdString(store->quickCheck());
    } catch (...) {
      showError(naming(abs, currentErrorMessage()));
      return false;
    }
  }
  // Views and the watcher drop their pointers to the old store before it is closed.
  m_watcher->setStore(nullptr, {});
  m_monitor->setStore(store.get());
  m_compare->setStore(store.get());
  m_inspect->setStore(store.get());
  m_store = std::move(store);
  m_storeDamage = damage;
  m_dbPath = abs;
  m_messageText->clear();  // they were about the store before
  m_messageBar->hide();
  if (!damage.isEmpty()) showError(damage + tr(" — what can still be read is shown"));
  m_selection.clear();
  m_selectionStatus.clear();
  m_browser->setRuns({});
  m_configure->setDatabasePath(abs);
  if (m_store) {
    m_watcher->setStore(m_store.get(),
                        [this](std::int64_t id) { return m_controller->ownsRun(id); });
    m_watcher->poll();
    QSettings().setValue(QStringLiteral("lastDatabase"), abs);
    if (damage.isEmpty()) statusBar()->showMessage(tr("Opened %1").arg(path), 5000);
  } else {
    statusBar()->showMessage(tr("%1 does not exist yet: Run creates it.").arg(path));
  }
  updateDbLabel();
  m_monitor->setJobActive(m_controller->busy() && m_controller->dbPath() == abs.toStdString(),
                          m_controller->paused());
  updateExportAction();
  updateTitle();
  return true;
}

bool MainWindow::openExperiment(const QString& path) {
  const bool ok = m_configure->loadFile(path);
  showView(Configure);
  return ok;
}

void MainWindow::showView(View view) { m_tabs->setCurrentIndex(static_cast<int>(view)); }

MainWindow::View MainWindow::currentView() const {
  return static_cast<View>(m_tabs->currentIndex());
}

bool MainWindow::apply(const LaunchOptions& o, QString* error) {
  bool ok = true;
  const auto failed = [&] {
    if (ok && error) *error = m_messageText->text().section('\n', 0, 0);
    ok = false;
  };
  if (!o.db.isEmpty() && !openDatabase(o.db)) failed();
  if (!o.experiment.isEmpty() && !openExperiment(o.experiment)) failed();
  if (o.selectAll) m_browser->selectAllRuns();
  if (!o.view.isEmpty()) showView(static_cast<View>(viewNames().indexOf(o.view)));
  return ok;
}

bool MainWindow::saveScreenshot(const QString& path) {
  QApplication::processEvents();
  for (QCustomPlot* p : findChildren<QCustomPlot*>())
    if (p->isVisible()) p->replot(QCustomPlot::rpImmediateRefresh);
  QApplication::processEvents();
  const bool ok = grab().save(path, "PNG");
  if (!ok) showError(tr("%1: could not write the screenshot").arg(path));
  return ok;
}

void MainWindow::startRun(const core::ExperimentConfig& config, const QString& dbPath,
                          bool resume) {
  if (m_controller->busy()) {
    showError(tr("An experiment is already running here; wait for it or cancel it."));
    return;
  }
  const QString abs = QFileInfo(dbPath).absoluteFilePath();
  if (!QDir().mkpath(QFileInfo(abs).absolutePath())) {
    showError(tr("%1: cannot create its folder").arg(dbPath));
    return;
  }
  // The store is created (schema included) before the worker writes to it, so that the
  // browser and the monitor can read the runs the moment they appear.
  if (abs != m_dbPath || !m_store) {
    try {
      core::RunStore::open(abs.toStdString());
    } catch (...) {
      showError(naming(abs, currentErrorMessage()));
      return;
    }
    if (!openDatabase(abs)) return;
  }
  core::ExperimentOptions options;
  options.dbPath = m_store->path();
  options.resume = resume;
  m_controller->start(config, options);
  updateResumeAction();
  m_monitor->setJobActive(true, false);
  m_configure->setRunEnabled(false);
  m_runAction->setEnabled(false);
  statusBar()->showMessage(
      tr("Running %1 into %2").arg(QString::fromStdString(config.name), dbPath));
  showView(Monitor);
}

void MainWindow::onBatch(const LiveBatch& batch) {
  guarded([&] { m_monitor->appendLive(batch); });
  if (!batch.statuses.empty() && m_store && batch.dbPath == m_store->path()) m_watcher->poll();
}

void MainWindow::onJobFinished(const JobResult& result) {
  m_monitor->setJobActive(false, false);
  updateResumeAction();
  m_configure->setRunEnabled(true);
  m_runAction->setEnabled(true);
  m_browser->setPausedRuns({});
  if (m_store && result.dbPath == m_store->path()) m_watcher->poll();
  if (!result.error.isEmpty()) {
    showError(result.error);
    return;
  }
  const auto& o = result.outcome;
  statusBar()->showMessage(tr("Experiment ended: %1 finished, %2 failed%3")
                               .arg(o.finished)
                               .arg(o.failed)
                               .arg(o.cancelled ? tr(", cancelled") : QString()) +
                           (o.resumed > 0 ? tr(", %1 resumed").arg(o.resumed) : QString()));
}

void MainWindow::updateDbLabel() {
  if (m_dbPath.isEmpty()) return;
  const int n = static_cast<int>(m_browser->runs().size());
  QString text = QFileInfo(m_dbPath).fileName();
  if (m_store) text += n == 1 ? tr(" · 1 run") : tr(" · %1 runs").arg(n);
  if (!m_storeDamage.isEmpty()) text += tr(" · damaged");
  m_dbLabel->setText(text);
  m_dbLabel->setToolTip(m_storeDamage);
}

void MainWindow::updatePausedRuns() {
  std::set<std::int64_t> paused;
  if (m_controller->paused())
    for (const auto& r : m_browser->runs())
      if (r.status == core::RunStatus::Running && m_controller->ownsRun(r.id)) paused.insert(r.id);
  m_browser->setPausedRuns(paused);
}

void MainWindow::onRunsChanged(const std::vector<core::RunInfo>& runs) {
  m_browser->setRuns(runs);
  updateDbLabel();
  updatePausedRuns();
  // A selected run that finished (or failed) changes what Compare and Inspect show.
  bool changed = false;
  for (const auto& r : runs) {
    auto it = m_selectionStatus.find(r.id);
    if (it == m_selectionStatus.end() || it->second == r.status) continue;
    it->second = r.status;
    changed = true;
  }
  if (!changed) return;
  updateExportAction();
  m_stale[Compare] = m_stale[Inspect] = true;
  refreshCurrentView();
}

void MainWindow::onSelection(const std::vector<std::int64_t>& runIds) {
  m_selection = runIds;
  m_selectionStatus.clear();
  for (const auto& r : m_browser->runs())
    if (std::find(runIds.begin(), runIds.end(), r.id) != runIds.end())
      m_selectionStatus[r.id] = r.status;
  updateExportAction();
  for (bool& s : m_stale) s = true;
  refreshCurrentView();
}

void MainWindow::refreshCurrentView() {
  const View v = currentView();
  if (!m_stale[v]) return;
  m_stale[v] = false;
  // Each view reads the store only when it is shown: a selection change costs one view's query.
  guarded([&] {
    switch (v) {
      case Monitor:
        m_monitor->showRuns(m_selection);
        break;
      case Compare:
        m_compare->showRuns(m_selection);
        break;
      case Inspect:
        m_inspect->showRuns(m_selection);
        break;
      case Configure:
        break;
    }
  });
}

void MainWindow::updateTitle() {
  QString title = QStringLiteral("RewardRouter");
  const QString exp = m_configure->filePath();
  title += QStringLiteral(" — %1%2").arg(
      exp.isEmpty() ? tr("unsaved experiment") : QFileInfo(exp).fileName(),
      m_configure->isModified() ? QStringLiteral("*") : QString());
  if (!m_dbPath.isEmpty())
    title += QStringLiteral(" — %1").arg(QDir::current().relativeFilePath(m_dbPath));
  setWindowTitle(title);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (!m_configure->confirmDiscard()) {
    event->ignore();
    return;
  }
  if (m_controller->busy()) {
    const auto answer = QMessageBox::question(
        this, tr("A run is in progress"),
        tr("Stop the experiment and quit? The current run is marked cancelled; finished runs keep "
           "their results."),
        QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
    if (answer != QMessageBox::Yes) {
      event->ignore();
      return;
    }
    statusBar()->showMessage(tr("Stopping the run…"));
    QApplication::setOverrideCursor(Qt::WaitCursor);
    m_controller->shutdown();
    QApplication::restoreOverrideCursor();
  }
  QSettings settings;
  settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("window/state"), saveState());
  settings.setValue(QStringLiteral("window/splitter"), m_split->saveState());
  event->accept();
}

}  // namespace rr::ui
