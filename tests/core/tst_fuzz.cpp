// rewardrouter-cli under mutated input (issue 14): configs, a saved model's manifest, the bytes
// of a run store and `score` input lines, with deep nesting and huge numbers. Every case may be
// accepted (exit 0) or refused (exit 2); a signal or any other exit status fails the test and
// leaves a reproducer. The mutations come from a fixed seed, so a failure repeats.
#include <sys/stat.h>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <nlohmann/json.hpp>
#include <random>

using nlohmann::json;

namespace {

struct Outcome {
  bool crashed = false;  // ended by a signal or did not finish in time
  int code = -1;
  QByteArray out, err;
};

Outcome cli(const QStringList& args, const QByteArray& input = {}, int timeoutMs = 60000) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.write(input);
  p.closeWriteChannel();
  Outcome o;
  if (!p.waitForFinished(timeoutMs)) {
    p.kill();
    p.waitForFinished();
    o.crashed = true;
  }
  o.crashed = o.crashed || p.exitStatus() != QProcess::NormalExit;
  o.code = p.exitCode();
  o.out = p.readAllStandardOutput();
  o.err = p.readAllStandardError();
  return o;
}

// Values no field expects, as JSON text: out of every range, of the wrong type, deep, long,
// and invalid UTF-8.
std::vector<std::string> hostileValues() {
  return {"1e400",
          "-1e400",
          "18446744073709551615",
          "18446744073709551616",
          "-9223372036854775809",
          "4294967297",
          "2147483647",
          "-1",
          "0",
          "1.5",
          "\"\"",
          "\"x\\u0000y\"",
          "\"\xff\xfe\"",
          "\".\"",
          "\"*\"",
          "\"a|b\\n\\\\input{x}\"",
          "null",
          "true",
          "[]",
          "{}",
          std::string(20000, '[') + std::string(20000, ']'),
          [] {
            std::string s;
            for (int i = 0; i < 20000; ++i) s += "{\"a\":";
            return s + "1" + std::string(20000, '}');
          }(),
          "\"" + std::string(200000, 'w') + "\""};
}

// Every path to a value inside `j`, as JSON pointers.
void collectPointers(const json& j, const json::json_pointer& at,
                     std::vector<json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) collectPointers(*it, at / it.key(), out);
  else if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) collectPointers(j[i], at / std::to_string(i), out);
}

class Mutator {
 public:
  explicit Mutator(std::uint32_t seed) : m_rng(seed) {}

  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(m_rng); }

  // One mutation of a JSON document, returned as text: a value replaced by a hostile one, a key
  // removed or added, or bytes of the text changed.
  std::string mutateJson(const json& doc) {
    std::vector<json::json_pointer> ptrs;
    collectPointers(doc, json::json_pointer(), ptrs);
    json d = doc;
    const size_t kind = below(10);
    const json::json_pointer target = ptrs[1 + below(ptrs.size() - 1)];
    if (kind < 6) {
      // The hostile text cannot always be a json value (1e400): a marker string is replaced in
      // the serialised text.
      d[target] = "@@HOSTILE@@";
      std::string text = d.dump(1);
      const auto values = hostileValues();
      const std::string& v = values[below(values.size())];
      text.replace(text.find("\"@@HOSTILE@@\""), 13, v);
      return text;
    }
    if (kind == 6) {
      json& parent = d.at(target.parent_pointer());
      if (parent.is_object())
        parent.erase(target.back());
      else
        parent.erase(std::stoul(target.back()));
      return d.dump(1);
    }
    if (kind == 7 && d.at(target.parent_pointer()).is_object()) {
      d[target.parent_pointer() / "unexpected_key"] = 1;
      return d.dump(1);
    }
    return mutateBytes(d.dump(1), 1 + below(4));
  }

  std::string mutateBytes(std::string s, size_t ops) {
    static const std::string kInteresting = "{}[]\":,\\0-9e.\n\xff\x80";
    for (size_t k = 0; k < ops && !s.empty(); ++k) {
      const size_t at = below(s.size());
      switch (below(5)) {
        case 0:
          s[at] = static_cast<char>(s[at] ^ (1 << below(8)));
          break;
        case 1:
          s.insert(at, 1, kInteresting[below(kInteresting.size())]);
          break;
        case 2:
          s.erase(at, 1 + below(8));
          break;
        case 3:
          s.insert(at, s.substr(at, 1 + below(16)));
          break;
        default:
          s.resize(at);
      }
    }
    return s;
  }

 private:
  std::mt19937 m_rng;
};

