#include "configform.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>
#include <climits>

#include "common/errors.h"
#include "config/schema.h"
#include "data/synthetic.h"
#include "train/backbone.h"

namespace rr::ui {

using nlohmann::json;

namespace {

json::json_pointer pointerOf(const std::string& path) {
  std::string p = path.substr(1);
  std::replace(p.begin(), p.end(), '.', '/');
  return json::json_pointer(p);
}

QString numberText(double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); }

QString valueText(const json& v) {
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  if (v.is_number_float()) return numberText(v.get<double>());
  return QString::fromStdString(v.dump());
}

// The canonical JSON of a default config with every section present: the form's defaults.
const json& defaults() {
  static const json d = [] {
    core::ExperimentConfig c;
    c.data.synthetic.enabled = true;
    c.methods.push_back({"baseline", "baseline", {}, {}});
    return json::parse(core::experimentConfigToJson(c));
  }();
  return d;
}

const json* valueAt(const json& j, const std::string& path) {
  const auto ptr = pointerOf(path);
  return j.contains(ptr) ? &j.at(ptr) : nullptr;
}

// A number field's text as JSON: a number when it reads as one, else the text itself, so the
// core's parser reports it with its usual "must be a number" message; empty = the default.
json numberJson(const QString& text) {
  const QString t = text.trimmed();
  if (t.isEmpty()) return json();
  bool ok = false;
  const double v = t.toDouble(&ok);
  return ok ? json(v) : json(t.toStdString());
}

QToolButton* removeButton(QWidget* parent, const QString& tip) {
  auto* b = new QToolButton(parent);
  b->setIcon(parent->style()->standardIcon(QStyle::SP_TitleBarCloseButton));
  b->setToolTip(tip);
  b->setAutoRaise(true);
  return b;
}

QWidget* rowWidget(QWidget* parent, QHBoxLayout*& layout) {
  auto* w = new QWidget(parent);
  layout = new QHBoxLayout(w);
  layout->setContentsMargins(0, 0, 0, 0);
  return w;
}

QString parameterText(std::int64_t n) {
  if (n >= 1000000000) return QStringLiteral("%1 B").arg(n / 1e9, 0, 'f', 2);
  if (n >= 1000000) return QStringLiteral("%1 M").arg(n / 1e6, 0, 'f', 1);
  if (n >= 1000) return QStringLiteral("%1 k").arg(n / 1e3, 0, 'f', 1);
  return QString::number(n);
}

// "deberta-v2 · DebertaV2ForSequenceClassification · 6 layers x 384 · 22.1 M parameters · …"
QString summaryText(const core::HfFolderSummary& s) {
  QStringList parts;
  parts << QString::fromStdString(s.modelType);
  if (!s.architecture.empty()) parts << QString::fromStdString(s.architecture);
  parts << ConfigForm::tr("%1 layers x %2").arg(s.layers).arg(s.hidden);
  parts << ConfigForm::tr("%1 parameters").arg(parameterText(s.parameters));
  parts << QString::fromStdString(s.tokenizer);
  if (s.inputLimit > 0) parts << ConfigForm::tr("inputs up to %1 tokens").arg(s.inputLimit);
  if (s.rewardModel)
    parts << ConfigForm::tr("reward model (1 label)");
  else if (s.architecture.find("ForSequenceClassification") != std::string::npos)
    parts << ConfigForm::tr("classifier with %1 labels, not a reward model").arg(s.numLabels);
  else
    parts << ConfigForm::tr("encoder without a reward head");
  return parts.join(QStringLiteral(" · "));
}

const char* const kShapePaths[] = {"$.encoder.preset", "$.encoder.hidden", "$.encoder.layers",
                                   "$.encoder.heads", "$.encoder.ffn"};

}  // namespace

struct ConfigForm::Field {
  std::string path;
  Kind kind;
  QWidget* widget;
};

struct ConfigForm::DomainRow {
  std::string name;
  QWidget* row;
  QCheckBox* use;
  QLineEdit* noise;
};

struct ConfigForm::FileRow {
  QWidget* row;
  QLineEdit* path;
  QLineEdit* domain;
  QComboBox* split;
};

struct ConfigForm::MethodEditor {
  QWidget* row;  // the box, under the name removeRow looks for
  QGroupBox* box;
  QComboBox* method;
  QLineEdit* name;
  QFormLayout* options;
  std::vector<Field> optionFields;  // path = the option's key
};

