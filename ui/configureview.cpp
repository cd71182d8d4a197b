#include "configureview.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QSplitter>
#include <QStyle>
#include <QTimer>
#include <QVBoxLayout>

#include "common/errors.h"
#include "common/fileio.h"
#include "configform.h"
#include "guard.h"
#include "importdialog.h"

namespace rr::ui {
namespace {

QString shellQuote(const QString& s) {
  static const QRegularExpression safe(QStringLiteral("^[A-Za-z0-9_./:=+-]+$"));
  if (safe.match(s).hasMatch()) return s;
  QString q = s;
  q.replace('\'', QStringLiteral("'\\''"));
  return '\'' + q + '\'';
}

QString relativeToCwd(const QString& path) {
  const QString rel = QDir::current().relativeFilePath(path);
  return rel.startsWith(QStringLiteral("../../")) ? QFileInfo(path).absoluteFilePath() : rel;
}

}  // namespace

ConfigureView::ConfigureView(QWidget* parent) : QWidget(parent) {
  m_form = new ConfigForm(this);
  m_scroll = new QScrollArea(this);
  m_scroll->setWidget(m_form);
  m_scroll->setWidgetResizable(true);
  m_scroll->setFrameShape(QFrame::NoFrame);

  auto* open =
      new QPushButton(style()->standardIcon(QStyle::SP_DialogOpenButton), tr("Open…"), this);
  auto* saveButton =
      new QPushButton(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("Save"), this);
  auto* saveAsButton = new QPushButton(tr("Save as…"), this);
  auto* import = new QPushButton(tr("Import data…"), this);
  import->setToolTip(
      tr("Convert dataset files in their published formats (%1) into a pairs file "
         "and add it to the data files"));
  m_db = new QLineEdit(this);
  m_db->setObjectName(QStringLiteral("runDatabase"));
  m_db->setToolTip(tr("The run store Run writes to; empty = runs/<experiment name>.db"));
  m_run = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Run"), this);
  m_run->setObjectName(QStringLiteral("runButton"));
  // Ctrl+R is the window's Run ▸ Run experiment, which works in every view.
  m_run->setToolTip(tr("Validate and start the experiment on this machine (Ctrl+R)"));
  auto* top = new QHBoxLayout;
  top->addWidget(open);
  top->addWidget(saveButton);
  top->addWidget(saveAsButton);
  top->addWidget(import);
  top->addSpacing(16);
  top->addWidget(new QLabel(tr("Database:"), this));
  top->addWidget(m_db, 1);
  top->addWidget(m_run);

  m_command = new QLineEdit(this);
  m_command->setObjectName(QStringLiteral("cliCommand"));
  m_command->setReadOnly(true);
  m_json = new QPlainTextEdit(this);
  m_json->setObjectName(QStringLiteral("jsonPreview"));
  m_json->setReadOnly(true);
  m_json->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_json->setLineWrapMode(QPlainTextEdit::NoWrap);
  auto* side = new QWidget(this);
  auto* sideLayout = new QVBoxLayout(side);
  sideLayout->setContentsMargins(0, 0, 0, 0);
  sideLayout->addWidget(new QLabel(tr("Equivalent command:"), side));
  sideLayout->addWidget(m_command);
  sideLayout->addWidget(new QLabel(tr("Experiment JSON (as saved):"), side));
  sideLayout->addWidget(m_json, 1);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(m_scroll);
  split->addWidget(side);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setSizes({820, 380});
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(split, 1);

  m_refresh = new QTimer(this);
  m_refresh->setSingleShot(true);
  m_refresh->setInterval(150);
  connect(m_refresh, &QTimer::timeout, this, [this] { guarded([this] { refresh(); }); });
  connect(m_form, &ConfigForm::changed, this, [this] {
    if (!m_modified) setFile(m_path, true);
    m_refresh->start();
  });
  connect(m_db, &QLineEdit::textChanged, m_refresh, qOverload<>(&QTimer::start));
  connect(open, &QPushButton::clicked, this, &ConfigureView::chooseAndLoad);
  connect(saveButton, &QPushButton::clicked, this, &ConfigureView::save);
  connect(saveAsButton, &QPushButton::clicked, this, &ConfigureView::saveAs);
  connect(import, &QPushButton::clicked, this, &ConfigureView::importData);
  connect(m_run, &QPushButton::clicked, this, [this] { guarded([this] { requestRun(); }); });
  setFile(QString(), false);
  refresh();
}

void ConfigureView::setFile(const QString& path, bool modified) {
  m_path = path;
  m_modified = modified;
  Q_EMIT titleChanged(path, modified);
}

bool ConfigureView::confirmDiscard() {
  if (!m_modified) return true;
  const auto answer = QMessageBox::question(
      this, tr("Unsaved experiment"),
      tr("Save the changes to %1?").arg(m_path.isEmpty() ? tr("the unsaved experiment") : m_path),
      QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
  return answer == QMessageBox::Discard || (answer == QMessageBox::Save && save());
}

bool ConfigureView::chooseAndLoad() {
  if (!confirmDiscard()) return false;
  const QString p =
      QFileDialog::getOpenFileName(this, tr("Open experiment"), QFileInfo(m_path).absolutePath(),
                                   tr("Experiments (*.json);;All files (*)"));
  return !p.isEmpty() && loadFile(p);
}

bool ConfigureView::loadFile(const QString& path) {
  const std::string file = path.toStdString();
  std::optional<core::ExperimentConfig> config;
  QString error;
  try {
    config = core::loadExperimentConfig(file);
  } catch (const std::exception& e) {
    error = QString::fromStdString(e.what());
    // A config that is wrong only about the files it names (a data file that moved) still
    // opens, so that the path can be fixed here: the form then shows the error at its field.
    try {
      constexpr std::uint64_t kMaxConfigBytes = std::uint64_t{16} << 20;
      config = core::parseExperimentConfig(
          core::readRegularFile(file, kMaxConfigBytes, "experiment config"), file, "");
    } catch (const std::exception&) {
      Q_EMIT statusMessage(error);
      Q_EMIT failed(error);
      return false;
    }
  }
  const QString baseDir = QFileInfo(path).absolutePath();
  m_form->setConfig(*config, path, baseDir);
  setFile(path, false);
  refresh();  // validates: the error, if any, is shown at its field
  Q_EMIT statusMessage(error.isEmpty() ? tr("Loaded %1").arg(path) : error);
  return true;
}

bool ConfigureView::writeTo(const QString& path) {
  const std::optional<core::ExperimentConfig> c = m_form->validate();
  if (!c) {
    m_scroll->ensureWidgetVisible(m_form->errorWidget() ? m_form->errorWidget() : m_form);
    QMessageBox::warning(this, tr("Save experiment"),
                         tr("The experiment is not valid:\n%1").arg(m_form->errorMessage()));
    return false;
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) ||
      file.write(QByteArray::fromStdString(core::experimentConfigToJson(*c) + "\n")) < 0 ||
      !file.commit()) {
    QMessageBox::warning(this, tr("Save experiment"),
                         tr("Could not write %1: %2").arg(path, file.errorString()));
    return false;
  }
  m_form->setFileLabel(path, QFileInfo(path).absolutePath());
  setFile(path, false);
  refresh();
  Q_EMIT statusMessage(tr("Saved %1").arg(path));
  return true;
}

bool ConfigureView::save() { return m_path.isEmpty() ? saveAs() : writeTo(m_path); }

bool ConfigureView::saveAs() {
  const QString name = QString::fromStdString(m_form->toJson().value("name", "experiment"));
  const QString p = QFileDialog::getSaveFileName(this, tr("Save experiment"),
                                                 QDir(m_form->baseDir()).filePath(name + ".json"),
                                                 tr("Experiments (*.json)"));
  return !p.isEmpty() && writeTo(p);
}

void ConfigureView::setDatabasePath(const QString& path) { m_db->setText(relativeToCwd(path)); }

QString ConfigureView::runDatabasePath() const {
  if (!m_db->text().trimmed().isEmpty()) return m_db->text().trimmed();
  return QStringLiteral("runs/%1.db")
      .arg(QString::fromStdString(m_form->toJson().value("name", "experiment")));
}

QString ConfigureView::commandLine() const {
  const QString file = m_path.isEmpty() ? QStringLiteral("EXPERIMENT.json") : relativeToCwd(m_path);
  return QStringLiteral("rewardrouter-cli run %1 --db %2")
      .arg(shellQuote(file), shellQuote(runDatabasePath()));
}

void ConfigureView::refresh() {
  const std::optional<core::ExperimentConfig> c = m_form->validate();
  m_json->setPlainText(
      QString::fromStdString(c ? core::experimentConfigToJson(*c) : m_form->toJson().dump(2)));
  QString cmd = commandLine();
  if (m_path.isEmpty() || m_modified) cmd = tr("(save first) ") + cmd;
  m_command->setText(cmd);
  m_command->setCursorPosition(0);
}

void ConfigureView::requestRun() {
  m_refresh->stop();
  refresh();
  const std::optional<core::ExperimentConfig> c = m_form->validate();
  if (!c) {
    m_scroll->ensureWidgetVisible(m_form->errorWidget() ? m_form->errorWidget() : m_form);
    Q_EMIT statusMessage(m_form->errorMessage());
    return;
  }
  Q_EMIT runRequested(*c, runDatabasePath());
}

void ConfigureView::setRunEnabled(bool enabled) { m_run->setEnabled(enabled); }

void ConfigureView::importData() {
  ImportDialog dialog(m_form->baseDir(), this);
  if (dialog.exec() != QDialog::Accepted) return;
  m_form->addDataFile(dialog.outputPath());
  QMessageBox::information(this, tr("Import data"), dialog.summary());
}

}  // namespace rr::ui
