// Which backbone a run used, as the run browser and Compare show it: from the config stored with
// the run (a `pretrained` method's model folder, else encoder.pretrained, else "own <preset>").
#include <QHeaderView>
#include <QLineEdit>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

#include "compareview.h"
#include "runbackbone.h"
#include "runbrowser.h"
#include "store/runstore.h"

using namespace rr;

namespace {

core::RunInfo runOf(const std::string& method, const std::string& name, const std::string& config) {
  core::RunInfo r;
  r.experiment = "exp";
  r.method = method;
  r.methodName = name;
  r.configJson = config;
  return r;
}

const char* const kHfConfig = R"({"encoder": {"preset": "tiny",
    "pretrained": "../models/all-MiniLM-L6-v2/"},
  "methods": [{"method": "baseline"},
              {"method": "pretrained", "name": "skywork", "model": "/data/hf/Skywork-RM"},
              {"method": "pretrained", "model": "rm/deberta-v3-rm"}]})";

}  // namespace

class TestBackbone : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

  static int column(const QTableWidget* t, const QString& head) {
    for (int c = 0; c < t->columnCount(); ++c)
      if (t->horizontalHeaderItem(c)->text() == head) return c;
    return -1;
  }

 private Q_SLOTS:
  void derivedFromTheStoredConfig() {
    // A method trained on a model folder: the folder's last component, the path as tooltip.
    ui::RunBackbone b = ui::runBackbone(runOf("baseline", "baseline", kHfConfig));
    QCOMPARE(b.label, QStringLiteral("all-MiniLM-L6-v2"));
    QCOMPARE(b.path, QStringLiteral("../models/all-MiniLM-L6-v2/"));
    // A `pretrained` method: its own model folder, found by its display name.
    b = ui::runBackbone(runOf("pretrained", "skywork", kHfConfig));
    QCOMPARE(b.label, QStringLiteral("Skywork-RM"));
    QCOMPARE(b.path, QStringLiteral("/data/hf/Skywork-RM"));
    b = ui::runBackbone(runOf("pretrained", "pretrained", kHfConfig));
    QCOMPARE(b.label, QStringLiteral("deberta-v3-rm"));
    // The experiment's own encoder, by preset; a partial or unreadable config means the default.
    b = ui::runBackbone(runOf("more", "more", R"({"encoder": {"preset": "mini"}})"));
    QCOMPARE(b.label, QStringLiteral("own mini"));
    QCOMPARE(b.path, QString());
    QCOMPARE(ui::runBackbone(runOf("more", "more", "{}")).label, QStringLiteral("own tiny"));
    QCOMPARE(ui::runBackbone(runOf("more", "more", "not json")).label, QStringLiteral("own tiny"));
  }

  void shownInTheRunBrowserAndCompare() {
    const std::string db = m_dir.filePath(QStringLiteral("backbone.db")).toStdString();
    std::vector<std::int64_t> ids;
    {
      core::RunWriter w(db);
      const std::pair<const char*, const char*> runs[] = {
          {"baseline", "baseline"}, {"pretrained", "skywork"}, {"more", "more"}};
      for (const auto& [method, name] : runs) {
        const std::string config =
            std::string(method) == "more" ? R"({"encoder": {"preset": "mini"}})" : kHfConfig;
        const std::int64_t id = w.createRun("exp", method, name, 1, config);
        w.addResults({{id, "harmless", "accuracy", 0.7}, {id, "*", "accuracy", 0.7}});
        w.setStatus(id, core::RunStatus::Finished);
        ids.push_back(id);
      }
      w.flush();
    }
    auto store = core::RunStore::open(db);
    const std::vector<core::RunInfo> runs = store->listRuns();

    ui::RunBrowser browser;
    browser.setRuns(runs);
    auto* tree = browser.findChild<QTreeWidget*>(QStringLiteral("runTree"));
    QVERIFY(tree);
    int backboneColumn = -1;
    for (int c = 0; c < tree->columnCount(); ++c)
      if (tree->headerItem()->text(c) == QStringLiteral("Backbone")) backboneColumn = c;
    QVERIFY(backboneColumn > 0);
    std::map<QString, QTreeWidgetItem*> methods;  // method label -> its group row
    QTreeWidgetItem* exp = tree->topLevelItem(0);
    for (int i = 0; i < exp->childCount(); ++i) methods[exp->child(i)->text(0)] = exp->child(i);
    QTreeWidgetItem* skywork = methods.at(QStringLiteral("skywork (pretrained)"));
    QCOMPARE(skywork->child(0)->text(backboneColumn), QStringLiteral("Skywork-RM"));
    QCOMPARE(skywork->child(0)->toolTip(backboneColumn), QStringLiteral("/data/hf/Skywork-RM"));
    QCOMPARE(skywork->text(backboneColumn), QStringLiteral("Skywork-RM"));
    QCOMPARE(methods.at(QStringLiteral("baseline"))->child(0)->text(backboneColumn),
             QStringLiteral("all-MiniLM-L6-v2"));
    QCOMPARE(methods.at(QStringLiteral("more"))->child(0)->text(backboneColumn),
             QStringLiteral("own mini"));
    // The filter box finds runs by backbone.
    browser.findChild<QLineEdit*>(QStringLiteral("runFilter"))->setText(QStringLiteral("minilm"));
    QVERIFY(!methods.at(QStringLiteral("baseline"))->isHidden());
    QVERIFY(methods.at(QStringLiteral("more"))->isHidden());

    ui::CompareView view;
    view.setStore(store.get());
    view.showRuns(ids);
    QTableWidget* acc = view.accuracyTable();
    const int col = column(acc, QStringLiteral("Backbone"));
    QVERIFY(col > 0);
    QCOMPARE(acc->rowCount(), 3);
    std::map<QString, QTableWidgetItem*> rows;
    for (int r = 0; r < acc->rowCount(); ++r) rows[acc->item(r, 0)->text()] = acc->item(r, col);
    QCOMPARE(rows.at(QStringLiteral("baseline"))->text(), QStringLiteral("all-MiniLM-L6-v2"));
    QCOMPARE(rows.at(QStringLiteral("baseline"))->toolTip(),
             QStringLiteral("../models/all-MiniLM-L6-v2/"));
    QCOMPARE(rows.at(QStringLiteral("skywork"))->text(), QStringLiteral("Skywork-RM"));
    QCOMPARE(rows.at(QStringLiteral("more"))->text(), QStringLiteral("own mini"));
  }

  // In a browser of its usual width, with a backbone shown, names are not cut ("sm…"): every
  // column is as wide as its text, and the tree scrolls sideways instead.
  void runNamesKeepTheirWidthBesideTheBackbone() {
    std::vector<core::RunInfo> runs;
    for (int seed = 1; seed <= 2; ++seed) {
      core::RunInfo r = runOf("baseline", "baseline-with-lora", kHfConfig);
      r.id = seed;
      r.seed = seed;
      r.experiment = "smoke-experiment-long-name";
      r.status = core::RunStatus::Finished;
      runs.push_back(r);
    }
    ui::RunBrowser browser;
    browser.resize(300, 400);
    browser.setRuns(runs);
    browser.show();
    QVERIFY(QTest::qWaitForWindowExposed(&browser));
    auto* tree = browser.findChild<QTreeWidget*>(QStringLiteral("runTree"));
    const QFontMetrics fm(tree->font());
    QTreeWidgetItem* exp = tree->topLevelItem(0);
    QTreeWidgetItem* method = exp->child(0);
    QTreeWidgetItem* run = method->child(0);
    QCOMPARE(exp->text(0), QStringLiteral("smoke-experiment-long-name"));
    const std::pair<QTreeWidgetItem*, int> rows[] = {{exp, 0}, {method, 1}, {run, 2}};
    for (const auto& [item, depth] : rows) {
      const int needed = tree->indentation() * (depth + 1) + fm.horizontalAdvance(item->text(0));
      QVERIFY2(tree->header()->sectionSize(0) >= needed,
               qPrintable(QStringLiteral("%1: %2 px for %3 px")
                              .arg(item->text(0))
                              .arg(tree->header()->sectionSize(0))
                              .arg(needed)));
    }
    QCOMPARE(run->text(3), QStringLiteral("all-MiniLM-L6-v2"));
    QVERIFY(tree->header()->sectionSize(3) >= fm.horizontalAdvance(run->text(3)));
  }
};

QTEST_MAIN(TestBackbone)
#include "tst_backbone.moc"
