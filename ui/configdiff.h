#pragma once
// The config diff of the Compare view: experiment configs (JSON) flattened to "$.path" -> value,
// keeping only the keys whose values are not the same in all of them.
#include <QString>
#include <QStringList>
#include <map>
#include <vector>

namespace rr::ui {

// "$.training.lr" -> "0.0005", "$.methods[0].method" -> "\"baseline\"" (compact JSON values).
std::map<QString, QString> flattenJson(const QString& json);

struct ConfigDiff {
  QStringList keys;                 // sorted
  std::vector<QStringList> values;  // per config, aligned with keys; "" where a config lacks it
};

ConfigDiff diffConfigs(const std::vector<QString>& configs);

}  // namespace rr::ui
