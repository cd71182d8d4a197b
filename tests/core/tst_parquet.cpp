// Parquet input: files written by pyarrow (tools/fixtures/make_parquet_fixtures.py) read back as
// exactly the rows pyarrow wrote (their JSON-lines twins), imported exactly as those twins are,
// and what is not supported refused with one line naming the file and the column.
#include <sys/resource.h>
#include <sys/stat.h>

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

// Thrift's compact protocol, enough to write a footer and page headers by hand (the hostile
// files below cannot come from a real writer).
class Compact {
 public:
  std::string out;
  Compact& i32(int id, int64_t v) { return field(id, 5).varint(zigzag(v)); }
  Compact& i64(int id, int64_t v) { return field(id, 6).varint(zigzag(v)); }
  Compact& binary(int id, const std::string& b) {
    field(id, 8).varint(b.size());
    out += b;
    return *this;
  }
  Compact& begin(int id) {  // a struct field
    field(id, 12);
    return element();
  }
  Compact& element() {  // a struct inside a list
    m_last.push_back(0);
    return *this;
  }
  Compact& end() {
    out += '\0';
    m_last.pop_back();
    return *this;
  }
  Compact& list(int id, int elementType, size_t n) {
    field(id, 9);
    if (n < 15) {
      out += static_cast<char>(n << 4 | elementType);
      return *this;
    }
    out += static_cast<char>(0xf0 | elementType);
    return varint(n);
  }
  Compact& varint(uint64_t v) {
    for (; v >= 0x80; v >>= 7) out += static_cast<char>(v | 0x80);
    out += static_cast<char>(v);
    return *this;
  }

 private:
  static uint64_t zigzag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }
  Compact& field(int id, int type) {
    out += static_cast<char>((id - m_last.back()) << 4 | type);  // ids ascend by at most 15
    m_last.back() = id;
    return *this;
  }
  std::vector<int> m_last{0};
};

std::string le32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

// A page: its header (compact), then `body` uncompressed. `dictionary`: a dictionary page of
// `values` PLAIN values; else a v1 data page with `encoding`.
std::string page(const std::string& body, int values, bool dictionary, int encoding = 0) {
  Compact h;
  h.i32(1, dictionary ? 2 : 0).i32(2, static_cast<int64_t>(body.size()));
  h.i32(3, static_cast<int64_t>(body.size()));
  if (dictionary)
    h.begin(7).i32(1, values).i32(2, 0).end();
  else
    h.begin(5).i32(1, values).i32(2, encoding).i32(3, 3).i32(4, 3).end();
  h.out += '\0';
  return h.out + body;
}

// A file of `columns` string columns named c0, c1, ... (optional when `optional`), one row group
// of `rows` rows, each column chunk the same `chunk` bytes with `values` values.
std::string parquetFile(const std::string& chunk, int64_t rows, int64_t values,
                        bool optional = false, int columns = 1, int64_t dictionaryOffset = -1) {
  std::string file = "PAR1";
  std::vector<int64_t> offsets;
  for (int c = 0; c < columns; ++c) {
    offsets.push_back(static_cast<int64_t>(file.size()));
    file += chunk;
  }
  Compact m;
  m.i32(1, 1).list(2, 12, 1 + static_cast<size_t>(columns));
  m.element().binary(4, "schema").i32(5, columns).end();
  for (int c = 0; c < columns; ++c)
    m.element()
        .i32(1, 6)
        .i32(3, optional ? 1 : 0)
        .binary(4, "c" + std::to_string(c))
        .i32(6, 0)
        .end();
  m.i64(3, rows).list(4, 12, 1).element().list(1, 12, static_cast<size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    m.element().i64(2, offsets[c]).begin(3).i32(1, 6).list(2, 5, 1).varint(0);
    m.list(3, 8, 1).varint(2);
    m.out += "c" + std::to_string(c);
    m.i32(4, 0).i64(5, values).i64(6, static_cast<int64_t>(chunk.size()));
    m.i64(7, static_cast<int64_t>(chunk.size())).i64(9, offsets[c]);
    if (dictionaryOffset >= 0) m.i64(11, dictionaryOffset);
    m.end().end();
  }
  m.i64(2, static_cast<int64_t>(chunk.size()) * columns).i64(3, rows).end();
  m.out += '\0';
  return file + m.out + le32(static_cast<uint32_t>(m.out.size())) + "PAR1";
}

std::string plainString(const std::string& s) { return le32(static_cast<uint32_t>(s.size())) + s; }

