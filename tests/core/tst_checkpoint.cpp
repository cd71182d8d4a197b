// Weight files of Hugging Face checkpoints: the fixtures written by the real safetensors package
// and by torch.save (torch 2.x and Debian's 1.13) load with the values those libraries stored;
// malformed and hostile files are refused with one-line messages; seeded mutations of both formats
// either load or throw InputError; writeSafetensors round-trips (and the Python package reads its
// file: tools/fixtures/make_checkpoint_fixtures.py --check
// <build>/test-cache/roundtrip.safetensors).
#include <caffe2/serialize/inline_container.h>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstring>
#include <random>

#include "common/errors.h"
#include "nn/hf/checkpoint.h"

using namespace rr::core;
using rr::core::hf::CheckpointReader;

namespace {

const QString kFiles = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/files/");

QByteArray readAll(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(path));
  return f.readAll();
}

void writeBytes(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
    qFatal("cannot write %s", qPrintable(path));
  f.write(bytes);
}

std::string str(const QString& s) { return s.toStdString(); }

// The InputError message of f(), or "" when it throws none.
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

QByteArray le64(uint64_t v) {
  QByteArray b(8, '\0');
  std::memcpy(b.data(), &v, 8);
  return b;
}

// A safetensors file from a header text and a data section.
QByteArray safetensors(const QByteArray& header, const QByteArray& data) {
  return le64(static_cast<uint64_t>(header.size())) + header + data;
}

// Pickle pieces for hand-made data.pkl records (opcodes as in Python's pickletools).
std::string uni(const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  return "X" + std::string(reinterpret_cast<const char*>(&n), 4) + s;
}
std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
std::string int1(int v) { return "K" + std::string(1, static_cast<char>(v)); }
const std::string kOrderedDict = global("collections", "OrderedDict") + ")R";

// {name: tensor} with _rebuild_tensor_v2(FloatStorage '0' of `numel`, offset, size, stride).
std::string tensorPickle(const std::string& name, int numel, int offset,
                         const std::vector<int>& size, const std::vector<int>& stride) {
  std::string p = "\x80\x02" + kOrderedDict + uni(name);
  p += global("torch._utils", "_rebuild_tensor_v2") + "(";
  p += "(" + uni("storage") + global("torch", "FloatStorage") + uni("0") + uni("cpu") +
       int1(numel) + "tQ";
  p += int1(offset) + "(";
  for (int s : size) p += int1(s);
  p += "t(";
  for (int s : stride) p += int1(s);
  p += "t\x89" + kOrderedDict + "tRs.";
  return p;
}

// A torch.save-shaped zip archive written by LibTorch's own writer.
void writeArchive(const QString& path, const std::string& pickle,
                  const std::vector<std::pair<std::string, std::string>>& records) {
  caffe2::serialize::PyTorchStreamWriter w(str(path));
  w.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [name, bytes] : records) w.writeRecord(name, bytes.data(), bytes.size());
  w.writeEndOfFile();
}

std::string floats(int n) {
  std::string b(static_cast<size_t>(n) * 4, '\0');
  for (int i = 0; i < n; ++i) {
    const float v = static_cast<float>(i);
    std::memcpy(&b[static_cast<size_t>(i) * 4], &v, 4);
  }
  return b;
}

// Every record of a torch.save archive, data.pkl first.
std::vector<std::pair<std::string, std::string>> records(const QString& path) {
  caffe2::serialize::PyTorchStreamReader r(str(path));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : r.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;  // the writer adds its own
    auto [p, n] = r.getRecord(name);
    out.emplace_back(name, std::string(static_cast<const char*>(p.get()), n));
  }
  std::stable_partition(out.begin(), out.end(),
                        [](const auto& rec) { return rec.first == "data.pkl"; });
  return out;
}

// The offset of the central directory entry of record `name` (a full zip name) in `zip`.
int centralEntry(const QByteArray& zip, const QByteArray& name) {
  const int at = zip.lastIndexOf("PK\x01\x02", zip.lastIndexOf(name));
  if (at < 0 || zip.mid(at + 46, name.size()) != name) qFatal("no central entry %s", name.data());
  return at;
}

QByteArray le16(uint16_t v) { return QByteArray(reinterpret_cast<const char*>(&v), 2); }
QByteArray le32(uint32_t v) { return QByteArray(reinterpret_cast<const char*>(&v), 4); }

