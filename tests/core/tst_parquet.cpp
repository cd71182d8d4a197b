// Parquet input: files written by pyarrow (tools/fixtures/make_parquet_fixtures.py) read back as
// exactly the rows pyarrow wrote (their JSON-lines twins), imported exactly as those twins are,
// and what is not supported refused with one line naming the file and the column.
#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "data/importer.h"
#include "data/parquet/parquet.h"

using nlohmann::json;
using rr::core::ImportOptions;
using rr::core::ImportSummary;
using rr::core::InputError;
using rr::core::PreferencePair;

namespace {

std::string fixture(const std::string& name) {
  return std::string(RR_SOURCE_DIR) + "/tests/fixtures/parquet/" + name;
}

std::vector<json> twinRows(const std::string& name) {
  std::ifstream in(fixture(name));
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

std::vector<json> parquetRows(const std::string& path, std::vector<long>* numbers = nullptr) {
  std::vector<json> rows;
  rr::core::parquet::readRows(path, [&](json& row, long n) {
    rows.push_back(std::move(row));
    if (numbers) numbers->push_back(n);
  });
  return rows;
}

// The message of the InputError `work` throws; empty when it throws none.
QString inputError(const std::function<void()>& work) {
  try {
    work();
  } catch (const InputError& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

std::string bytesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

QString describe(const PreferencePair& p) {
  return QString("[%1] <%2> <%3> <%4> line %5 id %6")
      .arg(p.domain.c_str(), p.prompt.c_str(), p.chosen.c_str(), p.rejected.c_str())
      .arg(p.source.line)
      .arg(p.id.c_str());
}

// The pairs and summary of a Parquet file and its JSON-lines twin must be the same.
void compareWithTwin(const ImportOptions& o, const std::string& name, size_t expectedPairs) {
  ImportSummary fromParquet, fromJsonl;
  const auto a = rr::core::importFiles({fixture(name + ".parquet")}, o, fromParquet);
  const auto b = rr::core::importFiles({fixture(name + ".jsonl")}, o, fromJsonl);
  QCOMPARE(a.size(), expectedPairs);
  QCOMPARE(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    QCOMPARE(describe(a[i]), describe(b[i]));
    QCOMPARE(a[i].source.file, fixture(name + ".parquet"));
    QCOMPARE(a[i].source.format, o.format);
  }
  QCOMPARE(fromParquet.records, fromJsonl.records);
  QCOMPARE(fromParquet.pairsPerDomain, fromJsonl.pairsPerDomain);
  QCOMPARE(fromParquet.notUsed, fromJsonl.notUsed);
}

}  // namespace

class TestParquet : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void readsWhatPyarrowWrote_data() {
    QTest::addColumn<QString>("file");
    for (const char* f : {"types-none-v1-plain", "types-none-v2-dict", "types-snappy-v1-dict",
                          "types-snappy-v2-plain", "types-gzip-v1-dict", "types-gzip-v2-plain",
                          "types-zstd-v1-plain", "types-zstd-v2-dict", "types-legacy-names"})
      QTest::newRow(f) << QString(f);
  }

  // Every column kind (nullable strings, integers signed and unsigned, floats, booleans, lists of
  // message structs, lists of values, a struct) under every codec, page version and encoding,
  // over several row groups and pages.
  void readsWhatPyarrowWrote() {
    QFETCH(QString, file);
    const std::vector<json> want = twinRows("types.jsonl");
    std::vector<long> numbers;
    const std::vector<json> got = parquetRows(fixture(file.toStdString() + ".parquet"), &numbers);
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      QCOMPARE(QString::fromStdString(got[i].dump()), QString::fromStdString(want[i].dump()));
      QCOMPARE(numbers[i], static_cast<long>(i + 1));
    }
    // Types as a format mapper sees them.
    QVERIFY(got[0]["i64"].is_number_integer());
    QCOMPARE(got[0]["u32"].get<uint64_t>(), 4000000000ull);
    QCOMPARE(got[0]["u64"].get<uint64_t>(), 18446744073709551615ull);
    QCOMPARE(got[4]["i64"].get<int64_t>(), INT64_MIN);
    QVERIFY(got[1]["s"].is_null());
    QVERIFY(got[2]["messages"].is_null());
    QVERIFY(got[1]["messages"].is_array() && got[1]["messages"].empty());
    QCOMPARE(got[0]["messages"][1]["content"].get<std::string>(), std::string("hello"));
    QVERIFY(got[0]["b"].is_boolean());
  }

  void importsRewardBenchLikeTable() {
    ImportOptions o;
    o.format = "jsonl";
    o.fieldMap["domain"] = "subset";
    compareWithTwin(o, "rewardbench", 24);
  }

  void importsUltrafeedbackBinarizedTable() {
    ImportOptions o;
    o.format = "ultrafeedback-binarized";
    compareWithTwin(o, "ultrafeedback-binarized", 11);
    ImportSummary s;
    const auto pairs = rr::core::importFiles({fixture("ultrafeedback-binarized.parquet")}, o, s);
    QCOMPARE(pairs[0].chosen, std::string("Line 0: the sea is wide."));
    QCOMPARE(pairs[0].rejected, std::string("Line 0: sea."));
    QCOMPARE(s.notUsed.at("ultrafeedback-binarized tie in score"), 1L);
    QCOMPARE(pairs[5].source.line, 7L);  // row 6 (a tie) gave no pair
  }

  void refusesWhatIsNotSupported_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("message");
    QTest::newRow("timestamp") << "unsupported-timestamp.parquet"
                               << ": column 'when': INT64 TIMESTAMP is not supported (supported: "
                                  "strings, integers, floats, booleans, and lists or structs of "
                                  "them)";
    QTest::newRow("list of lists") << "unsupported-nested.parquet"
                                   << ": column 'grid.list.element': a list of lists or of "
                                      "maps is not supported";
    QTest::newRow("lz4") << "unsupported-lz4.parquet"
                         << ": row group 1, column 'prompt': compression LZ4_RAW is not "
                            "supported (supported: uncompressed, SNAPPY, GZIP, ZSTD)";
    QTest::newRow("delta") << "unsupported-delta.parquet"
                           << ": row group 1, column 'prompt': encoding DELTA_BYTE_ARRAY is not "
                              "supported (supported: PLAIN, RLE, PLAIN_DICTIONARY, "
                              "RLE_DICTIONARY)";
  }

