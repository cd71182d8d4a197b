#include "scorebox.h"

#include <QFormLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>

namespace rr::ui {

ScoreBox::ScoreBox(QWidget* parent) : QWidget(parent) {
  m_prompt = new QPlainTextEdit(this);
  m_response = new QPlainTextEdit(this);
  for (QPlainTextEdit* e : {m_prompt, m_response}) e->setMaximumHeight(60);
  m_prompt->setPlaceholderText(tr("prompt"));
  m_response->setPlaceholderText(tr("response"));
  m_button = new QPushButton(tr("Score with this run"), this);
  m_result = new QLabel(this);
  m_result->setWordWrap(true);
  m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  form->addRow(tr("Prompt"), m_prompt);
  form->addRow(tr("Response"), m_response);
  form->addRow(m_button, m_result);
  connect(m_button, &QPushButton::clicked, this, &ScoreBox::score);
  setRun({}, 0);
}

void ScoreBox::setRun(const QString& dbPath, std::int64_t runId) {
  m_dbPath = dbPath;
  m_runId = runId;
  m_button->setEnabled(runId > 0);
  m_result->setText(runId > 0 ? tr("run %1").arg(runId) : tr("select a finished run"));
}

void ScoreBox::setText(const QString& prompt, const QString& response) {
  m_prompt->setPlainText(prompt);
  m_response->setPlainText(response);
}

QString ScoreBox::resultText() const { return m_result->text(); }

bool ScoreBox::score() {
  if (m_runId <= 0) return false;
  try {
    if (!m_scorer || m_loadedRun != m_runId) {
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
    return true;
  } catch (const std::exception& e) {
    m_scorer.reset();
    m_result->setText(tr("cannot score: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
}

}  // namespace rr::ui
