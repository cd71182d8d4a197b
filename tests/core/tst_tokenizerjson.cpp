// tokenizer.json read as the Rust `tokenizers` library applies it: twelve small tokenizers in the
// published configurations (tests/fixtures/hf/tokenizers/json/, written by
// tools/fixtures/make-tokenizer-json-fixtures.py) against the package's ids for the same hostile
// strings, with and without the special tokens; which file a folder's tokenizer is read from;
// the one-line errors of hostile files; and a seeded fuzz loop that mutates the fixtures.
#include <sys/stat.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/errors.h"
#include "data/hftokenizer.h"
#include "data/tokenizer.h"

using namespace rr::core;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kHf = fs::path(RR_SOURCE_DIR) / "tests/fixtures/hf/tokenizers";
const fs::path kJson = kHf / "json";
const char* kNames[] = {"bert",     "roberta",       "qwen2",         "llama3",
                        "gemma2",   "deberta-v3",    "modernbert",    "seqmix",
                        "splitmix", "unigram-bytes", "unigram-first", "gpt2-prefix"};

json readJsonFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return json::parse(in);
}

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

QString printable(const std::string& s) {
  QString out;
  for (const QChar c : QString::fromStdString(s).left(80))
    out += c.isPrint() ? QString(c) : QString("\\u%1").arg(c.unicode(), 4, 16, QChar('0'));
  return out;
}

QString idList(const std::vector<int>& ids) {
  QStringList s;
  for (size_t i = 0; i < ids.size() && i < 40; ++i) s << QString::number(ids[i]);
  return s.join(' ') + (ids.size() > 40 ? " ..." : "");
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

std::vector<int> cat(std::initializer_list<const std::vector<int>*> parts) {
  std::vector<int> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

void copyFolder(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from))
    if (e.path().filename() != "expected.json") fs::copy_file(e.path(), to / e.path().filename());
}

}  // namespace

class TestTokenizerJson : public QObject {
  Q_OBJECT
  json m_strings;
  QTemporaryDir m_tmp;
  int m_case = 0;

  // A copy of fixture `name` with its tokenizer.json replaced by `j`.
  fs::path variant(const std::string& name, const json& j) {
    const fs::path dir = fs::path(m_tmp.path().toStdString()) / ("v" + std::to_string(m_case++));
    copyFolder(kJson / name, dir);
    writeFile(dir / "tokenizer.json", j.dump());
    return dir;
  }

