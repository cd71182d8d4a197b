// The dataset importers, checked pair by pair against hand-written fixtures in every native
// format (tests/fixtures/import), plus the malformed-record rules.
#include <zlib.h>

#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "data/importer.h"
#include "data/jsonline.h"
#include "data/pairsio.h"

using rr::core::ImportOptions;
using rr::core::ImportSummary;
using rr::core::PreferencePair;

namespace {

using Caps = std::map<std::string, int>;

std::string fixture(const std::string& name) {
  return std::string(RR_SOURCE_DIR) + "/tests/fixtures/import/" + name;
}

ImportOptions options(const std::string& format) {
  ImportOptions o;
  o.format = format;
  return o;
}

std::vector<PreferencePair> importOne(const ImportOptions& o, const std::string& file,
                                      ImportSummary& summary) {
  return rr::core::importFiles({file}, o, summary);
}

struct Expected {
  std::string domain, prompt, chosen, rejected;
  long line;
  Caps caps = {};
};

// Every field a user sees, on one line, so that a mismatch shows the whole pair.
QString describe(const PreferencePair& p) {
  QString caps;
  for (const auto& [name, v] : p.capabilities) caps += QString("%1=%2 ").arg(name.c_str()).arg(v);
  return QString("[%1] prompt=<%2> chosen=<%3> rejected=<%4> caps={%5} by=%6 split=%7 at %8:%9:%10")
      .arg(p.domain.c_str(), p.prompt.c_str(), p.chosen.c_str(), p.rejected.c_str(), caps,
           p.capabilitySource.c_str(), p.split.c_str(), p.source.format.c_str(),
           p.source.file.c_str())
      .arg(p.source.line);
}

void checkPairs(const std::vector<PreferencePair>& got, const std::vector<Expected>& want,
                const std::string& format, const std::string& file,
                const std::string& capabilitySource = "") {
  QCOMPARE(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    PreferencePair e;
    e.domain = want[i].domain;
    e.prompt = want[i].prompt;
    e.chosen = want[i].chosen;
    e.rejected = want[i].rejected;
    e.capabilities = want[i].caps;
    e.capabilitySource = want[i].caps.empty() ? "" : capabilitySource;
    e.split = got[i].split;
    e.source = {format, file, want[i].line};
    QCOMPARE(describe(got[i]), describe(e));
    QCOMPARE(got[i].id, rr::core::makePairId(e.domain, e.prompt, e.chosen, e.rejected));
  }
}

using Counts = std::map<std::string, long>;

void checkCounts(const Counts& got, const Counts& want) {
  QStringList g, w;
  for (const auto& [k, v] : got) g << QString("%1: %2").arg(k.c_str()).arg(v);
  for (const auto& [k, v] : want) w << QString("%1: %2").arg(k.c_str()).arg(v);
  QCOMPARE(g, w);
}

std::string writeFile(const QTemporaryDir& dir, const std::string& name,
                      const std::string& content) {
  const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// The message of the InputError `f` throws.
QString errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const rr::core::InputError& e) {
    return QString::fromStdString(e.what());
  }
  return "(no InputError)";
}

const std::string H = "\n\nHuman: ", A = "\n\nAssistant:";

const std::vector<Expected> kHhPairs = {
    {"hh-rlhf", H + "What is the capital of France?" + A, " Paris.", " Lyon.", 1},
    {"hh-rlhf", H + "Hi" + A + " Hello, how can I help?" + H + "Tell me a joke." + A,
     " Sure! Here is one." + H + "(laughs)", " Sure, no.", 2},
    {"hh-rlhf", H + "Say something about labels." + A, " Human: is how transcripts mark the user.",
     "", 3},
    {"hh-rlhf", H + "Q" + A, "", " " + H + "hello?", 5},
};

const std::string kCatPrompt = "User: What is a good name for a cat?";
const std::string kUnusualPrompt =
    kCatPrompt + "\n\nAssistant: Whiskers.\n\nUser: Something more unusual?";

}  // namespace

