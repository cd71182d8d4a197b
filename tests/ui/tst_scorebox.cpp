// The Inspect view's "score your own text" box scores with the selected run's saved system and
// shows what the core's RunScorer computes.
#include <QTemporaryDir>
#include <QtTest>

#include "config/config.h"
#include "inspectview.h"
#include "scorebox.h"
#include "store/runstore.h"
#include "train/experiment.h"
#include "train/scoring.h"

using namespace rr;

namespace {

struct QuietSink : core::MetricSink {
  void metric(const core::MetricPoint&) override {}
  void progress(const core::ProgressInfo&) override {}
  void log(std::int64_t, core::LogLevel, const std::string&) override {}
};

}  // namespace

class TestScoreBox : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

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
  }
};

QTEST_MAIN(TestScoreBox)
#include "tst_scorebox.moc"
