#include "runbackbone.h"

#include <QCoreApplication>
#include <QDir>
#include <nlohmann/json.hpp>

#include "config/config.h"

namespace rr::ui {
namespace {

using nlohmann::json;

std::string stringAt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

RunBackbone fromPath(const std::string& path) {
  const QString p = QString::fromStdString(path);
  QString clean = QDir::cleanPath(p);
  while (clean.size() > 1 && clean.endsWith('/')) clean.chop(1);
  const QString last = clean.section('/', -1);
  return {last.isEmpty() ? p : last, p};
}

}  // namespace

RunBackbone runBackbone(const core::RunInfo& run) {
  const json config = json::parse(run.configJson, nullptr, false);
  const json empty = json::object();
  const json& root = config.is_object() ? config : empty;
  if (run.method == "pretrained") {
    if (auto methods = root.find("methods"); methods != root.end() && methods->is_array()) {
      for (const json& m : *methods) {
        if (!m.is_object() || stringAt(m, "method") != run.method) continue;
        const std::string name = stringAt(m, "name");
        if ((name.empty() ? run.method : name) != run.methodName) continue;
        if (const std::string model = stringAt(m, "model"); !model.empty()) return fromPath(model);
      }
    }
  }
  const auto enc = root.find("encoder");
  const json& encoder = enc != root.end() && enc->is_object() ? *enc : empty;
  if (const std::string pretrained = stringAt(encoder, "pretrained"); !pretrained.empty())
    return fromPath(pretrained);
  std::string preset = stringAt(encoder, "preset");
  if (preset.empty()) preset = core::EncoderConfig{}.preset;
  return {QCoreApplication::translate("rr::ui::RunBackbone", "own %1")
              .arg(QString::fromStdString(preset)),
          QString()};
}

}  // namespace rr::ui
