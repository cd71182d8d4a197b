#pragma once
// The workbench's command line:
//   rewardrouter [--experiment FILE.json] [--db FILE] [--view configure|monitor|compare|inspect]
//                [--select-all] [--screenshot OUT.png]
#include <QString>
#include <QStringList>
#include <optional>

namespace rr::ui {

// The views in tab order, by the names --view takes.
const QStringList& viewNames();

struct LaunchOptions {
  QString experiment, db, view, screenshot;
  bool selectAll = false;
};

// nullopt with `error` set (usage included) for bad arguments; `helpOrVersion` when --help or
// --version was answered on stdout.
std::optional<LaunchOptions> parseLaunchOptions(const QStringList& arguments, QString& error,
                                                bool& helpOrVersion);

}  // namespace rr::ui