ConfigForm::ConfigForm(QWidget* parent) : QWidget(parent) {
  setStyleSheet(QStringLiteral("*[invalid=\"true\"] { border: 2px solid #d62728; }"));
  m_errorIcon = new QLabel(this);
  m_errorIcon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(20, 20));
  m_errorText = new QLabel(this);
  m_errorText->setObjectName(QStringLiteral("formError"));
  m_errorText->setWordWrap(true);
  m_errorText->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QHBoxLayout* errorLayout;
  QWidget* errorRow = rowWidget(this, errorLayout);
  errorLayout->addWidget(m_errorIcon);
  errorLayout->addWidget(m_errorText, 1);

  auto section = [this](const QString& title) {
    auto* box = new QGroupBox(title, this);
    return std::make_pair(box, new QFormLayout(box));
  };
  auto [expBox, exp] = section(tr("Experiment"));
  addSection(exp, "");

  // The data section lays its keys out around the domain, file and split rows; labels, help
  // and ranges still come from the schema.
  auto [dataBox, data] = section(tr("Data"));
  m_dataSection = dataBox;
  addField(data, specFor("data.synthetic.enabled"));
  addField(data, specFor("data.synthetic.pairs_per_domain"));
  addField(data, specFor("data.synthetic.seed"));
  Spec noise = specFor("data.synthetic.label_noise");
  noise.help += tr("; per-domain values below replace it");
  QWidget* globalNoise = addField(data, noise);
  addField(data, specFor("data.synthetic.house_style"));
  auto* domainWidget = new QWidget(dataBox);
  m_domainBox = new QVBoxLayout(domainWidget);
  m_domainBox->setContentsMargins(0, 0, 0, 0);
  domainWidget->setToolTip(
      tr("Ticked domains are generated (none ticked = all). The number is "
         "that domain's own label noise."));
  data->addRow(tr("Domains (noise)"), domainWidget);
  auto* fileWidget = new QWidget(dataBox);
  m_fileBox = new QVBoxLayout(fileWidget);
  m_fileBox->setContentsMargins(0, 0, 0, 0);
  auto* addFile = new QPushButton(tr("Add pairs file…"), fileWidget);
  addFile->setToolTip(
      tr("A canonical pairs file (JSON lines, docs/DATA.md); use Import… for the "
         "published datasets' own formats"));
  m_fileBox->addWidget(addFile);
  data->addRow(tr("Files"), fileWidget);
  QHBoxLayout* splitLayout;
  m_splitRow = rowWidget(dataBox, splitLayout);
  for (const char* part : {"train", "validation", "test"}) {
    Spec s = specFor(std::string("data.split.") + part);
    s.help += tr("; the three must add up to 1");
    splitLayout->addWidget(addField(nullptr, s));
  }
  data->addRow(tr("Split train / val / test"), m_splitRow);
  addField(data, specFor("data.max_pairs_per_domain"));

  auto [tokBox, tok] = section(tr("Tokenizer"));
  addSection(tok, "tokenizer");
  auto [encBox, enc] = section(tr("Encoder"));
  addSection(enc, "encoder");
  auto [loraBox, lora] = section(tr("LoRA"));
  addSection(lora, "lora");
  auto [trainBox, train] = section(tr("Training"));
  addSection(train, "training");
  auto [preBox, pre] = section(tr("Encoder pre-training (MLM)"));
  addSection(pre, "pretrain");
  auto [distBox, distributed] = section(tr("Several processes"));
  addSection(distributed, "distributed");

  auto* methodBox = new QGroupBox(tr("Methods"), this);
  m_methodSection = methodBox;
  m_methodBox = new QVBoxLayout(methodBox);
  auto* addMethodButton = new QToolButton(methodBox);
  addMethodButton->setText(tr("Add method"));
  addMethodButton->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(addMethodButton);
  for (const auto& name : core::methodNames()) {
    menu->addAction(QString::fromStdString(name), this, [this, name] {
      addMethod(json{{"method", name}});
      Q_EMIT changed();
    });
  }
  addMethodButton->setMenu(menu);
  m_methodBox->addWidget(addMethodButton);

  auto* columns = new QHBoxLayout;
  auto* left = new QVBoxLayout;
  auto* right = new QVBoxLayout;
  for (QWidget* w : {static_cast<QWidget*>(expBox), static_cast<QWidget*>(dataBox),
                     static_cast<QWidget*>(tokBox), static_cast<QWidget*>(preBox)})
    left->addWidget(w);
  left->addStretch(1);
  for (QWidget* w : {static_cast<QWidget*>(encBox), static_cast<QWidget*>(loraBox),
                     static_cast<QWidget*>(trainBox), static_cast<QWidget*>(distBox)})
    right->addWidget(w);
  right->addStretch(1);
  columns->addLayout(left, 1);
  columns->addLayout(right, 1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(errorRow);
  layout->addLayout(columns);
  layout->addWidget(methodBox);
  layout->addStretch(1);

  connect(addFile, &QPushButton::clicked, this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Add pairs file"), m_baseDir,
                                     tr("Pairs (*.jsonl *.jsonl.gz *.json);;All files (*)"));
    if (!path.isEmpty()) addDataFile(path);
  });
  // The scalar noise is ignored once any domain has its own value: say so by disabling it.
  connect(this, &ConfigForm::changed, this, [this, globalNoise] {
    bool perDomain = false;
    for (const DomainRow* r : m_domains)
      perDomain = perDomain || !r->noise->text().trimmed().isEmpty();
    globalNoise->setEnabled(!perDomain);
  });
  clearError();
  core::ExperimentConfig initial;
  initial.name = "experiment";
  initial.data.synthetic.enabled = true;
  initial.methods.push_back({"baseline", "baseline", {}, {}});
  setConfig(initial, tr("(unsaved experiment)"), QDir::currentPath());
}

