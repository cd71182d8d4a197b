#include "evaluatecontroller.h"

#include <QMetaObject>

#include "data/importer.h"
#include "guard.h"
#include "run/evaluaterun.h"

namespace rr::ui {

EvaluateOutcome runEvaluateJob(const EvaluateJob& job,
                               const std::function<void(const QString&)>& stage) {
  EvaluateOutcome out;
  out.job = job;
  try {
    QString pairsPath = job.pairsPath;
    if (!job.importFormat.isEmpty()) {
      if (stage) stage(QObject::tr("Importing %1 as %2…").arg(job.pairsPath, job.importFormat));
      core::ImportOptions options;
      options.format = job.importFormat.toStdString();
      core::ImportSummary summary;
      core::importToFile({job.pairsPath.toStdString()}, options, job.importOutput.toStdString(),
                         /*allowEmpty=*/false, summary);
      pairsPath = job.importOutput;
    }
    if (stage) stage(QObject::tr("Scoring %1 with run %2…").arg(pairsPath).arg(job.runId));
    core::EvaluateRunOptions options;
    options.dbPath = job.dbPath.toStdString();
    options.runId = job.runId;
    options.pairsPath = pairsPath.toStdString();
    options.name = job.name.toStdString();
    const core::EvaluateRunResult r = core::evaluateRun(options);
    out.evaluationId = r.evaluationId;
    out.name = QString::fromStdString(r.name);
    out.perDomain = r.perDomain;
    for (const auto& [domain, counts] : r.perDomain) {
      out.right += counts.first;
      out.pairs += counts.second;
    }
  } catch (...) {
    out.error = currentErrorMessage();  // nothing thrown may leave the worker thread
  }
  return out;
}

EvaluateController::EvaluateController(QObject* parent) : QObject(parent) {}

EvaluateController::~EvaluateController() {
  if (m_thread.joinable()) m_thread.join();
}

bool EvaluateController::start(const EvaluateJob& job) {
  if (busy()) return false;
  m_thread = std::thread([this, job] {
    const EvaluateOutcome outcome = runEvaluateJob(job, [this](const QString& text) {
      QMetaObject::invokeMethod(
          this, [this, text] { Q_EMIT stageChanged(text); }, Qt::QueuedConnection);
    });
    QMetaObject::invokeMethod(
        this,
        [this, outcome] {
          // The worker has returned from its last statement but this call; join it first so
          // that busy() is false for whoever the signal reaches.
          if (m_thread.joinable()) m_thread.join();
          Q_EMIT finished(outcome);
        },
        Qt::QueuedConnection);
  });
  return true;
}

}  // namespace rr::ui
