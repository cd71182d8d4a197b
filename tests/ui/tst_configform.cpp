// The Configure form: config -> form -> JSON -> parser round-trips exactly, edits reach the
// config, and a bad value shows the parser's own message at the field it names.
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QLineEdit>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "common/errors.h"
#include "config/config.h"
#include "configform.h"

using namespace rr;

class TestConfigForm : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

  // What the CLI would say about the form's JSON, read through the same parser.
  static QString cliMessage(const ui::ConfigForm& form, const QString& label, const QString& dir) {
    try {
      core::parseExperimentConfig(form.toJson().dump(2), label.toStdString(), dir.toStdString());
    } catch (const core::InputError& e) {
      return QString::fromStdString(e.what());
    }
    return {};
  }

  static void roundTrip(const core::ExperimentConfig& c, const QString& label, const QString& dir) {
    ui::ConfigForm form;
    form.setConfig(c, label, dir);
    const auto back = form.validate();
    QVERIFY2(back.has_value(), qPrintable(form.errorMessage()));
    QCOMPARE(QString::fromStdString(core::experimentConfigToJson(*back)),
             QString::fromStdString(core::experimentConfigToJson(c)));
  }

 private Q_SLOTS:
  void roundTripsTheShippedExperiments() {
    const QDir dir(QStringLiteral(RR_SOURCE_DIR "/experiments"));
    const QStringList files = dir.entryList({QStringLiteral("*.json")});
    QVERIFY(files.contains(QStringLiteral("quickstart.json")));
    int checked = 0;
    for (const QString& f : files) {
      // Experiments over imported datasets need those files; the others must all round-trip.
      core::ExperimentConfig c;
      try {
        c = core::loadExperimentConfig(dir.filePath(f).toStdString());
      } catch (const core::InputError& e) {
        QVERIFY2(QString::fromLatin1(e.what()).contains(QStringLiteral("file not found")),
                 e.what());
        continue;
      }
      roundTrip(c, dir.filePath(f), dir.path());
      ++checked;
    }
    QVERIFY(checked >= 2);
  }

  void roundTripsEveryKindOfField() {
    const QString pairs = m_dir.filePath(QStringLiteral("extra.jsonl"));
    std::ofstream(pairs.toStdString()) << "";
    const std::string text = R"({
      "name": "all-fields", "description": "every kind of field",
      "data": {"synthetic": {"pairs_per_domain": 55, "domains": ["ranked", "harmless"],
                             "label_noise": {"ranked": 0.2, "summary": 0.125}, "seed": 3},
               "files": [{"path": "extra.jsonl", "domain": "custom", "split": "test"}],
               "split": {"train": 0.6, "validation": 0.15, "test": 0.25},
               "max_pairs_per_domain": 40},
      "tokenizer": {"vocab_size": 321, "type": "bpe"},
      "encoder": {"preset": "mini", "hidden": 96, "layers": 3, "heads": 4, "ffn": 200,
                  "max_len": 33, "dropout": 0.05},
      "lora": {"rank": 5, "alpha": 12.5, "dropout": 0.2, "targets": ["value", "query"]},
      "pretrain": {"enabled": false, "steps": 17, "lr": 3e-05, "mask_prob": 0.2},
      "training": {"lr": 5e-06, "batch_size": 7, "epochs": 3, "max_steps": 99, "eval_every": 11,
                   "weight_decay": 0.3, "warmup_steps": 4, "grad_clip": 0.5, "seed": 9,
                   "seeds": 4, "device": "cpu"},
      "methods": [{"method": "more", "experts": 8, "top_k": 3, "balance_weight": 0.05},
                  {"method": "arliss", "name": "arliss-switch", "inference": "switch"},
                  {"method": "baseline", "name": "base2"}]
    })";
    const core::ExperimentConfig c =
        core::parseExperimentConfig(text, "all.json", m_dir.path().toStdString());
    QCOMPARE(c.methods.at(0).options.at("experts"), 8.0);
    roundTrip(c, QStringLiteral("all.json"), m_dir.path());
  }

  void editsReachTheConfig() {
    ui::ConfigForm form;
    form.setConfig(core::loadExperimentConfig(RR_SOURCE_DIR "/experiments/smoke.json"),
                   QStringLiteral("smoke.json"), QStringLiteral(RR_SOURCE_DIR "/experiments"));
    form.findChild<QSpinBox*>(QStringLiteral("training.batch_size"))->setValue(64);
    form.findChild<QLineEdit*>(QStringLiteral("training.lr"))->setText(QStringLiteral("2.5e-4"));
    form.findChild<QComboBox*>(QStringLiteral("encoder.preset"))
        ->setCurrentText(QStringLiteral("mini"));
    const auto c = form.validate();
    QVERIFY(c.has_value());
    QCOMPARE(c->training.batchSize, 64);
    QCOMPARE(c->training.lr, 2.5e-4);
    QCOMPARE(QString::fromStdString(c->encoder.preset), QStringLiteral("mini"));
    // An emptied number field means the default.
    form.findChild<QLineEdit*>(QStringLiteral("training.weight_decay"))->clear();
    QCOMPARE(form.validate()->training.weightDecay, core::TrainingConfig{}.weightDecay);
  }

  void badNumberIsMarkedWithTheCliMessage() {
    ui::ConfigForm form;
    const QString dir = QStringLiteral(RR_SOURCE_DIR "/experiments");
    form.setConfig(core::loadExperimentConfig(RR_SOURCE_DIR "/experiments/smoke.json"),
                   QStringLiteral("experiments/smoke.json"), dir);
    auto* lr = form.findChild<QLineEdit*>(QStringLiteral("training.lr"));
    lr->setText(QStringLiteral("-1"));
    QVERIFY(!form.validate().has_value());
    const QString expected = cliMessage(form, QStringLiteral("experiments/smoke.json"), dir);
    QVERIFY(expected.startsWith(QStringLiteral("experiments/smoke.json: $.training.lr: ")));
    QCOMPARE(form.errorMessage(), expected);
    QCOMPARE(form.errorWidget(), static_cast<QWidget*>(lr));
    QCOMPARE(lr->property("invalid").toBool(), true);

    lr->setText(QStringLiteral("fast"));
    QVERIFY(!form.validate().has_value());
    QVERIFY(form.errorMessage().contains(QStringLiteral("$.training.lr")));
    lr->setText(QStringLiteral("0.001"));
    QVERIFY(form.validate().has_value());
    QVERIFY(form.errorMessage().isEmpty());
    QCOMPARE(lr->property("invalid").toBool(), false);
  }

  void errorsInListsPointAtTheirRow() {
    ui::ConfigForm form;
    form.setConfig(core::parseExperimentConfig(R"({"name": "x", "data": {"synthetic": {}},
      "methods": [{"method": "baseline"}, {"method": "more", "name": "twin"},
                  {"method": "rodos", "name": "twin2"}]})",
                                               "x.json"),
                   QStringLiteral("x.json"), QStringLiteral("."));
    const auto names = form.findChildren<QLineEdit*>();
    QLineEdit* third = nullptr;
    for (QLineEdit* e : names)
      if (e->text() == QStringLiteral("twin2")) third = e;
    QVERIFY(third);
    third->setText(QStringLiteral("twin"));
    QVERIFY(!form.validate().has_value());
    QVERIFY2(form.errorMessage().contains(QStringLiteral("$.methods[2].name")),
             qPrintable(form.errorMessage()));
    QCOMPARE(form.errorWidget(), static_cast<QWidget*>(third));

    // A missing data file is reported at that file's path field.
    form.addDataFile(QStringLiteral("does-not-exist.jsonl"));
    third->setText(QStringLiteral("rodos"));
    QVERIFY(!form.validate().has_value());
    QVERIFY2(form.errorMessage().contains(QStringLiteral("$.data.files[0].path: file not found")),
             qPrintable(form.errorMessage()));
    auto* pathEdit = qobject_cast<QLineEdit*>(form.errorWidget());
    QVERIFY(pathEdit);
    QCOMPARE(pathEdit->text(), QStringLiteral("does-not-exist.jsonl"));
  }
};

QTEST_MAIN(TestConfigForm)
#include "tst_configform.moc"