ConfigForm::~ConfigForm() {
  for (auto* r : m_domains) delete r;
  for (auto* r : m_files) delete r;
  for (auto* m : m_methods) delete m;
}

ConfigForm::Spec ConfigForm::specFor(const std::string& key) {
  using T = core::ConfigKey::Type;
  const core::ConfigKey& k = core::configKey(key);
  Kind kind = Kind::Text;
  switch (k.type) {
    case T::Integer:
      kind = Kind::Integer;
      break;
    case T::Number:
      kind = Kind::Number;
      break;
    case T::Bool:
      kind = Kind::Bool;
      break;
    case T::Choice:
      kind = Kind::Choice;
      break;
    case T::Path:
      kind = Kind::Path;
      break;
    case T::ModelPath:
      kind = Kind::Model;
      break;
    case T::List:
      kind = Kind::List;
      break;
    case T::Text:
    case T::Object:
    case T::Array:
      kind = Kind::Text;
      break;
  }
  QString help = QString::fromStdString(k.help);
  if (k.type == T::Number)
    help += tr(", in %1%2, %3]")
                .arg(k.exclusiveLo ? QLatin1Char('(') : QLatin1Char('['))
                .arg(numberText(k.lo), numberText(k.hi));
  if (k.type == T::List && !k.allowed.empty()) {
    QStringList items;
    for (const auto& a : k.allowed) items << QString::fromStdString(a);
    help += tr("; comma-separated, from %1").arg(items.join(QStringLiteral(", ")));
  }
  return {QString::fromStdString(k.label),   "$." + key, kind, help, k.lo, k.hi, k.allowed,
          QString::fromStdString(k.zeroText)};
}

void ConfigForm::addSection(QFormLayout* form, const std::string& section) {
  for (const core::ConfigKey& k : core::configSchema()) {
    const size_t dot = k.path.rfind('.');
    const std::string parent = dot == std::string::npos ? std::string() : k.path.substr(0, dot);
    if (parent == section && !k.label.empty()) addField(form, specFor(k.path));
  }
}

