// The Configure form: config -> form -> JSON -> parser round-trips exactly, edits reach the
// config, and a bad value shows the parser's own message at the field it names.
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>
#include <climits>
#include <cstdint>
#include <fstream>

#include "common/errors.h"
#include "config/config.h"
#include "config/schema.h"
#include "configform.h"
#include "configureview.h"
#include "train/backbone.h"

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

  // A Hugging Face reward-model folder written by hand: config.json, tokenizer_config.json and a
  // safetensors file (u64 header length, JSON header, raw data) holding 30x8 + 1x8 floats.
  static void writeTinyModelFolder(const QString& dir) {
    QVERIFY(QDir().mkpath(dir));
    std::ofstream((dir + QStringLiteral("/config.json")).toStdString()) << R"({
      "model_type": "bert", "architectures": ["BertForSequenceClassification"],
      "vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
      "intermediate_size": 16, "max_position_embeddings": 128, "num_labels": 1})";
    std::ofstream((dir + QStringLiteral("/tokenizer_config.json")).toStdString())
        << R"({"model_max_length": 64})";
    const std::string header =
        R"({"bert.embeddings.word_embeddings.weight":{"dtype":"F32","shape":[30,8],)"
        R"("data_offsets":[0,960]},"classifier.weight":{"dtype":"F32","shape":[1,8],)"
        R"("data_offsets":[960,992]}})";
    std::ofstream out((dir + QStringLiteral("/model.safetensors")).toStdString(), std::ios::binary);
    const std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
    out << header << std::string(992, '\0');
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
        // ... and experiments over a Hugging Face model folder that tools/fetch-*.sh downloads.
        const QString what = QString::fromLatin1(e.what());
        QVERIFY2(what.contains(QStringLiteral("file not found")) ||
                     what.contains(QStringLiteral("$.encoder.pretrained: not found")),
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

  // Issue 15: every key the schema binds to the config reaches the form and comes back
  // unchanged (tests/fixtures/config/every-key.json sets each one away from its default).
  void everyKeyRoundTripsThroughTheForm() {
    QFile f(QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/config/every-key.json"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const core::ExperimentConfig c =
        core::parseExperimentConfig(f.readAll().toStdString(), "every-key.json", "");
    ui::ConfigForm form;
    form.setConfig(c, QStringLiteral("every-key.json"), QString());
    const auto back = form.validate();
    QVERIFY2(back.has_value(), qPrintable(form.errorMessage()));
    for (const core::ConfigKey& k : core::configSchema())
      if (k.get)
        QVERIFY2(k.get(*back) == k.get(c),
                 qPrintable(QString::fromStdString(k.path + ": " + k.get(*back).dump() + " vs " +
                                                   k.get(c).dump())));
    QCOMPARE(QString::fromStdString(core::experimentConfigToJson(*back)),
             QString::fromStdString(core::experimentConfigToJson(c)));
  }

  // Every labelled key of the schema has its field, with the schema's help, range and choices;
  // a key added to the schema appears in the form without a line of form code.
  void fieldsComeFromTheSchema() {
    ui::ConfigForm form;
    int fields = 0;
    for (const core::ConfigKey& k : core::configSchema()) {
      if (k.label.empty()) continue;
      const QString name = QString::fromStdString(k.path);
      auto* w = form.findChild<QWidget*>(name);
      QVERIFY2(w, qPrintable(name));
      QVERIFY2(w->toolTip().startsWith(QString::fromStdString(k.help)), qPrintable(name));
      QVERIFY2(w->toolTip().contains(QStringLiteral("JSON: ") + name), qPrintable(name));
      if (auto* spin = qobject_cast<QSpinBox*>(w)) {
        QCOMPARE(spin->minimum(), static_cast<int>(k.lo));
        QCOMPARE(spin->maximum(), static_cast<int>(std::min(k.hi, double(INT_MAX))));
      }
      if (auto* combo = qobject_cast<QComboBox*>(w)) {
        QCOMPARE(combo->count(), static_cast<int>(k.allowed.size()));
        QCOMPARE(combo->itemText(0).toStdString(), k.allowed.front());
      }
      ++fields;
    }
    QVERIFY(fields >= 40);

    // Issue 13: the loss options are edited like any other key and checked by the parser.
    auto* scale = form.findChild<QLineEdit*>(QStringLiteral("training.margin_scale"));
    auto* center = form.findChild<QLineEdit*>(QStringLiteral("training.center_rewards"));
    QVERIFY(scale && center);
    QCOMPARE(scale->text(), QStringLiteral("0"));
    scale->setText(QStringLiteral("0.5"));
    center->setText(QStringLiteral("0.01"));
    const auto c = form.validate();
    QVERIFY2(c.has_value(), qPrintable(form.errorMessage()));
    QCOMPARE(c->training.marginScale, 0.5);
    QCOMPARE(c->training.centerRewards, 0.01);
    scale->setText(QStringLiteral("-1"));
    QVERIFY(!form.validate().has_value());
    QVERIFY2(form.errorMessage().contains(
                 QStringLiteral(": $.training.margin_scale: must be >= 0 (got -1")),
             qPrintable(form.errorMessage()));
    QCOMPARE(form.errorWidget(), static_cast<QWidget*>(scale));
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

  // What Resume asks of the form (does it hold the run's config?) marks nothing in it.
  void parsedShowsNoError() {
    ui::ConfigForm form;
    const QString dir = QStringLiteral(RR_SOURCE_DIR "/experiments");
    form.setConfig(core::loadExperimentConfig(RR_SOURCE_DIR "/experiments/smoke.json"),
                   QStringLiteral("experiments/smoke.json"), dir);
    QVERIFY(form.parsed().has_value());
    auto* lr = form.findChild<QLineEdit*>(QStringLiteral("training.lr"));
    lr->setText(QStringLiteral("-1"));
    QVERIFY(!form.parsed().has_value());
    QVERIFY(form.errorMessage().isEmpty());
    QVERIFY(form.errorWidget() == nullptr);
    QCOMPARE(lr->property("invalid").toBool(), false);
    lr->setText(QStringLiteral("0.002"));
    QCOMPARE(form.parsed()->training.lr, 0.002);
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

  void modelFolderRoundTripsAndIsPreviewed() {
    writeTinyModelFolder(m_dir.filePath(QStringLiteral("models/tiny-rm")));
    const core::ExperimentConfig c =
        core::parseExperimentConfig(R"({"name": "hf",
      "data": {"synthetic": {}},
      "encoder": {"pretrained": "models/tiny-rm", "pooling": "mean", "max_len": 48},
      "methods": [{"method": "baseline"},
                  {"method": "pretrained", "name": "as-is", "model": "models/tiny-rm"}]})",
                                    "hf.json", m_dir.path().toStdString());
    roundTrip(c, QStringLiteral("hf.json"), m_dir.path());

    ui::ConfigForm form;
    form.setConfig(c, QStringLiteral("hf.json"), m_dir.path());
    const QString expected = QStringLiteral(
        "bert · BertForSequenceClassification · 2 layers x 8 · 248 parameters · "
        "WordPiece (vocab.txt) · inputs up to 64 tokens · reward model (1 label)");
    auto* preview = form.findChild<QLabel*>(QStringLiteral("encoder.pretrained.preview"));
    QVERIFY(preview);
    QCOMPARE(preview->text(), expected);
    QVERIFY(!preview->isHidden());
    QCOMPARE(preview->property("error").toBool(), false);
    auto* methodPreview = form.findChild<QLabel*>(QStringLiteral("model.preview"));
    QVERIFY(methodPreview);
    QCOMPARE(methodPreview->text(), expected);

    // The shape comes from the folder: its fields are off and say why, and come back on when
    // the folder is cleared.
    const QStringList shape = {QStringLiteral("encoder.preset"), QStringLiteral("encoder.hidden"),
                               QStringLiteral("encoder.layers"), QStringLiteral("encoder.heads"),
                               QStringLiteral("encoder.ffn")};
    for (const QString& name : shape) {
      auto* w = form.findChild<QWidget*>(name);
      QVERIFY2(w, qPrintable(name));
      QVERIFY2(!w->isEnabled(), qPrintable(name));
      QCOMPARE(w->toolTip(), QStringLiteral("taken from the model folder"));
    }
    auto* pretrained = form.findChild<QLineEdit*>(QStringLiteral("encoder.pretrained"));
    pretrained->clear();
    QVERIFY(preview->isHidden());
    for (const QString& name : shape) {
      auto* w = form.findChild<QWidget*>(name);
      QVERIFY(w->isEnabled());
      QVERIFY(w->toolTip().contains(QStringLiteral("JSON: ") + name));
    }
    const auto cleared = form.validate();
    QVERIFY(cleared.has_value());
    QVERIFY(cleared->encoder.pretrained.empty());

    // An absolute folder path round-trips as written.
    const QString absolute = m_dir.filePath(QStringLiteral("models/tiny-rm"));
    pretrained->setText(absolute);
    const auto back = form.validate();
    QVERIFY2(back.has_value(), qPrintable(form.errorMessage()));
    QCOMPARE(QString::fromStdString(back->encoder.pretrained), absolute);
    QCOMPARE(preview->text(), expected);
  }

  // With a model folder as the encoder, the tokenizer and pre-training (MLM) fields do nothing:
  // they are greyed out and say why, and come back when the folder is cleared.
  void tokenizerAndPretrainingAreOffWithAModelFolder() {
    writeTinyModelFolder(m_dir.filePath(QStringLiteral("models/unused-rm")));
    ui::ConfigForm form;
    form.setFileLabel(QStringLiteral("x.json"), m_dir.path());
    auto* pretrained = form.findChild<QLineEdit*>(QStringLiteral("encoder.pretrained"));
    const QStringList unused = {
        QStringLiteral("tokenizer.vocab_size"), QStringLiteral("tokenizer.type"),
        QStringLiteral("pretrain.enabled"),     QStringLiteral("pretrain.steps"),
        QStringLiteral("pretrain.lr"),          QStringLiteral("tokenizer.model")};
    for (const QString& name : unused) QVERIFY2(form.findChild<QWidget*>(name), qPrintable(name));
    QTest::keyClicks(pretrained, QStringLiteral("models/unused-rm"));
    for (const QString& name : unused) {
      auto* w = form.findChild<QWidget*>(name);
      QVERIFY2(!w->isEnabled(), qPrintable(name));
      QVERIFY2(!w->toolTip().contains(QStringLiteral("JSON:")), qPrintable(w->toolTip()));
    }
    QCOMPARE(form.findChild<QWidget*>(QStringLiteral("tokenizer.vocab_size"))->toolTip(),
             QStringLiteral("the model folder brings its own tokenizer"));
    // The tokenizer file's browse button goes with its field.
    auto* browse = form.findChild<QWidget*>(QStringLiteral("tokenizer.model"))
                       ->parentWidget()
                       ->findChild<QToolButton*>();
    QVERIFY(browse && !browse->isEnabled());
    pretrained->selectAll();
    QTest::keyClick(pretrained, Qt::Key_Delete);
    for (const QString& name : unused) {
      auto* w = form.findChild<QWidget*>(name);
      QVERIFY2(w->isEnabled(), qPrintable(name));
      QVERIFY(w->toolTip().contains(QStringLiteral("JSON: ") + name));
    }
  }

  // Issue 25, item 13: an experiment whose data file moved opens all the same, with the error
  // at the file's field, where typing the right path clears it.
  void experimentWithAMissingDataFileOpensToBeFixed() {
    const QString file = m_dir.filePath(QStringLiteral("moved.json"));
    std::ofstream(file.toStdString()) << R"({"name": "moved",
      "data": {"files": [{"path": "gone.jsonl"}]}, "methods": [{"method": "baseline"}]})";
    std::ofstream(m_dir.filePath(QStringLiteral("here.jsonl")).toStdString())
        << R"({"prompt": "p", "chosen": "a", "rejected": "b", "domain": "d"})"
        << "\n";
    ui::ConfigureView view;
    // Whatever modal dialog comes up is closed, so that the check below fails rather than hangs.
    QTimer closer;
    connect(&closer, &QTimer::timeout, [] {
      if (auto* d = qobject_cast<QDialog*>(QApplication::activeModalWidget())) d->reject();
    });
    closer.start(100);
    QVERIFY(view.loadFile(file));
    QCOMPARE(view.filePath(), file);
    ui::ConfigForm* form = view.form();
    QVERIFY2(form->errorMessage().startsWith(file + QStringLiteral(": $.data.files[0].path: ")),
             qPrintable(form->errorMessage()));
    QVERIFY2(form->errorMessage().contains(QStringLiteral("gone.jsonl")),
             qPrintable(form->errorMessage()));
    auto* path = qobject_cast<QLineEdit*>(form->errorWidget());
    QVERIFY(path);
    QCOMPARE(path->text(), QStringLiteral("gone.jsonl"));
    QCOMPARE(path->property("invalid").toBool(), true);
    path->selectAll();
    QTest::keyClicks(path, QStringLiteral("here.jsonl"));
    QTRY_VERIFY(form->errorMessage().isEmpty());
    QCOMPARE(path->property("invalid").toBool(), false);
    const auto fixed = form->validate();
    QVERIFY(fixed.has_value());
    QCOMPARE(fixed->data.files.size(), std::size_t(1));
  }

  void previewOfTheBertFixture() {
    // The fixture folder (tests/fixtures/hf/models) made from transformers' own classes.
    const QString fixture = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/bert-rm");
    if (!QFileInfo::exists(fixture + QStringLiteral("/config.json")))
      QSKIP("tests/fixtures/hf/models/bert-rm is not there");
    ui::ConfigForm form;
    form.findChild<QLineEdit*>(QStringLiteral("encoder.pretrained"))->setText(fixture);
    auto* preview = form.findChild<QLabel*>(QStringLiteral("encoder.pretrained.preview"));
    const core::HfFolderSummary s = core::describeHfFolder(fixture.toStdString());
    QVERIFY2(preview->text().startsWith(QStringLiteral("bert · ")), qPrintable(preview->text()));
    QVERIFY(preview->text().contains(QStringLiteral("%1 layers x %2").arg(s.layers).arg(s.hidden)));
    QVERIFY(preview->text().contains(QString::fromStdString(s.tokenizer)));
    QCOMPARE(preview->property("error").toBool(), false);
  }

  // A decoder reward model saved by transformers 5 (tokenizer.json, the chat template inside
  // tokenizer_config.json): the preview names the architecture, the tokenizer file and the
  // template its inputs go through.
  void previewOfADecoderFolder() {
    const QString fixture =
        QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/qwen3-chat-rm");
    ui::ConfigForm form;
    form.findChild<QLineEdit*>(QStringLiteral("encoder.pretrained"))->setText(fixture);
    auto* preview = form.findChild<QLabel*>(QStringLiteral("encoder.pretrained.preview"));
    QVERIFY2(preview->text().startsWith(QStringLiteral("qwen3 · Qwen3ForSequenceClassification")),
             qPrintable(preview->text()));
    QVERIFY2(preview->text().contains(QStringLiteral("tokenizer.json")), qPrintable(preview->text()));
    QVERIFY2(preview->text().contains(QStringLiteral("chat template")), qPrintable(preview->text()));
    QCOMPARE(preview->property("error").toBool(), false);
  }

  void brokenModelFolderShowsTheError() {
    const QString dir = m_dir.filePath(QStringLiteral("models/broken"));
    QVERIFY(QDir().mkpath(dir));
    std::ofstream((dir + QStringLiteral("/config.json")).toStdString()) << R"({"model_type": )";
    QString expected;
    try {
      core::describeHfFolder(dir.toStdString());
    } catch (const core::InputError& e) {
      expected = QString::fromStdString(e.what());
    }
    QVERIFY2(expected.contains(QStringLiteral("config.json:1:")) &&
                 expected.contains(QStringLiteral("invalid JSON")),
             qPrintable(expected));

    ui::ConfigForm form;
    form.setFileLabel(QStringLiteral("x.json"), m_dir.path());
    form.findChild<QLineEdit*>(QStringLiteral("encoder.pretrained"))
        ->setText(QStringLiteral("models/broken"));
    auto* preview = form.findChild<QLabel*>(QStringLiteral("encoder.pretrained.preview"));
    QCOMPARE(preview->text(), expected);
    QCOMPARE(preview->property("error").toBool(), true);
    QVERIFY(!preview->isHidden());

    // A saved encoder file is not a folder: it is named as what it is and the shape stays set
    // by the form.
    const QString saved = m_dir.filePath(QStringLiteral("encoder.pt"));
    std::ofstream(saved.toStdString()) << "x";
    form.findChild<QLineEdit*>(QStringLiteral("encoder.pretrained"))->setText(saved);
    QVERIFY2(
        preview->text().startsWith(QStringLiteral("A saved RewardRouter encoder (encoder.pt)")),
        qPrintable(preview->text()));
    QCOMPARE(preview->property("error").toBool(), false);
    QVERIFY(form.findChild<QWidget*>(QStringLiteral("encoder.hidden"))->isEnabled());
  }
};

QTEST_MAIN(TestConfigForm)
#include "tst_configform.moc"