QString writeFile(const QString& path, const std::string& bytes) {
  QFile f(path);
  f.open(QIODevice::WriteOnly | QIODevice::Truncate);
  f.write(bytes.data(), static_cast<qint64>(bytes.size()));
  return path;
}

std::string readFile(const QString& path) {
  QFile f(path);
  f.open(QIODevice::ReadOnly);
  return f.readAll().toStdString();
}

// A config that trains in about a second: it is valid, and so are many of its mutants.
const char* kBaseConfig = R"({
  "name": "fuzz",
  "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "ranked"],
                         "label_noise": 0.1, "seed": 3},
           "split": {"train": 0.6, "validation": 0.2, "test": 0.2}},
  "tokenizer": {"vocab_size": 200},
  "encoder": {"hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 32},
  "pretrain": {"enabled": false, "steps": 2, "batch_size": 4},
  "training": {"lr": 0.01, "batch_size": 8, "max_steps": 2, "seed": 1, "seeds": 1},
  "methods": [{"method": "baseline"}]
})";

}  // namespace

class TestFuzz : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  QString m_db, m_model;
  QStringList m_failures;
  int m_cases = 0;

  // Records a case that ended other than with 0 or 2; its input stays in the test's folder.
  void judge(const QString& what, const Outcome& o, const QString& reproducer) {
    ++m_cases;
    if (!o.crashed && (o.code == 0 || o.code == 2)) return;
    m_failures << QStringLiteral("%1: %2 (reproduce: %3)\n  stderr: %4")
                      .arg(what,
                           o.crashed ? QStringLiteral("signal or hang")
                                     : QStringLiteral("exit %1").arg(o.code),
                           reproducer, QString::fromUtf8(o.err.left(300)));
  }

  void reportFailures() {
    const QStringList failures = m_failures;
    const int cases = m_cases;
    m_failures.clear();
    m_cases = 0;
    if (failures.isEmpty()) return;
    m_dir.setAutoRemove(false);
    QFAIL(qPrintable(QStringLiteral("%1 of %2 cases failed; inputs kept in %3\n")
                         .arg(failures.size())
                         .arg(cases)
                         .arg(m_dir.path()) +
                     failures.join('\n')));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_db = m_dir.filePath("base.db");
    const QString cfg = writeFile(m_dir.filePath("base.json"), kBaseConfig);
    const Outcome o = cli({"run", cfg, "--db", m_db, "--quiet"});
    QVERIFY2(!o.crashed && o.code == 0, o.err.constData());
    m_model = m_db + ".models/run-1";
    QVERIFY(QFile::exists(m_model + "/manifest.json"));
  }

  void mutatedConfigs() {
    Mutator m(14001);
    const json base = json::parse(kBaseConfig);
    // The cases the issue found first, then random ones.
    std::vector<std::string> configs;
    const auto hostile = hostileValues();
    for (const char* at : {"/data/synthetic/label_noise", "/training/lr", "/training/seed"})
      for (size_t v : {size_t(0), size_t(2), size_t(20), size_t(21)}) {
        json d = base;
        d[json::json_pointer(at)] = "@@HOSTILE@@";
        std::string text = d.dump(1);
        text.replace(text.find("\"@@HOSTILE@@\""), 13, hostile[v]);
        configs.push_back(text);
      }
    for (int i = 0; i < 16; ++i) configs.push_back(m.mutateJson(base));
    for (size_t i = 0; i < configs.size(); ++i) {
      const QString dir = m_dir.filePath(QStringLiteral("config-%1").arg(static_cast<int>(i)));
      QDir().mkpath(dir);
      const QString cfg = writeFile(dir + "/c.json", configs[i]);
      const Outcome o = cli({"run", cfg, "--db", dir + "/r.db", "--quiet"});
      judge(QStringLiteral("config %1").arg(static_cast<int>(i)), o, "rewardrouter-cli run " + cfg);
    }
    reportFailures();
  }

  void mutatedScoreInput() {
    Mutator m(14002);
    const json line = {{"prompt", "How do I boil an egg?"}, {"response", "Simmer it 8 minutes."}};
    std::string input;
    int lines = 0;
    for (int i = 0; i < 300; ++i) {
      std::string l = m.mutateJson(line);
      // One input is one line: a line break inside a mutant would make two.
      for (char& c : l)
        if (c == '\n' || c == '\r') c = ' ';
      if (l.find_first_not_of(" \t") == std::string::npos) continue;
      input += l + "\n";
      ++lines;
    }
    const QString in = writeFile(m_dir.filePath("score-input.jsonl"), input);
    const Outcome o = cli({"score", "--db", m_db, "--run", "1", "--batch-size", "7"},
                          QByteArray::fromStdString(input));
    judge("score input", o,
          "rewardrouter-cli score --db " + m_db + " --run 1 --batch-size 7 < " + in);
    // One output line per input line, in order, whatever the line held.
    QCOMPARE(QByteArray(o.out).count('\n'), lines);
    const Outcome strict =
        cli({"score", "--db", m_db, "--run", "1", "--strict"}, QByteArray::fromStdString(input));
    judge("score input --strict", strict,
          "rewardrouter-cli score --db " + m_db + " --run 1 --strict < " + in);
    reportFailures();
  }

  void mutatedManifests() {
    Mutator m(14003);
    const json manifest = json::parse(readFile(m_model + "/manifest.json"));
    for (int i = 0; i < 10; ++i) {
      const QString dir = m_dir.filePath(QStringLiteral("model-%1").arg(i));
      QVERIFY(QProcess::execute("cp", {"-r", m_model, dir}) == 0);
      writeFile(dir + "/manifest.json", m.mutateJson(manifest));
      const Outcome o =
          cli({"score", "--model", dir}, "{\"prompt\": \"a\", \"response\": \"b\"}\n");
      // Known: a manifest value of the wrong type or a missing key exits 1 with nlohmann's
      // message (saved models are being reworked for issue 14 on their own branch).
      judge(
          QStringLiteral("manifest %1").arg(i), o,
          "echo '{\"prompt\": \"a\", \"response\": \"b\"}' | rewardrouter-cli score --model " + dir);
    }
    reportFailures();
  }

  // Hostile Hugging Face model folders for `score --model` (issue 25): files replaced by FIFOs,
  // devices and folders, JSON nested 100 000 deep, sizes no machine allocates, numbers of the
  // wrong type or range, damaged weights, and seeded mutations of every JSON file. Each case must
  // end with 0 or 2, neither a signal nor a hang; those the issue names must exit 2 with one line
  // that names the file at fault.
  void hostileModelFolders() {
    Mutator m(25003);
    const QString models = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/");
    const std::string deep = [] {
      std::string d;
      for (int i = 0; i < 100000; ++i) d += "{\"a\":";
      return d + "1" + std::string(100000, '}');
    }();
    struct Case {
      QString model, file;  // `file` is replaced by `bytes`, or `special` ("fifo", a device, "dir")
      std::string bytes, special;
      bool named;  // the one line must name `file`
    };
    std::vector<Case> cases;
    for (const auto& [model, files] :
         {std::pair<QString, QStringList>{
              "bert-rm",
              {"config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
               "added_tokens.json", "model.safetensors"}},
          {"deberta-v3-rm",
           {"config.json", "spm.model", "tokenizer_config.json", "model.safetensors"}},
          {"electra-rm", {"pytorch_model.bin", "vocab.txt"}}})
      for (const QString& f : files) {
        for (const char* special : {"fifo", "/dev/zero", "/dev/urandom", "dir"})
          cases.push_back({model, f, "", special, true});
        if (f.endsWith(".json")) cases.push_back({model, f, deep, "", true});
      }
    const json config = json::parse(readFile(models + "bert-rm/config.json"));
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"hidden_size", "1000000000"},
                                                          {"intermediate_size", "10000000000"},
                                                          {"num_hidden_layers", "1000000"},
                                                          {"vocab_size", "1000000000000"},
                                                          {"vocab_size", "18446744073709551615"},
                                                          {"max_position_embeddings", "3"},
                                                          {"layer_norm_eps", "1e400"}}) {
      json c = config;
      c[key] = "@@";
      std::string text = c.dump(1);
      text.replace(text.find("\"@@\""), 4, value);
      cases.push_back({"bert-rm", "config.json", text, "", true});
    }
    const json tokConfig = json::parse(readFile(models + "bert-rm/tokenizer_config.json"));
    for (const auto& [key, value] :
         std::vector<std::pair<std::string, json>>{{"do_lower_case", "yes"},
                                                   {"model_max_length", "abc"},
                                                   {"model_max_length", 3},
                                                   {"model_max_length", -1},
                                                   {"strip_accents", json::object({{"a", {1}}})}}) {
      json c = tokConfig;
      c[key] = value;
      cases.push_back({"bert-rm", "tokenizer_config.json", c.dump(), "", true});
    }
    for (const char* id : {"-1", "2147483648", "4294967301"})
      cases.push_back(
          {"bert-rm", "added_tokens.json", std::string("{\"<x>\": ") + id + "}", "", true});
    for (int i = 0; i < 12; ++i) {
      cases.push_back({"bert-rm", "config.json", m.mutateJson(config), "", false});
      cases.push_back({"bert-rm", "tokenizer_config.json", m.mutateJson(tokConfig), "", false});
    }
    const std::string weights = readFile(models + "bert-rm/model.safetensors");
    for (int i = 0; i < 6; ++i)
      cases.push_back(
          {"bert-rm", "model.safetensors", m.mutateBytes(weights, 1 + m.below(3)), "", false});
    const std::string bin = readFile(models + "electra-rm/pytorch_model.bin");
    for (int i = 0; i < 6; ++i) {
      std::string b = bin;
      b[m.below(b.size())] ^= static_cast<char>(1 << m.below(8));
      cases.push_back({"electra-rm", "pytorch_model.bin", b, "", false});
    }

    const QByteArray input = "{\"prompt\": \"a\", \"response\": \"b\"}\n";
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      const QString dir = m_dir.filePath(QStringLiteral("folder-%1").arg(static_cast<int>(i)));
      QVERIFY(QProcess::execute("cp", {"-r", models + c.model, dir}) == 0);
      const QString path = dir + "/" + c.file;
      QFile::remove(path);
      if (c.special == "fifo")
        QCOMPARE(::mkfifo(path.toLocal8Bit().constData(), 0600), 0);
      else if (c.special == "dir")
        QVERIFY(QDir().mkpath(path));
      else if (!c.special.empty())
        QVERIFY(QFile::link(QString::fromStdString(c.special), path));
      else
        writeFile(path, c.bytes);
      const QString what = QStringLiteral("folder %1 (%2 %3: %4)")
                               .arg(static_cast<int>(i))
                               .arg(c.model, c.file,
                                    c.special.empty() ? QStringLiteral("edited")
                                                      : QString::fromStdString(c.special));
      const Outcome o = cli({"score", "--model", dir}, input, 30000);
      judge(what, o,
            "echo '{\"prompt\": \"a\", \"response\": \"b\"}' | rewardrouter-cli score --model " +
                dir);
      if (c.named && !o.crashed) {
        const QString err = QString::fromUtf8(o.err).trimmed();
        if (o.code != 2 || err.count('\n') != 0 || !err.contains(c.file))
          m_failures << what + QStringLiteral(": exit %1, not one line naming the file: %2")
                                   .arg(o.code)
                                   .arg(err.left(300));
      }
    }
    reportFailures();
  }

  void mutatedStores() {
    Mutator m(14004);
    // The writer has closed the base store, so its write-ahead log is in the main file.
    const std::string bytes = readFile(m_db);
    QVERIFY(bytes.size() > 4096);
    for (int i = 0; i < 8; ++i) {
      const QString db = m_dir.filePath(QStringLiteral("store-%1.db").arg(i));
      std::string s = bytes;
      // Damage past the 100-byte header, where SQLite keeps its pages, or anywhere.
      if (i % 2 == 0) {
        for (size_t k = 0, n = 1 + m.below(20); k < n; ++k)
          s[100 + m.below(s.size() - 100)] = static_cast<char>(m.below(256));
      } else {
        s = m.mutateBytes(s, 1 + m.below(3));
      }
      writeFile(db, s);
      for (const char* cmd : {"list", "report"}) {
        const Outcome o = cli({cmd, "--db", db});
        // Known: a damaged store exits 1 ("database disk image is malformed", "unknown run
        // status"); the store's own issue-14 work turns these into exit 2.
        judge(QStringLiteral("store %1 (%2)").arg(i).arg(cmd), o,
              QStringLiteral("rewardrouter-cli %1 --db %2").arg(cmd, db));
      }
    }
    reportFailures();
  }
};

QTEST_GUILESS_MAIN(TestFuzz)
#include "tst_fuzz.moc"
