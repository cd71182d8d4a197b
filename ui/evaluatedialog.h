#pragma once
// The dialog behind "Evaluate on…": the pairs file (canonical pairs, or a dataset file in one of
// the import formats with the canonical file to write), and the evaluation's name (default: the
// canonical file's name without its extension, as `rewardrouter-cli evaluate` names it).
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
  QComboBox* formatBox() const { return m_format; }
  QLineEdit* nameEdit() const { return m_name; }
  QLineEdit* outputEdit() const { return m_output; }

 private:
  void updateState();

  std::int64_t m_runId;
  QLineEdit* m_file;
  QComboBox* m_format;
  QLineEdit* m_output;
  QLineEdit* m_name;
  QLabel* m_hint;
  QDialogButtonBox* m_buttons;
};

}  // namespace rr::ui