long peakRssKb() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
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

  // Files no writer makes, each refused in one line naming the file, the row group and the
  // column (each was read as if nothing were wrong).
  void refusesCraftedFiles() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("crafted.parquet").toStdString();
    auto rows = [&](const std::string& bytes) {
      writeBytes(path, bytes);
      std::vector<json> out;
      const QString e = inputError([&] { out = parquetRows(path); });
      return e.isEmpty() ? QString::fromStdString(json(out).dump()) : e;
    };
    const QString where = QString::fromStdString(path) + ": row group 1, column 'c0': ";
    // The hand-made file itself reads: a dictionary of one string, three indices into it.
    const std::string dictionary = page(plainString("x"), 1, true);
    const std::string threeIndices = page(std::string("\x01\x06\x00", 3), 3, false, 8);
    QCOMPARE(rows(parquetFile(dictionary + threeIndices, 3, 3)),
             QString(R"([{"c0":"x"},{"c0":"x"},{"c0":"x"}])"));
    // Any index into an empty dictionary.
    const std::string emptyDictionary = page("", 0, true);
    QCOMPARE(
        rows(parquetFile(emptyDictionary + page(std::string("\x00\x06", 2), 3, false, 8), 3, 3)),
        where + "a dictionary index is out of range");
    QCOMPARE(rows(parquetFile(emptyDictionary + threeIndices, 3, 3)),
             where + "a dictionary index is out of range");
    // One RLE run of 2^31 indices for a page of three.
    Compact run;
    run.varint(uint64_t{1} << 32);
    QCOMPARE(rows(parquetFile(
                 dictionary + page("\x01" + run.out + std::string(1, '\0'), 3, false, 8), 3, 3)),
             where + "an RLE run of 2147483648 values, more than the 3 left in its page");
    // A dictionary page offset past the end of the file.
    const std::string plain =
        page(plainString("a") + plainString("b") + plainString("c"), 3, false);
    QCOMPARE(rows(parquetFile(plain, 3, 3)), QString(R"([{"c0":"a"},{"c0":"b"},{"c0":"c"}])"));
    const QString past = rows(parquetFile(plain, 3, 3, false, 1, 1 << 30));
    QVERIFY2(past.startsWith(where + "its dictionary page offset 1073741824 lies outside the "
                                     "file's data (bytes 4 to "),
             qPrintable(past));
  }

  // 2^24 null rows in a file of a few hundred bytes: the rows are built one at a time and the
  // levels held a byte each (they took about 350 MB); a row group whose columns hold more values
  // than the reader holds at once is refused in one line.
  void manyEmptyRowsInBoundedMemory() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("empty-rows.parquet").toStdString();
    const int64_t n = int64_t{1} << 24;
    Compact levels;
    levels.varint(static_cast<uint64_t>(n) << 1);
    const std::string defs = levels.out + std::string(1, '\0');
    const std::string chunk = page(le32(static_cast<uint32_t>(defs.size())) + defs, 1 << 24, false);
    writeBytes(path, parquetFile(chunk, n, n, true));
    QVERIFY(bytesOf(path).size() < 400);
    const long before = peakRssKb();
    long count = 0;
    rr::core::parquet::readRows(path, [&](json& row, long) {
      if (!row["c0"].is_null()) throw std::logic_error("a row that is not null");
      ++count;
    });
    QCOMPARE(count, static_cast<long>(n));
    QVERIFY2(peakRssKb() - before < 100 * 1024, qPrintable(QString::number(peakRssKb() - before)));
    writeBytes(path, parquetFile(chunk, n, n, true, 4));
    QCOMPARE(inputError([&] { parquetRows(path); }),
             QString::fromStdString(path) +
                 ": row group 1, its columns hold 67108864 values, more than the 33554432 a row "
                 "group may have here; write the file with smaller row groups");
  }

  // A FIFO named .parquet blocked the reader forever; it is refused before it is read.
  void fifoInputIsRefused() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("input.parquet").toStdString();
    QCOMPARE(::mkfifo(path.c_str(), 0600), 0);
    QVERIFY(!rr::core::parquet::hasParquetMagic(path));
    QCOMPARE(inputError([&] { parquetRows(path); }),
             QString::fromStdString(path) + ": not a regular file (a FIFO)");
    ImportOptions o;
    o.format = "jsonl";
    ImportSummary s;
    QCOMPARE(inputError([&] { rr::core::importFiles({path}, o, s); }),
             QString::fromStdString(path) + ": not a regular file (a FIFO)");
  }
};

QTEST_GUILESS_MAIN(TestParquet)
#include "tst_parquet.moc"