  // One line: the file, the row group where data is at fault, the column, what is wrong.
  void refusesWhatIsNotSupported() {
    QFETCH(QString, file);
    QFETCH(QString, message);
    const std::string path = fixture(file.toStdString());
    const QString got = inputError([&] { parquetRows(path); });
    QCOMPARE(got, QString::fromStdString(path) + message);
    // The import stops with the same line before any pair.
    ImportOptions o;
    o.format = "jsonl";
    ImportSummary s;
    QCOMPARE(inputError([&] { rr::core::importFiles({path}, o, s); }), got);
  }

  // A row that the format cannot map is named by file and row number, as a JSON line is by line.
  void rowErrorsNameTheRow() {
    ImportOptions o;
    o.format = "jsonl";
    o.fieldMap["prompt"] = "id";  // an integer column where the format needs a string
    ImportSummary s;
    const std::string path = fixture("rewardbench.parquet");
    QCOMPARE(inputError([&] { rr::core::importFiles({path}, o, s); }),
             QString::fromStdString(path) + ": row 1: field 'id' must be a string");
    o.skipBad = true;
    ImportSummary skipped;
    QVERIFY(rr::core::importFiles({path}, o, skipped).empty());
    QCOMPARE(skipped.records, 24L);
    QCOMPARE(skipped.malformed.at("field 'id' must be a string"), 24L);
  }

  void readsEdgeCases() {
    QCOMPARE(parquetRows(fixture("empty.parquet")).size(), size_t{0});
    const std::vector<json> nulls = parquetRows(fixture("nulls-v2-snappy.parquet"));
    QCOMPARE(nulls.size(), size_t{5});
    for (const json& row : nulls)
      QCOMPARE(QString::fromStdString(row.dump()), QString(R"({"n":null,"prompt":null})"));
    ImportOptions o;
    o.format = "jsonl";
    ImportSummary s;
    QVERIFY(rr::core::importFiles({fixture("empty.parquet")}, o, s).empty());
    QCOMPARE(s.files, 1L);
    QCOMPARE(s.records, 0L);
  }