// A zip of stored records in its zip64 form (APPNOTE 4.3.14-4.3.16, 4.5.3): every size and
// offset of the central directory in the zip64 extra field, all ones in the entries, and the
// zip64 end records before the classic one, as writers make archives over 4 GiB.
QByteArray zip64Archive(const std::vector<std::pair<std::string, std::string>>& records) {
  QByteArray out, dir;
  for (const auto& [name, data] : records) {
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint64_t at = static_cast<uint64_t>(out.size());
    out += "PK\x03\x04" + le16(45) + le16(0) + le16(0) + le32(0) + le32(crc) +
           le32(static_cast<uint32_t>(data.size())) + le32(static_cast<uint32_t>(data.size())) +
           le16(static_cast<uint16_t>(name.size())) + le16(0) + QByteArray::fromStdString(name) +
           QByteArray::fromStdString(data);
    const QByteArray extra = le16(1) + le16(24) + le64(data.size()) + le64(data.size()) + le64(at);
    dir += "PK\x01\x02" + le16(45) + le16(45) + le16(0) + le16(0) + le32(0) + le32(crc) +
           le32(0xffffffff) + le32(0xffffffff) + le16(static_cast<uint16_t>(name.size())) +
           le16(static_cast<uint16_t>(extra.size())) + le16(0) + le16(0) + le16(0) + le32(0) +
           le32(0xffffffff) + QByteArray::fromStdString(name) + extra;
  }
  const uint64_t dirAt = static_cast<uint64_t>(out.size()), n = records.size();
  out += dir;
  const uint64_t endAt = static_cast<uint64_t>(out.size());
  out += "PK\x06\x06" + le64(44) + le16(45) + le16(45) + le32(0) + le32(0) + le64(n) + le64(n) +
         le64(static_cast<uint64_t>(dir.size())) + le64(dirAt);
  out += "PK\x06\x07" + le32(0) + le64(endAt) + le32(1);
  out += "PK\x05\x06" + le16(0) + le16(0) + le16(0xffff) + le16(0xffff) + le32(0xffffffff) +
         le32(0xffffffff) + le16(0);
  return out;
}

long peakRssKb() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

