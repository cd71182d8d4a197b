#pragma once
// "Score your own text": a prompt and a response typed by the user, scored with a run's saved
// system (core RunScorer), showing the reward, the route and the per-expert/capability detail.
#include <QWidget>
#include <cstdint>
#include <memory>

#include "train/scoring.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace rr::ui {

class ScoreBox : public QWidget {
  Q_OBJECT
 public:
  explicit ScoreBox(QWidget* parent = nullptr);
  // The run to score with; runId 0 disables the box.
  void setRun(const QString& dbPath, std::int64_t runId);
  void setText(const QString& prompt, const QString& response);
  // Scores the current text; the result is also shown in resultText().
  bool score();
  QString resultText() const;

 private:
  QString m_dbPath;
  std::int64_t m_runId = 0;
  std::unique_ptr<core::RunScorer> m_scorer;  // loaded on first use, per run
  std::int64_t m_loadedRun = 0;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_response;
  QPushButton* m_button;
  QLabel* m_result;
};

}  // namespace rr::ui