  void refusesDamagedFiles() {
    QTemporaryDir dir;
    const std::string good = bytesOf(fixture("rewardbench.parquet"));
    const std::string cut = dir.filePath("cut.parquet").toStdString();
    writeBytes(cut, good.substr(0, good.size() / 2));
    QCOMPARE(inputError([&] { parquetRows(cut); }),
             QString::fromStdString(cut) +
                 ": not a complete Parquet file (no \"PAR1\" at its start and end)");
    const std::string tiny = dir.filePath("tiny.parquet").toStdString();
    writeBytes(tiny, "PAR1");
    QCOMPARE(inputError([&] { parquetRows(tiny); }),
             QString::fromStdString(tiny) +
                 ": not a Parquet file (shorter than its magic bytes and footer)");
    // A footer length past the start of the file.
    std::string bad = good;
    bad[bad.size() - 5] = '\x7f';
    const std::string longFooter = dir.filePath("footer.parquet").toStdString();
    writeBytes(longFooter, bad);
    QVERIFY(inputError([&] {
              parquetRows(longFooter);
            }).startsWith(QString::fromStdString(longFooter) + ": malformed metadata (footer"));
    const std::string encrypted = dir.filePath("encrypted.parquet").toStdString();
    writeBytes(encrypted, "PARE" + good.substr(4));
    QCOMPARE(inputError([&] { parquetRows(encrypted); }),
             QString::fromStdString(encrypted) + ": encrypted Parquet files are not supported");
  }

  // As a user runs it: exit 0 and the pairs, or exit 2, one line, and no output file.
  void importThroughTheCli() {
    QTemporaryDir dir;
    auto cli = [](const QStringList& args, QString& err) {
      QProcess p;
      p.start(QStringLiteral(RR_CLI_PATH), QStringList{"import"} + args);
      p.waitForFinished(60000);
      err = QString::fromUtf8(p.readAllStandardError());
      return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    };
    QString err;
    const QString out = dir.filePath("uf.jsonl");
    QCOMPARE(cli({"--format", "ultrafeedback-binarized",
                  QString::fromStdString(fixture("ultrafeedback-binarized.parquet")), "-o", out},
                 err),
             0);
    QVERIFY2(err.startsWith("read 12 records from 1 file; 11 pairs\n"), qPrintable(err));
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll().count('\n'), 11);

    const QString refused = dir.filePath("refused.jsonl");
    const QString bad = QString::fromStdString(fixture("unsupported-timestamp.parquet"));
    QCOMPARE(cli({"--format", "jsonl", bad, "-o", refused}, err), 2);
    QCOMPARE(err, "error: " + bad +
                      ": column 'when': INT64 TIMESTAMP is not supported (supported: "
                      "strings, integers, floats, booleans, and lists or structs of them)\n");
    QVERIFY(!QFile::exists(refused));
  }

  // Detection is by content: a Parquet file under any name, a JSON-lines file named .parquet.
  void detectsByMagicBytes() {
    QTemporaryDir dir;
    const std::string renamed = dir.filePath("rows.jsonl").toStdString();
    writeBytes(renamed, bytesOf(fixture("rewardbench.parquet")));
    const std::string lines = dir.filePath("lines.parquet").toStdString();
    writeBytes(lines, bytesOf(fixture("rewardbench.jsonl")));
    ImportOptions o;
    o.format = "jsonl";
    ImportSummary a, b;
    QCOMPARE(rr::core::importFiles({renamed}, o, a).size(), size_t{24});
    QCOMPARE(rr::core::importFiles({lines}, o, b).size(), size_t{24});
    QVERIFY(rr::core::parquet::hasParquetMagic(renamed));
    QVERIFY(!rr::core::parquet::hasParquetMagic(lines));
  }
};

QTEST_GUILESS_MAIN(TestParquet)
#include "tst_parquet.moc"
