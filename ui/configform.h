#pragma once
// The experiment config as a form built from the config's schema (core/config/schema.h): typed
// fields with their labels, ranges, defaults and help, the synthetic
// domains, data files and the method list (each method's options built from its schema in
// core::methodOptionSpecs). The form writes the config's JSON and validates it with the core's
// parser, so a bad field shows the same "FILE: $.path: message" the CLI prints, at that field.
#include <QPointer>
#include <QString>
#include <QWidget>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

class QFormLayout;
class QLabel;
class QLineEdit;
class QVBoxLayout;

namespace rr::ui {

class ConfigForm : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigForm(QWidget* parent = nullptr);
  ~ConfigForm() override;

  // Shows `config`; `baseDir` resolves the relative paths in it, `fileLabel` prefixes errors.
  void setConfig(const core::ExperimentConfig& config, const QString& fileLabel,
                 const QString& baseDir);
  void setFileLabel(const QString& fileLabel, const QString& baseDir);
  const QString& baseDir() const { return m_baseDir; }
  // The JSON the form stands for (not yet validated).
  nlohmann::json toJson() const;
  // Parses toJson() with the core's parser: the config, or nullopt with the error shown at its
  // field (errorMessage / errorWidget tell which).
  std::optional<core::ExperimentConfig> validate();
  // The same parse without showing anything: nullopt when the form does not hold a valid config.
  std::optional<core::ExperimentConfig> parsed() const;
  const QString& errorMessage() const { return m_error; }
  QWidget* errorWidget() const { return m_errorWidget.data(); }
  // The field or row that a JSON path in an error message points at ("$.training.lr").
  QWidget* widgetForPath(const std::string& path) const;
  // Adds a canonical pairs file to data.files (e.g. after an import).
  void addDataFile(const QString& path);

 Q_SIGNALS:
  void changed();

 private:
  struct Field;
  struct DomainRow;
  struct FileRow;
  struct MethodEditor;
  // Model: a path that may name a Hugging Face model folder or a saved encoder file, with a
  // preview of what it holds under it.
  enum class Kind { Text, Integer, Number, Choice, Bool, Path, List, Model };
  struct Spec {
    QString label;
    std::string path;  // "$.training.lr"; for method options just the key
    Kind kind;
    QString help;
    double lo = 0, hi = 0;                  // Integer range
    std::vector<std::string> choices = {};  // Choice items
    QString zeroText = {};                  // Integer: what 0 means ("preset", "no limit")
  };

  // The field of a config key as the schema (core/config/schema.h) describes it.
  static Spec specFor(const std::string& key);
  // Adds a field for every key of the schema directly under `section` ("training") that has a
  // label, in the schema's order.
  void addSection(QFormLayout* form, const std::string& section);
  // Creates the field's widget, adds it to `form` (when given) and to m_fields (when `into` is
  // null) or `into`.
  QWidget* addField(QFormLayout* form, const Spec& spec, std::vector<Field>* into = nullptr);
  void setFieldValue(const Field& f, const nlohmann::json* v) const;
  nlohmann::json fieldValue(const Field& f) const;
  void rebuildDomains(const nlohmann::json& synthetic);
  FileRow* addFileRow(const nlohmann::json& file);
  MethodEditor* addMethod(const nlohmann::json& method);
  void removeRow(QWidget* row);
  void renumberMethods();
  std::vector<std::pair<std::string, QWidget*>> pathWidgets() const;
  void showError(const QString& message, QWidget* at);
  void clearError();
  void watch(QWidget* w);
  // Describes what a Model field names (describeHfFolder's summary, or the error in red); the
  // encoder's shape fields follow encoder.pretrained.
  void updateModelPreview(QLineEdit* edit, QLabel* preview);
  void setShapeFromFolder(bool fromFolder);

  // The canonical JSON of the config last shown: keys the form has no field for pass through.
  nlohmann::json m_base;
  std::vector<Field> m_fields;
  std::vector<DomainRow*> m_domains;
  std::vector<FileRow*> m_files;
  std::vector<MethodEditor*> m_methods;
  std::vector<std::pair<QPointer<QLineEdit>, QPointer<QLabel>>> m_modelPreviews;
  QVBoxLayout* m_domainBox;
  QVBoxLayout* m_fileBox;
  QVBoxLayout* m_methodBox;
  QWidget* m_dataSection;
  QWidget* m_methodSection;
  QWidget* m_splitRow;
  QLabel* m_errorIcon;
  QLabel* m_errorText;
  QString m_fileLabel, m_baseDir, m_error;
  QPointer<QWidget> m_errorWidget;
  bool m_loading = false;
};

}  // namespace rr::ui
