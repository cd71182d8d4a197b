// The Inspect view's "score your own text" box scores with the selected run's saved system, or
// with a model folder, and shows what the core's RunScorer computes.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include "config/config.h"
#include "inspectview.h"
#include "scorebox.h"
#include "store/runstore.h"
#include "run/experiment.h"
#include "run/scoring.h"

using namespace rr;

namespace {

struct QuietSink : core::MetricSink {
  void metric(const core::MetricRow&) override {}
  void progress(const core::ProgressInfo&) override {}
  void log(std::int64_t, core::LogLevel, const std::string&) override {}
};

}  // namespace

class TestScoreBox : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  QString m_db;  // the rodos run the first case trains
  std::int64_t m_runId = 0;

 private Q_SLOTS:
  void scoresWithTheSelectedRun() {
    qputenv("RR_CACHE_DIR", m_dir.path().toUtf8());
    core::ExperimentConfig c = core::parseExperimentConfig(R"({"name": "s",
      "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "ranked"]}},
      "tokenizer": {"vocab_size": 200},
      "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 48},
      "pretrain": {"steps": 5}, "training": {"epochs": 1},
      "methods": [{"method": "rodos"}]})",
                                                           "s.json");
    core::ExperimentOptions o;
    o.dbPath = (m_dir.path() + "/s.db").toStdString();
    QuietSink sink;
    core::RunControl control;
    const auto out = core::runExperiment(c, o, sink, control);
    QCOMPARE(out.finished, 1);

    auto store = core::RunStore::open(o.dbPath);
    ui::InspectView view;
    view.setStore(store.get());
    view.showRuns(out.runIds);
    ui::ScoreBox* box = view.scoreBox();
    box->setText(QStringLiteral("how do i rob the bank ?"),
                 QStringLiteral("i can not help with that ."));
    QVERIFY(box->score());
    const auto expected =
        core::RunScorer::openRun(o.dbPath, out.runIds[0])
            ->score({{"how do i rob the bank ?", "i can not help with that ."}})[0];
    QVERIFY2(box->resultText().startsWith(QString("reward %1").arg(expected.reward, 0, 'f', 4)),
             qPrintable(box->resultText()));
    QVERIFY(box->resultText().contains(QString::fromStdString("routed to " + expected.route)));

    box->setRun(QString::fromStdString(o.dbPath), 999);  // no such run: an error in the box
    QVERIFY(!box->score());
    QVERIFY(box->resultText().startsWith("cannot score:"));
    m_db = QString::fromStdString(o.dbPath);
    m_runId = out.runIds[0];
  }

  // A Hugging Face reward-model folder scores as transformers does (the fixture's golden file).
  void scoresWithAModelFolder() {
    const QString dir = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/bert-rm");
    QFile f(dir + "/golden.json");
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QJsonArray texts = QJsonDocument::fromJson(f.readAll()).object()["texts"].toArray();
    QVERIFY(!texts.isEmpty());

    ui::ScoreBox box;
    QCOMPARE(box.activeModel(), QString());
    QVERIFY(!box.score());
    QVERIFY2(box.setModelFolder(dir), qPrintable(box.resultText()));
    QCOMPARE(box.activeModel(), QStringLiteral("folder bert-rm"));
    for (const auto& t : texts) {
      const QJsonObject o = t.toObject();
      box.setText(o["prompt"].toString(), o["response"].toString());
      QVERIFY2(box.score(), qPrintable(box.resultText()));
      QVERIFY(box.lastScore());
      const double want = o["reward"].toDouble();
      QVERIFY2(std::abs(box.lastScore()->reward - want) < 1e-4,
               qPrintable(QString("%1 vs transformers %2").arg(box.lastScore()->reward).arg(want)));
      QVERIFY2(box.resultText().startsWith(QString("reward %1").arg(want, 0, 'f', 2)),
               qPrintable(box.resultText()));
    }

    // A folder that is no model: the error in the box, the folder chosen before stays.
    QTemporaryDir empty;
    QVERIFY(!box.setModelFolder(empty.path()));
    QVERIFY2(box.resultText().startsWith("cannot score:"), qPrintable(box.resultText()));
    QCOMPARE(box.activeModel(), QStringLiteral("folder bert-rm"));
    QVERIFY(box.score());

    // Runs: the same run set again (a refresh) keeps the folder, another run replaces it.
    QVERIFY(!m_db.isEmpty());
    box.setRun(m_db, m_runId);
    QCOMPARE(box.activeModel(), QStringLiteral("run %1 (rodos)").arg(m_runId));
    QVERIFY(box.setModelFolder(dir));
    box.setRun(m_db, m_runId);
    QCOMPARE(box.activeModel(), QStringLiteral("folder bert-rm"));
    box.setRun(m_db, 0);
    QCOMPARE(box.activeModel(), QString());
    QVERIFY(!box.score());
    box.setRun(m_db, m_runId);
    QVERIFY(box.score());
    QVERIFY(box.lastScore() && !box.lastScore()->route.empty());  // the rodos run routes
  }
};

QTEST_MAIN(TestScoreBox)
#include "tst_scorebox.moc"
