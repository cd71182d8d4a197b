// Experiment config parsing: every error names the file and the JSON path; unknown keys fail.
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "common/errors.h"
#include "config/config.h"
#include "config/memoryestimate.h"
#include "config/schema.h"

using namespace rr::core;

namespace {

const char* kValid = R"({
  "name": "t1",
  "data": {"synthetic": {"pairs_per_domain": 50, "domains": ["harmless", "ranked"]}},
  "training": {"lr": 0.001, "batch_size": 8, "seeds": 2},
  "methods": [{"method": "baseline"}]
})";

QString errorOf(const std::string& json) {
  try {
    parseExperimentConfig(json, "experiments/x.json");
  } catch (const InputError& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

std::string withTraining(const std::string& training) {
  return R"({"name": "t", "data": {"synthetic": {}}, "training": )" + training +
         R"(, "methods": [{"method": "baseline"}]})";
}

// tests/fixtures/config/every-key.json: every key of the schema set away from its default.
std::string everyKeyJson() {
  QFile f(QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/config/every-key.json"));
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll().toStdString();
}

// The text of docs/CONFIG.md between "<!-- BEGIN name -->" and "<!-- END name -->".
QString docsBlock(const QString& name) {
  QFile f(QStringLiteral(RR_SOURCE_DIR "/docs/CONFIG.md"));
  if (!f.open(QIODevice::ReadOnly)) return QStringLiteral("(docs/CONFIG.md not readable)");
  const QString text = QString::fromUtf8(f.readAll());
  const QString begin = QStringLiteral("<!-- BEGIN %1 -->\n").arg(name);
  const qsizetype from = text.indexOf(begin);
  const qsizetype to = text.indexOf(QStringLiteral("<!-- END %1 -->").arg(name));
  if (from < 0 || to < from) return QStringLiteral("(no %1 block in docs/CONFIG.md)").arg(name);
  return text.mid(from + begin.size(), to - from - begin.size());
}

// `depth` arrays, each inside the one before: [[[...]]].
std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

class TestConfig : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void parsesValidConfigWithDefaults() {
    ExperimentConfig c = parseExperimentConfig(kValid, "x.json");
    QCOMPARE(QString::fromStdString(c.name), QStringLiteral("t1"));
    QCOMPARE(c.data.synthetic.pairsPerDomain, 50);
    QCOMPARE(c.data.synthetic.domains.size(), size_t(2));
    QCOMPARE(c.training.lr, 0.001);
    QCOMPARE(c.training.seeds, 2);
    QCOMPARE(c.training.epochs, 1);  // default
    QCOMPARE(c.encoder.maxLen, 96);  // default
    QCOMPARE(c.methods.size(), size_t(1));
    QCOMPARE(QString::fromStdString(c.methods[0].name), QStringLiteral("baseline"));
  }

  void negativeLearningRateNamesPath() {
    QCOMPARE(errorOf(withTraining(R"({"lr": -1})")),
             QStringLiteral("experiments/x.json: $.training.lr: must be > 0 (got -1)"));
  }

  void unknownKeyIsAnError() {
    const QString e = errorOf(withTraining(R"({"lrr": 0.1})"));
    QVERIFY2(e.startsWith("experiments/x.json: $.training.lrr: unknown key"), qPrintable(e));
  }

  void wrongTypeNamesPathAndValue() {
    QCOMPARE(errorOf(withTraining(R"({"batch_size": "16"})")),
             QStringLiteral(
                 "experiments/x.json: $.training.batch_size: must be an integer (got \"16\")"));
  }

  void badJsonReportsLineAndColumn() {
    const QString e = errorOf("{\n  \"name\": \"x\",\n  oops\n}");
    QVERIFY2(e.startsWith("experiments/x.json:3:"), qPrintable(e));
    QVERIFY2(e.contains("invalid JSON"), qPrintable(e));
  }

  void unknownMethodListsKnownOnes() {
    const QString e =
        errorOf(R"({"name": "t", "data": {"synthetic": {}}, "methods": [{"method": "nope"}]})");
    QVERIFY2(e.startsWith("experiments/x.json: $.methods[0].method: must be one of "),
             qPrintable(e));
    QVERIFY2(e.contains("baseline"), qPrintable(e));
  }

  void poolingIsClsOrMean() {
    const QString e = errorOf(
        R"({"name": "t", "data": {"synthetic": {}}, "encoder": {"pooling": "max"}, "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.startsWith("experiments/x.json: $.encoder.pooling: must be one of "), qPrintable(e));
    QVERIFY2(e.contains("mean"), qPrintable(e));
    QCOMPARE(QString::fromStdString(parseExperimentConfig(kValid, "x.json").encoder.pooling),
             QStringLiteral("cls"));
    const ExperimentConfig c = parseExperimentConfig(
        R"({"name": "t", "data": {"synthetic": {}}, "encoder": {"pooling": "mean"}, "methods": [{"method": "baseline"}]})",
        "x.json");
    QCOMPARE(QString::fromStdString(
                 parseExperimentConfig(experimentConfigToJson(c), "y.json").encoder.pooling),
             QStringLiteral("mean"));
  }

  void missingMethodsAndData() {
    QVERIFY(errorOf(R"({"name": "t", "data": {"synthetic": {}}})").contains("$.methods: missing"));
    QVERIFY(errorOf(R"({"name": "t", "methods": [{"method": "baseline"}]})")
                .contains("$.data: missing"));
  }

  void splitMustSumToOne() {
    const QString e = errorOf(
        R"({"name": "t", "data": {"synthetic": {}, "split": {"train": 0.5, "validation": 0.1, "test": 0.1}}, "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.contains("$.data.split: train + validation + test must be 1"), qPrintable(e));
  }

  void unknownSyntheticDomain() {
    const QString e = errorOf(
        R"({"name": "t", "data": {"synthetic": {"domains": ["harmless", "nope"]}}, "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.contains("$.data.synthetic.domains[1]: unknown synthetic domain \"nope\""),
             qPrintable(e));
  }

  void missingDataFileIsReported() {
    const QString e = errorOf(
        R"({"name": "t", "data": {"files": [{"path": "nope.jsonl"}]}, "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.contains("$.data.files[0].path: file not found"), qPrintable(e));
  }

  // A directory opens as an empty stream: it read as a data file with no lines.
  void directoryIsNotADataFile() {
    QString e = errorOf(
        R"({"name": "t", "data": {"files": [{"path": "."}]}, "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.contains("$.data.files[0].path: is a directory, not a pairs file"), qPrintable(e));
    e = errorOf(R"({"name": "t", "data": {"synthetic": {}}, "pretrain": {"texts": ["."]},
                    "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.contains("$.pretrain.texts[0]: is a directory, not a text file"), qPrintable(e));
  }

  void duplicateMethodNames() {
    const QString e = errorOf(
        R"({"name": "t", "data": {"synthetic": {}}, "methods": [{"method": "baseline"}, {"method": "baseline"}]})");
    QVERIFY2(e.contains("$.methods[1].name: \"baseline\" is used twice"), qPrintable(e));
  }

  void headsMustDivideHidden() {
    const QString e = errorOf(
        R"({"name": "t", "data": {"synthetic": {}}, "encoder": {"hidden": 100, "heads": 3}, "methods": [{"method": "baseline"}]})");
    QVERIFY2(e.contains("$.encoder.heads: must divide hidden"), qPrintable(e));
  }

  void canonicalJsonRoundTrips() {
    ExperimentConfig c = parseExperimentConfig(kValid, "x.json");
    const std::string once = experimentConfigToJson(c);
    const std::string twice = experimentConfigToJson(parseExperimentConfig(once, "y.json"));
    QCOMPARE(QString::fromStdString(twice), QString::fromStdString(once));
  }

  void overridesApplyBeforeValidation() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("x.json").toStdString();
    {
      QFile f(QString::fromStdString(path));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(kValid);
    }
    const ExperimentConfig c = loadExperimentConfig(
        path, {"encoder.pooling=mean", "training.lr=0.01", "name=t2", "pretrain.steps=40",
               "data.synthetic.domains=[\"instruct\"]"});
    QCOMPARE(QString::fromStdString(c.encoder.pooling), QStringLiteral("mean"));
    QCOMPARE(c.training.lr, 0.01);
    QCOMPARE(c.training.batchSize, 8);  // untouched keys keep the file's values
    QCOMPARE(QString::fromStdString(c.name), QStringLiteral("t2"));
    QCOMPARE(c.pretrain.steps, 40);
    QCOMPARE(c.data.synthetic.domains, std::vector<std::string>{"instruct"});

    auto errorWith = [&](const std::string& o) {
      try {
        loadExperimentConfig(path, {o});
      } catch (const InputError& e) {
        return QString::fromStdString(e.what());
      }
      return QString();
    };
    // A bad value is reported by the validator, naming the override rather than the file alone.
    QCOMPARE(errorWith("encoder.pooling=max"),
             QString::fromStdString(path) +
                 " (with --set): $.encoder.pooling: must be one of cls, mean (got \"max\")");
    QVERIFY(errorWith("encoder.poolng=mean").contains("$.encoder.poolng: unknown key"));
    QCOMPARE(errorWith("pooling"),
             QStringLiteral("--set pooling: expected KEY=VALUE, e.g. encoder.pooling=mean"));
    QCOMPARE(errorWith("training.lr.x=1"),
             QStringLiteral("--set training.lr.x=1: training.lr is not an object"));
    QCOMPARE(errorWith("training..lr=1"),
             QStringLiteral("--set training..lr=1: empty key in 'training..lr'"));
  }

  // Issue 14: 1e400 is beyond the double range; nlohmann throws out_of_range, not parse_error.
  void outOfRangeNumberIsOneLineWithPath() {
    QCOMPARE(errorOf("{\"name\": \"t\",\n \"training\": {\"lr\": 1e400}}"),
             QStringLiteral("experiments/x.json:2:21: $.training.lr: number out of range (got "
                            "1e400)"));
  }

  // Issue 14: a deep value once overflowed the stack when the error message dumped it.
  void deepNestingIsRefusedWithShortPath() {
    const std::string deep = nested(20000);
    const QString e = errorOf(R"({"name": "t", "data": {"synthetic": {"label_noise": )" + deep +
                              "}}, \"methods\": [{\"method\": \"baseline\"}]}");
    QVERIFY2(e.startsWith("experiments/x.json: $.data.synthetic.label_noise[0][0][0][0][0]"),
             qPrintable(e));
    QVERIFY2(e.endsWith("nested deeper than 128 levels"), qPrintable(e));
    QVERIFY2(e.size() < 200, qPrintable(e));
    // Shallow enough to parse, an array is still described, not dumped.
    const std::string some = nested(100);
    QCOMPARE(errorOf(R"({"name": "t", "data": {"synthetic": {"label_noise": )" + some +
                     "}}, \"methods\": [{\"method\": \"baseline\"}]}"),
             QStringLiteral("experiments/x.json: $.data.synthetic.label_noise: must be a number in "
                            "[0, 0.5] or an object {domain: rate} (got an array)"));
  }

  // Issue 14: a long bad string is quoted by a short prefix only.
  void longBadValueIsQuotedShort() {
    const QString e = errorOf(withTraining("{\"device\": \"" + std::string(100000, 'x') + "\"}"));
    QVERIFY2(e.startsWith("experiments/x.json: $.training.device: must be one of cpu, cuda (got "
                          "\"xxxx"),
             qPrintable(e));
    QVERIFY2(e.size() < 200, qPrintable(e.left(300)));
  }

  // Issue 14, item 6: integers are range-checked before narrowing.
  void hugeIntegersAreRangeChecked() {
    QCOMPARE(errorOf(withTraining(R"({"batch_size": 18446744073709551615})")),
             QStringLiteral("experiments/x.json: $.training.batch_size: must be <= 65536 (got "
                            "18446744073709551615)"));
    QCOMPARE(errorOf(withTraining(R"({"seed": 4294967297})")),
             QStringLiteral("experiments/x.json: $.training.seed: must be <= 2147483647 (got "
                            "4294967297)"));
    QCOMPARE(errorOf(withTraining(R"({"seed": 2147483647, "seeds": 2})")),
             QStringLiteral("experiments/x.json: $.training.seed: seed + seeds - 1 must be <= "
                            "2147483647 (got 2147483647 with 2 seeds)"));
    QCOMPARE(parseExperimentConfig(withTraining(R"({"seed": 2147483646, "seeds": 2})"), "x.json")
                 .training.seed,
             2147483646);
  }

  // A --set value that is not JSON (here: too deep) becomes a string the validator refuses.
  void deepOverrideIsRefused() {
    QTemporaryDir dir;
    const QString path = dir.filePath("c.json");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(withTraining("{}").c_str());
    f.close();
    try {
      loadExperimentConfig(path.toStdString(), {"training.lr=" + nested(50000)});
      QFAIL("no error");
    } catch (const InputError& e) {
      const QString m = QString::fromStdString(e.what());
      QVERIFY2(m.contains("$.training.lr: must be a number (got \"[[[["), qPrintable(m.left(300)));
      QVERIFY2(m.size() < 300, qPrintable(m.left(300)));
    }
  }

  // A checkpoint backbone (Qwen3-0.6B's shape): full fine-tuning holds weights, gradients and
  // Adam's two moments; LoRA the frozen weights alone; RODOS a copy per domain.
  void backboneMemoryEstimate() {
    const double p = 596049920;  // Qwen3-0.6B with a one-label head
    const MemoryEstimate full = estimateBackboneMemory(p, 1024, 3072, 28, 16, 512, 16, 1, true);
    const MemoryEstimate lora = estimateBackboneMemory(p, 1024, 3072, 28, 16, 512, 16, 1, false);
    const MemoryEstimate rodos = estimateBackboneMemory(p, 1024, 3072, 28, 16, 512, 16, 3, true);
    QCOMPARE(full.parameterBytes, std::int64_t(16 * p));
    QCOMPARE(lora.parameterBytes, std::int64_t(4 * p));
    QCOMPARE(rodos.parameterBytes, std::int64_t(4 * 6 * p));
    const double perSeq = 28.0 * (10 * 512 * 1024 + 2 * 512 * 3072 + 3 * 16 * 512.0 * 512);
    QCOMPARE(lora.activationBytes, std::int64_t(4 * 2 * 16 * perSeq));
    QCOMPARE(full.activationBytes, lora.activationBytes);
    QVERIFY(full.total() > lora.total());
  }

  // Issue 14: a shape inside the allowed ranges that cannot fit is refused with the estimate.
  void memoryEstimateRefusesShapesThatCannotFit() {
    ExperimentConfig c = parseExperimentConfig(kValid, "x.json");
    // tiny: H 128, L 2, A 2, F 512; V 2000, T 96 (docs/CONFIG.md's formula).
    const MemoryEstimate e = estimateTrainingMemory(c);
    QCOMPARE(e.parameters, std::int64_t(2000 * 128 + 96 * 128 +
                                        2 * (4 * 128 * 128 + 2 * 128 * 512 + 9 * 128 + 512)));
    QCOMPARE(e.parameterBytes, 16 * e.parameters);
    const std::int64_t perSeq = 2 * (10 * 96 * 128 + 2 * 96 * 512 + 3 * 2 * 96 * 96);
    // Pre-training: 32 sequences plus the MLM logits; training: 2 x 8 sequences.
    QCOMPARE(e.activationBytes, 4 * 32 * (perSeq + 2 * 96 * 2000));
    checkMemoryFits(c, std::int64_t(1) << 30);

    c.encoder.hidden = 16384;
    c.encoder.layers = 128;
    c.encoder.heads = 256;
    c.encoder.ffn = 65536;
    c.encoder.maxLen = 4096;
    try {
      checkMemoryFits(c, std::int64_t(64) << 30);
      QFAIL("no error");
    } catch (const InputError& err) {
      const QString m = QString::fromUtf8(err.what());
      QVERIFY2(m.startsWith("x.json: $.encoder: training this shape needs about "), qPrintable(m));
      QVERIFY2(m.contains("but 64 GiB of memory is available"), qPrintable(m));
    }
    // The device's memory is not this machine's: a CUDA run is not judged here.
    c.training.device = "cuda";
    checkMemoryFits(c, std::int64_t(64) << 30);
    QVERIFY(availableMemoryBytes() > 0);
  }

  // Issue 15: the parser and the serializer are built from one schema. Every key the schema
  // binds to a member is set away from its default by the fixture, read, written and read again.
  void everyKeyRoundTripsThroughJson() {
    const std::string text = everyKeyJson();
    QVERIFY(!text.empty());
    const ExperimentConfig c = parseExperimentConfig(text, "every-key.json", "");
    const ExperimentConfig back =
        parseExperimentConfig(experimentConfigToJson(c), "canonical.json", "");
    int bound = 0;
    for (const ConfigKey& k : configSchema()) {
      if (!k.get) continue;
      ++bound;
      const QString key = QString::fromStdString(k.path);
      // Present means enabled: the one key whose default the fixture cannot leave.
      if (k.path != "data.synthetic.enabled")
        QVERIFY2(k.get(c) != k.defaultValue, qPrintable(key + " is at its default"));
      QVERIFY2(k.get(back) == k.get(c),
               qPrintable(key + ": " + QString::fromStdString(k.get(back).dump()) + " vs " +
                          QString::fromStdString(k.get(c).dump())));
    }
    QVERIFY(bound >= 45);
    QCOMPARE(c.data.synthetic.domains, back.data.synthetic.domains);
    QCOMPARE(c.data.synthetic.labelNoise, 0.125);
    QCOMPARE(back.data.files.at(0).split, std::string("test"));
    QCOMPARE(back.training.marginScale, 0.75);
    QCOMPARE(back.training.centerRewards, 0.01);
  }

  // The member defaults of config.h are the schema's: a config built in code means what an
  // empty JSON section means.
  void structDefaultsAreTheSchemas() {
    const ExperimentConfig c;
    for (const ConfigKey& k : configSchema()) {
      if (!k.get || k.required) continue;
      // A synthetic block is off until present; present, it is on.
      if (k.path == "data.synthetic.enabled") continue;
      QVERIFY2(
          k.get(c) == k.defaultValue,
          qPrintable(QString::fromStdString(k.path + ": " + k.get(c).dump() + " in config.h, " +
                                            k.defaultValue.dump() + " in the schema")));
    }
    // Sections present but empty take the schema's defaults.
    const ExperimentConfig e = parseExperimentConfig(
        R"({"name": "t", "data": {"synthetic": {}, "split": {}}, "tokenizer": {}, "encoder": {},
            "lora": {}, "pretrain": {}, "training": {}, "methods": [{"method": "baseline"}]})",
        "x.json");
    for (const ConfigKey& k : configSchema())
      if (k.get && !k.required)
        QVERIFY2(k.get(e) == k.defaultValue, qPrintable(QString::fromStdString(k.path)));
  }

  // Issue 13: configs stored before margin_scale and center_rewards existed mean the plain loss.
  void lossOptionsDefaultToThePlainLoss() {
    const ExperimentConfig old =
        parseStoredExperimentConfig(withTraining(R"({"lr": 0.001})"), "run 3");
    QCOMPARE(old.training.marginScale, 0.0);
    QCOMPARE(old.training.centerRewards, 0.0);
    const QString json = QString::fromStdString(experimentConfigToJson(old));
    QVERIFY2(json.contains(QStringLiteral("\"margin_scale\": 0")), qPrintable(json));
    QVERIFY2(json.contains(QStringLiteral("\"center_rewards\": 0")), qPrintable(json));
    QCOMPARE(errorOf(withTraining(R"({"margin_scale": -1})")),
             QStringLiteral("experiments/x.json: $.training.margin_scale: must be >= 0 (got -1)"));
    QCOMPARE(
        errorOf(withTraining(R"({"center_rewards": "a lot"})")),
        QStringLiteral(
            "experiments/x.json: $.training.center_rewards: must be a number (got \"a lot\")"));
  }

  // docs/CONFIG.md's key and method tables are the schema's (`rewardrouter-cli config --keys`
  // prints them): a key added without its row, or a range changed in one place, fails here.
  void docsTablesAreTheSchema() {
    QCOMPARE(docsBlock(QStringLiteral("config-keys")),
             QString::fromStdString(configKeysMarkdown()));
    QCOMPARE(docsBlock(QStringLiteral("method-options")),
             QString::fromStdString(methodOptionsMarkdown()));
    // Every range in the table is the one the parser enforces.
    const ConfigKey& lr = configKey("training.lr");
    QCOMPARE(QString::fromStdString(configKeyTypeText(lr)), QStringLiteral("number in (0, 10]"));
    QCOMPARE(errorOf(withTraining(R"({"lr": 11})")),
             QStringLiteral("experiments/x.json: $.training.lr: must be <= 10 (got 11)"));
    const ConfigKey& vocab = configKey("tokenizer.vocab_size");
    QCOMPARE(QString::fromStdString(configKeyTypeText(vocab)), QStringLiteral("int 100..1000000"));
    const nlohmann::json schema = configSchemaJson();
    QCOMPARE(schema["keys"].size(), configSchema().size());
    QCOMPARE(schema["methods"].size(), methodNames().size());
  }

  void shippedExperimentsAreValid() {
    for (const char* name : {"smoke", "quickstart", "dmoerm", "data-rich", "routing",
                             "routing-long", "routing-lora32"}) {
      const std::string path = std::string(RR_SOURCE_DIR) + "/experiments/" + name + ".json";
      ExperimentConfig c = loadExperimentConfig(path);
      QVERIFY(!c.methods.empty());
    }
    // The paper's setting names data files the user imports first: valid apart from them.
    QFile f(RR_SOURCE_DIR "/experiments/paper-table2.json");
    QVERIFY(f.open(QIODevice::ReadOnly));
    ExperimentConfig paper =
        parseExperimentConfig(f.readAll().toStdString(), "paper-table2.json", "");
    QCOMPARE(paper.methods.size(), size_t(5));
    QCOMPARE(paper.training.lr, 5e-6);
    QCOMPARE(resolveEncoderShape(paper.encoder).hidden, 768);
    QVERIFY_THROWS_EXCEPTION(InputError,
                             loadExperimentConfig(RR_SOURCE_DIR "/experiments/paper-table2.json"));
  }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