QWidget* ConfigForm::addField(QFormLayout* form, const Spec& spec, std::vector<Field>* into) {
  QWidget* w = nullptr;
  QWidget* shown = nullptr;  // what goes into the form: the field, or its row with a button
  switch (spec.kind) {
    case Kind::Text:
    case Kind::List:
      w = new QLineEdit(this);
      break;
    case Kind::Number:
      w = new QLineEdit(this);
      static_cast<QLineEdit*>(w)->setMaximumWidth(140);
      break;
    case Kind::Integer: {
      auto* spin = new QSpinBox(this);
      spin->setRange(static_cast<int>(spec.lo),
                     static_cast<int>(std::min(spec.hi, double(INT_MAX))));
      if (!spec.zeroText.isEmpty()) spin->setSpecialValueText(spec.zeroText);
      spin->setMaximumWidth(160);
      w = spin;
      break;
    }
    case Kind::Choice: {
      auto* combo = new QComboBox(this);
      for (const auto& c : spec.choices) combo->addItem(QString::fromStdString(c));
      w = combo;
      break;
    }
    case Kind::Bool:
      w = new QCheckBox(this);
      break;
    case Kind::Path: {
      QHBoxLayout* row;
      shown = rowWidget(this, row);
      auto* edit = new QLineEdit(shown);
      auto* browse = new QToolButton(shown);
      browse->setText(QStringLiteral("…"));
      row->addWidget(edit, 1);
      row->addWidget(browse);
      connect(browse, &QToolButton::clicked, this, [this, edit] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Choose file"), m_baseDir);
        if (!p.isEmpty()) edit->setText(QDir(m_baseDir).relativeFilePath(p));
      });
      w = edit;
      break;
    }
    case Kind::Model: {
      shown = new QWidget(this);
      auto* column = new QVBoxLayout(shown);
      column->setContentsMargins(0, 0, 0, 0);
      QHBoxLayout* row;
      QWidget* line = rowWidget(shown, row);
      auto* edit = new QLineEdit(line);
      auto* file = new QToolButton(line);
      file->setText(tr("File…"));
      file->setToolTip(tr("Choose a saved encoder file"));
      auto* folder = new QToolButton(line);
      folder->setText(tr("Folder…"));
      folder->setToolTip(
          tr("Choose a Hugging Face model folder (the folder with config.json, the weights and "
             "the tokenizer files)"));
      row->addWidget(edit, 1);
      row->addWidget(file);
      row->addWidget(folder);
      auto* preview = new QLabel(shown);
      preview->setWordWrap(true);
      preview->setTextInteractionFlags(Qt::TextSelectableByMouse);
      preview->hide();
      column->addWidget(line);
      column->addWidget(preview);
      const QString key =
          QString::fromStdString(spec.path.rfind("$.", 0) == 0 ? spec.path.substr(2) : spec.path);
      preview->setObjectName(key + QStringLiteral(".preview"));
      // A method's model must be a folder; encoder.pretrained may also be a saved encoder.
      const bool folderOnly = spec.path.rfind("$.", 0) != 0;
      edit->setProperty("folderOnly", folderOnly);
      file->setVisible(!folderOnly);
      auto start = [this, edit] {
        const QString current = edit->text().trimmed();
        const QFileInfo info(QDir(m_baseDir).filePath(current));
        return current.isEmpty() || !info.exists() ? m_baseDir
               : info.isDir()                      ? info.absoluteFilePath()
                                                   : info.absolutePath();
      };
      connect(file, &QToolButton::clicked, this, [this, edit, start] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Choose saved encoder"), start());
        if (!p.isEmpty()) edit->setText(QDir(m_baseDir).relativeFilePath(p));
      });
      connect(folder, &QToolButton::clicked, this, [this, edit, start] {
        const QString p =
            QFileDialog::getExistingDirectory(this, tr("Choose model folder"), start());
        if (!p.isEmpty()) edit->setText(QDir(m_baseDir).relativeFilePath(p));
      });
      connect(edit, &QLineEdit::textChanged, this,
              [this, edit, preview] { updateModelPreview(edit, preview); });
      m_modelPreviews.emplace_back(edit, preview);
      w = edit;
      break;
    }
  }
  // Method options are addressed by key; everything else by its JSON path without "$.".
  w->setObjectName(
      QString::fromStdString(spec.path.rfind("$.", 0) == 0 ? spec.path.substr(2) : spec.path));
  QString tip = spec.help;
  const std::string key = spec.path.rfind("$.", 0) == 0 ? spec.path.substr(2) : spec.path;
  tip += tr("\nJSON: %1").arg(QString::fromStdString(key));
  if (const json* d = spec.path.rfind("$.", 0) == 0 ? valueAt(defaults(), spec.path) : nullptr)
    tip += tr(" · default %1").arg(valueText(*d));
  w->setToolTip(tip);
  if (auto* edit = qobject_cast<QLineEdit*>(w); edit && spec.kind == Kind::Number) {
    if (const json* d = spec.path.rfind("$.", 0) == 0 ? valueAt(defaults(), spec.path) : nullptr)
      edit->setPlaceholderText(valueText(*d));
  }
  watch(w);
  if (form) form->addRow(spec.label, shown ? shown : w);
  (into ? *into : m_fields).push_back({spec.path, spec.kind, w});
  return shown ? shown : w;
}

void ConfigForm::watch(QWidget* w) {
  auto emitChanged = [this] {
    if (!m_loading) Q_EMIT changed();
  };
  if (auto* e = qobject_cast<QLineEdit*>(w)) connect(e, &QLineEdit::textChanged, this, emitChanged);
  if (auto* s = qobject_cast<QSpinBox*>(w)) connect(s, &QSpinBox::valueChanged, this, emitChanged);
  if (auto* c = qobject_cast<QComboBox*>(w))
    connect(c, &QComboBox::currentIndexChanged, this, emitChanged);
  if (auto* b = qobject_cast<QCheckBox*>(w)) connect(b, &QCheckBox::toggled, this, emitChanged);
}

void ConfigForm::setFieldValue(const Field& f, const json* v) const {
  switch (f.kind) {
    case Kind::Text:
    case Kind::Path:
    case Kind::Model:
    case Kind::Number:
      static_cast<QLineEdit*>(f.widget)->setText(v ? valueText(*v) : QString());
      break;
    case Kind::List: {
      QStringList items;
      if (v && v->is_array())
        for (const auto& x : *v) items << valueText(x);
      static_cast<QLineEdit*>(f.widget)->setText(items.join(QStringLiteral(", ")));
      break;
    }
    case Kind::Integer: {
      auto* spin = static_cast<QSpinBox*>(f.widget);
      spin->setValue(v && v->is_number() ? static_cast<int>(v->get<double>()) : spin->minimum());
      break;
    }
    case Kind::Choice: {
      auto* combo = static_cast<QComboBox*>(f.widget);
      combo->setCurrentIndex(v ? combo->findText(valueText(*v)) : 0);
      break;
    }
    case Kind::Bool:
      static_cast<QCheckBox*>(f.widget)->setChecked(v && v->is_boolean() && v->get<bool>());
      break;
  }
}

