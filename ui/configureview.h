#pragma once
// The Configure view: the experiment form with open / save, data import, the equivalent
// `rewardrouter-cli run` command, the JSON that will be saved, and Run.
#include <QString>
#include <QWidget>

#include "config/config.h"

class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QScrollArea;
class QTimer;

namespace rr::ui {

class ConfigForm;

class ConfigureView : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigureView(QWidget* parent = nullptr);

  ConfigForm* form() const { return m_form; }
  // Loads an experiment file into the form. One whose only fault is a file it names that is
  // not there (a moved data file) is loaded too, the error shown at that field; otherwise the
  // error goes to failed() and false is returned.
  bool loadFile(const QString& path);
  // Asks to save unsaved edits first (Save / Discard / Cancel): false when the user cancels or
  // the save fails. What Quit and Open ask.
  bool confirmDiscard();
  // Open…: confirmDiscard, then a file dialog and loadFile. True when a file was loaded.
  bool chooseAndLoad();
  bool save();
  bool saveAs();
  const QString& filePath() const { return m_path; }
  bool isModified() const { return m_modified; }
  // The open database, where Run writes; empty = runs/<experiment name>.db.
  void setDatabasePath(const QString& path);
  QString runDatabasePath() const;
  QString commandLine() const;
  // Validates the form and, when it is valid, asks for the run (runRequested).
  void requestRun();
  void setRunEnabled(bool enabled);

 Q_SIGNALS:
  void runRequested(const rr::core::ExperimentConfig& config, const QString& dbPath);
  void titleChanged(const QString& file, bool modified);
  void statusMessage(const QString& text);
  void failed(const QString& message);

 private:
  void refresh();
  void importData();
  bool writeTo(const QString& path);
  void setFile(const QString& path, bool modified);

  ConfigForm* m_form;
  QScrollArea* m_scroll;
  QLineEdit* m_db;
  QLineEdit* m_command;
  QPlainTextEdit* m_json;
  QPushButton* m_run;
  QTimer* m_refresh;
  QString m_path;
  bool m_modified = false;
};

}  // namespace rr::ui
