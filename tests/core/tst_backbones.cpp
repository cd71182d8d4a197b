// Hugging Face model folders end to end, as a user drives them through rewardrouter-cli: scoring
// with a published reward model (rewards equal transformers' own, from the fixtures' golden
// files), every method trained on a checkpoint backbone, export and its round trip, and the
// one-line errors for folders that cannot be used.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct Result {
  int code = -1;
  QString out, err;
};

Result cli(const QStringList& args, const QByteArray& input = {}, int timeoutMs = 240000) {
  QProcess p;
  p.start(QStringLiteral(RR_CLI_PATH), args);
  p.waitForStarted();
  p.write(input);
  p.closeWriteChannel();
  p.waitForFinished(timeoutMs);
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
          QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

QString fixture(const QString& name) {
  return QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/") + name;
}

QJsonObject golden(const QString& model) {
  QFile f(fixture(model) + "/golden.json");
  f.open(QIODevice::ReadOnly);
  return QJsonDocument::fromJson(f.readAll()).object();
}

QString writeFile(const QString& path, const QByteArray& text) {
  QFile f(path);
  f.open(QIODevice::WriteOnly);
  f.write(text);
  return path;
}

std::vector<double> rewardsOf(const QString& jsonl) {
  std::vector<double> out;
  for (const auto& line : jsonl.split('\n', Qt::SkipEmptyParts))
    out.push_back(QJsonDocument::fromJson(line.toUtf8()).object()["reward"].toDouble());
  return out;
}

QByteArray scoreInput(const QJsonArray& texts) {
  QByteArray in;
  for (const auto& t : texts) {
    QJsonObject o{{"prompt", t.toObject()["prompt"]}, {"response", t.toObject()["response"]}};
    in += QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n";
  }
  return in;
}

// The smoke benchmark on a checkpoint backbone: every method, one epoch, short inputs.
QByteArray backboneConfig(const QString& backbone, const QString& methods) {
  return QStringLiteral(R"({"name": "hf-smoke",
    "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "instruct", "ranked"],
                           "seed": 7},
             "split": {"train": 0.7, "validation": 0.1, "test": 0.2}},
    "encoder": {"pretrained": "%1", "max_len": 40},
    "lora": {"rank": 4, "alpha": 8},
    "training": {"lr": 0.001, "batch_size": 16, "epochs": 1, "seed": 1, "seeds": 1},
    "methods": [%2]})")
      .arg(backbone, methods)
      .toUtf8();
}

}  // namespace