json ConfigForm::fieldValue(const Field& f) const {
  switch (f.kind) {
    case Kind::Text:
    case Kind::Path:
    case Kind::Model:
      return static_cast<QLineEdit*>(f.widget)->text().toStdString();
    case Kind::Number:
      return numberJson(static_cast<QLineEdit*>(f.widget)->text());
    case Kind::List: {
      json list = json::array();
      for (const QString& s :
           static_cast<QLineEdit*>(f.widget)->text().split(',', Qt::SkipEmptyParts))
        if (!s.trimmed().isEmpty()) list.push_back(s.trimmed().toStdString());
      return list;
    }
    case Kind::Integer:
      return static_cast<QSpinBox*>(f.widget)->value();
    case Kind::Choice:
      return static_cast<QComboBox*>(f.widget)->currentText().toStdString();
    case Kind::Bool:
      return static_cast<QCheckBox*>(f.widget)->isChecked();
  }
  return json();
}

void ConfigForm::setFileLabel(const QString& fileLabel, const QString& baseDir) {
  m_fileLabel = fileLabel;
  m_baseDir = baseDir;
  // Relative model paths now point elsewhere.
  for (auto it = m_modelPreviews.begin(); it != m_modelPreviews.end();) {
    if (!it->first || !it->second) {
      it = m_modelPreviews.erase(it);
      continue;
    }
    updateModelPreview(it->first, it->second);
    ++it;
  }
}

void ConfigForm::updateModelPreview(QLineEdit* edit, QLabel* preview) {
  const QString text = edit->text().trimmed();
  const bool folderOnly = edit->property("folderOnly").toBool();
  bool isFolder = false;
  QString message, details;
  bool error = false;
  if (!text.isEmpty()) {
    const QFileInfo info(QDir(m_baseDir).filePath(text));
    const std::string path = info.absoluteFilePath().toStdString();
    if (info.isDir()) {
      isFolder = true;
      try {
        const core::HfFolderSummary s = core::describeHfFolder(path);
        message = summaryText(s);
        details = tr("Weights: %1 · vocabulary %2 · %3 heads")
                      .arg(QString::fromStdString(s.weightsFile))
                      .arg(s.vocabSize)
                      .arg(s.heads);
      } catch (const std::exception& e) {
        message = QString::fromStdString(e.what());
        error = true;
      }
    } else if (info.isFile()) {
      message = folderOnly ? tr("%1 is a file, not a Hugging Face model folder").arg(text)
                           : tr("A saved RewardRouter encoder (%1): the shape fields must match "
                                "the one it was saved with")
                                 .arg(info.fileName());
      error = folderOnly;
    } else {
      message = tr("not found: %1").arg(info.absoluteFilePath());
      error = true;
    }
  }
  preview->setText(message);
  preview->setToolTip(details);
  preview->setProperty("error", error);
  preview->setStyleSheet(error ? QStringLiteral("color: #d62728;") : QString());
  preview->setVisible(!message.isEmpty());
  if (edit->objectName() == QLatin1String("encoder.pretrained")) setShapeFromFolder(isFolder);
}

void ConfigForm::setShapeFromFolder(bool fromFolder) {
  // A model folder brings its shape and its tokenizer, and pre-training is skipped: those
  // fields would do nothing, so they are greyed out and say why. Their values stay in the JSON.
  const auto unusedBecause = [](const std::string& path) -> QString {
    if (std::find(std::begin(kShapePaths), std::end(kShapePaths), path) != std::end(kShapePaths))
      return tr("taken from the model folder");
    if (path.rfind("$.tokenizer.", 0) == 0) return tr("the model folder brings its own tokenizer");
    if (path.rfind("$.pretrain.", 0) == 0)
      return tr("not used: an encoder from a model folder is not pre-trained");
    return {};
  };
  for (const Field& f : m_fields) {
    const QString why = unusedBecause(f.path);
    if (why.isEmpty()) continue;
    if (!f.widget->property("help").isValid()) f.widget->setProperty("help", f.widget->toolTip());
    // A path's row holds its browse button too.
    (f.kind == Kind::Path ? f.widget->parentWidget() : f.widget)->setEnabled(!fromFolder);
    f.widget->setToolTip(fromFolder ? why : f.widget->property("help").toString());
  }
}

