#include "importdialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QThread>
#include <memory>

#include "data/importer.h"

namespace rr::ui {
namespace {

struct ImportJob {
  std::vector<std::string> inputs;
  core::ImportOptions options;
  std::string output;
  std::string summary, error;
};

}  // namespace

ImportDialog::ImportDialog(const QString& baseDir, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Import data"));
  m_format = new QComboBox(this);
  for (const auto& f : core::importFormatNames()) m_format->addItem(QString::fromStdString(f));
  m_inputs = new QListWidget(this);
  m_inputs->setMinimumHeight(90);
  auto* addInputs = new QPushButton(tr("Add files…"), this);
  auto* clearInputs = new QPushButton(tr("Clear"), this);
  auto* inputButtons = new QHBoxLayout;
  inputButtons->addWidget(addInputs);
  inputButtons->addWidget(clearInputs);
  inputButtons->addStretch(1);
  m_domain = new QLineEdit(this);
  m_domain->setPlaceholderText(tr("from the data"));
  m_skipBad = new QCheckBox(tr("Skip malformed records (counted in the summary)"), this);
  m_fieldMap = new QLineEdit(this);
  m_fieldMap->setPlaceholderText(tr("jsonl only, e.g. prompt=question, chosen=good, rejected=bad"));
  m_output =
      new QLineEdit(QDir(baseDir).filePath(QStringLiteral("data/imported.pairs.jsonl")), this);
  auto* browseOut = new QPushButton(tr("…"), this);
  auto* outRow = new QHBoxLayout;
  outRow->addWidget(m_output, 1);
  outRow->addWidget(browseOut);
  m_status = new QLabel(this);
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* form = new QFormLayout;
  form->addRow(tr("Format"), m_format);
  form->addRow(tr("Input files"), m_inputs);
  form->addRow(QString(), inputButtons);
  form->addRow(tr("Domain"), m_domain);
  form->addRow(QString(), m_skipBad);
  form->addRow(tr("Field map"), m_fieldMap);
  form->addRow(tr("Write pairs to"), outRow);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
  m_importButton = buttons->addButton(tr("Import"), QDialogButtonBox::AcceptRole);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_status);
  layout->addWidget(buttons);

  connect(addInputs, &QPushButton::clicked, this, [this, baseDir] {
    for (const QString& f : QFileDialog::getOpenFileNames(this, tr("Dataset files"), baseDir))
      m_inputs->addItem(f);
  });
  connect(clearInputs, &QPushButton::clicked, m_inputs, &QListWidget::clear);
  connect(browseOut, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Pairs file"), m_output->text(),
                                                   tr("Pairs (*.jsonl)"));
    if (!f.isEmpty()) m_output->setText(f);
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_importButton, &QPushButton::clicked, this, &ImportDialog::startImport);
}

QString ImportDialog::outputPath() const { return m_output->text(); }

void ImportDialog::startImport() {
  auto job = std::make_shared<ImportJob>();
  for (int i = 0; i < m_inputs->count(); ++i)
    job->inputs.push_back(m_inputs->item(i)->text().toStdString());
  if (job->inputs.empty()) {
    m_status->setText(tr("Add at least one input file."));
    return;
  }
  job->options.format = m_format->currentText().toStdString();
  job->options.domainOverride = m_domain->text().trimmed().toStdString();
  job->options.skipBad = m_skipBad->isChecked();
  for (const QString& pair : m_fieldMap->text().split(',', Qt::SkipEmptyParts)) {
    const QStringList kv = pair.split('=');
    if (kv.size() != 2) {
      m_status->setText(tr("Field map entries are name=field (got \"%1\").").arg(pair.trimmed()));
      return;
    }
    job->options.fieldMap[kv[0].trimmed().toStdString()] = kv[1].trimmed().toStdString();
  }
  job->output = m_output->text().toStdString();
  m_importButton->setEnabled(false);
  m_status->setText(tr("Importing…"));
  // Large dumps take a while to read: off the GUI thread, with the result handed back whole.
  QThread* worker = QThread::create([job] {
    try {
      core::ImportSummary summary;
      QDir().mkpath(QFileInfo(QString::fromStdString(job->output)).absolutePath());
      core::importToFile(job->inputs, job->options, job->output, false, summary);
      job->summary = core::summaryText(summary);
    } catch (const std::exception& e) {
      job->error = e.what();
    }
  });
  connect(worker, &QThread::finished, this, [this, job, worker] {
    worker->deleteLater();
    m_importButton->setEnabled(true);
    if (!job->error.empty()) {
      m_status->setText(tr("Import failed: %1").arg(QString::fromStdString(job->error)));
      return;
    }
    m_summary = QString::fromStdString(job->summary);
    accept();
  });
  worker->start();
}

}  // namespace rr::ui