class TestImporters : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void hhRlhf() {
    ImportSummary s;
    const auto pairs = importOne(options("hh-rlhf"), fixture("hh-rlhf.jsonl"), s);
    checkPairs(pairs, kHhPairs, "hh-rlhf", fixture("hh-rlhf.jsonl"));
    QCOMPARE(s.records, 5L);
    checkCounts(s.notUsed, {{"chosen and rejected are identical", 1}});
    checkCounts(s.pairsPerDomain, {{"hh-rlhf", 4}});
  }

  void gzipInput() {
    ImportSummary s;
    const auto pairs = importOne(options("hh-rlhf"), fixture("hh-rlhf.jsonl.gz"), s);
    checkPairs(pairs, kHhPairs, "hh-rlhf", fixture("hh-rlhf.jsonl.gz"));
  }

  void longLinesPlainAndGzip() {
    QTemporaryDir dir;
    const std::string big(300000, 'x');
    const std::string line = "{\"prompt\": \"p\", \"chosen\": \"" + big +
                             "\", \"rejected\": \"r\"}\r\n{\"prompt\": \"q\", \"chosen\": \"c\", "
                             "\"rejected\": \"" +
                             big + "y\"}";
    const std::string plain = writeFile(dir, "big.jsonl", line);
    const std::string gz = dir.filePath("big.jsonl.gz").toStdString();
    gzFile out = gzopen(gz.c_str(), "wb");
    QVERIFY(out);
    QCOMPARE(gzwrite(out, line.data(), static_cast<unsigned>(line.size())),
             static_cast<int>(line.size()));
    gzclose(out);
    for (const auto& file : {plain, gz}) {
      ImportSummary s;
      checkPairs(importOne(options("dahoas"), file, s),
                 {{"dahoas", "p", big, "r", 1}, {"dahoas", "q", "c", big + "y", 2}}, "dahoas",
                 file);
    }
  }

  void truncatedGzipIsAnError() {
    QTemporaryDir dir;
    std::ifstream in(fixture("hh-rlhf.jsonl.gz"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut = writeFile(dir, "cut.jsonl.gz", bytes.substr(0, bytes.size() / 2));
    ImportSummary s;
    try {
      importOne(options("hh-rlhf"), cut, s);
      QFAIL("a truncated .gz file was read without error");
    } catch (const rr::core::InputError& e) {
      QVERIFY2(QString(e.what()).startsWith(QString::fromStdString(cut + ":")), e.what());
      QVERIFY2(QString(e.what()).contains("cannot read"), e.what());
    }
  }

  void shp_data() {
    QTest::addColumn<double>("minRatio");  // < 0: option not given
    QTest::addColumn<int>("maxPerPost");   // 0: option not given
    QTest::addColumn<QList<int>>("lines");
    QTest::addColumn<int>("belowRatio");
    QTest::addColumn<int>("beyondMax");
    QTest::newRow("no options") << -1.0 << 0 << QList<int>{1, 2, 3, 4, 5} << 0 << 0;
    QTest::newRow("min ratio 2") << 2.0 << 0 << QList<int>{1, 3, 4} << 2 << 0;
    QTest::newRow("max 2 per post") << -1.0 << 2 << QList<int>{1, 2, 4, 5} << 0 << 1;
    QTest::newRow("both") << 2.0 << 1 << QList<int>{1, 4} << 2 << 1;
  }

  void shp() {
    QFETCH(double, minRatio);
    QFETCH(int, maxPerPost);
    QFETCH(QList<int>, lines);
    QFETCH(int, belowRatio);
    QFETCH(int, beyondMax);
    const std::string pasta = "How do I keep pasta from sticking?";
    const std::map<int, Expected> all = {
        {1, {"askculinary", pasta, "Stir it in the first minute.", "Add oil.", 1}},
        {2, {"askculinary", pasta, "Use more water.", "Add oil.", 2}},
        {3, {"askculinary", pasta, "Stir it in the first minute.", "Use more water.", 3}},
        {4,
         {"explainlikeimfive", "ELI5: why is the sky blue?",
          "Air scatters blue light more than red light.", "Because it reflects the ocean.", 4}},
        {5,
         {"legaladvice", "Can my landlord keep my deposit?", "Only for damages beyond normal wear.",
          "Yes, always.", 5}}};
    std::vector<Expected> want;
    for (int line : lines) want.push_back(all.at(line));
    ImportOptions o = options("shp");
    if (minRatio >= 0) o.minScoreRatio = minRatio;
    if (maxPerPost > 0) o.maxPairsPerPost = maxPerPost;
    ImportSummary s;
    checkPairs(importOne(o, fixture("shp.json"), s), want, "shp", fixture("shp.json"));
    Counts notUsed;
    if (belowRatio) notUsed["shp score_ratio below --min-score-ratio"] = belowRatio;
    if (beyondMax) notUsed["shp pair beyond --max-pairs-per-post"] = beyondMax;
    checkCounts(s.notUsed, notUsed);
  }

  void hellaswag() {
    ImportSummary s;
    const std::string man = "A man is standing on a ladder next to a house. he";
    const std::string pan = "A woman pours batter into a hot pan. she";
    const std::string flip = "flips the pancake when bubbles appear.";
    checkPairs(
        importOne(options("hellaswag"), fixture("hellaswag.jsonl"), s),
        {{"hellaswag", man, "paints the window frame white.", "eats the ladder.", 1},
         {"hellaswag", man, "paints the window frame white.", "flies away over the roof.", 1},
         {"hellaswag", man, "paints the window frame white.", "turns into a cat.", 1},
         {"hellaswag", pan, flip, "throws the pan out the window.", 2},
         {"hellaswag", pan, flip, "sings to the batter.", 2},
         {"hellaswag", pan, flip, "puts the pan in the fridge.", 2}},
        "hellaswag", fixture("hellaswag.jsonl"));
    checkCounts(s.notUsed, {{"hellaswag row without label", 3}});
    QVERIFY(s.malformed.empty());
  }

  void dahoasAndDuplicatesAcrossFiles() {
    ImportSummary s;
    const std::string file = fixture("dahoas.jsonl");
    const auto pairs = rr::core::importFiles({file, file}, options("dahoas"), s);
    checkPairs(pairs,
               {{"dahoas", H + "How do I boil an egg?" + A,
                 " Put it in boiling water for 9 minutes.", " Eggs cannot be boiled.", 1},
                {"dahoas", H + "Name a primary colour." + A, " Red.", " Purple.", 2}},
               "dahoas", file);
    QCOMPARE(s.duplicates, 4L);
    QCOMPARE(s.files, 2L);
    QCOMPARE(s.records, 6L);
  }

  void oasstTrees() {
    ImportSummary s;
    const std::string file = fixture("oasst-trees.jsonl");
    checkPairs(importOne(options("oasst"), file, s),
               {{"oasst", kCatPrompt, "Mittens.", "Whiskers.", 1},
                {"oasst", kCatPrompt, "Whiskers.", "Felix.", 1},
                {"oasst", kCatPrompt, "Mittens.", "Felix.", 1},
                {"oasst", kUnusualPrompt, "Archimedes.", "Bob.", 1},
                {"oasst", "User: Translate 'hello' to German.", "Hallo.", "Bonjour.", 2}},
               "oasst", file);
    checkCounts(s.notUsed, {{"oasst prompter message deleted", 1},
                            {"oasst reply deleted", 1},
                            {"oasst reply not in language 'en'", 2},
                            {"oasst reply without rank", 1}});
  }

  void oasstFlatMessages() {
    ImportSummary s;
    const std::string file = fixture("oasst-messages.jsonl");
    checkPairs(importOne(options("oasst"), file, s),
               {{"oasst", kCatPrompt, "Mittens.", "Whiskers.", 2},
                {"oasst", kCatPrompt, "Mittens.", "Felix.", 2},
                {"oasst", kCatPrompt, "Whiskers.", "Felix.", 4},
                {"oasst", kUnusualPrompt, "Archimedes.", "Bob.", 1}},
               "oasst", file);
    checkCounts(s.notUsed, {{"oasst reply deleted", 1},
                            {"oasst reply not in language 'en'", 2},
                            {"oasst reply without rank", 1}});
  }

  void oasstLanguage() {
    ImportOptions o = options("oasst");
    o.lang = "fr";
    ImportSummary s;
    const std::string file = fixture("oasst-trees.jsonl");
    checkPairs(importOne(o, file, s), {{"oasst", kCatPrompt, "Minou.", "Félix le chat.", 1}},
               "oasst", file);
    QCOMPARE(s.notUsed.at("oasst reply not in language 'fr'"), 7L);
  }

  void ultrafeedback() {
    ImportSummary s;
    const std::string file = fixture("ultrafeedback.jsonl");
    const std::string haiku1 =
        "Rain taps the window\nsoft drums on the sleeping roof\nthe gutters hum low";
    const std::string prose = "Rain is water falling from clouds.";
    const std::string haiku2 =
        "Clouds weep silver threads\npuddles gather the grey sky\nsparrows shake their wings";
    checkPairs(importOne(options("ultrafeedback"), file, s),
               {{"ultrafeedback", "Write a haiku about rain.", haiku1, prose, 1,
                 Caps{{"helpfulness", 1}, {"honesty", 0}, {"instruction_following", 1}}},
                {"ultrafeedback", "Write a haiku about rain.", haiku2, prose, 1,
                 Caps{{"helpfulness", 1}, {"instruction_following", 1}, {"truthfulness", -1}}},
                {"ultrafeedback", "What is 7 times 6?", "42.", "36.", 2,
                 Caps{{"helpfulness", 1},
                      {"honesty", 1},
                      {"instruction_following", 1},
                      {"truthfulness", 1}}}},
               "ultrafeedback", file, "dataset");
    checkCounts(s.notUsed, {{"ultrafeedback tie in overall_score", 1}});
  }

  void ultrafeedbackBinarized() {
    ImportSummary s;
    const std::string file = fixture("ultrafeedback-binarized.jsonl");
    checkPairs(importOne(options("ultrafeedback-binarized"), file, s),
               {{"ultrafeedback", "Give me a synonym for happy.", "Joyful.", "Sad.", 1},
                {"ultrafeedback", "Name a fruit.", "Banana.", "Carrot.", 2}},
               "ultrafeedback-binarized", file);
    checkCounts(s.notUsed, {{"ultrafeedback-binarized tie in score", 1}});
  }

  void helpsteer() {
    ImportSummary s;
    const std::string file = fixture("helpsteer.jsonl");
    const std::string cat = "Summarise: The cat sat on the mat.";
    checkPairs(importOne(options("helpsteer"), file, s),
               {{"helpsteer", cat, "A cat sat on a mat.", "The mat had a cat on it, which sat.", 1,
                 Caps{{"helpfulness", 1},
                      {"correctness", 1},
                      {"coherence", 1},
                      {"complexity", -1},
                      {"verbosity", -1}}},
                {"helpsteer", cat, "A cat sat on a mat.", "Cat. Mat. Sat.", 1,
                 Caps{{"helpfulness", 1},
                      {"correctness", 1},
                      {"coherence", 1},
                      {"complexity", 1},
                      {"verbosity", 1}}},
                {"helpsteer", "List two prime numbers.", "2 and 3.", "4 and 6.", 2,
                 Caps{{"helpfulness", 1},
                      {"correctness", 1},
                      {"coherence", 1},
                      {"complexity", 0},
                      {"verbosity", 0}}}},
               "helpsteer", file, "dataset");
    checkCounts(s.notUsed, {{"helpsteer tie in helpfulness", 1}});
  }

  // Issue 13: the formats that score their responses give each pair a margin (chosen's score
  // minus rejected's; SHP: the log of score_ratio), and it survives the canonical pairs file.
  void marginsComeFromTheScores() {
    auto margins = [](const std::vector<PreferencePair>& pairs) {
      std::vector<double> out;
      for (const auto& p : pairs) out.push_back(p.margin);
      return out;
    };
    ImportSummary s;
    // overall_score 8.0 and 8.0 over 5.5; 9 over 3.
    QCOMPARE(margins(importOne(options("ultrafeedback"), fixture("ultrafeedback.jsonl"), s)),
             (std::vector<double>{2.5, 2.5, 6.0}));
    // score_chosen - score_rejected: 8 - 3, 7 - 4.
    QCOMPARE(margins(importOne(options("ultrafeedback-binarized"),
                               fixture("ultrafeedback-binarized.jsonl"), s)),
             (std::vector<double>{5.0, 3.0}));
    // helpfulness 4 over 2, 4 over 2, 4 over 0.
    const auto helpsteer = importOne(options("helpsteer"), fixture("helpsteer.jsonl"), s);
    QCOMPARE(margins(helpsteer), (std::vector<double>{2.0, 2.0, 4.0}));
    // SHP: log(score_ratio) of the pair's own row.
    const auto shp = importOne(options("shp"), fixture("shp.json"), s);
    QVERIFY(shp.size() >= 3);
    std::vector<std::string> lines;
    {
      std::ifstream in(fixture("shp.json"));
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    for (const auto& p : shp) {
      const double ratio =
          nlohmann::json::parse(lines.at(static_cast<size_t>(p.source.line - 1)))["score_ratio"];
      QCOMPARE(p.margin, std::log(ratio));
      QVERIFY(p.margin > 0);
    }
    // Formats without scores give none.
    for (const auto& p : importOne(options("hh-rlhf"), fixture("hh-rlhf.jsonl"), s))
      QCOMPARE(p.margin, 0.0);

    // Through the canonical file and back, and read from an explicit `margin` field.
    QTemporaryDir dir;
    const std::string file = dir.filePath("helpsteer.pairs.jsonl").toStdString();
    rr::core::writePairsFile(file, helpsteer);
    QCOMPARE(margins(rr::core::readPairsFile(file)), margins(helpsteer));
    const PreferencePair given = rr::core::parsePairLine(
        R"({"domain": "d", "prompt": "p", "chosen": "a", "rejected": "b", "margin": -0.5})",
        "x.jsonl:1");
    QCOMPARE(given.margin, -0.5);
    QVERIFY(rr::core::pairToJsonLine(given).find("\"margin\":-0.5") != std::string::npos);
    PreferencePair none = given;
    none.margin = 0;
    QVERIFY(rr::core::pairToJsonLine(none).find("margin") == std::string::npos);
    try {
      rr::core::parsePairLine(
          R"({"domain": "d", "prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"})",
          "x.jsonl:7");
      QFAIL("no error");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString::fromUtf8(e.what()),
               QStringLiteral("x.jsonl:7: field 'margin' must be a number (got \"big\")"));
    }
  }

  void canonicalPairs() {
    ImportSummary s;
    const std::string file = fixture("pairs.jsonl");
    const auto pairs = importOne(options("pairs"), file, s);
    checkPairs(pairs,
               {{"math", "2+2?", "4", "5", 1, Caps{{"conciseness", 0}, {"correctness", 1}}},
                {"math", "3+3?", "6", "7", 2}},
               "pairs", file, "synthetic");
    QCOMPARE(pairs[0].split, std::string("test"));
    QCOMPARE(pairs[1].split, std::string());
  }

  void jsonlFieldMap() {
    const std::string file = fixture("custom.jsonl");
    ImportOptions o = options("jsonl");
    o.fieldMap = {{"prompt", "question"}, {"chosen", "good"}, {"rejected", "bad"}};
    const std::string q1 = "Best first programming language?", q2 = "Is the earth flat?";
    const std::string g1 = "Python, for its readable syntax.", g2 = "No, it is an oblate spheroid.";
    ImportSummary s;
    checkPairs(importOne(o, file, s),
               {{"default", q1, g1, "Assembly.", 1}, {"default", q2, g2, "Yes.", 2}}, "jsonl",
               file);
    o.fieldMap["domain"] = "topic";
    checkPairs(importOne(o, file, s),
               {{"coding", q1, g1, "Assembly.", 1}, {"science", q2, g2, "Yes.", 2}}, "jsonl", file);
    o.domainOverride = "quiz";
    checkPairs(importOne(o, file, s),
               {{"quiz", q1, g1, "Assembly.", 1}, {"quiz", q2, g2, "Yes.", 2}}, "jsonl", file);
  }

  void domainOverride() {
    ImportOptions o = options("hh-rlhf");
    o.domainOverride = "chat";
    ImportSummary s;
    std::vector<Expected> want = kHhPairs;
    for (auto& e : want) e.domain = "chat";
    checkPairs(importOne(o, fixture("hh-rlhf.jsonl"), s), want, "hh-rlhf",
               fixture("hh-rlhf.jsonl"));
    checkCounts(s.pairsPerDomain, {{"chat", 4}});
  }

  void malformedLineStopsWithFileAndLine() {
    ImportSummary s;
    const std::string file = fixture("malformed.jsonl");
    try {
      importOne(options("dahoas"), file, s);
      QFAIL("a malformed line was accepted");
    } catch (const rr::core::InputError& e) {
      QVERIFY2(QString(e.what()).startsWith(QString::fromStdString(file + ":2: not valid JSON (")),
               e.what());
    }
  }

  void skipBadCounts() {
    ImportOptions o = options("dahoas");
    o.skipBad = true;
    ImportSummary s;
    const std::string file = fixture("malformed.jsonl");
    checkPairs(importOne(o, file, s),
               {{"dahoas", "p1", "c1", "r1", 1}, {"dahoas", "p7", "c7", "r7", 7}}, "dahoas", file);
    checkCounts(s.malformed, {{"field 'chosen' must be a string", 1},
                              {"missing field 'rejected'", 1},
                              {"not a JSON object", 1},
                              {"not valid JSON", 1}});
    QCOMPARE(s.records, 6L);
  }

  void malformedRecords_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("message");
    QTest::newRow("hh no shared turn") << "hh-rlhf"
                                       << R"({"chosen": "Hello", "rejected": "Hi"})"
                                       << R"(chosen and rejected share no "\n\nAssistant:" turn)";
    QTest::newRow("shp label")
        << "shp"
        << R"({"domain": "a_train", "history": "h", "human_ref_A": "a", "human_ref_B": "b", "labels": 2})"
        << "field 'labels' must be 0 or 1 (got 2)";
    QTest::newRow("hellaswag label range")
        << "hellaswag"
        << R"({"ctx": "c", "endings": ["a", "b", "c", "d"], "label": 4})"
        << "field 'label' must be 0..3 (got 4)";
    QTest::newRow("hellaswag label text")
        << "hellaswag"
        << R"({"ctx": "c", "endings": ["a", "b", "c", "d"], "label": "x"})"
        << R"(field 'label' must be an integer (got "x"))";
    QTest::newRow("hellaswag endings") << "hellaswag"
                                       << R"({"ctx": "c", "endings": ["a", "b", "c"], "label": 1})"
                                       << "field 'endings' must be 4 strings";
    QTest::newRow("oasst orphan")
        << "oasst"
        << R"({"message_id": "a", "parent_id": "nope", "role": "assistant", "text": "t", "rank": 0})"
        << "parent message is not in the file (nope)";
    QTest::newRow("oasst rank type")
        << "oasst"
        << R"({"message_id": "a", "parent_id": null, "role": "prompter", "text": "t", "rank": "1"})"
        << "field 'rank' must be an integer";
    QTest::newRow("oasst fractional rank")
        << "oasst"
        << R"({"message_id": "a", "parent_id": null, "role": "prompter", "text": "t", "rank": 1.5})"
        << "field 'rank' must be an integer";
    QTest::newRow("oasst nested field")
        << "oasst"
        << R"({"prompt": {"role": "prompter", "text": "t", "replies": [{"role": "assistant"}]}})"
        << "missing field 'prompt.replies[0].text'";
    QTest::newRow("ultrafeedback rating")
        << "ultrafeedback"
        << R"({"instruction": "i", "completions": [{"response": "r", "overall_score": 1,
              "annotations": {"helpfulness": {"Rating": "6"}}}]})"
        << R"(field 'completions[0].annotations.helpfulness.Rating' must be "1".."5" or "N/A" (got "6"))";
    QTest::newRow("ultrafeedback aspect list")
        << "ultrafeedback"
        << R"({"instruction": "i", "completions": [{"response": "r", "overall_score": 1,
              "annotations": {"honesty": [{"Rating": "1"}, {"Rating": "2"}]}}]})"
        << "field 'completions[0].annotations.honesty' must be an object or a one-element list";
    QTest::newRow("binarized no assistant")
        << "ultrafeedback-binarized"
        << R"({"prompt": "p", "chosen": [{"role": "user", "content": "p"}], "rejected": []})"
        << "field 'chosen' has no assistant message";
    QTest::newRow("helpsteer range")
        << "helpsteer"
        << R"({"prompt": "p", "response": "r", "helpfulness": 5, "correctness": 1, "coherence": 1,
              "complexity": 1, "verbosity": 1})"
        << "field 'helpfulness' must be 0..4 (got 5)";
    QTest::newRow("pairs capabilities")
        << "pairs"
        << R"({"domain": "d", "prompt": "p", "chosen": "c", "rejected": "r", "capabilities": {"x": 2}})"
        << "capabilities.x must be 1, -1 or 0 (got 2)";
    // Integers past the range of the type they were read into were wrapped, then accepted.
    QTest::newRow("pairs capability 2^32+1")
        << "pairs"
        << R"({"domain": "d", "prompt": "p", "chosen": "c", "rejected": "r", "capabilities": {"x": 4294967297}})"
        << "capabilities.x must be 1, -1 or 0 (got 4294967297)";
    QTest::newRow("pairs capability 2^64-1")
        << "pairs"
        << R"({"domain": "d", "prompt": "p", "chosen": "c", "rejected": "r", "capabilities": {"x": 18446744073709551615}})"
        << "capabilities.x must be 1, -1 or 0 (got 18446744073709551615)";
    QTest::newRow("shp label 2^64-1")
        << "shp"
        << R"({"domain": "a_train", "history": "h", "human_ref_A": "a", "human_ref_B": "b", "labels": 18446744073709551615})"
        << "field 'labels' is out of range (got 18446744073709551615)";
    QTest::newRow("hellaswag label 2^64-1")
        << "hellaswag"
        << R"({"ctx": "c", "endings": ["a", "b", "c", "d"], "label": 18446744073709551615})"
        << "field 'label' must be 0..3 (got 18446744073709551615)";
    QTest::newRow("helpsteer 2^64-1")
        << "helpsteer"
        << R"({"prompt": "p", "response": "r", "helpfulness": 18446744073709551615, "correctness": 1,
              "coherence": 1, "complexity": 1, "verbosity": 1})"
        << "field 'helpfulness' is out of range (got 18446744073709551615)";
    QTest::newRow("oasst huge float rank")
        << "oasst"
        << R"({"message_id": "a", "parent_id": null, "role": "prompter", "text": "t", "rank": 1e300})"
        << "field 'rank' must be an integer";
    QTest::newRow("pairs source.line type")
        << "pairs"
        << R"({"domain": "d", "prompt": "p", "chosen": "c", "rejected": "r", "source": {"line": "7"}})"
        << R"(field 'source.line' must be a line number, an integer >= 0 (got "7"))";
    QTest::newRow("pairs source.file type")
        << "pairs"
        << R"({"domain": "d", "prompt": "p", "chosen": "c", "rejected": "r", "source": {"file": 1}})"
        << "field 'source.file' must be a string (got 1)";
    // nlohmann's lexer ends the input at a NUL byte: what follows it was dropped unseen.
    QTest::newRow("NUL byte") << "dahoas"
                              << QString(R"({"prompt": "p", "chosen": "c", "rejected": "r"})") +
                                     QChar(0) + R"({"prompt": "lost"})"
                              << "contains a NUL byte (at byte 47)";
    QTest::newRow("pairs NUL byte") << "pairs"
                                    << QString(R"({"domain": "d", "prompt": "p",)") + QChar(0) +
                                           R"( "chosen": "c", "rejected": "r"})"
                                    << "contains a NUL byte (at byte 30)";
    // Quoting the bad value used to dump all of it, recursively: a stack overflow (SIGSEGV).
    QTest::newRow("hellaswag deep label")
        << "hellaswag"
        << R"({"ctx": "c", "endings": ["a", "b", "c", "d"], "label": )" +
               QString("[").repeated(200000) + QString("]").repeated(200000) + "}"
        << "nested too deeply (more than 1000 levels)";
    QTest::newRow("hellaswag nested label")
        << "hellaswag"
        << R"({"ctx": "c", "endings": ["a", "b", "c", "d"], "label": )" +
               QString("[").repeated(50) + QString("]").repeated(50) + "}"
        << "field 'label' must be an integer (got [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[...)";
    QTest::newRow("oasst error path deep in a tree")
        << "oasst"
        << R"({"prompt": {"role": "prompter", "text": "t", "replies": [{"role": "assistant", "text": "a"},
              {"role": "assistant", "text": "b", "replies": [{"role": "prompter", "text": "c"},
              {"role": "prompter", "text": "d", "replies": [{"role": "robot", "text": "e"}]}]}]}})"
        << R"(field 'prompt.replies[1].replies[1].replies[0].role' must be "prompter" or "assistant" (got "robot"))";
  }

  void malformedRecords() {
    QFETCH(QString, format);
    QFETCH(QString, content);
    QFETCH(QString, message);
    QTemporaryDir dir;
    // The multi-line literals above keep the table readable; each record is one line.
    const std::string file = writeFile(dir, "bad.jsonl", content.simplified().toStdString() + "\n");
    ImportSummary s;
    try {
      importOne(options(format.toStdString()), file, s);
      QFAIL("a malformed record was accepted");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString(e.what()), QString::fromStdString(file + ":1: ") + message);
    }
    ImportOptions skip = options(format.toStdString());
    skip.skipBad = true;
    ImportSummary skipped;
    QVERIFY(importOne(skip, file, skipped).empty());
    QCOMPARE(skipped.malformed.size(), size_t(1));
  }

  void badOptions() {
    ImportSummary s;
    QVERIFY_THROWS_EXCEPTION(rr::core::InputError,
                             importOne(options("csv"), fixture("dahoas.jsonl"), s));
    ImportOptions o = options("jsonl");
    o.fieldMap = {{"answer", "x"}};
    QVERIFY_THROWS_EXCEPTION(rr::core::InputError, importOne(o, fixture("custom.jsonl"), s));
    try {
      importOne(options("dahoas"), fixture("missing.jsonl"), s);
      QFAIL("a missing file was accepted");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString(e.what()),
               QString::fromStdString(fixture("missing.jsonl") + ": no such file"));
    }
  }

  void invalidUtf8IsRefused() {
    // The pair id hashes the bytes as given; the writer used to replace them with U+FFFD, so the
    // file it wrote did not read back.
    ImportOptions o = options("hh-rlhf");
    o.domainOverride = "caf\xC3";
    ImportSummary s;
    try {
      importOne(o, fixture("hh-rlhf.jsonl"), s);
      QFAIL("an invalid --domain was accepted");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString(e.what()), QString("--domain is not valid UTF-8 (byte 3)"));
    }
    QTemporaryDir dir;
    // Made with std::string: a QString would turn the byte into U+FFFD.
    const std::string badName = dir.path().toStdString() + "/d\xFF.jsonl";
    std::ofstream(badName) << R"({"prompt": "p", "chosen": "c", "rejected": "r"})"
                           << "\n";
    try {
      importOne(options("dahoas"), badName, s);
      QFAIL("a file name that is not UTF-8 was accepted");
    } catch (const rr::core::InputError& e) {
      QVERIFY2(QString(e.what()).endsWith("the file name is not valid UTF-8 (byte " +
                                          QString::number(badName.size() - 7) + ")"),
               e.what());
    }
    PreferencePair p;
    p.domain = "d";
    p.prompt = "p\xE2\x82";  // a three-byte sequence cut short
    p.chosen = "c";
    p.rejected = "r";
    try {
      rr::core::pairToJsonLine(p);
      QFAIL("a pair that is not UTF-8 was written");
    } catch (const rr::core::InputError& e) {
      QVERIFY2(QString(e.what()).endsWith(": prompt is not valid UTF-8 (byte 1)"), e.what());
    }
    p.prompt = "caf\xC3\xA9 \xF0\x9F\x98\x80";  // valid two- and four-byte sequences
    QCOMPARE(rr::core::parsePairLine(rr::core::pairToJsonLine(p), "x").prompt, p.prompt);
  }

  // The reader of every data line: import, pairs files and `score` input.
  void jsonLineLimits() {
    using rr::core::JsonLineError;
    using rr::core::parseJsonLine;
    QCOMPARE(parseJsonLine("{\"a\": [1, {\"b\": \"caf\xC3\xA9\"}]}")["a"][1]["b"], "caf\xC3\xA9");
    const auto nested = [](int levels) {
      return std::string(static_cast<size_t>(levels), '[') +
             std::string(static_cast<size_t>(levels), ']');
    };
    QVERIFY(parseJsonLine(nested(rr::core::kMaxJsonLineDepth)).is_array());
    try {
      parseJsonLine(nested(rr::core::kMaxJsonLineDepth + 1));
      QFAIL("nesting past the limit was parsed");
    } catch (const JsonLineError& e) {
      QCOMPARE(QString(e.what()), QString("nested too deeply (more than 1000 levels)"));
    }
    try {
      parseJsonLine(std::string("{}\0{}", 5));
      QFAIL("a NUL byte was accepted");
    } catch (const JsonLineError& e) {
      QCOMPARE(QString(e.what()), QString("contains a NUL byte (at byte 2)"));
    }
    try {
      parseJsonLine("{\"a\": \"\xFF\"}");
      QFAIL("a string that is not UTF-8 was accepted");
    } catch (const JsonLineError& e) {
      QCOMPARE(e.reason(), std::string("not valid JSON"));
    }
    // A number past the double range (a margin of 1e400 would make every loss NaN).
    try {
      parseJsonLine("{\"margin\": 1e400}");
      QFAIL("1e400 was accepted");
    } catch (const JsonLineError& e) {
      QCOMPARE(e.reason(), std::string("number out of range"));
      QCOMPARE(QString(e.what()), QString("number out of range ($.margin: got 1e400)"));
    }
  }

  // What the CLI's `import` and the GUI's import dialog share.
  void importToFileKeepsInputsAndExistingFiles() {
    QTemporaryDir dir;
    const std::string input = writeFile(dir, "in.jsonl", "");
    const std::string link = dir.filePath("link.jsonl").toStdString();
    QVERIFY(QFile::link(QString::fromStdString(input), QString::fromStdString(link)));
    ImportSummary s;
    QVERIFY_THROWS_EXCEPTION(rr::core::InputError,
                             rr::core::importToFile({input}, options("dahoas"), link, false, s));
    const std::string existing = writeFile(dir, "out.jsonl", "kept\n");
    for (bool allowEmpty : {false, true}) {
      try {
        rr::core::importToFile({input}, options("dahoas"), existing, allowEmpty, s);
        QFAIL("an import without pairs replaced a file");
      } catch (const rr::core::EmptyImportError& e) {
        QVERIFY(e.outputExists());
        QCOMPARE(QString(e.what()),
                 QString::fromStdString("no pairs; " + existing + " is left as it was"));
      }
      std::ifstream in(existing);
      QCOMPARE(std::string(std::istreambuf_iterator<char>(in), {}), std::string("kept\n"));
    }
    const std::string fresh = dir.filePath("fresh.jsonl").toStdString();
    QVERIFY_THROWS_EXCEPTION(rr::core::EmptyImportError,
                             rr::core::importToFile({input}, options("dahoas"), fresh, false, s));
    QVERIFY(!QFile::exists(QString::fromStdString(fresh)));
    QCOMPARE(rr::core::importToFile({input}, options("dahoas"), fresh, true, s), size_t(0));
    QVERIFY(QFile::exists(QString::fromStdString(fresh)));
    const size_t written =
        rr::core::importToFile({fixture("dahoas.jsonl")}, options("dahoas"), existing, false, s);
    QVERIFY(written > 0);
    QCOMPARE(rr::core::readPairsFile(existing).size(), written);
  }

  void directoryIsNotAPairsFile() {
    QTemporaryDir dir;
    try {
      rr::core::readPairsFile(dir.path().toStdString());
      QFAIL("a directory read as a pairs file");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString(e.what()), dir.path() + ": is a directory, not a pairs file");
    }
  }

  // One rule for a NUL character in any text read as a prompt or response, raw or written
  // \u0000: refused with the file and line by import in every format and by the pairs files a
  // run reads (an escaped one reached the store cut at the NUL).
  void nulCharactersAreRefusedEverywhere() {
    QTemporaryDir dir;
    const std::string pairs =
        writeFile(dir, "pairs.jsonl",
                  R"({"domain": "d", "prompt": "a\u0000b", "chosen": "c", "rejected": "r"})"
                  "\n");
    const QString want =
        QString::fromStdString(pairs) + ":1: field 'prompt' contains a NUL character (\\u0000)";
    QCOMPARE(errorOf([&] { rr::core::readPairsFile(pairs); }), want);
    ImportSummary s;
    QCOMPARE(errorOf([&] { importOne(options("pairs"), pairs, s); }), want);
    const std::string jsonl = writeFile(dir, "x.jsonl",
                                        R"({"prompt": "p", "chosen": "c\u0000", "rejected": "r"})"
                                        "\n");
    QCOMPARE(
        errorOf([&] { importOne(options("jsonl"), jsonl, s); }),
        QString::fromStdString(jsonl) + ":1: the pair's chosen contains a NUL character (\\u0000)");
    const std::string raw = writeFile(
        dir, "raw.jsonl",
        std::string("{\"prompt\": \"p\", \"chosen\": \"c") + '\0' + "\", \"rejected\": \"r\"}\n");
    QCOMPARE(errorOf([&] { importOne(options("jsonl"), raw, s); }),
             QString::fromStdString(raw) + ":1: contains a NUL byte (at byte 28)");
  }

  // A RewardBench 2 row gives chosen x rejected pairs, each with its own copy of the texts: the
  // count and the text are bounded (a row of 3000 x 3000 completions asked for 9 million).
  void rewardBench2RowsAreBounded() {
    QTemporaryDir dir;
    auto row = [](size_t chosen, size_t rejected, const std::string& prompt) {
      nlohmann::json r = {
          {"prompt", prompt}, {"subset", "Ties"}, {"id", "tied:1"}, {"num_correct", chosen}};
      for (size_t i = 0; i < chosen; ++i) r["chosen"].push_back("c" + std::to_string(i));
      for (size_t i = 0; i < rejected; ++i) r["rejected"].push_back("r" + std::to_string(i));
      return r.dump() + "\n";
    };
    ImportSummary s;
    const std::string heavy = writeFile(dir, "heavy.jsonl", row(100, 100, std::string(30000, 'p')));
    QCOMPARE(errorOf([&] { importOne(options("rewardbench"), heavy, s); }),
             QString::fromStdString(heavy) +
                 ":1: a RewardBench 2 row's pairs may hold at most 256 MiB of text (286 MiB)");
    const std::string many = writeFile(dir, "many.jsonl", row(3000, 3000, "p"));
    QCOMPARE(errorOf([&] { importOne(options("rewardbench"), many, s); }),
             QString::fromStdString(many) +
                 ":1: a RewardBench 2 row may give at most 10000 pairs (3000 chosen x 3000 "
                 "rejected = 9000000)");
    const std::string most = writeFile(dir, "most.jsonl", row(100, 100, "p"));
    QCOMPARE(importOne(options("rewardbench"), most, s).size(), size_t{10000});
  }

  void nulByteInPairsFile() {
    QTemporaryDir dir;
    const std::string file =
        writeFile(dir, "p.jsonl",
                  std::string(R"({"domain": "d", "prompt": "p", "chosen": "c", "rejected": "r"})") +
                      '\0' + "tail\n");
    try {
      rr::core::readPairsFile(file);
      QFAIL("a line with a NUL byte was read");
    } catch (const rr::core::InputError& e) {
      QCOMPARE(QString(e.what()),
               QString::fromStdString(file + ":1: contains a NUL byte (at byte 62)"));
    }
  }

  // OASST threads used to cost memory quadratic in their depth (a field path per level) and
  // time quadratic in their length (each prompter's thread rebuilt from the root), and the walk
  // recursed once per message. A long flat chain and a nested tree near the depth limit must
  // give exactly their pairs; the time is measured in the issue note, not asserted here.
  void oasstDeepThreads() {
    using nlohmann::json;
    QTemporaryDir dir;
    const int chain = 20000;  // messages before the ranked replies
    std::string flat, expectedPrompt;
    for (int i = 0; i < chain; ++i) {
      const bool prompter = i % 2 == 0;
      json m = {{"message_id", "m" + std::to_string(i)},
                {"parent_id", i == 0 ? json(nullptr) : json("m" + std::to_string(i - 1))},
                {"role", prompter ? "prompter" : "assistant"},
                {"text", "t" + std::to_string(i)},
                {"lang", "en"}};
      flat += m.dump() + "\n";
      expectedPrompt += std::string(i ? "\n\n" : "") + (prompter ? "User: t" : "Assistant: t") +
                        std::to_string(i);
    }
    for (int r = 0; r < 2; ++r) {
      json m = {{"message_id", "r" + std::to_string(r)},
                {"parent_id", "m" + std::to_string(chain - 2)},  // the last prompter
                {"role", "assistant"},
                {"text", "reply " + std::to_string(r)},
                {"lang", "en"},
                {"rank", r}};
      flat += m.dump() + "\n";
    }
    ImportSummary s;
    auto pairs = importOne(options("oasst"), writeFile(dir, "flat.jsonl", flat), s);
    QCOMPARE(pairs.size(), size_t(1));
    // The last prompter's thread, without the assistant message after it.
    const std::string prompt = expectedPrompt.substr(0, expectedPrompt.rfind("\n\nAssistant: "));
    QCOMPARE(pairs[0].prompt.size(), prompt.size());
    QVERIFY(pairs[0].prompt == prompt);
    QCOMPARE(pairs[0].chosen, std::string("reply 0"));
    QCOMPARE(pairs[0].source.line, long(chain + 1));

    // Nested: two JSON levels per message, so a thread ~500 messages deep fits the limit.
    auto nested = [](int depth) {
      json leaf = json::array();
      for (int r = 0; r < 2; ++r)
        leaf.push_back({{"role", "assistant"},
                        {"text", std::string(1, char('a' + r))},
                        {"lang", "en"},
                        {"rank", r}});
      for (int i = depth - 1; i >= 0; --i) {
        json m = {{"role", i % 2 ? "assistant" : "prompter"},
                  {"text", "n" + std::to_string(i)},
                  {"lang", "en"},
                  {"rank", 0},
                  {"replies", std::move(leaf)}};
        leaf = json::array({std::move(m)});
      }
      return leaf[0].dump() + "\n";
    };
    ImportSummary n;
    pairs = importOne(options("oasst"), writeFile(dir, "nested.jsonl", nested(497)), n);
    QCOMPARE(pairs.size(), size_t(1));
    QVERIFY(pairs[0].prompt.rfind("\n\nUser: n496") != std::string::npos);
    QCOMPARE(pairs[0].chosen, std::string("a"));
    try {
      importOne(options("oasst"), writeFile(dir, "deeper.jsonl", nested(600)), n);
      QFAIL("a tree nested past the limit was read");
    } catch (const rr::core::InputError& e) {
      QVERIFY2(QString(e.what()).endsWith(":1: nested too deeply (more than 1000 levels)"),
               e.what());
    }
  }

  void summaryText() {
    ImportOptions o = options("hellaswag");
    ImportSummary s;
    importOne(o, fixture("hellaswag.jsonl"), s);
    QCOMPARE(QString::fromStdString(rr::core::summaryText(s)),
             QString("read 5 records from 1 file; 6 pairs\n"
                     "pairs per domain: hellaswag 6\n"
                     "malformed records skipped: 0\n"
                     "rows or pairs left out by the format's rules: 3\n"
                     "  3  hellaswag row without label\n"
                     "duplicate pairs dropped: 0\n"));
  }
};

QTEST_GUILESS_MAIN(TestImporters)
#include "tst_importers.moc"
