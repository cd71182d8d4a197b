// `rewardrouter-cli import` as a user runs it: exit codes, FILE:LINE errors, the summary on
// stderr, and an output file that a failed import leaves exactly as it was.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "data/pairsio.h"

namespace {

struct Result {
  int code = -1;
  QString out, err;
};

Result cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), QStringList{"import"} + args);
  p.waitForFinished(60000);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

QString fixture(const QString& name) {
  return QStringLiteral(RR_SOURCE_DIR) + "/tests/fixtures/import/" + name;
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class TestImportersCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void failedImportLeavesOutputUnchanged() {
    QTemporaryDir dir;
    const QString out = dir.filePath("out.jsonl");
    QFile f(out);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("previous content\n");
    f.close();
    const Result r = cli({"--format", "dahoas", fixture("malformed.jsonl"), "-o", out});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.startsWith("error: " + fixture("malformed.jsonl") + ":2: not valid JSON ("),
             qPrintable(r.err));
    QCOMPARE(readAll(out), QByteArray("previous content\n"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"out.jsonl"});
  }

  void importWritesPairsAndSummary() {
    QTemporaryDir dir;
    const QString out = dir.filePath("hh.jsonl");
    const Result r = cli({"--format", "hh-rlhf", "--output", out, fixture("hh-rlhf.jsonl.gz")});
    QCOMPARE(r.code, 0);
    const auto pairs = rr::core::readPairsFile(out.toStdString());
    QCOMPARE(pairs.size(), size_t(4));
    QCOMPARE(pairs[1].chosen, std::string(" Sure! Here is one.\n\nHuman: (laughs)"));
    QCOMPARE(pairs[1].source.format, std::string("hh-rlhf"));
    QCOMPARE(pairs[1].source.file, fixture("hh-rlhf.jsonl.gz").toStdString());
    QCOMPARE(pairs[1].source.line, 2L);
    QVERIFY2(r.err.contains("pairs per domain: hh-rlhf 4\n"), qPrintable(r.err));
    QVERIFY2(r.err.contains("  1  chosen and rejected are identical\n"), qPrintable(r.err));
    QVERIFY2(r.err.contains("duplicate pairs dropped: 0\n"), qPrintable(r.err));
  }

  void skipBadCountsInSummary() {
    QTemporaryDir dir;
    const QString out = dir.filePath("out.jsonl");
    const Result r = cli({"--format", "dahoas", "--skip-bad", "--domain", "toy",
                          fixture("malformed.jsonl"), "-o", out});
    QCOMPARE(r.code, 0);
    QCOMPARE(rr::core::readPairsFile(out.toStdString()).size(), size_t(2));
    QVERIFY2(r.err.contains("pairs per domain: toy 2\n"), qPrintable(r.err));
    QVERIFY2(r.err.contains("malformed records skipped: 4\n"), qPrintable(r.err));
    QVERIFY2(r.err.contains("  1  missing field 'rejected'\n"), qPrintable(r.err));
  }

  void fieldMapAndFormatOptions() {
    QTemporaryDir dir;
    const QString out = dir.filePath("out.jsonl");
    Result r = cli({"--format", "jsonl", "--field", "prompt=question,chosen=good,rejected=bad",
                    "--field", "domain=topic", fixture("custom.jsonl"), "-o", out});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.err.contains("pairs per domain: coding 1 science 1\n"), qPrintable(r.err));
    r = cli({"--format", "hh-rlhf", "--lang", "de", fixture("hh-rlhf.jsonl"), "-o", out});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QString("error: import: --lang applies to --format oasst only\n"));
    r = cli({"--format", "jsonl", "--field", "prompt", fixture("custom.jsonl"), "-o", out});
    QCOMPARE(r.code, 2);
    r = cli({"--format", "shp", "--max-pairs-per-post", "0", fixture("shp.json"), "-o", out});
    QCOMPARE(r.code, 2);
    r = cli({"--format", "shp", fixture("shp.json")});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QString("error: import: -o OUT.jsonl is required\n"));
  }

  // `import X -o X` replaced the dataset with its pairs; so did another name for the same file.
  void outputOverInputIsRefused() {
    QTemporaryDir dir;
    const QString input = dir.filePath("data.jsonl");
    QVERIFY(QFile::copy(fixture("dahoas.jsonl"), input));
    const QByteArray before = readAll(input);
    QVERIFY(QFile::link(input, dir.filePath("link.jsonl")));
    QVERIFY(QDir(dir.path()).mkdir("sub"));
    for (const QString& out :
         {input, dir.filePath("link.jsonl"), dir.filePath("sub/../data.jsonl")}) {
      const Result r = cli({"--format", "dahoas", input, "-o", out});
      QCOMPARE(r.code, 2);
      QCOMPARE(r.err, "error: the output " + out + " is the input file " + input +
                          "; write the pairs to another file\n");
      QCOMPARE(readAll(input), before);
    }
  }

  // An import that yields no pairs left a 0-byte file in place of an existing output.
  void noPairsIsAnErrorAndKeepsTheOutput() {
    QTemporaryDir dir;
    const QString empty = dir.filePath("empty.jsonl");
    QFile e(empty);
    QVERIFY(e.open(QIODevice::WriteOnly));
    e.close();
    const QString out = dir.filePath("out.jsonl");
    QFile f(out);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("previous content\n");
    f.close();
    for (const QStringList& extra : {QStringList{}, QStringList{"--allow-empty"}}) {
      const Result r = cli(QStringList{"--format", "dahoas", empty, "-o", out} + extra);
      QCOMPARE(r.code, 2);
      QVERIFY2(r.err.endsWith("error: import: no pairs; " + out + " is left as it was\n"),
               qPrintable(r.err));
      QCOMPARE(readAll(out), QByteArray("previous content\n"));
    }
    // All records bad and skipped: no pairs either.
    const QString fresh = dir.filePath("fresh.jsonl");
    Result r = cli({"--format", "shp", "--skip-bad", fixture("malformed.jsonl"), "-o", fresh});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("malformed records skipped: 6\n"), qPrintable(r.err));
    QVERIFY2(r.err.endsWith("error: import: no pairs; nothing written to " + fresh +
                            " (--allow-empty writes an empty file)\n"),
             qPrintable(r.err));
    QVERIFY(!QFile::exists(fresh));
    r = cli({"--format", "dahoas", "--allow-empty", empty, "-o", fresh});
    QCOMPARE(r.code, 0);
    QVERIFY(QFile::exists(fresh));
    QCOMPARE(readAll(fresh), QByteArray());
  }

  void badOptionValues() {
    QTemporaryDir dir;
    const QString out = dir.filePath("out.jsonl");
    Result r = cli({"--format", "shp", "--min-score-ratio", "nan", fixture("shp.json"), "-o", out});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err,
             QString("error: import: --min-score-ratio must be a finite number (got 'nan')\n"));
    r = cli({"--format", "shp", fixture("shp.json"), "-o", ""});
    QCOMPARE(r.code, 2);
    QCOMPARE(r.err, QString("error: import: --output needs a non-empty value (FILE)\n"));
    QVERIFY(!QFile::exists(out));
  }

  void help() {
    const Result r = cli({"--help"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("--max-pairs-per-post N"));
    QVERIFY(r.out.contains("ultrafeedback-binarized"));
  }
};

QTEST_GUILESS_MAIN(TestImportersCli)
#include "tst_importers_cli.moc"