void ConfigForm::setConfig(const core::ExperimentConfig& config, const QString& fileLabel,
                           const QString& baseDir) {
  setFileLabel(fileLabel, baseDir);
  m_loading = true;
  const json j = json::parse(core::experimentConfigToJson(config));
  m_base = j;
  const bool synthetic = j.contains(pointerOf("$.data.synthetic"));
  for (const Field& f : m_fields) {
    if (f.path == "$.data.synthetic.enabled") {
      static_cast<QCheckBox*>(f.widget)->setChecked(synthetic);
      continue;
    }
    const json* v = valueAt(j, f.path);
    if (!v && f.path.rfind("$.data.synthetic.", 0) == 0) v = valueAt(defaults(), f.path);
    if (v && f.path == "$.data.synthetic.label_noise" && v->is_object()) v = nullptr;
    setFieldValue(f, v);
  }
  const json* synth = valueAt(j, "$.data.synthetic");
  rebuildDomains(synth ? *synth : json::object());
  while (!m_files.empty()) removeRow(m_files.back()->row);
  if (const json* files = valueAt(j, "$.data.files"))
    for (const auto& f : *files) addFileRow(f);
  while (!m_methods.empty()) removeRow(m_methods.back()->box);
  for (const auto& m : j.at("methods")) addMethod(m);
  m_loading = false;
  clearError();
  Q_EMIT changed();
}

void ConfigForm::rebuildDomains(const json& synthetic) {
  for (DomainRow* r : m_domains) {
    delete r->row;
    delete r;
  }
  m_domains.clear();
  std::vector<std::string> listed;
  if (synthetic.contains("domains"))
    for (const auto& d : synthetic.at("domains")) listed.push_back(d.get<std::string>());
  // Listed domains first, in the config's order, so that the order survives a round trip.
  std::vector<std::string> order = listed;
  for (const auto& d : core::syntheticDomainNames())
    if (std::find(order.begin(), order.end(), d) == order.end()) order.push_back(d);
  const json noise = synthetic.value("label_noise", json());
  for (const auto& name : order) {
    auto* r = new DomainRow{name, nullptr, nullptr, nullptr};
    QHBoxLayout* layout;
    r->row = rowWidget(this, layout);
    r->use = new QCheckBox(QString::fromStdString(name), r->row);
    r->use->setChecked(std::find(listed.begin(), listed.end(), name) != listed.end());
    r->noise = new QLineEdit(r->row);
    r->noise->setMaximumWidth(90);
    r->noise->setPlaceholderText(tr("noise"));
    r->noise->setToolTip(tr("Label noise of %1 only, in [0, 0.5]; empty = the common value")
                             .arg(QString::fromStdString(name)));
    if (noise.is_object() && noise.contains(name)) r->noise->setText(valueText(noise.at(name)));
    layout->addWidget(r->use);
    layout->addStretch(1);
    layout->addWidget(r->noise);
    watch(r->use);
    watch(r->noise);
    m_domainBox->addWidget(r->row);
    m_domains.push_back(r);
  }
}

ConfigForm::FileRow* ConfigForm::addFileRow(const json& file) {
  auto* r = new FileRow;
  QHBoxLayout* layout;
  r->row = rowWidget(this, layout);
  r->path = new QLineEdit(QString::fromStdString(file.value("path", "")), r->row);
  r->path->setToolTip(tr("Canonical pairs file, relative to the experiment file's folder"));
  r->domain = new QLineEdit(QString::fromStdString(file.value("domain", "")), r->row);
  r->domain->setPlaceholderText(tr("domain from file"));
  r->domain->setMaximumWidth(130);
  r->domain->setToolTip(tr("Overrides the domain field of every pair in the file"));
  r->split = new QComboBox(r->row);
  r->split->addItems(
      {QString(), QStringLiteral("train"), QStringLiteral("validation"), QStringLiteral("test")});
  r->split->setCurrentText(QString::fromStdString(file.value("split", "")));
  r->split->setToolTip(
      tr("Put every pair of the file in this split; empty = split by prompt hash"));
  QToolButton* remove = removeButton(r->row, tr("Remove this file"));
  layout->addWidget(r->path, 1);
  layout->addWidget(r->domain);
  layout->addWidget(r->split);
  layout->addWidget(remove);
  for (QWidget* w : {static_cast<QWidget*>(r->path), static_cast<QWidget*>(r->domain),
                     static_cast<QWidget*>(r->split)})
    watch(w);
  connect(remove, &QToolButton::clicked, this, [this, row = r->row] {
    removeRow(row);
    Q_EMIT changed();
  });
  m_fileBox->insertWidget(m_fileBox->count() - 1, r->row);
  m_files.push_back(r);
  return r;
}

