#include "configdiff.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <set>

namespace rr::ui {
namespace {

void flatten(const QJsonValue& v, const QString& path, std::map<QString, QString>& out) {
  if (v.isObject()) {
    const QJsonObject o = v.toObject();
    for (auto it = o.begin(); it != o.end(); ++it) flatten(it.value(), path + '.' + it.key(), out);
    if (o.isEmpty() && path != QStringLiteral("$")) out[path] = QStringLiteral("{}");
  } else if (v.isArray()) {
    const QJsonArray a = v.toArray();
    for (int i = 0; i < a.size(); ++i)
      flatten(a[i], QStringLiteral("%1[%2]").arg(path).arg(i), out);
    if (a.isEmpty() && path != QStringLiteral("$")) out[path] = QStringLiteral("[]");
  } else {
    // A one-element array serialises a scalar the way JSON writes it; strip the brackets.
    const QByteArray text = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    out[path] = QString::fromUtf8(text.mid(1, text.size() - 2));
  }
}

}  // namespace

std::map<QString, QString> flattenJson(const QString& json) {
  std::map<QString, QString> out;
  const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8());
  flatten(doc.isObject() ? QJsonValue(doc.object()) : QJsonValue(doc.array()), QStringLiteral("$"),
          out);
  return out;
}

ConfigDiff diffConfigs(const std::vector<QString>& configs) {
  std::vector<std::map<QString, QString>> flat;
  std::set<QString> keys;
  for (const QString& c : configs) {
    flat.push_back(flattenJson(c));
    for (const auto& [k, v] : flat.back()) keys.insert(k);
  }
  ConfigDiff diff;
  diff.values.resize(configs.size());
  for (const QString& k : keys) {
    QStringList row;
    for (const auto& f : flat) {
      auto it = f.find(k);
      row << (it == f.end() ? QString() : it->second);
    }
    if (row.count(row.front()) == row.size()) continue;
    diff.keys << k;
    for (std::size_t i = 0; i < configs.size(); ++i) diff.values[i] << row[static_cast<int>(i)];
  }
  return diff;
}

}  // namespace rr::ui
