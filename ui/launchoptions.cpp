#include "launchoptions.h"

#include <QCommandLineParser>
#include <cstdio>

namespace rr::ui {

const QStringList& viewNames() {
  static const QStringList names = {QStringLiteral("configure"), QStringLiteral("monitor"),
                                    QStringLiteral("compare"), QStringLiteral("inspect")};
  return names;
}

std::optional<LaunchOptions> parseLaunchOptions(const QStringList& arguments, QString& error,
                                                bool& helpOrVersion) {
  helpOrVersion = false;
  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("RewardRouter workbench: configure experiments, watch training live, compare "
                     "results and inspect single examples."));
  const QCommandLineOption help = parser.addHelpOption();
  const QCommandLineOption experiment(QStringLiteral("experiment"),
                                      QStringLiteral("Experiment config to open in Configure."),
                                      QStringLiteral("FILE.json"));
  const QCommandLineOption db(QStringLiteral("db"),
                              QStringLiteral("Run store to open (created by the first Run)."),
                              QStringLiteral("FILE"));
  const QCommandLineOption view(
      QStringLiteral("view"), QStringLiteral("View to show: configure, monitor, compare, inspect."),
      QStringLiteral("NAME"));
  const QCommandLineOption selectAll(QStringLiteral("select-all"),
                                     QStringLiteral("Select every run of the database."));
  const QCommandLineOption screenshot(
      QStringLiteral("screenshot"),
      QStringLiteral("Save a PNG of the window after opening, then exit."),
      QStringLiteral("OUT.png"));
  parser.addOptions({experiment, db, view, selectAll, screenshot});
  if (!parser.parse(arguments)) {
    error = parser.errorText() + "\n\n" + parser.helpText();
    return std::nullopt;
  }
  if (parser.isSet(help)) {
    std::fputs(qPrintable(parser.helpText()), stdout);
    helpOrVersion = true;
    return std::nullopt;
  }
  if (!parser.positionalArguments().isEmpty()) {
    error = QStringLiteral("unexpected argument '%1'\n\n%2")
                .arg(parser.positionalArguments().first(), parser.helpText());
    return std::nullopt;
  }
  LaunchOptions o;
  o.experiment = parser.value(experiment);
  o.db = parser.value(db);
  o.view = parser.value(view);
  o.screenshot = parser.value(screenshot);
  o.selectAll = parser.isSet(selectAll);
  if (!o.view.isEmpty() && !viewNames().contains(o.view)) {
    error =
        QStringLiteral("--view must be one of %1 (got '%2')").arg(viewNames().join(", "), o.view);
    return std::nullopt;
  }
  return o;
}

}  // namespace rr::ui
