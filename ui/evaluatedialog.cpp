#include "evaluatedialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

#include "data/importer.h"
#include "data/parquet/parquet.h"

namespace rr::ui {
namespace {

// The canonical file an import writes by default: beside the dataset file, "<stem>.pairs.jsonl".
QString defaultOutput(const QString& input) {
  const QFileInfo f(input);
  return f.dir().filePath(f.completeBaseName() + QStringLiteral(".pairs.jsonl"));
}

}  // namespace

EvaluateDialog::EvaluateDialog(std::int64_t runId, const QString& runLabel, QWidget* parent)
    : QDialog(parent), m_runId(runId) {
  setWindowTitle(tr("Evaluate run %1 on another pairs file").arg(runId));
  m_file = new QLineEdit(this);
  m_file->setObjectName(QStringLiteral("pairsFile"));
  auto* browse = new QPushButton(tr("Browse…"), this);
  m_format = new QComboBox(this);
  m_format->setObjectName(QStringLiteral("importFormat"));
  m_format->addItem(tr("canonical pairs (JSON lines)"), QString());
  // "pairs" is the canonical format itself; "jsonl" needs a field map, which Import data… has.
  for (const auto& f : core::importFormatNames())
    if (f != "pairs" && f != "jsonl")
      m_format->addItem(tr("import as %1").arg(QString::fromStdString(f)),
                        QString::fromStdString(f));
  m_output = new QLineEdit(this);
  m_output->setObjectName(QStringLiteral("importOutput"));
  m_output->setToolTip(tr("The canonical pairs file the import writes; the evaluation reads it"));
  m_name = new QLineEdit(this);
  m_name->setObjectName(QStringLiteral("evaluationName"));
  m_hint = new QLabel(this);
  m_hint->setWordWrap(true);
  m_hint->setForegroundRole(QPalette::PlaceholderText);
  m_error = new QLabel(this);
  m_error->setObjectName(QStringLiteral("evaluateError"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setStyleSheet(QStringLiteral("color: #d62728;"));
  m_error->hide();
  m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Evaluate"));

  auto* fileRow = new QHBoxLayout;
  fileRow->addWidget(m_file, 1);
  fileRow->addWidget(browse);
  auto* form = new QFormLayout(this);
  form->addRow(new QLabel(tr("Score every pair of a file with the saved system of %1, without "
                             "training, and store the result as an evaluation of the run.")
                              .arg(runLabel),
                          this));
  form->addRow(tr("Pairs file"), fileRow);
  form->addRow(tr("Format"), m_format);
  form->addRow(tr("Write canonical pairs to"), m_output);
  form->addRow(tr("Evaluation name"), m_name);
  form->addRow(m_hint);
  form->addRow(m_error);
  form->addRow(m_buttons);

  connect(browse, &QPushButton::clicked, this, [this] {
    const QString p = QFileDialog::getOpenFileName(
        this, tr("Pairs file to evaluate on"), QFileInfo(m_file->text()).absolutePath(),
        tr("Pairs and datasets (*.jsonl *.json *.gz *.parquet);;All files (*)"));
    if (!p.isEmpty()) setPairsFile(p);
  });
  connect(m_file, &QLineEdit::textChanged, this, [this] {
    detectFormat();
    updateState();
  });
  connect(m_format, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    if (!m_format->currentData().toString().isEmpty() && m_output->text().isEmpty() &&
        !m_file->text().isEmpty())
      m_output->setText(defaultOutput(m_file->text()));
    updateState();
  });
  connect(m_output, &QLineEdit::textChanged, this, &EvaluateDialog::updateState);
  connect(m_buttons, &QDialogButtonBox::accepted, this, [this] {
    if (m_busy || !m_buttons->button(QDialogButtonBox::Ok)->isEnabled()) return;
    m_error->hide();
    Q_EMIT evaluateRequested(job());
  });
  connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  updateState();
}

void EvaluateDialog::setPairsFile(const QString& path) {
  m_file->setText(path);
  if (!m_format->currentData().toString().isEmpty()) m_output->setText(defaultOutput(path));
  updateState();
}

void EvaluateDialog::detectFormat() {
  // Canonical pairs are never Parquet: a Parquet file needs an import, and the benchmark
  // published as Parquet is RewardBench. Only a regular file is read (a FIFO would block).
  const QString path = m_file->text().trimmed();
  if (!m_format->currentData().toString().isEmpty() || !QFileInfo(path).isFile() ||
      !core::parquet::hasParquetMagic(path.toStdString()))
    return;
  const int rb = m_format->findData(QStringLiteral("rewardbench"));
  if (rb >= 0) m_format->setCurrentIndex(rb);  // also fills in the canonical file to write
}

void EvaluateDialog::setBusy(bool busy) {
  m_busy = busy;
  for (QWidget* w : {static_cast<QWidget*>(m_file), static_cast<QWidget*>(m_format),
                     static_cast<QWidget*>(m_output), static_cast<QWidget*>(m_name)})
    w->setEnabled(!busy);
  m_buttons->button(QDialogButtonBox::Cancel)->setText(busy ? tr("Close") : tr("Cancel"));
  updateState();
  if (busy) m_hint->setText(tr("Evaluating… (Close hides this dialog; the evaluation goes on)"));
}

void EvaluateDialog::showError(const QString& message) {
  m_error->setText(message);
  m_error->show();
}

void EvaluateDialog::updateState() {
  const bool import = !m_format->currentData().toString().isEmpty();
  m_output->setEnabled(import && !m_busy);
  const QString evaluated = import ? m_output->text() : m_file->text();
  m_name->setPlaceholderText(evaluated.isEmpty() ? tr("the file's name")
                                                 : QFileInfo(evaluated).completeBaseName());
  m_hint->setText(import ? tr("The file is imported as `rewardrouter-cli import --format %1` "
                              "does, then the canonical file is evaluated.")
                               .arg(m_format->currentData().toString())
                         : tr("A canonical pairs file, e.g. one written by Import data… or "
                              "`rewardrouter-cli import`. A routed system routes each prompt "
                              "itself; the pairs' domains are not shown to it."));
  m_buttons->button(QDialogButtonBox::Ok)
      ->setEnabled(!m_busy && !m_file->text().trimmed().isEmpty() &&
                   (!import || !m_output->text().trimmed().isEmpty()));
}

EvaluateJob EvaluateDialog::job() const {
  EvaluateJob j;
  j.runId = m_runId;
  j.pairsPath = m_file->text().trimmed();
  j.name = m_name->text().trimmed();
  j.importFormat = m_format->currentData().toString();
  if (!j.importFormat.isEmpty()) j.importOutput = m_output->text().trimmed();
  return j;
}

}  // namespace rr::ui
