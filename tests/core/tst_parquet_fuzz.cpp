// The Parquet reader under damaged input: the pyarrow fixtures with bytes flipped in the footer,
// the page headers and the data, cut short, with lengths and counts set to extremes, huge run
// lengths written over page bytes and footer integers made huge. Every
// case must be read or refused with a one-line InputError naming the file; a crash, a hang (the
// ctest timeout) or any other exception fails. The mutations come from a fixed seed, so a
// failure repeats, and the failing bytes are left in the build folder.
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>

#include "common/errors.h"
#include "data/importer.h"
#include "data/parquet/parquet.h"

using nlohmann::json;

namespace {

std::string bytesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

uint32_t footerLength(const std::string& b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + b.size() - 8);
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// One mutation of `good`, chosen by `kind`.
std::string mutate(const std::string& good, int kind, std::mt19937& rng) {
  std::string b = good;
  auto at = [&](size_t lo, size_t hi) {
    return lo + std::uniform_int_distribution<size_t>(0, hi - lo - 1)(rng);
  };
  auto randomByte = [&] {
    static const unsigned char extremes[] = {0x00, 0x01, 0x0f, 0x15, 0x19,
                                             0x1c, 0x7f, 0x80, 0xfe, 0xff};
    return std::uniform_int_distribution<int>(0, 1)(rng)
               ? static_cast<char>(extremes[at(0, sizeof extremes)])
               : static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
  };
  const size_t footerStart = b.size() - 8 - footerLength(b);
  const int flips = std::uniform_int_distribution<int>(1, 4)(rng);
  switch (kind) {
    case 0:  // the footer: schema, row groups, offsets
      for (int i = 0; i < flips; ++i) b[at(footerStart, b.size() - 8)] = randomByte();
      break;
    case 1:  // page headers and data
      for (int i = 0; i < flips; ++i) b[at(4, footerStart)] = randomByte();
      break;
    case 2: {  // cut short, with the tail put back so the footer is found
      const std::string tail = b.substr(b.size() - 8);
      b.resize(at(4, b.size() - 8));
      b += tail;
      break;
    }
    case 3: {  // bytes removed from or inserted into the footer
      const size_t pos = at(footerStart, b.size() - 8);
      if (std::uniform_int_distribution<int>(0, 1)(rng))
        b.erase(pos, std::min<size_t>(flips, b.size() - 8 - pos));
      else
        b.insert(pos, std::string(flips, randomByte()));
      break;
    }
    case 4: {  // the footer length
      const size_t pos = b.size() - 8 + at(0, 4);
      b[pos] = randomByte();
      break;
    }
    case 5: {  // a huge run length over page bytes (an RLE run of 2^31 for a few values)
      const std::string run = "\x80\x80\x80\x80\x10";
      const size_t pos = at(4, footerStart);
      b.replace(pos, std::min(run.size(), footerStart - pos), run.substr(0, footerStart - pos));
      break;
    }
    case 6: {  // a footer integer made huge or negative (offsets, sizes, counts)
      const std::string value = std::uniform_int_distribution<int>(0, 1)(rng)
                                    ? "\xfe\xff\xff\xff\xff\xff\xff\xff\x7f"
                                    : "\x01";
      const size_t pos = at(footerStart, b.size() - 8);
      b.replace(pos, std::min(value.size(), b.size() - 8 - pos),
                value.substr(0, b.size() - 8 - pos));
      break;
    }
    default:  // anywhere
      for (int i = 0; i < flips; ++i) b[at(0, b.size())] = randomByte();
  }
  return b;
}

}  // namespace

class TestParquetFuzz : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void damagedFilesAreReadOrRefusedInOneLine() {
    const std::string dir = std::string(RR_SOURCE_DIR) + "/tests/fixtures/parquet/";
    const std::vector<std::string> seeds = {
        "types-none-v1-plain.parquet",    "types-none-v2-dict.parquet",
        "types-snappy-v1-dict.parquet",   "types-snappy-v2-plain.parquet",
        "types-gzip-v1-dict.parquet",     "types-gzip-v2-plain.parquet",
        "types-zstd-v1-plain.parquet",    "types-zstd-v2-dict.parquet",
        "types-legacy-names.parquet",     "rewardbench.parquet",
        "ultrafeedback-binarized.parquet"};
    QTemporaryDir tmp;
    const std::string path = tmp.filePath("case.parquet").toStdString();
    const std::string failure = std::string(RR_BINARY_DIR) + "/tst_parquet_fuzz-failure.parquet";
    constexpr int kCasesPerSeed = 800;
    std::mt19937 rng(20261201);
    long read = 0, refused = 0;
    std::map<std::string, long> reasons;
    const auto started = std::chrono::steady_clock::now();
    for (const std::string& seed : seeds) {
      const std::string good = bytesOf(dir + seed);
      QVERIFY(good.size() > 12);
      for (int i = 0; i < kCasesPerSeed; ++i) {
        const int kind = i % 8;
        const std::string bytes = mutate(good, kind, rng);
        writeBytes(path, bytes);
        std::string problem;
        try {
          long rows = 0;
          if (i % 10 == 9) {
            // Through the importer too, where rows meet the format readers.
            rr::core::ImportOptions o;
            o.format = "jsonl";
            o.fieldMap["domain"] = "s";
            rr::core::ImportSummary s;
            rr::core::importFiles({path}, o, s);
            rows = s.records;
          } else {
            rr::core::parquet::readRows(path, [&](json& row, long) {
              rows++;
              if (!row.is_object()) throw std::logic_error("a row that is not an object");
            });
          }
          read += rows >= 0;
        } catch (const rr::core::InputError& e) {
          const std::string m = e.what();
          refused++;
          if (m.find('\n') != std::string::npos) problem = "a message of several lines: " + m;
          // "FILE: ..." or, for bytes that no longer start with PAR1 and so are read as JSON
          // lines, "FILE:LINE: ...".
          if (m.rfind(path + ":", 0) != 0)
            problem = "a message without the file: " + m;
          else
            reasons[m.substr(path.size() + 2, 60)]++;
        } catch (const std::exception& e) {
          problem = std::string("an exception that is not an InputError: ") + e.what();
        }
        if (!problem.empty()) {
          writeBytes(failure, bytes);
          QFAIL(qPrintable(QString("%1, mutation %2 of %3 (kept in %4): %5")
                               .arg(seed.c_str())
                               .arg(i)
                               .arg(kind)
                               .arg(failure.c_str(), problem.c_str())));
        }
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    qInfo("%ld cases read, %ld refused with %zu different messages, in %.1f s", read, refused,
          reasons.size(), seconds);
    // The mutations reach the reader's checks rather than all failing one early test.
    QVERIFY(refused > 0);
    QVERIFY(read > 0);
    QVERIFY(reasons.size() > 5);
  }
};

QTEST_GUILESS_MAIN(TestParquetFuzz)
#include "tst_parquet_fuzz.moc"
