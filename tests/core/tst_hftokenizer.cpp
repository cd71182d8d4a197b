// The tokenizers of Hugging Face model folders against the ids transformers' slow tokenizers
// produced for hostile strings (tests/fixtures/hf/tokenizers/goldens.json, written by
// tools/fixtures/make_tokenizer_fixtures.py), the [CLS] p [SEP] r [SEP] layout, the files a
// tokenizer reads and the errors a user sees.
#include <sys/stat.h>

#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "data/hftokenizer.h"
#include "data/tokenizer.h"

using namespace rr::core;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The slow tokenizer files of a model type as the architecture registry (core/nn/hf/) names
// them; this test links no model code.
std::unique_ptr<Tokenizer> loadSlow(const std::string& dir, const std::string& modelType) {
  return loadHfTokenizer(dir, modelType == "deberta-v2" ? SlowTokenizer::SentencePiece
                                                        : SlowTokenizer::WordPiece);
}

const fs::path kFixtures = fs::path(RR_SOURCE_DIR) / "tests/fixtures/hf/tokenizers";

QString printable(const std::string& s) {
  QString out;
  for (const QChar c : QString::fromStdString(s))
    out += c.isPrint() ? QString(c) : QString("\\u%1").arg(c.unicode(), 4, 16, QChar('0'));
  return out;
}

QString idList(const std::vector<int>& ids) {
  QStringList s;
  for (int id : ids) s << QString::number(id);
  return s.join(' ');
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

void copyFolder(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from))
    fs::copy_file(e.path(), to / e.path().filename());
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

class TestHfTokenizer : public QObject {
  Q_OBJECT
  json m_goldens;
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void initTestCase() {
    std::ifstream in(kFixtures / "goldens.json", std::ios::binary);
    QVERIFY(in.good());
    m_goldens = json::parse(in);
    QVERIFY(m_goldens["strings"].size() > 300);
  }

  void matchesTransformers_data() {
    QTest::addColumn<QString>("name");
    for (const auto& [name, g] : m_goldens["tokenizers"].items())
      QTest::newRow(name.c_str()) << QString::fromStdString(name);
  }

