#pragma once
// Running rewardrouter-cli from a test as a user would: arguments, standard input, exit code and
// both output streams.
#include <QProcess>
#include <QString>
#include <QStringList>

namespace rr::test {

struct CliResult {
  int code = -1;  // -1: crashed or did not finish in time
  QString out, err;
};

inline CliResult runCli(const QStringList& args, const QByteArray& input = {},
                        int timeoutMs = 240000) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.waitForStarted();
  p.write(input);
  p.closeWriteChannel();
  if (!p.waitForFinished(timeoutMs)) {
    p.kill();
    p.waitForFinished();
    return {-1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

}  // namespace rr::test
