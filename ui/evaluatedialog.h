#pragma once
// The dialog behind "Evaluate on…": the pairs file (canonical pairs, or a dataset file in one of
// the import formats with the canonical file to write), and the evaluation's name (default: the
// canonical file's name without its extension, as `rewardrouter-cli evaluate` names it). A
// Parquet file, browsed or typed, is told by its bytes as the CLI's import tells it
// (core::parquet::hasParquetMagic) and preselects the rewardbench format. Evaluate asks for the
// job (evaluateRequested); the dialog stays open while it runs and shows its error with what was
// typed, the window closing it once the evaluation is stored.
#include <QDialog>
#include <cstdint>

#include "evaluatecontroller.h"

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace rr::ui {

class EvaluateDialog : public QDialog {
  Q_OBJECT
 public:
  EvaluateDialog(std::int64_t runId, const QString& runLabel, QWidget* parent = nullptr);

  // The job as filled in (dbPath is the caller's).
  EvaluateJob job() const;
  void setPairsFile(const QString& path);
  // While the job runs the fields and Evaluate are off; Close hides the dialog, the job goes on.
  void setBusy(bool busy);
  // The job's one-line error, under the fields (which keep what was typed).
  void showError(const QString& message);
  QComboBox* formatBox() const { return m_format; }
  QLineEdit* nameEdit() const { return m_name; }
  QLineEdit* outputEdit() const { return m_output; }

 Q_SIGNALS:
  void evaluateRequested(const rr::ui::EvaluateJob& job);

 private:
  void updateState();
  void detectFormat();

  std::int64_t m_runId;
  QLineEdit* m_file;
  QComboBox* m_format;
  QLineEdit* m_output;
  QLineEdit* m_name;
  QLabel* m_hint;
  QLabel* m_error;
  QDialogButtonBox* m_buttons;
  bool m_busy = false;
};

}  // namespace rr::ui