void ConfigForm::addDataFile(const QString& path) {
  addFileRow(json{{"path", QDir(m_baseDir).relativeFilePath(path).toStdString()}});
  Q_EMIT changed();
}

ConfigForm::MethodEditor* ConfigForm::addMethod(const json& method) {
  auto* m = new MethodEditor;
  m->box = new QGroupBox(this);
  m->row = m->box;
  auto* outer = new QVBoxLayout(m->box);
  QHBoxLayout* head;
  QWidget* headRow = rowWidget(m->box, head);
  m->method = new QComboBox(headRow);
  for (const auto& n : core::methodNames()) m->method->addItem(QString::fromStdString(n));
  m->method->setCurrentText(QString::fromStdString(method.value("method", "")));
  m->method->setToolTip(tr("The method (docs/METHODS.md); its own options appear below"));
  m->name = new QLineEdit(QString::fromStdString(method.value("name", "")), headRow);
  m->name->setPlaceholderText(m->method->currentText());
  m->name->setToolTip(tr("Display name, unique in the experiment; empty = the method's name"));
  QToolButton* remove = removeButton(headRow, tr("Remove this method"));
  head->addWidget(new QLabel(tr("Method"), headRow));
  head->addWidget(m->method);
  head->addWidget(new QLabel(tr("Name"), headRow));
  head->addWidget(m->name, 1);
  head->addWidget(remove);
  outer->addWidget(headRow);
  m->options = new QFormLayout;
  outer->addLayout(m->options);
  watch(m->method);
  watch(m->name);

  // Option widgets come from the method's schema; switching methods rebuilds them at defaults.
  auto buildOptions = [this, m](const json& values) {
    while (m->options->rowCount() > 0) m->options->removeRow(0);
    m->optionFields.clear();
    using K = core::MethodOptionSpec::Kind;
    const std::string methodName = m->method->currentText().toStdString();
    for (const auto& spec : core::methodOptionSpecs(methodName)) {
      Spec s{QString::fromStdString(spec.key), spec.key, Kind::Number,
             QString::fromStdString(spec.help)};
      if (spec.kind == K::Integer) {
        s.kind = Kind::Integer;
        s.lo = spec.lo;
        s.hi = spec.hi;
      } else if (spec.kind == K::Text) {
        s.kind = spec.allowedText.empty() ? Kind::Text : Kind::Choice;
        s.choices = spec.allowedText;
        // The `pretrained` method's model folder gets the folder picker and the preview.
        if (spec.key == "model") s.kind = Kind::Model;
      }
      addField(m->options, s, &m->optionFields);
      const json def = spec.kind == K::Text ? json(spec.defaultText) : json(spec.defaultValue);
      QWidget* w = m->optionFields.back().widget;
      w->setToolTip(w->toolTip() + tr(" · default %1").arg(valueText(def)));
      if (auto* e = qobject_cast<QLineEdit*>(w); e && spec.kind == K::Number)
        e->setPlaceholderText(valueText(def));
      const json v = values.contains(spec.key) ? values.at(spec.key) : def;
      setFieldValue(m->optionFields.back(), &v);
    }
  };
  buildOptions(method);
  connect(m->method, &QComboBox::currentTextChanged, this, [m, buildOptions](const QString& text) {
    m->name->setPlaceholderText(text);
    buildOptions(json::object());
  });
  connect(remove, &QToolButton::clicked, this, [this, box = m->box] {
    removeRow(box);
    Q_EMIT changed();
  });
  m_methodBox->insertWidget(m_methodBox->count() - 1, m->box);
  m_methods.push_back(m);
  renumberMethods();
  return m;
}

void ConfigForm::removeRow(QWidget* row) {
  auto drop = [row](auto& list) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if ((*it)->row != row) continue;
      delete *it;
      list.erase(it);
      return true;
    }
    return false;
  };
  if (drop(m_files) || drop(m_methods)) row->deleteLater();
  row->hide();
  renumberMethods();
}

void ConfigForm::renumberMethods() {
  for (std::size_t i = 0; i < m_methods.size(); ++i)
    m_methods[i]->box->setTitle(tr("Method %1").arg(i + 1));
}