class TestCheckpoint : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  QJsonObject m_expected;
  long m_fuzzCases = 0;

  QString tmp(const QString& name) const { return m_dir.filePath(name); }

  // Every tensor of `file` in expected.json: dtype and shape from info(), values from load().
  void checkAgainstExpected(const CheckpointReader& r, const QString& file) {
    const QJsonObject want = m_expected[file].toObject();
    QVERIFY2(!want.isEmpty(), qPrintable(file));
    for (auto it = want.begin(); it != want.end(); ++it) {
      if (it.key().startsWith('_')) continue;
      const std::string name = str(it.key());
      const QJsonObject t = it.value().toObject();
      QVERIFY2(r.has(name), name.c_str());
      const hf::TensorInfo info = r.info(name);
      QCOMPARE(QString::fromStdString(info.dtype), t["dtype"].toString());
      std::vector<int64_t> shape;
      for (const auto& d : t["shape"].toArray()) shape.push_back(d.toInt());
      QCOMPARE(info.shape, shape);
      if (info.dtype == "I64") {
        QCOMPARE(errorOf([&] { r.load(name); }),
                 info.file + ": tensor '" + name +
                     "' has dtype I64; RewardRouter loads F32, F16 and BF16");
        continue;
      }
      const torch::Tensor got = r.load(name);
      QCOMPARE(got.scalar_type(), torch::kFloat);
      QVERIFY(got.is_contiguous());
      QCOMPARE(got.sizes().vec(), shape);
      const QJsonArray values = t["values"].toArray();
      QCOMPARE(got.numel(), static_cast<int64_t>(values.size()));
      const float* p = got.data_ptr<float>();
      for (int k = 0; k < values.size(); ++k)
        QVERIFY2(p[k] == static_cast<float>(values[k].toDouble()),
                 qPrintable(QStringLiteral("%1 %2[%3]").arg(file, it.key()).arg(k)));
    }
  }

  // Opens and loads everything; any exception other than InputError fails the test.
  void survive(const QByteArray& bytes, const QString& ext, const QString& what) {
    const QString path = tmp("fuzz" + ext);
    writeBytes(path, bytes);
    survivePath(path, what);
  }
  // True when the file opened.
  bool survivePath(const QString& path, const QString& what) {
    ++m_fuzzCases;
    try {
      auto r = CheckpointReader::openFile(str(path));
      for (const auto& name : r->names()) {
        try {
          r->info(name);
          r->load(name);
        } catch (const InputError&) {
        }
      }
      return true;
    } catch (const InputError& e) {
      if (std::strchr(e.what(), '\n'))
        qFatal("%s: a message of more than one line: %s", qPrintable(what), e.what());
    } catch (const std::exception& e) {
      qFatal("%s: threw something other than InputError: %s", qPrintable(what), e.what());
    }
    return false;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_expected = QJsonDocument::fromJson(readAll(kFiles + "expected.json")).object();
    QVERIFY(!m_expected.isEmpty());
  }

  void safetensorsFromThePackage() {
    auto r = CheckpointReader::openFile(str(kFiles + "tensors.safetensors"));
    QCOMPARE(r->names(),
             (std::vector<std::string>{"a.bias", "a.weight", "empty", "position_ids", "scalar"}));
    QCOMPARE(r->info("a.weight").file, str(kFiles + "tensors.safetensors"));
    checkAgainstExpected(*r, "tensors.safetensors");
    checkAgainstExpected(*CheckpointReader::openFile(str(kFiles + "halves.safetensors")),
                         "halves.safetensors");
    QCOMPARE(errorOf([&] { r->info("nope"); }),
             str(kFiles) + "tensors.safetensors: no tensor 'nope'");
  }

  void loadConvertsToTheAskedDtype() {
    auto r = CheckpointReader::openFile(str(kFiles + "halves.safetensors"));
    const torch::Tensor h = r->load("h", torch::kHalf);
    QCOMPARE(h.scalar_type(), torch::kHalf);
    const torch::Tensor b = r->load("b", torch::kFloat);
    QVERIFY(torch::equal(r->load("b", torch::kBFloat16).to(torch::kFloat), b));
    QVERIFY(torch::equal(h.to(torch::kFloat), r->load("h")));
  }

  void torchSaveArchives_data() {
    QTest::addColumn<QString>("file");
    QTest::newRow("torch 2.x") << "torch2.bin";
    QTest::newRow("torch 1.13") << "torch113.bin";
  }
  void torchSaveArchives() {
    QFETCH(QString, file);
    auto r = CheckpointReader::openFile(str(kFiles + file));
    QCOMPARE(r->names(), (std::vector<std::string>{"bf16", "bias", "half", "position_ids", "view",
                                                   "view_t", "weight"}));
    checkAgainstExpected(*r, file);
    // Both views share one storage: offset 6, strides (6, 2); and its transpose.
    QVERIFY(torch::equal(r->load("view"),
                         torch::tensor({1.5f, 2.0f, 2.5f, 3.0f, 3.5f, 4.0f}).reshape({2, 3})));
    QCOMPARE(r->load("view_t").sizes().vec(), (std::vector<int64_t>{6, 4}));
  }

  void shardedFolders() {
    auto st = CheckpointReader::openFolder(str(kFiles + "sharded"));
    QCOMPARE(st->names(), (std::vector<std::string>{"a.bias", "a.weight", "position_ids"}));
    QCOMPARE(st->info("a.weight").file, str(kFiles + "sharded/model-00001-of-00002.safetensors"));
    QCOMPARE(st->info("a.bias").file, str(kFiles + "sharded/model-00002-of-00002.safetensors"));
    QVERIFY(torch::equal(
        st->load("a.weight"),
        CheckpointReader::openFile(str(kFiles + "tensors.safetensors"))->load("a.weight")));

    auto bin = CheckpointReader::openFolder(str(kFiles + "sharded_bin"));
    QCOMPARE(bin->names().size(), size_t{7});
    QVERIFY(torch::equal(bin->load("view"),
                         CheckpointReader::openFile(str(kFiles + "torch2.bin"))->load("view")));
  }

  void folderPrefersSafetensors() {
    QTemporaryDir d;
    const QString dir = d.path();
    QCOMPARE(errorOf([&] { CheckpointReader::openFolder(str(dir)); }),
             str(dir) + ": no weights (model.safetensors or pytorch_model.bin)");
    QFile::copy(kFiles + "torch2.bin", dir + "/pytorch_model.bin");
    QCOMPARE(CheckpointReader::openFolder(str(dir))->info("view").file,
             str(dir + "/pytorch_model.bin"));
    QFile::copy(kFiles + "tensors.safetensors", dir + "/model.safetensors");
    QCOMPARE(CheckpointReader::openFolder(str(dir))->info("a.weight").file,
             str(dir + "/model.safetensors"));
    QCOMPARE(errorOf([&] { CheckpointReader::openFolder(str(dir + "/none")); }),
             str(dir) + "/none: not a folder");
  }

  void safetensorsRefused() {
    const QString p = tmp("bad.safetensors");
    const std::string f = str(p);
    auto refuse = [&](const QByteArray& bytes) {
      writeBytes(p, bytes);
      return errorOf([&] { CheckpointReader::openFile(f); });
    };
    const QByteArray good = readAll(kFiles + "tensors.safetensors");
    QCOMPARE(refuse(good.left(5)),
             f + ": truncated: 5 bytes, shorter than the 8-byte header length");
    uint64_t n = 0;
    std::memcpy(&n, good.constData(), 8);
    QCOMPARE(refuse(good.left(20)), f + ": truncated: the header needs " + std::to_string(n) +
                                        " bytes, the file has 12 after the length");
    QCOMPARE(refuse(good.left(good.size() - 1)),
             f + ": tensor 'scalar': data_offsets [68, 72] run past the end of the data section "
                 "(71 bytes): truncated file or wrong offsets");
    QCOMPARE(refuse(good + "xx"), f + ": wrong file size: " + std::to_string(good.size() + 2) +
                                      " bytes, the header describes " +
                                      std::to_string(good.size()));
    QCOMPARE(refuse(le64(100'000'001) + QByteArray(16, ' ')),
             f + ": header length 100000001 exceeds the limit of 100000000 bytes");

    const QByteArray d16(16, '\0');
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                d16)),
             f + ": tensors 'a' and 'b' overlap at byte 4 of the data");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                                d16)),
             f + ": gap in the data: bytes [8, 12) belong to no tensor");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", d16)),
             f + ": tensor 'a': data_offsets [0, 16] hold 16 bytes; F32 [3] needs 12");
    QCOMPARE(
        refuse(safetensors(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", d16)),
        f + ": tensor 'a': shape entries must be non-negative integers");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
                                d16.left(8))),
             f + ": tensor 'a': shape entries must be non-negative integers");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],)"
                                R"("data_offsets":[0,8]}})",
                                d16.left(8))),
             f + ": tensor 'a': shape [4611686018427387904, 8] overflows");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d16)),
             f + ": tensor 'a': data_offsets [8, 0] end before they begin");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", d16)),
             f + ": tensor 'a': unknown dtype 'Q9'");
    QCOMPARE(refuse(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                d16)),
             f + ": the header names 'a' twice");
    QCOMPARE(refuse(safetensors(R"({"__metadata__":{"format":1}})", "")),
             f + ": __metadata__['format'] is not a string");
    QCOMPARE(refuse(safetensors("[[[[[[[[[[[[]]]]]]]]]]]]", "")),
             f + ": the header is not a JSON object");
    QCOMPARE(refuse(safetensors(R"({"a":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]})", "")),
             f + ": the header nests deeper than 8 levels");
    QVERIFY(refuse(safetensors(R"({"a":)", "")).rfind(f + ": the header is not valid JSON: ", 0) ==
            0);
    // An empty file of tensors is fine, and trailing spaces pad a header as the format allows.
    writeBytes(p, safetensors(R"({"__metadata__":{"k":"v"}}      )", ""));
    QVERIFY(CheckpointReader::openFile(f)->names().empty());
  }

  void torchArchivesRefused() {
    const QString p = tmp("bad.bin");
    const std::string f = str(p);
    auto refuse = [&](const std::string& pickle,
                      const std::vector<std::pair<std::string, std::string>>& recs) {
      writeArchive(p, pickle, recs);
      return errorOf([&] { CheckpointReader::openFile(f); });
    };
    // What pickle.dumps of os.system("echo pwned") is, never run.
    QCOMPARE(
        refuse("\x80\x02" + global("os", "system") + uni("echo pwned") + "\x85R.", {}),
        f + ": refuses to load: the pickle calls GLOBAL 'os system' (not a tensor state dict)");
    QCOMPARE(refuse("\x80\x02" + global("builtins", "eval") + uni("1") + "\x85R.", {}),
             f + ": refuses to load: the pickle calls GLOBAL 'builtins eval' (not a tensor state "
                 "dict)");
    // The hand-made pickle loads when its storage is all there.
    writeArchive(p, tensorPickle("w", 6, 0, {2, 3}, {3, 1}), {{"data/0", floats(6)}});
    QVERIFY(torch::equal(CheckpointReader::openFile(f)->load("w"),
                         torch::arange(6, torch::kFloat).reshape({2, 3})));
    // A transposed view (an overlapping one is refused: overlappingViewsAreRefused).
    writeArchive(p, tensorPickle("w", 7, 1, {3, 2}, {1, 3}), {{"data/0", floats(7)}});
    QVERIFY(torch::equal(CheckpointReader::openFile(f)->load("w"),
                         torch::tensor({1.f, 4.f, 2.f, 5.f, 3.f, 6.f}).reshape({3, 2})));
    QVERIFY(refuse(tensorPickle("w", 6, 1, {2, 3}, {3, 1}), {{"data/0", floats(6)}})
                .rfind(f + ": data.pkl: a tensor view reaches past the end of storage '0' "
                           "(24 bytes) (opcode at byte ",
                       0) == 0);
    QCOMPARE(refuse(tensorPickle("w", 6, 0, {2, 3}, {3, 1}), {}),
             f + ": the archive has no record data/0 for a storage data.pkl names");
    writeArchive(p, tensorPickle("w", 6, 0, {2, 3}, {3, 1}), {{"data/0", floats(5)}});
    QCOMPARE(errorOf([&] { CheckpointReader::openFile(f)->load("w"); }),
             f + ": record data/0 has 20 bytes; data.pkl says 24");
    QCOMPARE(refuse("\x80\x02" + kOrderedDict + uni("state_dict") + kOrderedDict + "s.", {}),
             f + ": entry 'state_dict' is a dict (nested state dicts are not supported): not a "
                 "tensor state dict");
    QCOMPARE(refuse("\x80\x02}\x81.", {}),
             f + ": data.pkl: unsupported opcode 0x81 (opcode at byte 3)");
    QCOMPARE(refuse("\x80\x02}", {}), f + ": data.pkl: truncated (opcode at byte 3)");
    QCOMPARE(refuse("\x80\x02h\x05.", {}),
             f + ": data.pkl: GET of memo entry 5, never PUT (opcode at byte 2)");

    writeBytes(p, readAll(kFiles + "torch2.bin").left(1000));
    QVERIFY(errorOf([&] {
              CheckpointReader::openFile(f);
            }).rfind(f + ": not a readable torch.save archive: ", 0) == 0);
    writeBytes(p, "\x80\x02\x8a\x0a");
    QCOMPARE(errorOf([&] { CheckpointReader::openFile(f); }),
             f + ": a legacy (before torch 1.6) torch.save file; only the zip archive format is "
                 "read (re-save it with torch.save or convert it to safetensors)");
    writeBytes(p, "hello");
    QCOMPARE(errorOf([&] { CheckpointReader::openFile(f); }),
             f + ": not a safetensors file or a torch.save zip archive");
  }

  // A flipped byte in a tensor's record: the zip's CRC-32 says so, as docs/CHECKPOINTS.md
  // promises (LibTorch's zip reader did not check, and the damaged values loaded).
  void damagedRecordsFailTheirCrc() {
    QByteArray bytes = readAll(kFiles + "torch2.bin");
    const uint64_t at = caffe2::serialize::PyTorchStreamReader(str(kFiles + "torch2.bin"))
                            .getRecordOffset("data/0");
    bytes[static_cast<int>(at)] = static_cast<char>(bytes[static_cast<int>(at)] ^ 0x10);
    const QString p = tmp("crc.bin");
    writeBytes(p, bytes);
    auto r = CheckpointReader::openFile(str(p));
    std::string loadedFrom0;
    for (const auto& name : r->names()) {
      const std::string e = errorOf([&] { r->load(name); });
      if (e.find("CRC") != std::string::npos) loadedFrom0 = e;
    }
    QVERIFY2(loadedFrom0.rfind(str(p) + ": record ", 0) == 0, loadedFrom0.c_str());
    QVERIFY2(loadedFrom0.find("data/0 fails its CRC-32 check") != std::string::npos,
             loadedFrom0.c_str());
    QVERIFY2(loadedFrom0.find("the file is damaged") != std::string::npos, loadedFrom0.c_str());
  }

  // A view whose elements repeat (stride 0, as torch.expand makes) would turn one stored float
  // into a whole weight matrix: it is listed but refused on load, like an I64 buffer.
  void overlappingViewsAreRefused() {
    const QString p = tmp("expand.bin");
    const std::string f = str(p);
    for (const auto& [size, stride] :
         {std::pair<std::vector<int>, std::vector<int>>{{2, 2}, {0, 0}},
          {{3, 2}, {1, 0}},
          {{3, 2}, {1, 2}}}) {
      writeArchive(p, tensorPickle("w", 8, 0, size, stride), {{"data/0", floats(8)}});
      auto r = CheckpointReader::openFile(f);
      QCOMPARE(r->info("w").shape, (std::vector<int64_t>{size[0], size[1]}));
      QCOMPARE(errorOf([&] { r->load("w"); }),
               f + ": tensor 'w' is a view that repeats or interleaves stored elements (size [" +
                   std::to_string(size[0]) + ", " + std::to_string(size[1]) + "], stride [" +
                   std::to_string(stride[0]) + ", " + std::to_string(stride[1]) +
                   "]); RewardRouter loads views that torch slicing and transposing make");
    }
    // A one-element dimension may have any stride (transformers' expanded position_ids buffer).
    writeArchive(p, tensorPickle("w", 8, 0, {1, 4}, {0, 1}), {{"data/0", floats(8)}});
    QVERIFY(torch::equal(CheckpointReader::openFile(f)->load("w"),
                         torch::arange(4, torch::kFloat).reshape({1, 4})));
  }

  // Record sizes are checked against the file before anything of their size is allocated: a
  // 1 MB file that says a record inflates to 1.2 GB is refused with no such allocation.
  void recordSizesAreCheckedBeforeReading() {
    const QString p = tmp("sizes.bin");
    const std::string f = str(p);
    writeArchive(p, tensorPickle("w", 6, 0, {2, 3}, {3, 1}), {{"data/0", floats(6)}});
    const QByteArray good = readAll(p);
    const QByteArray top = QByteArray::fromStdString(f).mid(f.rfind('/') + 1).replace(".bin", "");
    const int entry = centralEntry(good, top + "/data/0");
    QByteArray deflated = good;
    deflated.replace(entry + 10, 2, le16(8));
    deflated.replace(entry + 24, 4, le32(1200000000));
    writeBytes(p, deflated);
    const long before = peakRssKb();
    std::string e = errorOf([&] { CheckpointReader::openFile(f)->load("w"); });
    QCOMPARE(e, f + ": not a readable torch.save archive: record '" + str(top) +
                    "/data/0' is compressed (method 8); torch.save stores its records "
                    "uncompressed");
    QVERIFY2(peakRssKb() - before < 100 * 1024, qPrintable(QString::number(peakRssKb() - before)));
    QByteArray stated = good;
    stated.replace(entry + 24, 4, le32(1200000000));
    writeBytes(p, stated);
    QCOMPARE(errorOf([&] { CheckpointReader::openFile(f)->load("w"); }),
             f + ": not a readable torch.save archive: record '" + str(top) +
                 "/data/0' states 1200000000 bytes but stores 24");
    QByteArray beyond = good;
    beyond.replace(entry + 20, 4, le32(1200000000));
    beyond.replace(entry + 24, 4, le32(1200000000));
    writeBytes(p, beyond);
    e = errorOf([&] { CheckpointReader::openFile(f)->load("w"); });
    QVERIFY2(
        e.find("record '" + str(top) + "/data/0' (1200000000 bytes at byte ") != std::string::npos,
        e.c_str());
  }

  // Archives over 4 GiB keep their sizes and offsets in zip64 fields; a small one in that form
  // (which LibTorch's own reader reads too) loads the same tensors.
  void zip64Archives() {
    const QString p = tmp("zip64.bin");
    caffe2::serialize::PyTorchStreamReader source(str(kFiles + "torch2.bin"));
    std::vector<std::pair<std::string, std::string>> named;
    for (const auto& name : source.getAllRecords()) {
      auto [data, n] = source.getRecord(name);
      named.emplace_back("archive/" + name, std::string(static_cast<const char*>(data.get()), n));
    }
    writeBytes(p, zip64Archive(named));
    QCOMPARE(caffe2::serialize::PyTorchStreamReader(str(p)).getAllRecords().size(), named.size());
    auto r = CheckpointReader::openFile(str(p));
    auto want = CheckpointReader::openFile(str(kFiles + "torch2.bin"));
    QCOMPARE(r->names(), want->names());
    for (const auto& name : want->names())
      if (want->info(name).dtype != "I64") QVERIFY(torch::equal(r->load(name), want->load(name)));
  }

  // A FIFO named like a weight file blocked the reader forever; a device read without end.
  void weightFilesMustBeRegularFiles() {
    QTemporaryDir d;
    const std::string dir = str(d.path());
    for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
      const std::string path = dir + "/" + name;
      QCOMPARE(::mkfifo(path.c_str(), 0600), 0);
      QCOMPARE(errorOf([&] { CheckpointReader::openFolder(dir); }),
               path + ": not a regular file (a FIFO)");
      QVERIFY(std::remove(path.c_str()) == 0);
    }
    QVERIFY(QFile::link("/dev/zero", d.path() + "/pytorch_model.bin"));
    QCOMPARE(errorOf([&] { CheckpointReader::openFolder(dir); }),
             dir + "/pytorch_model.bin: not a regular file (a character device)");
    QVERIFY(QFile::remove(d.path() + "/pytorch_model.bin"));
    const std::string index = dir + "/model.safetensors.index.json";
    QCOMPARE(::mkfifo(index.c_str(), 0600), 0);
    QCOMPARE(errorOf([&] { CheckpointReader::openFolder(dir); }),
             index + ": not a regular file (a FIFO)");
    QVERIFY(std::remove(index.c_str()) == 0);
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
    deep += "1" + std::string(100000, '}');
    writeBytes(QString::fromStdString(index), QByteArray::fromStdString(deep));
    QCOMPARE(errorOf([&] { CheckpointReader::openFolder(dir); }),
             index + ": $.a.a.a.a.a.a.a.a...: nested deeper than 128 levels");
  }

  void shardIndexesRefused() {
    QTemporaryDir d;
    const QString dir = d.path();
    for (const char* s : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
      QFile::copy(kFiles + "sharded/" + s, dir + "/" + s);
    const QString index = dir + "/model.safetensors.index.json";
    auto withMap = [&](const QByteArray& map) {
      writeBytes(index, R"({"metadata": {}, "weight_map": )" + map + "}");
      return errorOf([&] { CheckpointReader::openFolder(str(dir)); });
    };
    QCOMPARE(withMap(R"({"a.weight": "model-00001-of-00002.safetensors",
                         "ghost": "model-00002-of-00002.safetensors"})"),
             str(index) +
                 ": tensor 'ghost' is mapped to model-00002-of-00002.safetensors, which does not "
                 "hold it");
    QCOMPARE(withMap(R"({"a.weight": "../files/tensors.safetensors"})"),
             str(index) +
                 ": weight_map['a.weight'] names '../files/tensors.safetensors': shard "
                 "names must be plain file names in the folder");
    QCOMPARE(withMap(R"({"a.weight": ".."})"),
             str(index) +
                 ": weight_map['a.weight'] names '..': shard names must be plain file "
                 "names in the folder");
    QCOMPARE(withMap(R"({"a.weight": "model-00003-of-00002.safetensors"})"),
             str(index) + ": shard 'model-00003-of-00002.safetensors' does not exist");
    QCOMPARE(withMap(R"({"a.weight": 3})"),
             str(index) + ": weight_map['a.weight'] is not a file name");
    QCOMPARE(withMap("{}"), str(index) + ": \"weight_map\" is empty");
    QCOMPARE(withMap(R"({"a.weight": "model-00001-of-00002.safetensors"})"), std::string());
  }

  void fuzzSafetensors() {
    std::mt19937 rng(20261130);
    for (const char* name : {"tensors.safetensors", "halves.safetensors"}) {
      const QByteArray good = readAll(kFiles + name);
      uint64_t n = 0;
      std::memcpy(&n, good.constData(), 8);
      for (int len = 0; len < good.size(); ++len)
        survive(good.left(len), ".safetensors", QStringLiteral("%1 cut at %2").arg(name).arg(len));
      std::uniform_int_distribution<int> pos(0, good.size() - 1), bit(0, 7), val(0, 255);
      const char structural[] = "{}[]\":,-0123456789eE. x";
      std::uniform_int_distribution<int> sym(0, sizeof structural - 2),
          inHeader(8, static_cast<int>(7 + n));
      for (int k = 0; k < 1500; ++k) {
        QByteArray b = good;
        QString what;
        if (k % 3 == 0) {
          const int at = pos(rng), m = bit(rng);
          b[at] = static_cast<char>(b[at] ^ (1 << m));
          what = QStringLiteral("bit %1 of byte %2").arg(m).arg(at);
        } else if (k % 3 == 1) {
          const int at = pos(rng), v = val(rng);
          b[at] = static_cast<char>(v);
          what = QStringLiteral("byte %1 = %2").arg(at).arg(v);
        } else {
          for (int j = 0; j < 3; ++j) b[inHeader(rng)] = structural[sym(rng)];
          what = QStringLiteral("header characters, case %1").arg(k);
        }
        survive(b, ".safetensors", QString(name) + ": " + what);
      }
      for (uint64_t v :
           {uint64_t{0}, uint64_t{1}, uint64_t{7}, n - 1, n + 1, n + 8, uint64_t(good.size()) - 8,
            uint64_t(good.size()), uint64_t{100'000'000}, uint64_t{1} << 63, ~uint64_t{0}})
        survive(le64(v) + good.mid(8), ".safetensors",
                QStringLiteral("%1 header length %2").arg(name).arg(v));
    }
  }

  void fuzzTorchArchives() {
    std::mt19937 rng(1130);
    for (const char* name : {"torch2.bin", "torch113.bin"}) {
      // The zip as a whole: LibTorch's reader checks it (CRCs included) before data.pkl is read.
      const QByteArray good = readAll(kFiles + name);
      for (int len = 0; len < good.size(); len += 7)
        survive(good.left(len), ".bin", QStringLiteral("%1 cut at %2").arg(name).arg(len));
      std::uniform_int_distribution<int> pos(0, good.size() - 1), bit(0, 7), val(0, 255);
      for (int k = 0; k < 400; ++k) {
        QByteArray b = good;
        const int at = pos(rng), v = val(rng);
        b[at] = static_cast<char>(k % 2 ? b[at] ^ (1 << (v % 8)) : v);
        survive(b, ".bin", QStringLiteral("%1 byte %2 case %3").arg(name).arg(at).arg(k));
      }
      // data.pkl itself, in an archive that is otherwise sound, so the interpreter sees it all.
      auto recs = records(kFiles + name);
      const std::string pickle = recs.front().second;
      recs.erase(recs.begin());
      const QString path = tmp("fuzzpkl.bin");
      int opened = 0;
      auto run = [&](const std::string& pkl, const QString& what) {
        writeArchive(path, pkl, recs);
        opened += survivePath(path, what);
      };
      run(pickle, "the archive rewritten unchanged");
      QCOMPARE(opened, 1);
      for (size_t len = 0; len < pickle.size(); len += 3)
        run(pickle.substr(0, len), QStringLiteral("%1 data.pkl cut at %2").arg(name).arg(len));
      const std::string opcodes =
          "().0123NKJMXhjqrQRbsuaetl}])\x85\x86\x87\x88\x89\x8a\x8c\x93\x94";
      std::uniform_int_distribution<size_t> at(0, pickle.size() - 1), op(0, opcodes.size() - 1);
      for (int k = 0; k < 900; ++k) {
        std::string p = pickle;
        const size_t i = at(rng);
        if (k % 3 == 0)
          p[i] = static_cast<char>(p[i] ^ (1 << (k % 8)));
        else if (k % 3 == 1)
          p[i] = static_cast<char>(val(rng));
        else
          p[i] = opcodes[op(rng)];
        run(p, QStringLiteral("%1 data.pkl byte %2 case %3").arg(name).arg(i).arg(k));
      }
      // Mutations in names and values leave a loadable pickle: the interpreter saw real work.
      QVERIFY2(opened > 50, qPrintable(QString::number(opened)));
    }
    qInfo("%ld mutated files, each loaded or refused with an InputError", m_fuzzCases);
  }

  void writeThenRead() {
    const torch::Tensor a = torch::arange(12, torch::kFloat).reshape({3, 4}).t();  // not contiguous
    const torch::Tensor h = torch::linspace(-1, 1, 5).to(torch::kHalf);
    const torch::Tensor b = torch::tensor({0.5f, -2.0f, 3.0f}).to(torch::kBFloat16);
    const torch::Tensor s = torch::tensor(7.0f);
    const torch::Tensor e = torch::zeros({0, 2});
    const std::vector<std::pair<std::string, torch::Tensor>> tensors = {
        {"z.a", a}, {"h", h}, {"b", b}, {"scalar", s}, {"empty", e}};
    QDir().mkpath(RR_BINARY_DIR "/test-cache");
    const std::string path = RR_BINARY_DIR "/test-cache/roundtrip.safetensors";
    hf::writeSafetensors(path, {{"old", a}});
    hf::writeSafetensors(path, tensors, {{"format", "pt"}});  // replaces the file
    const QByteArray bytes = readAll(QString::fromStdString(path));
    uint64_t n = 0;
    std::memcpy(&n, bytes.constData(), 8);
    QCOMPARE(n % 8, uint64_t{0});
    QVERIFY(bytes.mid(8, static_cast<int>(n)).contains(R"("__metadata__":{"format":"pt"})"));
    auto r = CheckpointReader::openFile(path);
    QCOMPARE(r->names(), (std::vector<std::string>{"b", "empty", "h", "scalar", "z.a"}));
    for (const auto& [name, t] : tensors) {
      QCOMPARE(r->info(name).shape, t.sizes().vec());
      QVERIFY(torch::equal(r->load(name, t.scalar_type()), t));
    }
    QCOMPARE(r->info("h").dtype, std::string("F16"));
    QCOMPARE(r->info("b").dtype, std::string("BF16"));
    QCOMPARE(QDir(RR_BINARY_DIR "/test-cache").entryList({"roundtrip.safetensors.tmp*"}),
             QStringList());
    QCOMPARE(
        errorOf([&] {
          hf::writeSafetensors(str(tmp("x.safetensors")), {{"ids", torch::arange(3)}});
        }),
        str(tmp("x.safetensors")) +
            ": tensor 'ids' has dtype Long; safetensors files are written in F32, F16 or BF16");
    QVERIFY(!QFile::exists(tmp("x.safetensors")));
  }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
