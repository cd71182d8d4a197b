// The layer check every configure runs (cmake/CheckIncludes.cmake, rr_check_layers), on small
// source trees: a view reaching LibTorch or the loop through a core header is refused with the
// chain of includes named, a method including run/ is refused, and a clean tree passes.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

void write(const QString& path, const QByteArray& text) {
  QDir().mkpath(QFileInfo(path).path());
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(text);
}

struct Check {
  int code = -1;
  QString err;
};

// Runs rr_check_layers on the tree at root, as the top-level CMakeLists.txt does on the sources.
Check checkLayers(const QString& root) {
  QTemporaryDir scriptDir;
  const QString script = scriptDir.path() + "/check.cmake";
  write(script, "cmake_minimum_required(VERSION 3.16)\ninclude(" RR_SOURCE_DIR
                "/cmake/CheckIncludes.cmake)\nrr_check_layers(" +
                    root.toUtf8() + ")\n");
  QProcess p;
  p.start(QStringLiteral(RR_CMAKE_COMMAND), {"-P", script});
  p.waitForFinished(60000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardError()).simplified()};
}

}  // namespace

class TestBoundaries : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void viewReachingTheLoopThroughACoreHeaderIsRefused() {
    QTemporaryDir dir;
    const QString root = dir.path();
    write(root + "/ui/view.cpp", "#include \"run/public.h\"\n#include <QWidget>\n");
    write(root + "/core/run/public.h",
          "#pragma once\n#include <string>\n#include \"train/loop.h\"\n");
    write(root + "/core/train/loop.h", "#pragma once\n#include <torch/torch.h>\n");
    Check c = checkLayers(root);
    QVERIFY(c.code != 0);
    QVERIFY2(c.err.contains("ui/: ui/view.cpp -> run/public.h includes train/loop.h"),
             qPrintable(c.err));

    // Without the loop header, LibTorch itself one header further is found too.
    write(root + "/core/run/public.h", "#pragma once\n#include \"run/types.h\"\n");
    write(root + "/core/run/types.h", "#pragma once\n#include <torch/types.h>\n");
    c = checkLayers(root);
    QVERIFY(c.code != 0);
    QVERIFY2(c.err.contains("ui/view.cpp -> run/public.h -> run/types.h includes torch/types.h"),
             qPrintable(c.err));

    // Value types only: the tree passes.
    write(root + "/core/run/types.h", "#pragma once\n#include <cstdint>\n");
    c = checkLayers(root);
    QVERIFY2(c.code == 0, qPrintable(c.err));
  }

  void methodIncludingTheOrchestrationIsRefused() {
    QTemporaryDir dir;
    const QString root = dir.path();
    write(root + "/core/methods/rodos.cpp", "#include \"methods/method.h\"\n");
    write(root + "/core/methods/method.h", "#pragma once\n#include \"train/loop.h\"\n");
    write(root + "/core/train/loop.h", "#pragma once\n#include <torch/torch.h>\n");
    QCOMPARE(checkLayers(root).code, 0);
    write(root + "/core/train/loop.h", "#pragma once\n#include \"run/experiment.h\"\n");
    const Check c = checkLayers(root);
    QVERIFY(c.code != 0);
    QVERIFY2(c.err.contains("includes run/experiment.h"), qPrintable(c.err));
  }

  // The project's own sources pass (configure checks them too; this keeps the test honest about
  // the rules matching the tree as it is).
  void architectureNamedOutsideTheRegistryIsRefused() {
    QTemporaryDir d;
    const QString root = d.path();
    write(root + "/core/nn/hf/bert.cpp", "bool b(const std::string& t) { return t == \"bert\"; }\n");
    QCOMPARE(checkLayers(root).code, 0);
    write(root + "/core/train/backbone.cpp",
          "std::string s(const C& c) { return c.modelType == \"deberta-v2\" ? \"spm\" : \"wp\"; }\n");
    const Check c = checkLayers(root);
    QVERIFY(c.code != 0);
    QVERIFY2(c.err.contains("architectures: core/train/backbone.cpp compares a model_type as a "
                            "string"),
             qPrintable(c.err));
  }

  void theSourcesPass() {
    const Check c = checkLayers(QStringLiteral(RR_SOURCE_DIR));
    QVERIFY2(c.code == 0, qPrintable(c.err));
  }
};

QTEST_GUILESS_MAIN(TestBoundaries)
#include "tst_boundaries.moc"