json ConfigForm::toJson() const {
  json j = m_base;
  for (const Field& f : m_fields) {
    const json v = fieldValue(f);
    const auto ptr = pointerOf(f.path);
    if (!v.is_null()) {
      j[ptr] = v;
    } else if (j.contains(ptr)) {
      j.at(ptr.parent_pointer()).erase(ptr.back());
    }
  }
  json& synth = j["data"]["synthetic"];
  json domains = json::array(), noise = json::object();
  for (const DomainRow* r : m_domains) {
    if (r->use->isChecked()) domains.push_back(r->name);
    const json n = numberJson(r->noise->text());
    if (!n.is_null()) noise[r->name] = n;
  }
  synth["domains"] = domains;
  if (!noise.empty()) synth["label_noise"] = noise;
  j["data"].erase("files");
  if (!m_files.empty()) {
    json files = json::array();
    for (const FileRow* r : m_files) {
      json f = {{"path", r->path->text().toStdString()}};
      if (!r->domain->text().isEmpty()) f["domain"] = r->domain->text().toStdString();
      if (!r->split->currentText().isEmpty()) f["split"] = r->split->currentText().toStdString();
      files.push_back(f);
    }
    j["data"]["files"] = files;
  }
  json methods = json::array();
  for (const MethodEditor* m : m_methods) {
    json mj = {{"method", m->method->currentText().toStdString()}};
    if (!m->name->text().isEmpty()) mj["name"] = m->name->text().toStdString();
    for (const Field& f : m->optionFields) {
      json v = fieldValue(f);
      if (!v.is_null()) mj[f.path] = v;
    }
    methods.push_back(mj);
  }
  j["methods"] = methods;
  return j;
}

std::optional<core::ExperimentConfig> ConfigForm::validate() {
  const std::string text = toJson().dump(2);
  try {
    core::ExperimentConfig c =
        core::parseExperimentConfig(text, m_fileLabel.toStdString(), m_baseDir.toStdString());
    clearError();
    return c;
  } catch (const core::InputError& e) {
    const QString message = QString::fromStdString(e.what());
    static const QRegularExpression pathRe(QStringLiteral("(?:^|: )(\\$[^: ]*): "));
    const QRegularExpressionMatch match = pathRe.match(message);
    showError(message, match.hasMatch() ? widgetForPath(match.captured(1).toStdString()) : nullptr);
    return std::nullopt;
  }
}

std::optional<core::ExperimentConfig> ConfigForm::parsed() const {
  try {
    return core::parseExperimentConfig(toJson().dump(2), m_fileLabel.toStdString(),
                                       m_baseDir.toStdString());
  } catch (const core::InputError&) {
    return std::nullopt;
  }
}

std::vector<std::pair<std::string, QWidget*>> ConfigForm::pathWidgets() const {
  std::vector<std::pair<std::string, QWidget*>> out = {
      {"$.data", m_dataSection}, {"$.data.split", m_splitRow}, {"$.methods", m_methodSection}};
  for (const Field& f : m_fields) out.emplace_back(f.path, f.widget);
  int listed = 0;
  for (const DomainRow* r : m_domains) {
    if (r->use->isChecked())
      out.emplace_back("$.data.synthetic.domains[" + std::to_string(listed++) + "]", r->use);
    out.emplace_back("$.data.synthetic.label_noise." + r->name, r->noise);
  }
  for (std::size_t i = 0; i < m_files.size(); ++i) {
    const std::string p = "$.data.files[" + std::to_string(i) + "]";
    out.emplace_back(p, m_files[i]->row);
    out.emplace_back(p + ".path", m_files[i]->path);
    out.emplace_back(p + ".domain", m_files[i]->domain);
    out.emplace_back(p + ".split", m_files[i]->split);
  }
  for (std::size_t i = 0; i < m_methods.size(); ++i) {
    const std::string p = "$.methods[" + std::to_string(i) + "]";
    out.emplace_back(p, m_methods[i]->box);
    out.emplace_back(p + ".method", m_methods[i]->method);
    out.emplace_back(p + ".name", m_methods[i]->name);
    for (const Field& f : m_methods[i]->optionFields) out.emplace_back(p + "." + f.path, f.widget);
  }
  return out;
}

QWidget* ConfigForm::widgetForPath(const std::string& path) const {
  const auto entries = pathWidgets();
  // The most specific registered path that contains the error's path: "$.data.files[2].path"
  // falls back to "$.data.files[2]", then "$.data".
  for (std::string p = path; !p.empty() && p != "$";) {
    for (const auto& [key, widget] : entries)
      if (key == p) return widget;
    const std::size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  return nullptr;
}

void ConfigForm::showError(const QString& message, QWidget* at) {
  clearError();
  m_error = message;
  m_errorText->setText(message);
  m_errorIcon->show();
  m_errorText->show();
  m_errorWidget = at;
  if (at) {
    at->setProperty("invalid", true);
    at->style()->unpolish(at);
    at->style()->polish(at);
  }
}

void ConfigForm::clearError() {
  m_error.clear();
  m_errorIcon->hide();
  m_errorText->hide();
  if (m_errorWidget) {
    m_errorWidget->setProperty("invalid", false);
    m_errorWidget->style()->unpolish(m_errorWidget);
    m_errorWidget->style()->polish(m_errorWidget);
  }
  m_errorWidget = nullptr;
}

}  // namespace rr::ui
