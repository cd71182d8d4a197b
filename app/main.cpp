// rewardrouter: the Qt Widgets workbench.
#include <QApplication>
#include <QFileInfo>
#include <QSettings>
#include <QTimer>
#include <cstdio>

#include "common/allocator.h"
#include "launchoptions.h"
#include "mainwindow.h"

int main(int argc, char** argv) {
  rr::core::tuneAllocator();
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("RewardRouter"));
  QApplication::setOrganizationName(QStringLiteral("RewardRouter"));
  QApplication::setApplicationVersion(QStringLiteral(RR_VERSION));

  QString error;
  bool answered = false;
  const auto options = rr::ui::parseLaunchOptions(QApplication::arguments(), error, answered);
  if (!options) {
    if (answered) return 0;
    std::fprintf(stderr, "rewardrouter: %s\n", qPrintable(error));
    return 2;
  }

  rr::ui::MainWindow window;
  if (!options->screenshot.isEmpty()) window.resize(1440, 900);
  window.show();
  rr::ui::LaunchOptions o = *options;
  // Without --db the last database opened comes back, as long as it still exists.
  const QString last = QSettings().value(QStringLiteral("lastDatabase")).toString();
  if (o.db.isEmpty() && o.screenshot.isEmpty() && QFileInfo::exists(last)) o.db = last;
  const bool opened = window.apply(o, &error);
  if (options->screenshot.isEmpty()) return QApplication::exec();
  // Headless, nobody reads the window: what did not open is the run's error, on stderr.
  if (!opened) {
    std::fprintf(stderr, "rewardrouter: %s\n", qPrintable(error));
    return 2;
  }

  // Screenshot mode: let the layout settle and queued replots run, then save and leave.
  int code = 1;
  QTimer::singleShot(600, &window, [&] {
    code = window.saveScreenshot(options->screenshot) ? 0 : 1;
    QApplication::exit(code);
  });
  QApplication::exec();
  return code;
}
