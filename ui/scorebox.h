#pragma once
// "Score your own text": a prompt and a response typed by the user, scored with a run's saved
// system or with a model folder (core RunScorer), showing the reward, the route and the
// per-expert/capability detail.
#include <QWidget>
#include <cstdint>
#include <memory>
#include <optional>

#include "run/scoring.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace rr::ui {

class ScoreBox : public QWidget {
  Q_OBJECT
 public:
  explicit ScoreBox(QWidget* parent = nullptr);
  // The run to score with; runId 0 disables the box. A model folder chosen meanwhile stays
  // active while the same run is set again (a refresh); another run replaces it.
  void setRun(const QString& dbPath, std::int64_t runId);
  // Scores with a saved system or a Hugging Face reward-model folder from now on. The model is
  // loaded here; on an error the box shows it and keeps the model it had. What "Model folder…"
  // calls.
  bool setModelFolder(const QString& dir);
  void setText(const QString& prompt, const QString& response);
  // Scores the current text; the result is also shown in resultText().
  bool score();
  QString resultText() const;
  // The last successful score in full (the text rounds it); empty after an error.
  const std::optional<core::ScoreOutput>& lastScore() const { return m_last; }
  // The model scores come from: "run 3 (baseline)", "folder bert-rm", or "" for none.
  QString activeModel() const;

 private:
  void showActiveModel();

  QString m_dbPath;
  std::int64_t m_runId = 0;
  QString m_runLabel;
  QString m_folder;  // non-empty: m_scorer scores with this folder, not the run
  std::unique_ptr<core::RunScorer> m_scorer;  // a run's is loaded on first use
  std::int64_t m_loadedRun = 0;
  std::optional<core::ScoreOutput> m_last;
  QPlainTextEdit* m_prompt;
  QPlainTextEdit* m_response;
  QPushButton* m_button;
  QPushButton* m_folderButton;
  QLabel* m_active;
  QLabel* m_result;
};

}  // namespace rr::ui