  // Every golden string's ids, the special ids and the vocabulary size equal transformers'.
  void matchesTransformers() {
    QFETCH(QString, name);
    const json& g = m_goldens["tokenizers"][name.toStdString()];
    const fs::path dir = kFixtures / name.toStdString();
    auto tok = loadSlow(dir.string(), g["model_type"].get<std::string>());
    QCOMPARE(tok->vocabSize(), g["vocab_size"].get<int>());
    const SpecialIds sp = tok->special();
    QCOMPARE(sp.pad, g["special"]["pad"].get<int>());
    QCOMPARE(sp.unk, g["special"]["unk"].get<int>());
    QCOMPARE(sp.cls, g["special"]["cls"].get<int>());
    QCOMPARE(sp.sep, g["special"]["sep"].get<int>());
    QCOMPARE(sp.mask, g["special"]["mask"].get<int>());
    const json& strings = m_goldens["strings"];
    int mismatches = 0;
    int ties = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      const std::string text = strings[i].get<std::string>();
      auto want = g["encode"][i].get<std::vector<int>>();
      auto got = tok->encode(text);
      if (got == want) continue;
      // SentencePiece 0.1.97 (Debian) and 0.2.x (pip, which made the goldens) order the pieces
      // of equally scored unigram segmentations differently (long runs of one letter): the
      // same pieces, in another order. Any other difference fails.
      std::vector<int> a = got, b = want;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (g["model_type"] == "deberta-v2" && a == b) {
        ++ties;
        continue;
      }
      if (++mismatches <= 10)
        qWarning().noquote() << "text" << printable(text) << "\n  want" << idList(want)
                             << "\n  got " << idList(got);
    }
    QCOMPARE(mismatches, 0);
    QVERIFY(ties <= 16);
  }

  void addedTokensMatchTheRustTokenizers_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("uncased") << "bert-added";
    QTest::newRow("cased") << "bert-added-cased";
  }

  // Added tokens with single_word, lstrip and rstrip next to each other, to special tokens, words,
  // digits, marks, CJK and spaces give the ids of the Rust tokenizers (transformers 5's only
  // kind; tests/fixtures/hf/tokenizers/added-goldens.json).
  void addedTokensMatchTheRustTokenizers() {
    QFETCH(QString, name);
    std::ifstream in(kFixtures / "added-goldens.json", std::ios::binary);
    const json g = json::parse(in);
    auto tok = loadSlow((kFixtures / name.toStdString()).string(), "bert");
    const json& strings = g["strings"];
    const json& ids = g["ids"][name.toStdString()];
    QVERIFY(strings.size() > 1000);
    int mismatches = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      const std::string text = strings[i].get<std::string>();
      const auto want = ids[i].get<std::vector<int>>();
      const auto got = tok->encode(text);
      if (got == want) continue;
      if (++mismatches <= 10)
        qWarning().noquote() << "text" << printable(text) << "\n  want" << idList(want)
                             << "\n  got " << idList(got);
    }
    QCOMPARE(mismatches, 0);
  }

  void promptResponseLayout_data() { matchesTransformers_data(); }

  // encodePromptResponse builds what tokenizer(prompt, response)["input_ids"] builds.
  void promptResponseLayout() {
    QFETCH(QString, name);
    const json& g = m_goldens["tokenizers"][name.toStdString()];
    auto tok = loadSlow((kFixtures / name.toStdString()).string(),
                               g["model_type"].get<std::string>());
    for (const auto& p : g["pairs"]) {
      const auto want = p["input_ids"].get<std::vector<int>>();
      int kept = -1;
      const auto got = encodePromptResponse(*tok, p["prompt"].get<std::string>(),
                                            p["response"].get<std::string>(), 512, &kept);
      QCOMPARE(idList(got), idList(want));
    }
  }

  void filesListWhatWasRead() {
    auto bert = loadSlow((kFixtures / "bert-uncased").string(), "bert");
    QCOMPARE(bert->modelPath(), (kFixtures / "bert-uncased").string());
    const std::vector<std::string> bertFiles = {
        (kFixtures / "bert-uncased/vocab.txt").string(),
        (kFixtures / "bert-uncased/tokenizer_config.json").string(),
        (kFixtures / "bert-uncased/special_tokens_map.json").string()};
    QVERIFY(bert->files() == bertFiles);
    auto deberta = loadSlow((kFixtures / "deberta-v3").string(), "deberta-v2");
    const std::vector<std::string> debertaFiles = {
        (kFixtures / "deberta-v3/spm.model").string(),
        (kFixtures / "deberta-v3/tokenizer_config.json").string(),
        (kFixtures / "deberta-v3/special_tokens_map.json").string(),
        (kFixtures / "deberta-v3/added_tokens.json").string()};
    QVERIFY(deberta->files() == debertaFiles);
  }

  void maxLength() {
    QCOMPARE(hfTokenizerMaxLength((kFixtures / "bert-uncased").string()), 512);
    QCOMPARE(hfTokenizerMaxLength((kFixtures / "electra").string()), 128);
    // int(1e30): transformers' "no limit".
    QCOMPARE(hfTokenizerMaxLength((kFixtures / "bert-cased").string()), 0);
    QCOMPARE(hfTokenizerMaxLength((kFixtures / "deberta-v3").string()), 0);
    QCOMPARE(hfTokenizerMaxLength((kFixtures / "minilm").string()), 512);
  }

  void decodesWords() {
    auto tok = loadSlow((kFixtures / "bert-uncased").string(), "bert");
    QCOMPARE(QString::fromStdString(tok->decode(tok->encode("Hello, unaffable world!"))),
             QString("hello , unaffable world !"));
    auto deberta = loadSlow((kFixtures / "deberta-v3").string(), "deberta-v2");
    QCOMPARE(QString::fromStdString(deberta->decode(deberta->encode("the quick [MASK] fox"))),
             QString("the quick [MASK] fox"));
  }

  void errorsNameTheFile() {
    const fs::path root = m_dir.path().toStdString();
    const fs::path empty = root / "empty";
    fs::create_directories(empty);
    QCOMPARE(QString::fromStdString(errorOf([&] { loadSlow(empty.string(), "bert"); })),
             QString::fromStdString((empty / "vocab.txt").string() +
                                    ": not found (a BERT or ELECTRA tokenizer needs tokenizer.json or vocab.txt)"));
    QCOMPARE(
        QString::fromStdString(errorOf([&] { loadSlow(empty.string(), "deberta-v2"); })),
        QString::fromStdString((empty / "spm.model").string() +
                               ": not found (a DeBERTa-v2/v3 tokenizer needs tokenizer.json or spm.model)"));

    const fs::path badJson = root / "bad-json";
    copyFolder(kFixtures / "bert-uncased", badJson);
    writeFile(badJson / "tokenizer_config.json", "{\n  \"do_lower_case\": true,\n  oops\n}\n");
    const std::string e = errorOf([&] { loadSlow(badJson.string(), "bert"); });
    QVERIFY2(e.rfind((badJson / "tokenizer_config.json").string() + ":3:3: invalid JSON: ", 0) == 0,
             e.c_str());

    const fs::path noCls = root / "no-cls";
    copyFolder(kFixtures / "bert-uncased", noCls);
    writeFile(noCls / "vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n");
    QCOMPARE(QString::fromStdString(errorOf([&] { loadSlow(noCls.string(), "bert"); })),
             QString::fromStdString((noCls / "vocab.txt").string() +
                                    ": the vocabulary has no [CLS] token"));
  }

  // What a hostile folder holds in place of its tokenizer files: a FIFO (which blocked the reader
  // forever), a link to a device (read until memory ran out), JSON nested 100 000 deep.
  void tokenizerFilesMustBeRegularFiles() {
    const fs::path root = m_dir.path().toStdString();
    for (const auto& [name, modelType, source] :
         {std::tuple<const char*, const char*, const char*>{"vocab.txt", "bert", "bert-uncased"},
          {"tokenizer_config.json", "bert", "bert-uncased"},
          {"special_tokens_map.json", "bert", "bert-uncased"},
          {"added_tokens.json", "deberta-v2", "deberta-v3"},
          {"spm.model", "deberta-v2", "deberta-v3"}}) {
      const fs::path dir = root / ("fifo-" + std::string(name));
      copyFolder(kFixtures / source, dir);
      fs::remove(dir / name);
      QCOMPARE(::mkfifo((dir / name).c_str(), 0600), 0);
      QCOMPARE(QString::fromStdString(errorOf([&] { loadSlow(dir.string(), modelType); })),
               QString::fromStdString((dir / name).string() + ": not a regular file (a FIFO)"));
      for (const char* device : {"/dev/zero", "/dev/urandom"}) {
        fs::remove(dir / name);
        fs::create_symlink(device, dir / name);
        QCOMPARE(QString::fromStdString(errorOf([&] { loadSlow(dir.string(), modelType); })),
                 QString::fromStdString((dir / name).string() +
                                        ": not a regular file (a character device)"));
      }
    }
    const fs::path deep = root / "deep";
    copyFolder(kFixtures / "bert-uncased", deep);
    std::string text;
    for (int i = 0; i < 100000; ++i) text += "{\"a\":";
    writeFile(deep / "tokenizer_config.json", text + "1" + std::string(100000, '}'));
    QCOMPARE(QString::fromStdString(errorOf([&] { loadSlow(deep.string(), "bert"); })),
             QString::fromStdString((deep / "tokenizer_config.json").string() +
                                    ": $.a.a.a.a.a.a.a.a...: nested deeper than 128 levels"));
  }

  // Values of the wrong type or out of range are one line naming the file and the field (they
  // were nlohmann's type errors, or narrowed: an added token's id 2^32 + 5 became 5).
  void tokenizerConfigValuesAreChecked_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("error");
    QTest::newRow("flag") << "tokenizer_config.json"
                          << R"({"do_lower_case": "yes"})"
                          << R"(do_lower_case: must be true or false (got "yes"))";
    QTest::newRow("accents") << "tokenizer_config.json"
                             << R"({"strip_accents": 1})"
                             << "strip_accents: must be true or false (got 1)";
    QTest::newRow("deep value") << "tokenizer_config.json"
                                << R"({"tokenize_chinese_chars": {"a": {"b": 1}}})"
                                << "tokenize_chinese_chars: must be true or false (got an object)";
    QTest::newRow("1e400") << "tokenizer_config.json"
                           << R"({"model_max_length": 1e400})"
                           << "1:22: $.model_max_length: number out of range (got 1e400)";
    QTest::newRow("limit text") << "tokenizer_config.json"
                                << R"({"model_max_length": "abc"})"
                                << R"(model_max_length: must be a number (got "abc"))";
    QTest::newRow("limit fraction") << "tokenizer_config.json"
                                    << R"({"model_max_length": 64.5})"
                                    << "model_max_length: must be a whole number (got 64.5)";
    for (int n : {0, 1, 3, 4, -7})
      QTest::newRow(qPrintable(QString("limit %1").arg(n)))
          << "tokenizer_config.json" << QString(R"({"model_max_length": %1})").arg(n)
          << QString(
                 "model_max_length: %1 cannot hold [CLS] prompt [SEP] response [SEP] with a "
                 "token of each (at least 5)")
                 .arg(n);
    QTest::newRow("not an object") << "tokenizer_config.json"
                                   << "[1, 2]"
                                   << "not a JSON object";
    QTest::newRow("role")
        << "special_tokens_map.json"
        << R"({"cls_token": 5})"
        << R"(cls_token: must be a string or an object with a string "content" (got 5))";
    QTest::newRow("role flag") << "special_tokens_map.json"
                               << R"({"sep_token": {"content": "[SEP]", "lstrip": "no"}})"
                               << R"(sep_token.lstrip: must be true or false (got "no"))";
    for (const char* id :
         {"-1", "2147483647", "4294967301", "18446744073709551615", "1.5", "\"7\""})
      QTest::newRow(qPrintable(QString("added id %1").arg(id)))
          << "added_tokens.json" << QString(R"({"<x>": %1})").arg(id)
          << QString("<x>: must be a token id, an integer from 0 to 2147483646 (got %1)").arg(id);
    for (const char* key : {"-1", "2147483647", "99999999999", "x1"})
      QTest::newRow(qPrintable(QString("decoder key %1").arg(key)))
          << "tokenizer_config.json"
          << QString(R"({"added_tokens_decoder": {"%1": {"content": "<x>"}}})").arg(key)
          << QString(R"(added_tokens_decoder: keys must be token ids, integers from 0 to )"
                     R"(2147483646 (got "%1"))")
                 .arg(key);
    QTest::newRow("decoder flag")
        << "tokenizer_config.json"
        << R"({"added_tokens_decoder": {"400": {"content": "<x>", "single_word": 1}}})"
        << "added_tokens_decoder.400.single_word: must be true or false (got 1)";
  }

  void tokenizerConfigValuesAreChecked() {
    QFETCH(QString, file);
    QFETCH(QString, text);
    QFETCH(QString, error);
    const fs::path dir = m_dir.path().toStdString() + "/values-" + QTest::currentDataTag();
    copyFolder(kFixtures / "bert-uncased", dir);
    writeFile(dir / file.toStdString(), text.toStdString());
    const QString path = QString::fromStdString((dir / file.toStdString()).string());
    QCOMPARE(QString::fromStdString(errorOf([&] { loadSlow(dir.string(), "bert"); })),
             path + (error.at(0).isDigit() ? ":" : ": ") + error);
    if (file == "tokenizer_config.json" && text.contains("model_max_length"))
      QCOMPARE(QString::fromStdString(errorOf([&] { hfTokenizerMaxLength(dir.string()); })),
               path + (error.at(0).isDigit() ? ":" : ": ") + error);
  }
};

QTEST_GUILESS_MAIN(TestHfTokenizer)
#include "tst_hftokenizer.moc"