  // Every expected id list of `name`: the ids alone, [single] and [pair] as the package's
  // add_special_tokens=True gives them. Returns the count that matched.
  int compareAll(const Tokenizer& tok, const json& want) {
    const InputLayout l = tok.layout();
    const size_t n = m_strings.size();
    std::vector<std::vector<int>> plain(n);
    for (size_t i = 0; i < n; ++i) plain[i] = tok.encode(m_strings[i].get<std::string>());
    int matched = 0, shown = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::vector<int>& a = plain[i];
      const std::vector<int>& b = plain[(i + 1) % n];
      const std::vector<int> single = cat({&l.singleBefore, &a, &l.singleAfter});
      const std::vector<int> pair = cat({&l.pairBefore, &a, &l.pairBetween, &b, &l.pairAfter});
      const bool ok = a == want["plain"][i].get<std::vector<int>>() &&
                      single == want["single"][i].get<std::vector<int>>() &&
                      pair == want["pair"][i].get<std::vector<int>>();
      if (ok) {
        ++matched;
      } else if (++shown <= 8) {
        qWarning().noquote() << i << "text" << printable(m_strings[i].get<std::string>())
                             << "\n  want" << idList(want["plain"][i].get<std::vector<int>>())
                             << "\n  got " << idList(a);
      }
    }
    return matched;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_strings = readJsonFile(kJson / "strings.json");
    QVERIFY(m_strings.size() >= 500);
  }

  void matchesTheTokenizersPackage_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : kNames) QTest::newRow(n) << QString(n);
  }

  // Every hostile string: the ids, the ids with the special tokens of one text and of a pair.
  void matchesTheTokenizersPackage() {
    QFETCH(QString, name);
    const fs::path dir = kJson / name.toStdString();
    const json want = readJsonFile(dir / "expected.json");
    auto tok = loadHfTokenizer(dir.string(), SlowTokenizer::None);
    QCOMPARE(tok->vocabSize(), want["vocab_size"].get<int>());
    const int matched = compareAll(*tok, want);
    qInfo().noquote() << name << matched << "of" << m_strings.size() << "strings match";
    QCOMPARE(matched, static_cast<int>(m_strings.size()));
  }

  // RoBERTa's vocab.json + merges.txt (transformers 4's files) give the tokenizer.json's ids.
  void byteLevelBpeSlowFilesMatch() {
    const json want = readJsonFile(kJson / "roberta/expected.json");
    auto tok = loadHfTokenizer((kJson / "roberta-slow").string(), SlowTokenizer::ByteLevelBpe);
    QCOMPARE(compareAll(*tok, want), static_cast<int>(m_strings.size()));
    const SpecialIds sp = tok->special();
    QCOMPARE(sp.cls, 0);
    QCOMPARE(sp.pad, 1);
    QCOMPARE(sp.sep, 2);
    QCOMPARE(sp.unk, 3);
    QCOMPARE(sp.mask, 800);
    QCOMPARE(sp.bos, 0);
    QCOMPARE(sp.eos, 2);
    QCOMPARE(hfTokenizerSource((kJson / "roberta-slow").string(), SlowTokenizer::ByteLevelBpe),
             std::string("vocab.json and merges.txt"));
  }

  // The special ids: the files' roles, else an encoder's post-processor; decoders have no
  // cls/sep.
  void specialIds() {
    struct Want {
      const char* name;
      int pad, unk, cls, sep, mask, bos, eos;
    };
    for (const Want& w :
         {Want{"bert", 0, 1, 2, 3, 4, -1, -1}, Want{"roberta", 1, 3, 0, 2, 800, 0, 2},
          Want{"qwen2", 900, -1, -1, -1, -1, -1, 902}, Want{"llama3", -1, -1, -1, -1, -1, 900, 902},
          Want{"gemma2", 0, 3, -1, -1, 4, 2, 1}, Want{"deberta-v3", 0, 3, 1, 2, 400, 1, 2},
          Want{"splitmix", -1, 0, 1, 2, -1, 1, 2}}) {
      auto tok = loadHfTokenizer((kJson / w.name).string(), SlowTokenizer::None);
      const SpecialIds sp = tok->special();
      const std::vector<int> got = {sp.pad, sp.unk, sp.cls, sp.sep, sp.mask, sp.bos, sp.eos};
      const std::vector<int> want = {w.pad, w.unk, w.cls, w.sep, w.mask, w.bos, w.eos};
      if (got != want) qWarning() << w.name << idList(got);
      QVERIFY(got == want);
    }
  }

  void layouts() {
    auto qwen = loadHfTokenizer((kJson / "qwen2").string(), SlowTokenizer::None)->layout();
    QVERIFY(qwen.singleBefore.empty() && qwen.singleAfter.empty() && qwen.pairBefore.empty() &&
            qwen.pairBetween.empty() && qwen.pairAfter.empty());
    auto llama = loadHfTokenizer((kJson / "llama3").string(), SlowTokenizer::None)->layout();
    QVERIFY(llama.singleBefore == std::vector<int>{900} && llama.singleAfter.empty());
    QVERIFY(llama.pairBetween == std::vector<int>{900} && llama.pairAfter.empty());
    auto roberta = loadHfTokenizer((kJson / "roberta").string(), SlowTokenizer::None)->layout();
    QVERIFY((roberta.pairBetween == std::vector<int>{2, 2}));
    // A template's special token of two ids puts both.
    auto split = loadHfTokenizer((kJson / "splitmix").string(), SlowTokenizer::None)->layout();
    QVERIFY((split.pairBetween == std::vector<int>{4, 5}));
    auto bytes = loadHfTokenizer((kJson / "unigram-bytes").string(), SlowTokenizer::None);
    QVERIFY(bytes->layout().pairBefore.empty() && bytes->layout().singleAfter.empty());
    // encodePromptResponse follows the layout.
    auto bert = loadHfTokenizer((kJson / "bert").string(), SlowTokenizer::None);
    int second = -1;
    const auto ids = encodePromptResponse(*bert, "hello", "world", 512, &second);
    QCOMPARE(ids.front(), 2);
    QCOMPARE(ids.back(), 3);
    QVERIFY(second > 1);
  }

  // tokenizer.json wins when the folder also has the slow files (transformers 5), and says so.
  void whichFileIsUsed() {
    const fs::path both = fs::path(m_tmp.path().toStdString()) / "both";
    copyFolder(kJson / "bert", both);
    fs::copy_file(kHf / "bert-uncased/vocab.txt", both / "vocab.txt");
    QCOMPARE(hfTokenizerSource(both.string(), SlowTokenizer::WordPiece),
             std::string("tokenizer.json (vocab.txt also present, not used)"));
    QCOMPARE(hfTokenizerSource((kJson / "bert").string(), SlowTokenizer::WordPiece),
             std::string("tokenizer.json"));
    QCOMPARE(hfTokenizerSource((kHf / "bert-uncased").string(), SlowTokenizer::WordPiece),
             std::string("vocab.txt"));
    QCOMPARE(hfTokenizerSource((kHf / "deberta-v3").string(), SlowTokenizer::SentencePiece),
             std::string("spm.model"));
    QCOMPARE(hfTokenizerSource((kHf / "bert-uncased").string(), SlowTokenizer::None),
             std::string(""));
    auto tok = loadHfTokenizer(both.string(), SlowTokenizer::WordPiece);
    const json want = readJsonFile(kJson / "bert/expected.json");
    QVERIFY(tok->encode(m_strings[5].get<std::string>()) ==
            want["plain"][5].get<std::vector<int>>());
    const std::vector<std::string> files = {(both / "tokenizer.json").string(),
                                            (both / "tokenizer_config.json").string()};
    QVERIFY(tok->files() == files);
    // Without tokenizer.json the slow files are read.
    auto slow = loadHfTokenizer((kHf / "bert-uncased").string(), SlowTokenizer::WordPiece);
    QCOMPARE(slow->files().front(), (kHf / "bert-uncased/vocab.txt").string());
    const fs::path none = fs::path(m_tmp.path().toStdString()) / "none";
    fs::create_directories(none);
    QCOMPARE(errorOf([&] { loadHfTokenizer(none.string(), SlowTokenizer::None); }),
             (none / "tokenizer.json").string() +
                 ": not found (a tokenizer.json-only tokenizer, such as ModernBERT's or a "
                 "decoder's, needs tokenizer.json)");
    QCOMPARE(errorOf([&] { loadHfTokenizer(none.string(), SlowTokenizer::ByteLevelBpe); }),
             (none / "vocab.json").string() +
                 ": not found (a byte-level BPE tokenizer needs vocab.json and merges.txt, or "
                 "tokenizer.json)");
  }

  void decodesReadably() {
    for (const char* name :
         {"bert", "roberta", "qwen2", "gemma2", "deberta-v3", "seqmix", "unigram-bytes"}) {
      auto tok = loadHfTokenizer((kJson / name).string(), SlowTokenizer::None);
      const std::string text = tok->decode(tok->encode("the model scores a response"));
      QVERIFY2(
          text.find("model") != std::string::npos && text.find("response") != std::string::npos,
          (std::string(name) + ": " + text).c_str());
    }
    auto gemma = loadHfTokenizer((kJson / "gemma2").string(), SlowTokenizer::None);
    QCOMPARE(QString::fromStdString(gemma->decode(gemma->encode("naïve 😀"))), QString("naïve 😀"));
    auto qwen = loadHfTokenizer((kJson / "qwen2").string(), SlowTokenizer::None);
    QCOMPARE(QString::fromStdString(qwen->decode(qwen->encode("Don't 中文 <|im_end|>"))),
             QString("Don't 中文 "));
  }

  // Hostile tokenizer.json files: one line naming the file and the JSON path.
  void errors_data() {
    QTest::addColumn<QString>("fixture");
    QTest::addColumn<QString>("pointer");  // a JSON pointer into tokenizer.json
    QTest::addColumn<QString>("value");    // the JSON put there; "DELETE" removes it
    QTest::addColumn<QString>("message");  // after "DIR/tokenizer.json: "
    auto row = [](const char* tag, const char* f, const char* p, const char* v, const char* m) {
      QTest::newRow(tag) << f << p << v << m;
    };
    row("normalizer type", "bert", "/normalizer/type", "\"Foo\"",
        "$.normalizer.type 'Foo' is not supported (supported: BertNormalizer, NFC, NFD, NFKC, "
        "NFKD, Lowercase, StripAccents, Replace, Prepend, Strip, Precompiled, Sequence, "
        "ByteLevel)");
    row("pre-tokenizer in a sequence", "qwen2", "/pre_tokenizer/pretokenizers/1/type", "\"Foo\"",
        "$.pre_tokenizer.pretokenizers[1].type 'Foo' is not supported (supported: "
        "BertPreTokenizer, ByteLevel, Metaspace, Split, Digits, Whitespace, WhitespaceSplit, "
        "Punctuation, CharDelimiterSplit, Sequence)");
    row("model type", "bert", "/model/type", "\"WordLevel\"",
        "$.model.type 'WordLevel' is not supported (supported: BPE, WordPiece, Unigram)");
    row("type not a string", "bert", "/pre_tokenizer/type", "7",
        "$.pre_tokenizer.type: must be a string (got 7)");
    row("no model", "bert", "/model", "DELETE", "$.model: missing");
    row("vocab an array", "bert", "/model/vocab", "[1,2]",
        "$.model.vocab: must be an object of token: id (got an array)");
    row("vocab id negative", "bert", "/model/vocab/[PAD]", "-1",
        "$.model.vocab[\"[PAD]\"]: must be an integer from 0 to 2147483646 (got -1)");
    row("vocab id 2^32", "bert", "/model/vocab/[PAD]", "4294967296",
        "$.model.vocab[\"[PAD]\"]: must be an integer from 0 to 2147483646 (got 4294967296)");
    row("wordpiece unk", "bert", "/model/unk_token", "\"<nope>\"",
        "$.model.unk_token: '<nope>' is not in the vocabulary");
    row("merge names an unknown token", "qwen2", "/model/merges/0", "[\"zzz\",\"a\"]",
        "$.model.merges[0]: 'zzz' is not in the vocabulary");
    row("merge string without a space", "splitmix", "/model/merges/3", "\"ab\"",
        "$.model.merges[3]: must be \"a b\" (two tokens and one space) (got \"ab\")");
    row("merge a number", "roberta", "/model/merges/2", "5",
        "$.model.merges[2]: must be \"a b\" or [\"a\", \"b\"] (got 5)");
    row("dropout", "roberta", "/model/dropout", "0.1",
        "$.model.dropout: 0.1 is not supported (dropout makes encoding random: null or 0)");
    row("bpe unk", "gemma2", "/model/unk_token", "\"<nope>\"",
        "$.model.unk_token: '<nope>' is not in the vocabulary");
    row("unigram entry", "deberta-v3", "/model/vocab/5", "[\"a\"]",
        "$.model.vocab[5]: must be [\"piece\", score] (got an array)");
    row("unigram unk_id", "deberta-v3", "/model/unk_id", "9999",
        "$.model.unk_id: must be an integer from 0 to 399 (got 9999)");
    row("template id out of range", "bert", "/post_processor/special_tokens/[CLS]/ids/0", "99999",
        "$.post_processor: token id 99999 is beyond the vocabulary (686 ids)");
    row("template unknown special", "bert", "/post_processor/single/0/SpecialToken/id", "\"[X]\"",
        "$.post_processor.single[0].SpecialToken.id: '[X]' is not in "
        "$.post_processor.special_tokens");
    row("template B first", "bert", "/post_processor/pair/1/Sequence/id", "\"B\"",
        "$.post_processor.pair[1].Sequence.id: 'B' where $A then $B is expected (other orders "
        "are not supported)");
    row("bert processing", "seqmix", "/post_processor/cls", "[\"[CLS]\"]",
        "$.post_processor.cls: must be [\"token\", id] (got an array)");
    row("added token id", "qwen2", "/added_tokens/0/id", "\"x\"",
        "$.added_tokens[0].id: must be an integer from 0 to 2147483646 (got \"x\")");
    row("added tokens an object", "qwen2", "/added_tokens", "{}",
        "$.added_tokens: must be an array (got an object)");
    row("added token flag", "qwen2", "/added_tokens/1/lstrip", "\"yes\"",
        "$.added_tokens[1].lstrip: must be true or false (got \"yes\")");
    row("bad regex", "qwen2", "/pre_tokenizer/pretokenizers/0/pattern/Regex", "\"(\"",
        "$.pre_tokenizer.pretokenizers[0].pattern.Regex: not a regular expression this build "
        "reads (U_REGEX_MISMATCHED_PAREN at offset 1)");
    row("pattern kind", "qwen2", "/pre_tokenizer/pretokenizers/0/pattern", "{\"Foo\":\"x\"}",
        "$.pre_tokenizer.pretokenizers[0].pattern: must be {\"String\": ...} or {\"Regex\": "
        "...} (got an object)");
    row("behavior", "qwen2", "/pre_tokenizer/pretokenizers/0/behavior", "\"Sideways\"",
        "$.pre_tokenizer.pretokenizers[0].behavior: 'Sideways' is not a behavior (Removed, "
        "Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
    row("metaspace replacement", "deberta-v3", "/pre_tokenizer/pretokenizers/0/replacement",
        "\"ab\"",
        "$.pre_tokenizer.pretokenizers[0].replacement: must be one character (got "
        "\"ab\")");
    row("metaspace scheme", "deberta-v3", "/pre_tokenizer/pretokenizers/0/prepend_scheme",
        "\"sometimes\"",
        "$.pre_tokenizer.pretokenizers[0].prepend_scheme: 'sometimes' is not a "
        "scheme (always, first, never)");
    row("charsmap not base64", "deberta-v3", "/normalizer/normalizers/1/precompiled_charsmap",
        "\"!!!\"", "$.normalizer.normalizers[1].precompiled_charsmap: not base64 (a '!' at 0)");
    row("charsmap short", "deberta-v3", "/normalizer/normalizers/1/precompiled_charsmap",
        "\"AA==\"",
        "$.normalizer.normalizers[1].precompiled_charsmap: a precompiled charsmap "
        "of fewer than 4 bytes");
    row("charsmap trie too long", "deberta-v3", "/normalizer/normalizers/1/precompiled_charsmap",
        "\"/////w==\"",
        "$.normalizer.normalizers[1].precompiled_charsmap: the charsmap's trie "
        "(4294967295 bytes) is longer than the charsmap");
    row("bert normalizer flag", "bert", "/normalizer/lowercase", "\"yes\"",
        "$.normalizer.lowercase: must be true or false (got \"yes\")");
    row("not an object", "bert", "", "[1]", "$: must be an object (got an array)");
    row("sequence too deep", "bert", "/normalizer",
        "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Sequence\",\"normalizers\":[{"
        "\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}"
        "]}",
        "$.normalizer.normalizers[0].normalizers[0].normalizers[0].normalizers[0].normalizers[0]"
        ".normalizers[0].normalizers[0].normalizers[0].normalizers[0].normalizers[0].normalizers"
        "[0].normalizers[0].normalizers[0].normalizers[0].normalizers[0].normalizers[0]"
        ".normalizers[0]: Sequences nested too deep");
  }

  void errors() {
    QFETCH(QString, fixture);
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    QFETCH(QString, message);
    json j = readJsonFile(kJson / fixture.toStdString() / "tokenizer.json");
    const json::json_pointer ptr(pointer.toStdString());
    if (value == "DELETE") {
      j.at(ptr.parent_pointer()).erase(ptr.back());
    } else {
      j[ptr] = json::parse(value.toStdString());
    }
    const fs::path dir = variant(fixture.toStdString(), j);
    const std::string e = errorOf([&] { loadHfTokenizer(dir.string(), SlowTokenizer::None); });
    QCOMPARE(QString::fromStdString(e),
             QString::fromStdString((dir / "tokenizer.json").string() + ": ") + message);
    QVERIFY(e.find('\n') == std::string::npos);
  }

  // Files that are no JSON object, too deep, or no regular file.
  void hostileFiles() {
    const fs::path base = fs::path(m_tmp.path().toStdString()) / "hostile";
    auto folder = [&](const std::string& name) {
      const fs::path d = base / name;
      copyFolder(kJson / "bert", d);
      fs::remove(d / "tokenizer.json");
      return d;
    };
    const fs::path deep = folder("deep");
    writeFile(deep / "tokenizer.json", std::string(100000, '[') + std::string(100000, ']'));
    std::string e = errorOf([&] { loadHfTokenizer(deep.string(), SlowTokenizer::None); });
    QVERIFY2(e.find("nested deeper than 128 levels") != std::string::npos, e.c_str());
    QVERIFY(e.rfind((deep / "tokenizer.json").string() + ":", 0) == 0);

    const fs::path fifo = folder("fifo");
    QCOMPARE(mkfifo((fifo / "tokenizer.json").c_str(), 0600), 0);
    QCOMPARE(errorOf([&] { loadHfTokenizer(fifo.string(), SlowTokenizer::WordPiece); }),
             (fifo / "tokenizer.json").string() + ": not a regular file (a FIFO)");

    const fs::path dirAsFile = folder("dir");
    fs::create_directories(dirAsFile / "tokenizer.json");
    QCOMPARE(errorOf([&] { loadHfTokenizer(dirAsFile.string(), SlowTokenizer::None); }),
             (dirAsFile / "tokenizer.json").string() + ": not a regular file (a folder)");

    const fs::path broken = folder("broken");
    writeFile(broken / "tokenizer.json", "{\"model\": ");
    e = errorOf([&] { loadHfTokenizer(broken.string(), SlowTokenizer::None); });
    QVERIFY2(e.rfind((broken / "tokenizer.json").string() + ":1:", 0) == 0, e.c_str());
    QVERIFY(e.find('\n') == std::string::npos);

    // A token longer than any published one.
    json j = readJsonFile(kJson / "bert/tokenizer.json");
    j["model"]["vocab"][std::string(5000, 'x')] = 5;
    const fs::path longToken = variant("bert", j);
    QCOMPARE(errorOf([&] { loadHfTokenizer(longToken.string(), SlowTokenizer::None); }),
             (longToken / "tokenizer.json").string() +
                 ": $.model.vocab: a token of 5000 bytes (at most 4096)");
  }

  // Long inputs stay near-linear: BPE on a 100k-character word, Unigram and WordPiece too.
  void longInputs() {
    const std::string letters(100000, 'a');
    std::string mixed;
    for (int i = 0; i < 20000; ++i) mixed += "ab\xC3\xA9 ";
    for (const char* name :
         {"gemma2", "roberta", "llama3", "deberta-v3", "unigram-bytes", "bert", "splitmix"}) {
      auto tok = loadHfTokenizer((kJson / name).string(), SlowTokenizer::None);
      QElapsedTimer t;
      t.start();
      QVERIFY(!tok->encode(letters).empty());
      QVERIFY(!tok->encode(mixed).empty());
      QVERIFY(!tok->encode(std::string(100000, ' ') + "x").empty());
      QVERIFY2(t.elapsed() < 20000, name);
    }
  }

  // Mutated fixtures (seeded): each loads or is refused with one line; none crashes, and what
  // loads encodes to ids inside its vocabulary.
  void fuzzedFilesNeverCrash() {
    std::mt19937 rng(20261208);
    const std::vector<json> replacements = {nullptr,
                                            -1,
                                            0,
                                            1,
                                            4294967296.0,
                                            1e300,
                                            "Foo",
                                            "",
                                            "Sequence",
                                            json::array(),
                                            json::object(),
                                            true,
                                            json::array({"a", "b"}),
                                            json::array({1, 2}),
                                            json{{"type", "Sequence"}},
                                            json{{"String", "a"}},
                                            json{{"Regex", "[a-"}}};
    int loaded = 0, refused = 0;
    for (const char* name : kNames) {
      const json base = readJsonFile(kJson / name / "tokenizer.json");
      // The places to mutate: every path outside the long vocab/merges arrays' middles.
      std::vector<json::json_pointer> places;
      std::function<void(const json&, const json::json_pointer&)> walk =
          [&](const json& v, const json::json_pointer& p) {
            places.push_back(p);
            if (v.is_object()) {
              size_t k = 0;
              for (const auto& [key, child] : v.items())
                if (k++ < 8) walk(child, p / key);
            } else if (v.is_array()) {
              for (size_t i = 0; i < v.size() && i < 4; ++i) walk(v[i], p / i);
            }
          };
      walk(base, json::json_pointer());
      for (int round = 0; round < 40; ++round) {
        json j = base;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
          const auto& p = places[rng() % places.size()];
          if (p.empty() || !j.contains(p)) continue;
          if (rng() % 4 == 0) {
            json& parent = j.at(p.parent_pointer());
            if (parent.is_object()) parent.erase(p.back());
          } else {
            j.at(p) = replacements[rng() % replacements.size()];
          }
        }
        const fs::path dir = variant(name, j);
        try {
          auto tok = loadHfTokenizer(dir.string(), SlowTokenizer::None);
          ++loaded;
          for (int s = 0; s < 20; ++s) {
            const auto ids = tok->encode(m_strings[rng() % m_strings.size()].get<std::string>());
            for (int id : ids) QVERIFY2(id >= 0 && id < tok->vocabSize(), name);
          }
          tok->decode(tok->encode("hello world"));
        } catch (const InputError& e) {
          ++refused;
          const std::string what = e.what();
          QVERIFY2(what.find('\n') == std::string::npos, what.c_str());
          QVERIFY2(what.rfind((dir / "tokenizer.json").string() + ":", 0) == 0 ||
                       what.rfind((dir / "tokenizer_config.json").string() + ":", 0) == 0,
                   what.c_str());
        }
        fs::remove_all(dir);
      }
    }
    qInfo() << "fuzz:" << loaded << "loaded," << refused << "refused";
    QVERIFY(loaded > 0 && refused > 0);
  }
};

QTEST_GUILESS_MAIN(TestTokenizerJson)
#include "tst_tokenizerjson.moc"