class TestBackbones : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  QString m_db;  // the store trained on bert-rm, shared by the export tests

 private Q_SLOTS:
  void scoresEqualTransformers_data() {
    QTest::addColumn<QString>("model");
    QTest::newRow("bert") << "bert-rm";
    QTest::newRow("electra") << "electra-rm";
    QTest::newRow("deberta-v3") << "deberta-v3-rm";
    // Folders as transformers 5 saves them: tokenizer.json alone
    // (tools/fixtures/make_tf5_folder_fixtures.py).
    QTest::newRow("bert, transformers 5") << "bert-tf5-rm";
    QTest::newRow("roberta, transformers 5") << "roberta-tf5-rm";
    QTest::newRow("deberta-v3, transformers 5") << "deberta-v3-tf5-rm";
    QTest::newRow("modernbert, transformers 5") << "modernbert-tf5-rm";
  }
  void scoresEqualTransformers() {
    QFETCH(QString, model);
    const QJsonArray texts = golden(model)["texts"].toArray();
    QVERIFY(!texts.isEmpty());
    Result r = cli({"score", "--model", fixture(model)}, scoreInput(texts));
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto rewards = rewardsOf(r.out);
    QCOMPARE(rewards.size(), static_cast<size_t>(texts.size()));
    for (int i = 0; i < texts.size(); ++i) {
      const double want = texts[i].toObject()["reward"].toDouble();
      QVERIFY2(std::abs(rewards[static_cast<size_t>(i)] - want) < 1e-4,
               qPrintable(QString("text %1: %2 vs transformers %3")
                              .arg(i)
                              .arg(rewards[static_cast<size_t>(i)])
                              .arg(want)));
    }
  }

  void everyMethodTrainsOnABackbone() {
    m_db = m_dir.path() + "/hf.db";
    const QString methods =
        QStringLiteral(
            R"({"method": "baseline"}, {"method": "base-lora"}, {"method": "more"},
           {"method": "rodos"}, {"method": "arliss"}, {"method": "dmoerm"},
           {"method": "pretrained", "model": "%1"})")
            .arg(fixture("bert-rm"));
    const QString cfg =
        writeFile(m_dir.path() + "/hf.json", backboneConfig(fixture("bert-rm"), methods));
    Result r = cli({"run", cfg, "--db", m_db});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("pre-training skipped"), qPrintable(r.err));
    Result list = cli({"list", "--db", m_db});
    QCOMPARE(list.code, 0);
    for (const char* m :
         {"baseline", "base-lora", "more", "rodos", "arliss", "dmoerm", "pretrained"})
      QVERIFY2(list.out.contains(m), qPrintable(list.out));
    QCOMPARE(list.out.count("finished"), 7);
  }

  // The published model as a method scores the test pairs as `score --model` does.
  void pretrainedRunScoresLikeTheFolder() {
    QVERIFY(!m_db.isEmpty());
    const QJsonArray texts = golden("bert-rm")["texts"].toArray();
    Result run = cli({"score", "--db", m_db, "--run", "7"}, scoreInput(texts));
    QVERIFY2(run.code == 0, qPrintable(run.err));
    const auto a = rewardsOf(run.out);
    for (int i = 0; i < texts.size(); ++i)
      QVERIFY(std::abs(a[static_cast<size_t>(i)] - texts[i].toObject()["reward"].toDouble()) <
              1e-4);
  }

  void exportRoundTrip_data() {
    QTest::addColumn<int>("run");
    QTest::addColumn<QString>("sub");
    QTest::newRow("baseline") << 1 << "";
    QTest::newRow("base-lora merged") << 2 << "";
    QTest::newRow("pretrained") << 7 << "";
  }
  void exportRoundTrip() {
    QFETCH(int, run);
    QFETCH(QString, sub);
    QVERIFY(!m_db.isEmpty());
    const QString out = m_dir.path() + "/export-" + QString::number(run);
    Result e = cli({"export", "--db", m_db, "--run", QString::number(run), "-o", out});
    QVERIFY2(e.code == 0, qPrintable(e.err));
    for (const char* f : {"config.json", "model.safetensors", "vocab.txt"})
      QVERIFY2(QFile::exists(out + "/" + f), f);
    const QByteArray in = scoreInput(golden("bert-rm")["texts"].toArray());
    Result a = cli({"score", "--db", m_db, "--run", QString::number(run)}, in);
    Result b = cli({"score", "--model", out}, in);
    QVERIFY2(a.code == 0 && b.code == 0, qPrintable(a.err + b.err));
    const auto ra = rewardsOf(a.out), rb = rewardsOf(b.out);
    QCOMPARE(ra.size(), rb.size());
    for (size_t i = 0; i < ra.size(); ++i) QVERIFY(std::abs(ra[i] - rb[i]) < 1e-4);
  }

  void exportPerDomain() {
    QVERIFY(!m_db.isEmpty());
    for (const QString run : {"4", "5"}) {  // rodos, arliss
      const QString out = m_dir.path() + "/export-domains-" + run;
      Result e = cli({"export", "--db", m_db, "--run", run, "-o", out});
      QVERIFY2(e.code == 0, qPrintable(e.err));
      for (const char* d : {"harmless", "instruct", "ranked"})
        QVERIFY2(QFile::exists(out + "/" + d + "/model.safetensors"), d);
      Result s =
          cli({"score", "--model", out + "/ranked"}, "{\"prompt\": \"a\", \"response\": \"b\"}\n");
      QVERIFY2(s.code == 0, qPrintable(s.err));
    }
  }

  void exportRefusals() {
    QVERIFY(!m_db.isEmpty());
    Result more = cli({"export", "--db", m_db, "--run", "3", "-o", m_dir.path() + "/x"});
    QCOMPARE(more.code, 2);
    QVERIFY2(more.err.contains("only single reward models export"), qPrintable(more.err));
    QVERIFY(!QFileInfo::exists(m_dir.path() + "/x"));
    Result busy = cli({"export", "--db", m_db, "--run", "1", "-o", m_dir.path() + "/export-1"});
    QCOMPARE(busy.code, 2);
    QVERIFY2(busy.err.contains("exists and is not an empty folder"), qPrintable(busy.err));
  }

  void unusableFoldersAreOneLineErrors() {
    QTemporaryDir d;
    // An architecture RewardRouter does not build.
    QDir().mkpath(d.path() + "/gpt2");
    writeFile(d.path() + "/gpt2/config.json", R"({"model_type": "gpt2", "n_layer": 2})");
    const QString db = d.path() + "/never.db";
    const QString cfg = writeFile(d.path() + "/c.json",
                                  backboneConfig(d.path() + "/gpt2", R"({"method": "baseline"})"));
    Result r = cli({"run", cfg, "--db", db});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("config.json") && r.err.contains("gpt2"), qPrintable(r.err));
    QCOMPARE(r.err.trimmed().count('\n'), 0);
    QVERIFY(!QFile::exists(db));
    // A bare encoder is no reward model to evaluate as it is.
    const QString cfg2 =
        writeFile(d.path() + "/c2.json",
                  backboneConfig(fixture("bert-rm"),
                                 QStringLiteral(R"({"method": "pretrained", "model": "%1"})")
                                     .arg(fixture("deberta-v2-bare"))));
    Result bare = cli({"run", cfg2, "--db", db});
    QCOMPARE(bare.code, 2);
    QVERIFY2(bare.err.contains("not a reward model"), qPrintable(bare.err));
    QVERIFY(!QFile::exists(db));
    // A directory that is no model folder.
    const QString cfg3 =
        writeFile(d.path() + "/c3.json", backboneConfig(d.path(), R"({"method": "baseline"})"));
    Result dir = cli({"run", cfg3, "--db", db});
    QCOMPARE(dir.code, 2);
    QVERIFY2(dir.err.contains("not a Hugging Face model folder"), qPrintable(dir.err));
    // Both ways of naming a model at once.
    Result both = cli({"score", "--model", fixture("bert-rm"), "--db", db, "--run", "1"});
    QCOMPARE(both.code, 2);
  }

  // A `pretrained` method's folder gets the checks `score --model` makes before any store is
  // touched: a tokenizer that is missing or does not fit the weights is the same one line as
  // score's, exit 2, and no store is made.
  void pretrainedFolderIsCheckedBeforeTheStore() {
    QTemporaryDir d;
    const QString rm = fixture("bert-rm");
    auto copyOfRm = [&](const QString& name) {
      const QString dir = d.path() + "/" + name;
      QDir().mkpath(dir);
      for (const QString& f : QDir(rm).entryList(QDir::Files))
        QFile::copy(rm + "/" + f, dir + "/" + f);
      return dir;
    };
    const QString noVocab = copyOfRm("no-vocab");
    QFile::remove(noVocab + "/vocab.txt");
    const QString bigVocab = copyOfRm("big-vocab");
    QFile vocab(bigVocab + "/vocab.txt");
    QVERIFY(vocab.open(QIODevice::Append));
    for (int i = 0; i < 500; ++i) vocab.write("extra" + QByteArray::number(i) + "\n");
    vocab.close();
    for (const QString& dir : {noVocab, bigVocab}) {
      const Result score =
          cli({"score", "--model", dir}, "{\"prompt\": \"a\", \"response\": \"b\"}\n");
      QCOMPARE(score.code, 2);
      const QString cfg =
          writeFile(d.path() + "/c.json",
                    backboneConfig(
                        rm, QStringLiteral(R"({"method": "pretrained", "model": "%1"})").arg(dir)));
      const QString db = d.path() + "/never.db";
      const Result run = cli({"run", cfg, "--db", db, "--quiet"});
      QCOMPARE(run.code, 2);
      QCOMPARE(run.err, score.err);
      QCOMPARE(run.err.count('\n'), 1);
      QVERIFY(!QFile::exists(db));
    }
  }

  // score reads its input lines by the rule import reads pairs by: a NUL character, raw or
  // written \u0000, is refused with its line (the text after a raw NUL byte was ignored and the
  // rest scored, where import refused the same line).
  void scoreRefusesNulLikeImport() {
    QByteArray in = R"({"prompt": "a", "response": "b"})";
    in += '\0';
    in += R"(, "ignored": 1)"
          "\n";
    in += R"({"prompt": "a\u0000b", "response": "c"})"
          "\n";
    in += R"({"prompt": "a", "response": "b"})"
          "\n";
    const Result r = cli({"score", "--model", fixture("bert-rm")}, in);
    QCOMPARE(r.code, 2);
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);
    QCOMPARE(QJsonDocument::fromJson(lines[0].toUtf8()).object()["error"].toString(),
             QString("line 1:1:33: invalid JSON: a NUL byte"));
    QCOMPARE(QJsonDocument::fromJson(lines[1].toUtf8()).object()["error"].toString(),
             QString("line 2: $.prompt: contains a NUL character (\\u0000)"));
    QVERIFY2(QJsonDocument::fromJson(lines[2].toUtf8()).object().contains("reward"),
             qPrintable(lines[2]));
  }

  void ownEncoderRunDoesNotExport() {
    QTemporaryDir d;
    const QString db = d.path() + "/own.db";
    Result r = cli({"run", QStringLiteral(RR_SOURCE_DIR "/experiments/smoke.json"), "--db", db});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    Result e = cli({"export", "--db", db, "--run", "1", "-o", d.path() + "/out"});
    QCOMPARE(e.code, 2);
    QVERIFY2(e.err.contains("own encoder"), qPrintable(e.err));
    QVERIFY(!QFileInfo::exists(d.path() + "/out"));
  }

  // Decoder reward models saved by transformers 5 (tools/fixtures/make_chat_rm_fixtures.py):
  // `score --model` reads pairs and {"messages": [...]} lines through the chat template and
  // gives transformers' rewards.
  void decoderScoresEqualTransformers_data() {
    QTest::addColumn<QString>("model");
    for (const char* m : {"qwen3-chat-rm", "llama3-chat-rm", "gemma2-chat-rm"})
      QTest::newRow(m) << QString(m);
  }
  void decoderScoresEqualTransformers() {
    QFETCH(QString, model);
    const QJsonArray rows = golden(model)["rows"].toArray();
    QByteArray in;
    std::vector<double> want;
    for (const auto& r : rows) {
      const QJsonArray m = r.toObject()["messages"].toArray();
      if (r.toObject()["ids"].toArray().size() > 512) continue;  // past model_max_length
      QJsonObject line;
      if (m.size() == 2)
        line = {{"prompt", m[0].toObject()["content"]}, {"response", m[1].toObject()["content"]}};
      else
        line = {{"messages", m}};
      in += QJsonDocument(line).toJson(QJsonDocument::Compact) + "\n";
      want.push_back(r.toObject()["reward"].toDouble());
    }
    QVERIFY(want.size() >= 4);
    Result r = cli({"score", "--model", fixture(model)}, in);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto got = rewardsOf(r.out);
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      QVERIFY2(std::abs(got[i] - want[i]) < 1e-4,
               qPrintable(QString("input %1: %2 vs transformers %3").arg(i).arg(got[i]).arg(want[i])));
    // A conversation must end with the response scored.
    Result bad = cli({"score", "--model", fixture(model)},
                     R"({"messages": [{"role": "user", "content": "hi"}]})");
    QCOMPARE(bad.code, 2);
    QVERIFY2(bad.out.contains("$.messages[0].role: the last message is the one scored"),
             qPrintable(bad.out));
  }

  // Every method trains on a decoder backbone with LoRA on its roles; a LoRA run exports to a
  // folder (weights, tokenizer.json, the chat template) that scores as the run does.
  void everyMethodTrainsOnADecoder() {
    QTemporaryDir d;
    const QString db = d.path() + "/dec.db";
    const QString methods =
        QStringLiteral(
            R"({"method": "baseline"}, {"method": "base-lora"}, {"method": "more"},
           {"method": "rodos"}, {"method": "arliss"}, {"method": "dmoerm"},
           {"method": "pretrained", "model": "%1"})")
            .arg(fixture("qwen3-chat-rm"));
    QByteArray cfg = backboneConfig(fixture("qwen3-chat-rm"), methods);
    cfg.replace(R"("max_len": 40)", R"("max_len": 160)");
    cfg.replace(R"("lora": {"rank": 4, "alpha": 8})",
                R"("lora": {"rank": 4, "alpha": 8, "targets": ["q", "k", "v", "o", "gate", "up", "down"]})");
    Result r = cli({"run", writeFile(d.path() + "/dec.json", cfg), "--db", db});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("(7 finished, 0 failed)") || r.err.contains("(7 finished, 0 failed)"),
             qPrintable(r.out + r.err));
    const QString out = d.path() + "/export";
    Result e = cli({"export", "--db", db, "--run", "2", "-o", out});
    QVERIFY2(e.code == 0, qPrintable(e.err));
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json",
                          "tokenizer_config.json"})
      QVERIFY2(QFile::exists(out + "/" + f), f);
    QFile tc(out + "/tokenizer_config.json");
    QVERIFY(tc.open(QIODevice::ReadOnly));
    QVERIFY(tc.readAll().contains("chat_template"));
    const QByteArray in =
        R"({"prompt": "What is the capital of France?", "response": "Paris."})"
        "\n"
        R"({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Sort [2, 1]"}, {"role": "assistant", "content": "[1, 2]"}]})"
        "\n";
    Result a = cli({"score", "--db", db, "--run", "2"}, in);
    Result b = cli({"score", "--model", out}, in);
    QVERIFY2(a.code == 0 && b.code == 0, qPrintable(a.err + b.err));
    const auto ra = rewardsOf(a.out), rb = rewardsOf(b.out);
    QCOMPARE(ra.size(), size_t(2));
    QCOMPARE(rb.size(), ra.size());
    for (size_t i = 0; i < ra.size(); ++i) QVERIFY(std::abs(ra[i] - rb[i]) < 1e-5);
  }
};

QTEST_GUILESS_MAIN(TestBackbones)
#include "tst_backbones.moc"
