#include "scorebox.h"

#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>

#include "store/runstore.h"

namespace rr::ui {
namespace {

// "run 3 (baseline)": the method's display name read from the store, when it can be.
QString runLabel(const QString& dbPath, std::int64_t runId) {
  QString label = ScoreBox::tr("run %1").arg(runId);
  try {
    if (auto r = core::RunStore::open(dbPath.toStdString(), true)->run(runId)) {
      const std::string& name = r->methodName.empty() ? r->method : r->methodName;
      label += QStringLiteral(" (%1)").arg(QString::fromStdString(name));
    }
  } catch (const std::exception&) {
    // The label goes without the name; score() reports what is wrong with the run.
  }
  return label;
}

}  // namespace

ScoreBox::ScoreBox(QWidget* parent) : QWidget(parent) {
  m_prompt = new QPlainTextEdit(this);
  m_response = new QPlainTextEdit(this);
  for (QPlainTextEdit* e : {m_prompt, m_response}) e->setMaximumHeight(60);
  m_prompt->setPlaceholderText(tr("prompt"));
  m_response->setPlaceholderText(tr("response"));
  m_button = new QPushButton(tr("Score with this run"), this);
  m_folderButton = new QPushButton(tr("Model folder…"), this);
  m_folderButton->setToolTip(
      tr("Score with a Hugging Face reward-model folder (config.json, weights, tokenizer) or a "
         "saved RewardRouter system instead of the selected run"));
  m_active = new QLabel(this);
  m_active->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_result = new QLabel(this);
  m_result->setWordWrap(true);
  m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* model = new QHBoxLayout;
  model->addWidget(m_active, 1);
  model->addWidget(m_folderButton);
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  form->addRow(tr("Model"), model);
  form->addRow(tr("Prompt"), m_prompt);
  form->addRow(tr("Response"), m_response);
  form->addRow(m_button, m_result);
  connect(m_button, &QPushButton::clicked, this, &ScoreBox::score);
  connect(m_folderButton, &QPushButton::clicked, this, [this] {
    const QString start = m_folder.isEmpty() ? QDir::homePath() : m_folder;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Score with a model folder"),
                                                          start, QFileDialog::ShowDirsOnly);
    if (!dir.isEmpty()) setModelFolder(dir);
  });
  setRun({}, 0);
}

void ScoreBox::setRun(const QString& dbPath, std::int64_t runId) {
  const bool sameRun = dbPath == m_dbPath && runId == m_runId;
  m_dbPath = dbPath;
  m_runId = runId;
  if (!m_folder.isEmpty() && sameRun) return;
  if (!sameRun) {  // also drops a chosen folder; a run of another store may have the same id
    m_folder.clear();
    m_scorer.reset();
    m_loadedRun = 0;
  }
  m_runLabel = runId > 0 ? runLabel(dbPath, runId) : QString();
  showActiveModel();
  m_result->setText(runId > 0 ? QString() : tr("select a finished run or choose a model folder"));
}

bool ScoreBox::setModelFolder(const QString& dir) {
  QApplication::setOverrideCursor(Qt::WaitCursor);
  try {
    auto scorer = core::RunScorer::openDirectory(QDir(dir).absolutePath().toStdString());
    QApplication::restoreOverrideCursor();
    m_scorer = std::move(scorer);
    m_loadedRun = 0;
    m_folder = QDir(dir).absolutePath();
    showActiveModel();
    m_result->clear();
    return true;
  } catch (const std::exception& e) {
    QApplication::restoreOverrideCursor();
    m_result->setText(tr("cannot score: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
}

void ScoreBox::showActiveModel() {
  m_active->setText(activeModel().isEmpty() ? tr("none") : activeModel());
  m_active->setToolTip(m_folder.isEmpty() ? (m_runId > 0 ? m_dbPath : QString()) : m_folder);
  m_button->setText(m_folder.isEmpty() ? tr("Score with this run") : tr("Score with this model"));
  m_button->setEnabled(!m_folder.isEmpty() || m_runId > 0);
}

QString ScoreBox::activeModel() const {
  if (!m_folder.isEmpty()) return tr("folder %1").arg(QFileInfo(m_folder).fileName());
  return m_runLabel;
}

void ScoreBox::setText(const QString& prompt, const QString& response) {
  m_prompt->setPlainText(prompt);
  m_response->setPlainText(response);
}

QString ScoreBox::resultText() const { return m_result->text(); }

bool ScoreBox::score() {
  m_last.reset();
  if (m_folder.isEmpty() && m_runId <= 0) return false;
  try {
    if (m_folder.isEmpty() && (!m_scorer || m_loadedRun != m_runId)) {
      m_scorer = core::RunScorer::openRun(m_dbPath.toStdString(), m_runId);
      m_loadedRun = m_runId;
    }
    const auto out = m_scorer->score(
        {{m_prompt->toPlainText().toStdString(), m_response->toPlainText().toStdString()}});
    const core::ScoreOutput& s = out.at(0);
    QString text = tr("reward %1").arg(s.reward, 0, 'f', 4);
    if (!s.route.empty()) text += tr(", routed to %1").arg(QString::fromStdString(s.route));
    for (const auto& [name, value] : s.detail)
      text += QStringLiteral("; %1 %2").arg(QString::fromStdString(name)).arg(value, 0, 'f', 3);
    m_result->setText(text);
    m_last = s;
    return true;
  } catch (const std::exception& e) {
    // A run's scorer is loaded again next time; a chosen folder's stays (it loaded fine).
    if (m_folder.isEmpty()) m_scorer.reset();
    m_last.reset();
    m_result->setText(tr("cannot score: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
}

}  // namespace rr::ui
