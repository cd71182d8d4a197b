#pragma once
// Import of the published datasets' native files (core::importFiles) into one canonical pairs
// file that the experiment then lists under data.files. The import runs on a worker thread.
#include <QDialog>
#include <QString>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;

namespace rr::ui {

class ImportDialog : public QDialog {
  Q_OBJECT
 public:
  ImportDialog(const QString& baseDir, QWidget* parent = nullptr);
  QString outputPath() const;
  // The core's summary of the finished import (records, pairs per domain, what was skipped).
  const QString& summary() const { return m_summary; }

 private:
  void startImport();

  QComboBox* m_format;
  QListWidget* m_inputs;
  QLineEdit* m_domain;
  QCheckBox* m_skipBad;
  QLineEdit* m_fieldMap;
  QLineEdit* m_output;
  QLabel* m_status;
  QPushButton* m_importButton;
  QString m_summary;
};

}  // namespace rr::ui
