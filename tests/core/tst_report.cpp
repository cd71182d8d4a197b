// The paper's tables from a store filled by hand: mean ± std over seeds, best value per column,
// parameters as % of the Baseline, and the same numbers in every format; `report --by capability`
// from evaluated pairs with known capability labels; `report --by seed` pairs each seed with the
// Baseline's.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "common/errors.h"
#include "report/report.h"
#include "store/runstore.h"

using namespace rr::core;

class TestReport : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::string m_db, m_capDb;
  std::int64_t m_rodosSeed1 = 0;

  // Pairs p1-p3 have a say on "style" (p3 with -1), p4 and p5 label it 0 and p4 has a say on
  // "safety"; "tone" is 0 everywhere; p6 has no labels. Examples: pair id -> ranked right.
  void fillCapabilityStore() {
    m_capDb = (m_dir.path() + "/caps.db").toStdString();
    RunWriter w(m_capDb);
    std::vector<PreferencePair> pairs;
    const std::vector<std::map<std::string, int>> labels = {
        {{"style", 1}, {"safety", 0}, {"tone", 0}},  {{"style", 1}, {"safety", 0}, {"tone", 0}},
        {{"style", -1}, {"safety", 0}, {"tone", 0}}, {{"style", 0}, {"safety", 1}, {"tone", 0}},
        {{"style", 0}, {"safety", 0}, {"tone", 0}},  {}};
    for (size_t i = 0; i < labels.size(); ++i) {
      PreferencePair p;
      p.id = "p" + std::to_string(i + 1);
      p.domain = "d";
      p.prompt = p.chosen = p.rejected = p.id;
      p.split = "test";
      p.capabilities = labels[i];
      pairs.push_back(p);
    }
    w.addPairs(pairs);
    auto add = [&](const char* method, int seed, const std::map<std::string, bool>& correct,
                   RunStatus status = RunStatus::Finished) {
      const auto id = w.createRun("exp", method, method, seed, "{}");
      w.addResults({{id, "d", "accuracy", 0.5}, {id, "*", "accuracy", 0.5}});
      std::vector<ExampleRow> rows;
      for (const auto& [pair, ok] : correct)
        rows.push_back({id, pair, "d", ok ? 1.0 : 0.0, 0.5, "", ok, ""});
      w.addExamples(rows);
      w.setStatus(id, status);
      return id;
    };
    add("baseline", 1,
        {{"p1", true}, {"p2", true}, {"p3", false}, {"p4", false}, {"p5", false}, {"p6", false}});
    add("baseline", 2,
        {{"p1", true}, {"p2", true}, {"p3", true}, {"p4", true}, {"p5", false}, {"p6", false}});
    m_rodosSeed1 = add(
        "rodos", 1,
        {{"p1", false}, {"p2", false}, {"p3", false}, {"p4", true}, {"p5", true}, {"p6", true}});
    add("rodos", 2,
        {{"p1", true}, {"p2", false}, {"p3", false}, {"p4", true}, {"p5", true}, {"p6", true}});
    add("rodos", 3, {{"p1", true}, {"p2", true}, {"p3", true}}, RunStatus::Failed);
    add("bare", 1, {{"p6", true}});
  }

  static QString byError(const std::string& by) {
    try {
      checkReportBreakdown(by);
    } catch (const InputError& e) {
      return QString::fromStdString(e.what());
    }
    return {};
  }

  // Pairs with known character lengths (q4's chosen "éé" is 2 characters, 4 bytes) and two runs
  // of one experiment: A ranks q1, q3, q4 right (q5 a tie), B ranks q1, q2 right.
  std::string m_evalDb;
  std::int64_t m_runA = 0, m_runB = 0;
  void fillEvalStore() {
    m_evalDb = (m_dir.path() + "/eval.db").toStdString();
    RunWriter w(m_evalDb);
    const struct {
      const char *id, *domain, *chosen, *rejected;
    } texts[] = {{"q1", "a", "xxxx", "yy"},
                 {"q2", "a", "x", "yyy"},
                 {"q3", "b", "xxx", "yy"},
                 {"q4", "b", "\u00e9\u00e9", "yyy"},
                 {"q5", "b", "xxxxx", "y"}};
    std::vector<PreferencePair> pairs;
    for (const auto& t : texts) {
      PreferencePair p;
      p.id = t.id;
      p.domain = t.domain;
      p.prompt = "p";
      p.chosen = t.chosen;
      p.rejected = t.rejected;
      p.split = "test";
      pairs.push_back(p);
    }
    w.addPairs(pairs);
    auto add = [&](const char* method, const std::vector<std::pair<double, double>>& rewards) {
      const auto id = w.createRun("exp", method, method, 1, "{}");
      std::vector<ExampleRow> rows;
      std::map<std::string, std::pair<int, int>> perDomain;
      for (size_t i = 0; i < rewards.size(); ++i) {
        const bool ok = rewards[i].first > rewards[i].second;
        rows.push_back({id, texts[i].id, texts[i].domain, rewards[i].first, rewards[i].second, "",
                        ok, ""});
        perDomain[texts[i].domain].first += ok;
        perDomain[texts[i].domain].second += 1;
      }
      w.addExamples(rows);
      double mean = 0;
      for (const auto& [d, c] : perDomain) {
        const double a = static_cast<double>(c.first) / c.second;
        w.addResults({{id, d, "accuracy", a}});
        mean += a / 2;
      }
      w.addResults({{id, "*", "accuracy", mean}});
      w.setStatus(id, RunStatus::Finished);
      return id;
    };
    m_runA = add("baseline", {{1, 0}, {0, 1}, {std::log(3.0), 0}, {2, 1}, {0, 0}});
    m_runB = add("rodos", {{1, 0}, {2, 1}, {0, 1}, {0, 1}, {0, 0}});
    // A's validation pairs, all of domain a: margins 1, 1, -1 (B has none).
    w.addValidationExamples({{m_runA, "v1", "a", 1, 0, "", true, ""},
                             {m_runA, "v2", "a", 2, 1, "", true, ""},
                             {m_runA, "v3", "a", 0, 1, "", false, ""}});
  }

 private Q_SLOTS:
  void initTestCase() {
    m_db = (m_dir.path() + "/r.db").toStdString();
    RunWriter w(m_db);
    auto add = [&](const char* method, int seed, double a, double b, double params, double secs) {
      const auto id = w.createRun("exp", method, method, seed, "{}");
      w.addResults({{id, "a", "accuracy", a},
                    {id, "b", "accuracy", b},
                    {id, "*", "accuracy", (a + b) / 2},
                    {id, "*", "params_total", params},
                    {id, "*", "train_seconds", secs}});
      w.addComponent({id, "router", 10, 10, secs / 4});
      w.addComponent({id, "rm:a", 20, 20, secs / 2});
      w.setStatus(id, RunStatus::Finished);
      return id;
    };
    add("baseline", 1, 0.6, 0.8, 1000, 10);
    add("baseline", 2, 0.8, 0.8, 1000, 12);
    add("rodos", 1, 0.9, 0.7, 3000, 20);
    const auto failed = w.createRun("exp", "rodos", "rodos", 2, "{}");
    w.setStatus(failed, RunStatus::Failed, "boom");
    fillCapabilityStore();
    fillEvalStore();
  }

  void aggregatesFinishedRunsOverSeeds() {
    auto store = RunStore::open(m_db);
    Report r = buildReport(*store);
    QCOMPARE(r.domains, (std::vector<std::string>{"a", "b"}));
    QCOMPARE(r.methods.size(), size_t(2));
    const MethodSummary& base = r.methods[0];
    QCOMPARE(base.runIds.size(), size_t(2));
    QCOMPARE(base.accuracy.at("a").mean, 0.7);
    QVERIFY(std::abs(base.accuracy.at("a").std - std::sqrt(0.02)) < 1e-12);  // sample std
    QCOMPARE(base.accuracy.at("b").std, 0.0);
    QCOMPARE(base.metrics.at("train_seconds").mean, 11.0);
    QCOMPARE(base.paramsPctOfBaseline, 100.0);
    const MethodSummary& rodos = r.methods[1];
    QCOMPARE(rodos.runIds.size(), size_t(1));  // the failed seed is left out
    QCOMPARE(rodos.paramsPctOfBaseline, 300.0);
    QCOMPARE(rodos.componentSeconds.at("rm:a").mean, 10.0);
  }

  void markdownMarksBestPerColumn() {
    auto store = RunStore::open(m_db);
    const QString md = QString::fromStdString(formatReport(buildReport(*store), "md"));
    QVERIFY2(md.contains("**0.9000 ± 0.0000**"), qPrintable(md));  // rodos wins column a
    QVERIFY2(md.contains("**0.8000 ± 0.0000**"), qPrintable(md));  // baseline wins column b
    QVERIFY(md.contains("Train seconds per component"));
    const QString tex = QString::fromStdString(formatReport(buildReport(*store), "latex"));
    QVERIFY(tex.startsWith("\\begin{tabular}"));
    QVERIFY(tex.contains("\\textbf{0.9000 $\\pm$ 0.0000}"));
  }

  void jsonCarriesTheSameNumbers() {
    auto store = RunStore::open(m_db);
    const auto j = QJsonDocument::fromJson(
                       QByteArray::fromStdString(formatReport(buildReport(*store), "json")))
                       .object();
    const auto m = j["methods"].toArray();
    QCOMPARE(m.size(), 2);
    QCOMPARE(m[0].toObject()["accuracy"].toObject()["a"].toObject()["mean"].toDouble(), 0.7);
    QCOMPARE(m[1].toObject()["params_pct_of_baseline"].toDouble(), 300.0);
    QCOMPARE(m[0].toObject()["accuracy"].toObject()["mean"].toObject()["n"].toInt(), 2);
  }

  void capabilityCountsSkipLabelZero() {
    auto store = RunStore::open(m_capDb);
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> got;
    for (const auto& c : store->capabilityCounts({m_rodosSeed1}))
      got[c.capability] = {c.pairs, c.correct};
    QCOMPARE(got.size(), size_t(3));
    QCOMPARE(got["style"], std::make_pair(std::int64_t(3), std::int64_t(0)));  // p4, p5 left out
    QCOMPARE(got["safety"], std::make_pair(std::int64_t(1), std::int64_t(1)));
    QCOMPARE(got["tone"], std::make_pair(std::int64_t(0), std::int64_t(0)));
  }

  void capabilityAccuracyOverSeeds() {
    auto store = RunStore::open(m_capDb);
    const Report r = buildReport(*store, {}, "capability");
    QCOMPARE(r.by, std::string("capability"));
    QCOMPARE(r.capabilities, (std::vector<std::string>{"safety", "style", "tone"}));
    QCOMPARE(r.methods.size(), size_t(3));
    const MethodSummary& base = r.methods[0];
    QVERIFY(std::abs(base.capabilityAccuracy.at("style").mean - 5.0 / 6) < 1e-12);  // 2/3, 3/3
    QVERIFY(std::abs(base.capabilityAccuracy.at("style").std - std::sqrt(1.0 / 18)) < 1e-12);
    QCOMPARE(base.capabilityAccuracy.at("style").n, 2);
    QCOMPARE(base.capabilityPairs.at("style").mean, 3.0);
    QCOMPARE(base.capabilityAccuracy.at("safety").mean, 0.5);
    const MethodSummary& rodos = r.methods[1];
    QCOMPARE(rodos.runIds.size(), size_t(2));  // the failed seed is left out
    QVERIFY(std::abs(rodos.capabilityAccuracy.at("style").mean - 1.0 / 6) < 1e-12);  // 0/3, 1/3
    QCOMPARE(rodos.capabilityAccuracy.at("safety").mean, 1.0);
    QCOMPARE(rodos.capabilityPairs.at("safety").mean, 1.0);
    QVERIFY(!rodos.capabilityAccuracy.count("tone"));  // no pair has a say on it
    QCOMPARE(rodos.capabilityPairs.at("tone").mean, 0.0);
    const MethodSummary& bare = r.methods[2];  // evaluated only on the unlabelled pair
    QVERIFY(bare.capabilityAccuracy.empty());
    QVERIFY(bare.capabilityPairs.empty());
  }

  void capabilityTableInEveryFormat() {
    auto store = RunStore::open(m_capDb);
    const Report r = buildReport(*store, {}, "capability");
    const QString md = QString::fromStdString(formatReport(r, "md"));
    QVERIFY2(md.startsWith("| method | seeds | safety | style | tone |\n"), qPrintable(md));
    QVERIFY2(
        md.contains("| baseline | 2 | 0.5000 ± 0.7071 (1) | **0.8333 ± 0.2357** (3) | - (0) |"),
        qPrintable(md));
    QVERIFY2(md.contains("| rodos | 2 | **1.0000 ± 0.0000** (1) | 0.1667 ± 0.2357 (3) | - (0) |"),
             qPrintable(md));
    QVERIFY2(md.contains("| bare | 1 | - | - | - |"), qPrintable(md));
    QVERIFY2(md.contains("No evaluated pair with a non-zero capability label for: bare.\n"),
             qPrintable(md));
    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY(tex.startsWith("\\begin{tabular}{lrrrr}"));
    QVERIFY2(tex.contains("\\textbf{0.8333 $\\pm$ 0.2357} (3)"), qPrintable(tex));
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.contains("exp,baseline,baseline,2,style,accuracy,0.8333333333,0.2357022604\n"),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,rodos,rodos,2,style,pairs,3,0\n"), qPrintable(csv));
    QVERIFY(!csv.contains(",bare,"));
    const auto j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    QCOMPARE(j["by"].toString(), QString("capability"));
    QCOMPARE(j["capabilities"].toArray().size(), 3);
    const auto m = j["methods"].toArray();
    const auto style = m[0].toObject()["capabilities"].toObject()["style"].toObject();
    QVERIFY(std::abs(style["mean"].toDouble() - 5.0 / 6) < 1e-12);
    QCOMPARE(style["pairs"].toDouble(), 3.0);
    QCOMPARE(style["n"].toInt(), 2);
    QCOMPARE(m[1].toObject()["capabilities"].toObject()["tone"].toObject()["n"].toInt(), 0);
    QVERIFY(m[2].toObject()["capabilities"].toObject().isEmpty());
  }

  void mainTableLeavesCapabilitiesOut() {
    auto store = RunStore::open(m_capDb);
    const Report r = buildReport(*store);
    QVERIFY(r.capabilities.empty());
    QVERIFY(r.methods[0].capabilityAccuracy.empty());
    QVERIFY(!QString::fromStdString(formatReport(r, "md")).contains("style"));
  }

  void storeWithoutLabelsGetsANote() {
    auto store = RunStore::open(m_db);
    const Report r = buildReport(*store, {}, "capability");
    QCOMPARE(r.methods.size(), size_t(2));
    QCOMPARE(formatReport(r, "md"),
             std::string("No evaluated pair of these runs carries a capability label.\n"));
    QCOMPARE(formatReport(r, "csv"),
             std::string("experiment,method,method_name,seeds,column,metric,mean,std\n"));
  }

  void seedBreakdownPairsWithTheBaseline() {
    const std::string db = (m_dir.path() + "/seeds.db").toStdString();
    {
      RunWriter w(db);
      auto add = [&](const char* exp, const char* method, int seed, double mean,
                     RunStatus status = RunStatus::Finished) {
        const auto id = w.createRun(exp, method, method, seed, "{}");
        w.addResults({{id, "a", "accuracy", mean}, {id, "*", "accuracy", mean}});
        w.setStatus(id, status);
      };
      add("e", "baseline", 1, 0.80);
      add("e", "baseline", 2, 0.70);
      add("e", "baseline", 3, 0.90);
      add("e", "arliss", 1, 0.82);
      add("e", "arliss", 2, 0.74);
      add("e", "arliss", 2, 0.10, RunStatus::Failed);  // left out
      add("e", "arliss", 3, 0.89);
      add("e", "arliss", 4, 0.95);  // no Baseline on seed 4: not paired
      add("f", "rodos", 1, 0.90);   // no Baseline in its experiment
    }
    auto store = RunStore::open(db);
    const Report r = buildReport(*store, {}, "seed");
    QCOMPARE(r.seeds, (std::vector<int>{1, 2, 3, 4}));
    const MethodSummary& arliss = r.methods[1];
    QCOMPARE(arliss.seedAccuracy.size(), size_t(4));
    QCOMPARE(arliss.seedAccuracy.at(2), 0.74);
    QCOMPARE(arliss.vsBaseline.n, 3);
    QVERIFY(std::abs(arliss.vsBaseline.mean - 0.05 / 3) < 1e-12);
    QVERIFY(std::abs(arliss.vsBaseline.std - 0.0251661148) < 1e-9);
    QCOMPARE(arliss.aheadOfBaseline, 2);
    QCOMPARE(r.methods[2].vsBaseline.n, 0);

    const QString md = QString::fromStdString(formatReport(r, "md"));
    QVERIFY2(md.startsWith("| method | seed 1 | seed 2 | seed 3 | seed 4 | mean | vs Baseline, "
                           "paired | ahead on |\n|---|---:|"),
             qPrintable(md));
    QVERIFY2(md.contains("| baseline | 0.8000 | 0.7000 | **0.9000** | - | 0.8000 ± 0.1000 | - | - |"),
             qPrintable(md));
    QVERIFY2(md.contains("| arliss | 0.8200 | **0.7400** | 0.8900 | **0.9500** | 0.8500 ± "
                         "0.0906 | +0.0167 ± 0.0252 | 2/3 |"),
             qPrintable(md));
    QVERIFY2(md.contains("| rodos | **0.9000** | - | - | - | 0.9000 ± 0.0000 | - | - |"),
             qPrintable(md));
    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY2(tex.startsWith("\\begin{tabular}{lrrrrrrr}"), qPrintable(tex));
    QVERIFY2(tex.contains("+0.0167 $\\pm$ 0.0252 & 2/3 \\\\"), qPrintable(tex));
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.contains("e,arliss,arliss,1,seed 4,accuracy,0.95,0\n"), qPrintable(csv));
    QVERIFY2(csv.contains("e,arliss,arliss,3,*,ahead_of_baseline,2,0\n"), qPrintable(csv));
    QVERIFY2(csv.contains("e,arliss,arliss,3,*,vs_baseline,0.01666666667,0.02516611478\n"),
             qPrintable(csv));
    QVERIFY(!csv.contains("rodos,rodos,1,*,vs_baseline"));
    const auto j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    QCOMPARE(j["by"].toString(), QString("seed"));
    const auto m = j["methods"].toArray();
    QCOMPARE(m[1].toObject()["seed_accuracy"].toObject()["3"].toDouble(), 0.89);
    QCOMPARE(m[1].toObject()["vs_baseline"].toObject()["ahead"].toInt(), 2);
    QCOMPARE(m[1].toObject()["vs_baseline"].toObject()["n"].toInt(), 3);
    QVERIFY(!m[0].toObject().contains("vs_baseline"));
    QVERIFY(!m[2].toObject().contains("vs_baseline"));
  }

  // Issue 14, item 11: hostile names are escaped per format, in names and column heads.
  void hostileNamesAreEscapedPerFormat() {
    Report r;
    r.domains = {"a|b", "x\ny"};
    MethodSummary m;
    m.experiment = "e,1";
    m.method = "baseline";
    m.methodName = "\\input{/etc/hostname}";
    m.runIds = {1};
    m.seeds = {1};
    m.accuracy["a|b"] = {0.5, 0, 1};
    m.accuracy["x\ny"] = {0.75, 0, 1};
    m.accuracy["*"] = {0.625, 0, 1};
    m.accuracy["\"q\",r"] = {0.25, 0, 1};
    r.domains.push_back("\"q\",r");
    std::sort(r.domains.begin(), r.domains.end());
    r.methods.push_back(m);

    const QString md = QString::fromStdString(formatReport(r, "md"));
    const QStringList lines = md.split('\n');
    // Head, rule and one row: the same number of unescaped cell separators in each.
    auto cells = [](const QString& line) {
      int n = 0;
      for (int i = 0; i < line.size(); ++i)
        if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++n;
      return n;
    };
    QVERIFY2(lines.size() >= 3, qPrintable(md));
    QCOMPARE(cells(lines[0]), cells(lines[1]));
    QCOMPARE(cells(lines[2]), cells(lines[1]));
    QVERIFY2(lines[0].contains("a\\|b") && lines[0].contains("x<br>y"), qPrintable(lines[0]));
    QVERIFY2(lines[2].startsWith("| \\\\input{/etc/hostname} |"), qPrintable(lines[2]));

    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY2(!tex.contains("\\input"), qPrintable(tex));
    QVERIFY2(tex.contains("\\textbackslash{}input\\{/etc/hostname\\}"), qPrintable(tex));
    QVERIFY2(tex.contains("a\\textbar{}b") && tex.contains("x y"), qPrintable(tex));
    for (const char* special : {"~", "^"}) {
      r.methods[0].methodName = std::string("m") + special;
      const QString t = QString::fromStdString(formatReport(r, "latex"));
      QVERIFY2(
          t.contains(special == std::string("~") ? "m\\textasciitilde{}" : "m\\textasciicircum{}"),
          qPrintable(t));
    }
    r.methods[0].methodName = "\\input{/etc/hostname}";

    // RFC 4180: the fields with a comma, quote or line break are quoted, quotes doubled.
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.contains("\"e,1\",baseline,\\input{/etc/hostname},1,\"\"\"q\"\",r\",accuracy,"),
             qPrintable(csv));
    QVERIFY2(csv.contains(",1,\"x\ny\",accuracy,0.75,"), qPrintable(csv));
    QVERIFY2(csv.contains(",1,a|b,accuracy,0.5,"), qPrintable(csv));

    // JSON with invalid UTF-8 in a name is still written (the bad bytes replaced).
    r.methods[0].methodName = "bad\xff";
    const QJsonObject j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    QCOMPARE(j["methods"].toArray()[0].toObject()["name"].toString(), QString("bad\uFFFD"));
  }

  void unknownByIsAnInputError() {
    QCOMPARE(byError("capability"), QString());
    QCOMPARE(byError("seed"), QString());
    QCOMPARE(byError("domain"), QString("report: --by must be capability or seed (got 'domain')"));
    auto store = RunStore::open(m_capDb);
    QVERIFY_THROWS_EXCEPTION(InputError, buildReport(*store, {}, "capabilities"));
  }

  void lengthHeuristicRowInTheTable() {
    auto store = RunStore::open(m_evalDb, true);
    const Report r = buildReport(*store);
    // a: q1 right, q2 wrong; b: q3, q5 right, q4 wrong ("éé" has 2 characters, not 4 bytes).
    QCOMPARE(r.lengthHeuristic.at("exp").at("a"), 0.5);
    QVERIFY(std::abs(r.lengthHeuristic.at("exp").at("b") - 2.0 / 3) < 1e-12);
    QVERIFY(std::abs(r.lengthHeuristic.at("exp").at("*") - 7.0 / 12) < 1e-12);
    const QString md = QString::fromStdString(formatReport(r, "md"));
    QVERIFY2(md.contains("| longer response wins | - | 0.5000 | 0.6667 | 0.5833 | - | - | - | - | "
                         "- | - |\n"),
             qPrintable(md));
    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY2(tex.contains("longer response wins & - & 0.5000 & 0.6667 & 0.5833 & -"),
             qPrintable(tex));
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.contains("exp,length-heuristic,longer response wins,,b,accuracy,0.6666666667,0\n"),
             qPrintable(csv));
    const auto j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    QCOMPARE(j["length_heuristic"].toObject()["exp"].toObject()["a"].toDouble(), 0.5);
    // The store without pair texts has no reference row.
    auto plain = RunStore::open(m_db, true);
    QVERIFY(!QString::fromStdString(formatReport(buildReport(*plain), "md"))
                 .contains("longer response wins"));
  }

  void sectionFigures() {
    auto store = RunStore::open(m_evalDb, true);
    ReportOptions o;
    o.lengthBias = o.calibration = o.intervals = o.rewardStats = true;
    o.resamples = 200;
    o.seed = 3;
    const Report r = buildReport(*store, {}, "", o);
    QCOMPARE(r.runs.size(), size_t(2));
    const RunFigures& a = r.runs[0];
    QCOMPARE(a.runId, m_runA);
    QCOMPARE(a.domains, (std::vector<std::string>{"a", "b", "*"}));
    // All five pairs: chosen longer in q1, q3, q5 (A right on q1, q3); not longer q2, q4 (q4).
    const LengthBias& lb = a.lengthBias.at("*");
    QCOMPARE(lb.heuristicAccuracy, 0.6);
    QVERIFY(std::abs(lb.accuracyChosenLonger - 2.0 / 3) < 1e-12);
    QCOMPARE(lb.accuracyChosenNotLonger, 0.5);
    // Domain a: margins 1 and -1, so ECE = sigmoid(1) - 1/2.
    const double s1 = 1 / (1 + std::exp(-1.0));
    QVERIFY(std::abs(a.calibration.at("a").ece - (s1 - 0.5)) < 1e-12);
    QVERIFY(std::abs(a.calibration.at("a").brier - ((1 - s1) * (1 - s1) + s1 * s1) / 2) < 1e-12);
    // T fitted on A's validation margins 1, 1, -1: least log loss where sigmoid(1 / T) = 2/3,
    // T = 1 / ln 2; the test margins 1 and -1 then get p = 2/3 and 1/3: Brier (1/9 + 4/9) / 2,
    // log loss (ln 3/2 + ln 3) / 2. Domain b has no validation pairs: cross-fit; all pairs use
    // all validation pairs; B has none: cross-fit.
    QCOMPARE(a.temperatureSource.at("a"), std::string("validation"));
    QCOMPARE(a.temperatureSource.at("b"), std::string("cross-fit"));
    QCOMPARE(a.temperatureSource.at("*"), std::string("validation"));
    QCOMPARE(a.validationPairs.at("a"), std::int64_t{3});
    QVERIFY(std::abs(a.calibrationFitted.at("a").temperature - 1 / std::log(2.0)) < 1e-6);
    QVERIFY(std::abs(a.calibrationFitted.at("a").brier - 5.0 / 18) < 1e-6);
    QVERIFY(std::abs(a.calibrationFitted.at("a").logLoss - std::log(4.5) / 2) < 1e-6);
    QVERIFY(std::isnan(a.foldTemperatures.at("a").first));
    QVERIFY(std::isnan(a.calibrationFitted.at("b").temperature));
    QVERIFY(!std::isnan(a.foldTemperatures.at("b").first));
    QCOMPARE(r.runs[1].temperatureSource.at("*"), std::string("cross-fit"));
    // Rewards 0 x5, 1 x3, ln 3, 2.
    QVERIFY(std::abs(a.rewards.at("*").mean - (5 + std::log(3.0)) / 10) < 1e-12);
    QCOMPARE(a.rewards.at("*").median, 0.5);
    QCOMPARE(a.rewards.at("*").count, std::int64_t{10});
    // B: domain a all right, b all wrong: every stratified resample gives 1, 0 and 0.5.
    const RunFigures& b = r.runs[1];
    QCOMPARE(b.interval.at("a").low, 1.0);
    QCOMPARE(b.interval.at("b").high, 0.0);
    QCOMPARE(b.interval.at("*").low, 0.5);
    QCOMPARE(b.interval.at("*").high, 0.5);

    const QString md = QString::fromStdString(formatReport(r, "md"));
    for (const char* h : {"### Length bias", "### Calibration", "### Accuracy intervals",
                          "### Rewards", "200 resamples", "seed 3"})
      QVERIFY2(md.contains(h), qPrintable(md));
    QVERIFY2(md.contains("| 2 | rodos | 1 | mean over domains | 5 | 0.5000 | 0.5000 | 0.5000 |"),
             qPrintable(md));
    QVERIFY2(md.contains("| ECE | Brier | log loss | T fitted on | T | ECE @T |"), qPrintable(md));
    QVERIFY2(md.contains(QString("| 1 | baseline | 1 | a | 2 | %1 | %2 | %3 | 3 validation pairs | "
                                 "1.443 | ")
                             .arg(s1 - 0.5, 0, 'f', 4)
                             .arg(((1 - s1) * (1 - s1) + s1 * s1) / 2, 0, 'f', 4)
                             .arg(-std::log(s1) / 2 - std::log(1 - s1) / 2, 0, 'f', 4)),
             qPrintable(md));
    QVERIFY2(md.contains("| 1 | baseline | 1 | b | 3 |"), qPrintable(md));
    QVERIFY2(md.contains("| cross-fit | "), qPrintable(md));
    QVERIFY2(md.contains("| 1 | baseline | 1 | all pairs | 5 | 0.6000 | 0.6000 | 0.6667 | "
                         "0.5000 | 3 |"),
             qPrintable(md));
    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY2(tex.contains("% Calibration\n\\begin{tabular}"), qPrintable(tex));
    QVERIFY2(tex.contains("& 3 validation pairs & 1.443 &"), qPrintable(tex));
    QVERIFY2(tex.contains("2 & rodos & 1 & b & 3 & 0.0000 & 0.0000 & 0.0000 \\\\"),
             qPrintable(tex));
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.startsWith("experiment,method,method_name,seeds,column,metric,mean,std,run\n"),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,*,length_heuristic_accuracy,0.6,0," +
                          QString::number(m_runA) + "\n"),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,rodos,rodos,1,*,accuracy_mean_over_domains_ci_low,0.5,0," +
                          QString::number(m_runB)),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,a,temperature_validation,1.442695"),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,a,validation_pairs,3,0,"), qPrintable(csv));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,b,temperature_fold0,"), qPrintable(csv));
    QVERIFY2(!csv.contains("exp,baseline,baseline,1,a,temperature_fold0,"), qPrintable(csv));
    const auto j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    const auto runs = j["runs"].toArray();
    QCOMPARE(runs.size(), 2);
    const auto all = runs[0].toObject()["domains"].toObject()["*"].toObject();
    QCOMPARE(all["length_bias"].toObject()["heuristic_accuracy"].toDouble(), 0.6);
    QCOMPARE(all["rewards"].toObject()["median"].toDouble(), 0.5);
    const auto fitted = all["calibration_fitted"].toObject();
    QCOMPARE(fitted["temperature_source"].toString(), QString("validation"));
    QCOMPARE(fitted["validation_pairs"].toInt(), 3);
    QVERIFY(std::abs(fitted["temperature"].toDouble() - 1 / std::log(2.0)) < 1e-6);
    const auto fittedB = runs[1].toObject()["domains"].toObject()["*"].toObject()
                             ["calibration_fitted"].toObject();
    QCOMPARE(fittedB["temperature_source"].toString(), QString("cross-fit"));
    QVERIFY(fittedB["fold_temperatures"].toArray().size() == 2);
    QCOMPARE(runs[1].toObject()["domains"].toObject()["*"].toObject()["accuracy_interval"]
                 .toObject()["low"]
                 .toDouble(),
             0.5);
  }

  // Issue 25, item 10: the whole run's accuracy beside the "longer response wins" rule is of one
  // kind, the mean over domains of the main table, in every format; the figures that pool every
  // pair stay apart and say so.
  void wholeRunFiguresSayWhichKind() {
    auto store = RunStore::open(m_evalDb, true);
    ReportOptions o;
    o.lengthBias = o.intervals = true;
    o.resamples = 50;
    const Report r = buildReport(*store, {}, "", o);
    const RunFigures& a = r.runs[0];
    QCOMPARE(a.runId, m_runA);
    // A: a 1 of 2, b 2 of 3; the rule: a 1 of 2, b 2 of 3. Pooled both are 3 of 5.
    QVERIFY(std::abs(a.meanAccuracy - 7.0 / 12) < 1e-12);
    QVERIFY(std::abs(a.meanHeuristicAccuracy - 7.0 / 12) < 1e-12);
    QCOMPARE(a.meanHeuristicAccuracy, r.lengthHeuristic.at("exp").at("*"));
    QCOMPARE(a.meanAccuracy, a.interval.at("*").estimate);
    QCOMPARE(a.lengthBias.at("*").heuristicAccuracy, 0.6);

    const QString md = QString::fromStdString(formatReport(r, "md"));
    QVERIFY2(md.contains("| 1 | baseline | 1 | all pairs | 5 | 0.6000 | 0.6000 |"), qPrintable(md));
    QVERIFY2(md.contains("| 1 | baseline | 1 | mean over domains | 5 | 0.5833 | 0.5833 |  |"),
             qPrintable(md));
    QVERIFY2(md.contains("mean over domains: accuracy and longer wins averaged"), qPrintable(md));
    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY2(tex.contains("1 & baseline & 1 & mean over domains & 5 & 0.5833 & 0.5833 &"),
             qPrintable(tex));
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    const QString id = QString::number(m_runA);
    QVERIFY2(csv.contains("exp,baseline,baseline,1,*,length_heuristic_accuracy,0.6,0," + id + "\n"),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,*,length_heuristic_accuracy_mean_over_domains,"
                          "0.5833333333,0," +
                          id + "\n"),
             qPrintable(csv));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,*,accuracy_mean_over_domains,0.5833333333,0," +
                          id + "\n"),
             qPrintable(csv));
    // No "*" row of the run calls the mean of the domains plain accuracy.
    for (const QString& line : csv.split('\n'))
      if (line.endsWith(',' + id))
        QVERIFY2(!line.contains(",*,accuracy,") && !line.contains(",*,accuracy_ci_low,"),
                 qPrintable(line));
    QVERIFY2(csv.contains("exp,baseline,baseline,1,a,accuracy,0.5,0," + id + "\n"),
             qPrintable(csv));
    const auto j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    const auto all = j["runs"].toArray()[0].toObject()["domains"].toObject()["*"].toObject();
    QCOMPARE(all["accuracy"].toDouble(), 0.6);
    QVERIFY(std::abs(all["accuracy_mean_over_domains"].toDouble() - 7.0 / 12) < 1e-12);
    QVERIFY(
        std::abs(all["length_bias"].toObject()["heuristic_accuracy_mean_over_domains"].toDouble() -
                 7.0 / 12) < 1e-12);
    QCOMPARE(all["accuracy_interval"].toObject()["of"].toString(), QString("mean over domains"));
  }

  void pairedTestBetweenRuns() {
    auto store = RunStore::open(m_evalDb, true);
    ReportOptions o;
    o.compare = {m_runA, m_runB};
    const Report r = buildReport(*store, {}, "", o);
    QCOMPARE(r.comparisons.size(), size_t(1));
    const McNemar& t = r.comparisons[0].test;
    QCOMPARE(t.pairs, std::int64_t{5});
    QCOMPARE(t.onlyA, std::int64_t{2});  // q3, q4
    QCOMPARE(t.onlyB, std::int64_t{1});  // q2
    QCOMPARE(t.pValue, 1.0);
    const QString md = QString::fromStdString(formatReport(r, "md"));
    QVERIFY2(md.contains("| 1 baseline | 2 rodos | 5 | 0.6000 | 0.4000 | 2 | 1 | 1.0000 |"),
             qPrintable(md));
    const auto j =
        QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json"))).object();
    QCOMPARE(j["comparisons"].toArray()[0].toObject()["only_a"].toInt(), 2);
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.contains(",,,5,run 1 vs run 2,mcnemar_p,1,0,1\n"), qPrintable(csv));
    // A run that does not exist, or runs without a shared pair: one line each.
    o.compare = {m_runA, 99};
    try {
      buildReport(*store, {}, "", o);
      QFAIL("no error");
    } catch (const InputError& e) {
      QCOMPARE(QString(e.what()),
               QString("report: --compare: run 99 does not exist in ") +
                   QString::fromStdString(m_evalDb));
    }
    auto plain = RunStore::open(m_db, true);
    o.compare = {1, 2};
    QVERIFY_EXCEPTION_THROWN(buildReport(*plain, {}, "", o), InputError);
  }

  // Evaluations of a run (schema 4): a RewardBench v1 file with a tie, and a RewardBench 2 one.
  void rewardBenchScoresOfEvaluations() {
    const std::string db = (m_dir.path() + "/rb.db").toStdString();
    std::int64_t run = 0;
    {
      RunWriter w(db);
      run = w.createRun("exp", "baseline", "baseline", 1, "{}");
      w.setStatus(run, RunStatus::Finished);
      auto pairOf = [](const std::string& subset, const std::string& c, const std::string& r,
                       const std::string& group = "") {
        PreferencePair p;
        p.domain = subset;
        p.prompt = "p" + group;
        p.chosen = c;
        p.rejected = r;
        p.split = "test";
        p.group = group;
        p.id = makePairId(p.domain, p.prompt, p.chosen, p.rejected);
        return p;
      };
      auto rowsOf = [&](const std::vector<PreferencePair>& pairs,
                        const std::vector<std::pair<double, double>>& rewards) {
        std::vector<EvaluationExample> rows;
        for (size_t i = 0; i < pairs.size(); ++i)
          rows.push_back({{run, pairs[i].id, pairs[i].domain, rewards[i].first,
                           rewards[i].second, "", rewards[i].first > rewards[i].second, ""},
                          pairs[i].group});
        return rows;
      };
      // hep-go 1/2, alpacaeval-easy 1/1, mt-bench-easy 0/1 (a tie).
      const std::vector<PreferencePair> v1 = {
          pairOf("hep-go", "aa", "b"), pairOf("hep-go", "c", "dd"),
          pairOf("alpacaeval-easy", "e", "f"), pairOf("mt-bench-easy", "g", "h")};
      w.addEvaluation(run, "rb1", "rb1.jsonl", v1, rowsOf(v1, {{1, 0}, {0, 1}, {2, 1}, {1, 1}}));
      // Math: group 1 chosen highest (1), group 2 tied with one rejected (1/2); Focus: 0.
      const std::vector<PreferencePair> v2 = {
          pairOf("Math", "c1", "r1", "1"), pairOf("Math", "c1", "r2", "1"),
          pairOf("Math", "c2", "r3", "2"), pairOf("Math", "c2", "r4", "2"),
          pairOf("Focus", "c3", "r5", "3")};
      w.addEvaluation(run, "rb2", "rb2.jsonl", v2,
                      rowsOf(v2, {{2, 1}, {2, 0}, {1, 1}, {1, 0}, {0, 1}}));
      // Ties (as in tst_evalmetrics): ref:1 {3} vs {1, 2}; tied:1 {4, 3.5} vs {3, 0}; ref:2 {1}
      // vs {2}; tied:2 {1.5, 1} vs {0}; tied:3 {1, 1} vs {1}; "x9" is no Ties id (unscored).
      // Math: one prompt, chosen highest.
      const std::vector<PreferencePair> ties = {
          pairOf("Ties", "a1", "b1", "ref:1"),   pairOf("Ties", "a1", "b2", "ref:1"),
          pairOf("Ties", "t1", "u1", "tied:1"),  pairOf("Ties", "t1", "u2", "tied:1"),
          pairOf("Ties", "t2", "u1", "tied:1"),  pairOf("Ties", "t2", "u2", "tied:1"),
          pairOf("Ties", "d1", "e1", "ref:2"),   pairOf("Ties", "f1", "g1", "tied:2"),
          pairOf("Ties", "f2", "g1", "tied:2"),  pairOf("Ties", "h1", "i1", "tied:3"),
          pairOf("Ties", "h2", "i1", "tied:3"),  pairOf("Ties", "j1", "k1", "x9"),
          pairOf("Math", "m1", "n1", "m")};
      w.addEvaluation(run, "rb2ties", "ties.jsonl", ties,
                      rowsOf(ties, {{3, 1},
                                    {3, 2},
                                    {4, 3},
                                    {4, 0},
                                    {3.5, 3},
                                    {3.5, 0},
                                    {1, 2},
                                    {1.5, 0},
                                    {1, 0},
                                    {1, 1},
                                    {1, 1},
                                    {1, 0},
                                    {2, 1}}));
      try {
        w.addEvaluation(run, "rb1", "again.jsonl", v1, rowsOf(v1, {{1, 0}, {1, 0}, {1, 0}, {1, 0}}));
        QFAIL("no error");
      } catch (const InputError& e) {
        QCOMPARE(QString(e.what()), QString("run %1 already has an evaluation named 'rb1'; "
                                            "choose another --name")
                                        .arg(run));
      }
    }
    auto store = RunStore::open(db, true);
    QCOMPARE(store->schemaVersion(), kStoreSchemaVersion);
    const auto evals = store->evaluations();
    QCOMPARE(evals.size(), size_t(3));
    QCOMPARE(evals[0].pairs, std::int64_t{4});  // the refused one wrote nothing
    ReportOptions o;
    o.rewardBench = true;
    const Report r = buildReport(*store, {}, "", o);
    QCOMPARE(r.evaluations.size(), size_t(3));
    const EvaluationSummary& e1 = r.evaluations[0];
    QVERIFY(e1.rewardBenchV1);
    QCOMPARE(e1.v1.subsets.at("mt-bench-easy"), 0.0);
    QCOMPARE(e1.v1.sections.at("Chat"), 100.0 / 128);  // (1 * 100 + 0 * 28) / 128
    QCOMPARE(e1.v1.sections.at("Reasoning"), 0.5);
    QCOMPARE(e1.v1.score, (100.0 / 128 + 0.5) / 2);
    // "aa" > "b" and "c" < "dd": the length rule gets hep-go 1/2, the others 0.
    QCOMPARE(e1.lengthHeuristic, 0.5 / 3);
    const EvaluationSummary& e2 = r.evaluations[1];
    QVERIFY(e2.rewardBenchV2);
    QCOMPARE(e2.bestOfN.at("Math"), 0.75);
    QCOMPARE(e2.bestOfN.at("Focus"), 0.0);
    QCOMPARE(e2.prompts.at("Math"), std::int64_t{2});
    QCOMPARE(e2.bestOfNScore, 0.375);
    QVERIFY(!e2.hasTies);
    const EvaluationSummary& e3 = r.evaluations[2];
    QVERIFY(e3.rewardBenchV2);
    QVERIFY(e3.hasTies);
    const double tiesScore = 0.3 * 2 / 3 + 0.3 * 0.5 + 0.2 * 0.5 + 0.01 * std::tanh(-3.0) / 2;
    QCOMPARE(e3.ties.refPrompts, std::int64_t{2});
    QCOMPARE(e3.ties.tiedPrompts, std::int64_t{3});
    QVERIFY(std::abs(e3.bestOfN.at("Ties") - tiesScore) < 1e-15);
    QCOMPARE(e3.prompts.at("Ties"), std::int64_t{5});
    QCOMPARE(e3.unscoredGroups, std::int64_t{1});
    QVERIFY(std::abs(e3.bestOfNScore - (1 + tiesScore) / 2) < 1e-15);

    const auto j = QJsonDocument::fromJson(QByteArray::fromStdString(formatReport(r, "json")));
    QVERIFY(j.isArray());
    const QJsonObject j1 = j.array()[0].toObject();
    QCOMPARE(j1["run"].toInt(), static_cast<int>(run));
    QCOMPARE(j1["evaluation"].toString(), QString("rb1"));
    QCOMPARE(j1["subsets"].toObject()["hep-go"].toDouble(), 0.5);
    QCOMPARE(j1["sections"].toObject()["Reasoning"].toDouble(), 0.5);
    QVERIFY(!j1["sections"].toObject().contains("Safety"));
    QCOMPARE(j1["score"].toDouble(), (100.0 / 128 + 0.5) / 2);
    QCOMPARE(j.array()[1].toObject()["version"].toInt(), 2);
    QCOMPARE(j.array()[1].toObject()["score"].toDouble(), 0.375);
    const QJsonObject j3 = j.array()[2].toObject();
    QVERIFY(std::abs(j3["subsets"].toObject()["Ties"].toDouble() - tiesScore) < 1e-12);
    QCOMPARE(j3["ties"].toObject()["ref_accuracy"].toDouble(), 0.5);
    QCOMPARE(j3["ties"].toObject()["correctness_preferred"].toDouble(), 0.5);
    QCOMPARE(j3["ties"].toObject()["paired_prompts"].toInt(), 2);
    QCOMPARE(j3["unscored_groups"].toInt(), 1);
    const QString md = QString::fromStdString(formatReport(r, "md"));
    QVERIFY2(md.contains("| run | method | evaluation | Chat | Chat Hard | Safety | Reasoning | score |"),
             qPrintable(md));
    QVERIFY2(md.contains("| 1 | baseline | rb1 | 0.7812 | - | - | 0.5000 | 0.6406 |"), qPrintable(md));
    QVERIFY2(md.contains("| run | method | evaluation | Focus | Math | Ties | score |"),
             qPrintable(md));
    QVERIFY2(md.contains("| 1 | baseline | rb2 | 0.0000 | 0.7500 | - | 0.3750 |"), qPrintable(md));
    QVERIFY2(md.contains("| 1 | baseline | rb2ties | - | 1.0000 | 0.4450 | 0.7225 |"),
             qPrintable(md));
    QVERIFY2(md.contains("### RewardBench 2 Ties"), qPrintable(md));
    QVERIFY2(md.contains(
                 "| 1 | baseline | rb2ties | 2 | 3 | 2 | 0.5000 | 0.6667 | 0.5000 | 0.0000 | "
                 "-0.4975 | 0.4450 |"),
             qPrintable(md));
    const QString tex = QString::fromStdString(formatReport(r, "latex"));
    QVERIFY2(tex.contains("1 & baseline & rb1 & 0.7812 & - & - & 0.5000 & 0.6406 \\\\"),
             qPrintable(tex));
    const QString csv = QString::fromStdString(formatReport(r, "csv"));
    QVERIFY2(csv.contains("1,rb1,baseline,1,1,section:Chat,0.78125\n"), qPrintable(csv));
    QVERIFY2(csv.contains("1,rb2,baseline,1,2,score,0.375\n"), qPrintable(csv));
    QVERIFY2(csv.contains("1,rb2ties,baseline,1,2,ties:tied_accuracy,0.6666666667\n"),
             qPrintable(csv));
    QVERIFY2(tex.contains("1 & baseline & rb2ties & 2 & 3 & 2 & 0.5000 & 0.6667"), qPrintable(tex));
    // The plain report lists the evaluations after the table.
    const QString plain = QString::fromStdString(formatReport(buildReport(*store), "md"));
    QVERIFY2(plain.contains("| 1 | baseline | 1 | rb1 | 4 |"), qPrintable(plain));
  }
};

QTEST_GUILESS_MAIN(TestReport)
#include "tst_report.moc"
