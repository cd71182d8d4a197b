// Saved systems (<db>.models/run-N): self-contained folders, served only for the run that saved
// them, checked against tampering, one-line errors for damaged manifests, and a full disk while
// saving that fails the run cleanly instead of aborting the process.
#include <sqlite3.h>
#include <sys/resource.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <array>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/atomicfile.h"
#include "common/digest.h"
#include "common/errors.h"
#include "data/dataset.h"
#include "data/pairsio.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"
#include "eval/metrics.h"
#include "store/runstore.h"
#include "run/experiment.h"
#include "run/extend.h"
#include "run/persist.h"
#include "run/scoring.h"

using namespace rr::core;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kConfig = R"({
  "name": "p",
  "data": {"synthetic": {"pairs_per_domain": 40, "domains": ["harmless", "ranked"], "seed": 5},
           "split": {"train": 0.6, "validation": 0.1, "test": 0.3}},
  "tokenizer": {"vocab_size": 200},
  "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 40},
  "pretrain": {"steps": 10},
  "training": {"lr": 0.003, "batch_size": 16, "epochs": 1, "seed": 4},
  "methods": [{"method": "baseline"}, {"method": "rodos"},
              {"method": "dmoerm", "min_capability_pairs": 2}]
})";

json readJson(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

void writeText(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

void writeJson(const fs::path& p, const json& j) { writeText(p, j.dump(2)); }

std::string messageOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Files left behind by an interrupted write: temporary files and staging folders.
QStringList leftovers(const fs::path& dir) {
  QStringList out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos || name.find(".saving") != std::string::npos ||
        name.find(".old") != std::string::npos)
      out << QString::fromStdString(e.path().string());
  }
  return out;
}

}  // namespace

class TestPersist : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  fs::path m_root, m_cache, m_db;
  std::vector<std::int64_t> m_runs;

  fs::path path(const std::string& name) const { return m_root / name; }
  fs::path runDir(const fs::path& db, std::int64_t id) const {
    return modelDirFor(db.string(), id);
  }
  // A copy of a run's saved folder to damage (k: index into m_runs).
  fs::path copyOfRun(size_t k, const std::string& name) const {
    const fs::path to = path(name);
    fs::remove_all(to);
    fs::copy(runDir(m_db, m_runs[k]), to, fs::copy_options::recursive);
    return to;
  }
  fs::path copyOfRun1(const std::string& name) const { return copyOfRun(0, name); }
  // Test pairs of run `id` with the rewards the run stored for them.
  std::pair<std::vector<ScoreInput>, std::vector<double>> storedScores(const fs::path& db,
                                                                       std::int64_t id) const {
    auto store = RunStore::open(db.string());
    ExampleFilter f;
    f.runIds = {id};
    std::vector<ScoreInput> in;
    std::vector<double> rewards;
    for (const auto& e : store->examples(f, 0, 12)) {
      const auto pair = store->pair(e.exampleId);
      in.push_back({pair->prompt, pair->chosen});
      rewards.push_back(e.rewardChosen);
    }
    return {in, rewards};
  }
  void scoresMatch(RunScorer& scorer, const fs::path& db, std::int64_t id) const {
    const auto [in, rewards] = storedScores(db, id);
    QVERIFY(!in.empty());
    const auto out = scorer.score(in);
    QCOMPARE(out.size(), in.size());
    for (size_t k = 0; k < out.size(); ++k) QVERIFY(std::abs(out[k].reward - rewards[k]) < 1e-4);
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_root = m_dir.path().toStdString();
    m_cache = m_root / "cache";
    qputenv("RR_CACHE_DIR", QByteArray::fromStdString(m_cache.string()));
    fs::create_directories(m_root / "a");
    m_db = m_root / "a" / "p.db";
    ExperimentConfig c = parseExperimentConfig(kConfig, "p.json");
    ExperimentOptions o;
    o.dbPath = m_db.string();
    o.inferenceRepeats = 1;
    NullSink sink;
    RunControl control;
    const ExperimentOutcome out = runExperiment(c, o, sink, control);
    QCOMPARE(out.finished, 3);
    m_runs = out.runIds;
  }

  // Item 2: everything `score` needs is inside the folder; the store and its folders can move
  // and the pre-training cache can be cleared.
  void savedSystemIsSelfContained() {
    const json m = readJson(runDir(m_db, m_runs[0]) / "manifest.json");
    QCOMPARE(m.at("format").get<int>(), 2);
    QCOMPARE(m.at("encoder_init").get<std::string>(), std::string("encoder_init.pt"));
    QVERIFY(fs::is_regular_file(runDir(m_db, m_runs[0]) / "encoder_init.pt"));
    const fs::path moved = path("moved");
    fs::create_directories(moved);
    fs::copy(m_db, moved / "p.db");
    fs::copy(m_db.string() + ".models", moved / "p.db.models", fs::copy_options::recursive);
    fs::rename(m_cache, path("cache-away"));
    for (std::int64_t id : m_runs) {
      auto scorer = RunScorer::openRun((moved / "p.db").string(), id);
      scoresMatch(*scorer, moved / "p.db", id);
    }
    fs::rename(path("cache-away"), m_cache);
  }

  // A folder of the first format (an absolute path into the cache, no checksums, no run UUID)
  // still loads; when the cache is gone it still scores, and extending a RODOS run says why not.
  void olderFoldersStillLoad() {
    const fs::path moved = path("old");
    fs::create_directories(moved);
    fs::copy(m_db, moved / "p.db");
    fs::copy(m_db.string() + ".models", moved / "p.db.models", fs::copy_options::recursive);
    {
      sqlite3* db = nullptr;
      QCOMPARE(sqlite3_open((moved / "p.db").string().c_str(), &db), SQLITE_OK);
      QCOMPARE(sqlite3_exec(db, "UPDATE runs SET uuid=NULL", nullptr, nullptr, nullptr), SQLITE_OK);
      sqlite3_close(db);
    }
    const fs::path cached = path("cached-init.pt");
    fs::copy_file(runDir(m_db, m_runs[1]) / "encoder_init.pt", cached);
    for (std::int64_t id : m_runs) {
      const fs::path dir = runDir(moved / "p.db", id);
      json m = readJson(dir / "manifest.json");
      m["format"] = 1;
      m.erase("files");
      m.erase("run_uuid");
      m.erase("normalization");  // saved since format 2 only
      fs::remove(dir / "normalization.json");
      for (auto& e : m["modules"]) e.erase("sha256");
      m["encoder_init"] = cached.string();
      fs::remove(dir / "encoder_init.pt");
      writeJson(dir / "manifest.json", m);
      auto scorer = RunScorer::openRun((moved / "p.db").string(), id);
      scoresMatch(*scorer, moved / "p.db", id);
    }
    fs::remove(cached);
    auto scorer = RunScorer::openRun((moved / "p.db").string(), m_runs[1]);
    scoresMatch(*scorer, moved / "p.db", m_runs[1]);

    SyntheticOptions so;
    so.pairsPerDomain = 30;
    so.domains = {"instruct"};
    const std::string added = path("instruct.jsonl").string();
    writePairsFile(added, generateSynthetic(so));
    NullSink sink;
    RunControl control;
    const std::string msg =
        messageOf([&] { extendRun((moved / "p.db").string(), m_runs[1], added, sink, control); });
    QVERIFY2(msg.find("cached-init.pt, which is no longer there") != std::string::npos,
             msg.c_str());
    QCOMPARE(RunStore::open((moved / "p.db").string())->listRuns().size(), m_runs.size());
  }

  // Item 3: a store recreated under the same name does not get the old store's models.
  void staleModelIsNotServed() {
    const fs::path dir = path("stale");
    fs::create_directories(dir);
    const fs::path db = dir / "p.db";
    fs::copy(m_db.string() + ".models", db.string() + ".models", fs::copy_options::recursive);
    std::int64_t id = 0;
    {
      RunWriter w(db.string());
      id = w.createRun("p", "baseline", "baseline", 4, "{}");
      w.setStatus(id, RunStatus::Failed, "diverged");
    }
    QCOMPARE(id, m_runs[0]);
    std::string msg = messageOf([&] { RunScorer::openRun(db.string(), id); });
    QVERIFY2(msg.find("run 1 is failed") != std::string::npos, msg.c_str());
    {
      RunWriter w(db.string());
      w.setStatus(id, RunStatus::Finished);
    }
    msg = messageOf([&] { RunScorer::openRun(db.string(), id); });
    QVERIFY2(msg.find("saved by another run than run 1") != std::string::npos, msg.c_str());
    msg = messageOf([&] { RunScorer::openRun(db.string(), 9); });
    QVERIFY2(msg.find("no run 9") != std::string::npos, msg.c_str());
    // The run that saved it is served: the UUIDs match.
    QCOMPARE(
        QString::fromStdString(
            readJson(runDir(m_db, m_runs[0]) / "manifest.json").at("run_uuid").get<std::string>()),
        QString::fromStdString(RunStore::open(m_db.string())->run(m_runs[0])->uuid));
  }

  // Item 7: changed weights, a missing module and a changed tokenizer are refused.
  void tamperedFoldersAreRefused_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("expected");
    QTest::newRow("flipped byte") << "flip"
                                  << "m0.pt: checksum mismatch";
    QTest::newRow("no modules") << "no-modules"
                                << "$.modules: has no weights for module";
    QTest::newRow("a module missing") << "drop-module"
                                      << "$.modules: has no weights for module head";
    QTest::newRow("module twice") << "twice"
                                  << "listed twice";
    QTest::newRow("unknown module") << "unknown"
                                    << "has no module \"nope\"";
    QTest::newRow("tokenizer") << "tokenizer"
                               << "tokenizer.model: checksum mismatch";
    QTest::newRow("checksum gone") << "no-sha"
                                   << "$.modules[0].sha256: missing";
    QTest::newRow("file outside") << "outside"
                                  << "must name a file inside the model folder";
    QTest::newRow("absolute path") << "absolute"
                                   << "$.modules[0].file: must name a file inside the model folder";
    QTest::newRow("checksum of a file outside")
        << "files-outside"
        << "$.files[\"../run-2/m0.pt\"]: must name a file inside";
    QTest::newRow("pre-trained encoder outside")
        << "encoder-outside"
        << "$.encoder_init: must name a file inside the model folder";
    QTest::newRow("weights a symbolic link") << "symlink"
                                             << "m0.pt: a symbolic link";
    QTest::newRow("format 1 with the run's UUID") << "format-1-uuid"
                                                  << "$.run_uuid: a format 1 manifest has none";
    QTest::newRow("reward scale changed") << "normalization"
                                          << "normalization.json: checksum mismatch";
    QTest::newRow("reward scale unlisted") << "normalization-unlisted"
                                           << "$.files: has no checksum for normalization.json";
  }
  void tamperedFoldersAreRefused() {
    QFETCH(QString, change);
    QFETCH(QString, expected);
    const fs::path dir = copyOfRun1("tampered");
    json m = readJson(dir / "manifest.json");
    if (change == "flip") {
      std::fstream f(dir / "m0.pt", std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(-200, std::ios::end);
      char c = 0;
      f.get(c);
      f.seekp(-200, std::ios::end);
      f.put(static_cast<char>(c ^ 0x10));
    } else if (change == "no-modules") {
      m["modules"] = json::array();
    } else if (change == "drop-module") {
      m["modules"].erase(1);
    } else if (change == "twice") {
      m["modules"].push_back(m["modules"][0]);
    } else if (change == "unknown") {
      m["modules"][0]["name"] = "nope";
    } else if (change == "tokenizer") {
      std::ofstream(dir / "tokenizer.model", std::ios::app) << "x";
    } else if (change == "no-sha") {
      m["modules"][0].erase("sha256");
    } else if (change == "outside") {
      m["modules"][0]["file"] = "../run-2/m0.pt";
    } else if (change == "absolute") {
      m["modules"][0]["file"] = (dir / "m0.pt").string();
    } else if (change == "files-outside") {
      m["files"]["../run-2/m0.pt"] = m["modules"][0]["sha256"];
    } else if (change == "encoder-outside") {
      m["encoder_init"] = (dir / "encoder_init.pt").string();
    } else if (change == "symlink") {
      // The same bytes, elsewhere: a folder's files are its own, never links.
      fs::rename(dir / "m0.pt", path("tampered-m0.pt"));
      fs::create_symlink(path("tampered-m0.pt"), dir / "m0.pt");
    } else if (change == "format-1-uuid") {
      // Format 1 skips the checksums; a folder saved with the run's UUID is format 2.
      m["format"] = 1;
    } else if (change == "normalization") {
      json n = readJson(dir / "normalization.json");
      n["all"]["std"] = 1;
      writeJson(dir / "normalization.json", n);
    } else if (change == "normalization-unlisted") {
      m["files"].erase("normalization.json");
    }
    writeJson(dir / "manifest.json", m);
    const std::string msg = messageOf([&] { loadSystem(dir.string()); });
    QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find('\n') == std::string::npos, msg.c_str());
  }

  // Damaged manifests: one line naming the file and the field, never nlohmann's own text, a
  // LibTorch backtrace, or a crash on deep nesting.
  void damagedManifestsGiveOneLine_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("expected");
    QTest::newRow("no structure") << "no-structure"
                                  << "manifest.json: $.structure: missing";
    QTest::newRow("structure array") << "structure-array"
                                     << "$.structure: must be an object (got an array)";
    QTest::newRow("max_len -5") << "max-len"
                                << "$.max_len: must be an integer in [1, 1000000] (got -5)";
    QTest::newRow("vocab 2^64-1") << "vocab-huge"
                                  << "(got 18446744073709551615)";
    QTest::newRow("seed string") << "seed"
                                 << "$.seed: must be an integer";
    QTest::newRow("format 9") << "format"
                              << "unsupported model format 9";
    QTest::newRow("not json") << "garbage"
                              << "manifest.json: not valid JSON";
    QTest::newRow("deep") << "deep"
                          << "nested deeper than 64 levels";
    QTest::newRow("domains") << "domains"
                             << "$.domains[1]: must be a string (got 7)";
    QTest::newRow("long string") << "long"
                                 << "$.method_name: the config has no method named";
    QTest::newRow("other vocabulary") << "vocab"
                                      << "the tokenizer does not belong to these weights";
    QTest::newRow("structure: a domain missing")
        << "dmoerm-missing"
        << "$.structure: does not fit method dmoerm (key 'harmless' not found)";
    QTest::newRow("structure: an expert twice")
        << "dmoerm-twice"
        << "$.structure: does not fit method dmoerm (LoRA adapter";
  }
  void damagedManifestsGiveOneLine() {
    QFETCH(QString, change);
    QFETCH(QString, expected);
    const bool dmoerm = change.startsWith("dmoerm");
    const fs::path dir = copyOfRun(dmoerm ? 2 : 0, "damaged");
    json m = readJson(dir / "manifest.json");
    std::string text;
    if (dmoerm) QCOMPARE(m.at("method").get<std::string>(), std::string("dmoerm"));
    if (change == "no-structure") {
      m.erase("structure");
    } else if (change == "structure-array") {
      m["structure"] = json::array();
    } else if (change == "max-len") {
      m["max_len"] = -5;
    } else if (change == "vocab-huge") {
      m["vocab_size"] = 18446744073709551615ULL;
    } else if (change == "seed") {
      m["seed"] = "four";
    } else if (change == "format") {
      m["format"] = 9;
    } else if (change == "garbage") {
      text = "{\"format\": 2, ";
    } else if (change == "deep") {
      const std::string dumped = m.dump();
      // Inside the config, which loading dumps to parse it (recursively).
      const std::string key = "\"config\":{";
      const size_t at = dumped.find(key) + key.size();
      text = dumped.substr(0, at) + "\"deep\":" + std::string(200000, '[') +
             std::string(200000, ']') + "," + dumped.substr(at);
    } else if (change == "domains") {
      m["domains"] = json::array({"harmless", 7});
    } else if (change == "long") {
      m["method_name"] = std::string(5000, 'x');
    } else if (change == "dmoerm-missing") {
      m["structure"]["capabilities"].erase("harmless");
    } else if (change == "dmoerm-twice") {
      m["structure"]["capabilities"]["harmless"] = json::array({"helpful", "helpful"});
    } else if (change == "vocab") {
      // A tokenizer of another vocabulary size, with its checksum updated.
      TokenizerTrainOptions o;
      o.vocabSize = 150;
      o.cacheDir = (m_root / "other-tokenizer").string();
      ExperimentConfig c = parseExperimentConfig(kConfig, "p.json");
      std::vector<std::string> texts;
      for (const auto& p : loadExperimentPairs(c)) texts.push_back(p.prompt + " " + p.chosen);
      fs::copy_file(trainSentencePiece(texts, o), dir / "tokenizer.model",
                    fs::copy_options::overwrite_existing);
      m["files"]["tokenizer.model"] = sha256OfFile((dir / "tokenizer.model").string());
    }
    writeText(dir / "manifest.json", text.empty() ? m.dump(2) : text);
    const std::string msg = messageOf([&] { loadSystem(dir.string()); });
    QVERIFY2(msg.find(expected.toStdString()) != std::string::npos, msg.c_str());
    QVERIFY2(msg.find('\n') == std::string::npos, msg.c_str());
    QVERIFY2(msg.find("[json.exception") == std::string::npos, msg.c_str());
    QVERIFY2(msg.size() < 400, msg.c_str());
  }

  // A run on a Hugging Face backbone carries its config.json and tokenizer, checksummed; a
  // tokenizer with more tokens than the embedding table is refused when the folder is loaded.
  void backboneFolderIsSelfContainedAndChecked() {
    const QString backbone = QStringLiteral(RR_SOURCE_DIR "/tests/fixtures/hf/models/bert-rm");
    json config = json::parse(kConfig);
    config["encoder"] = {{"pretrained", backbone.toStdString()}, {"max_len", 32}};
    config.erase("tokenizer");
    config.erase("pretrain");
    config["methods"] = json::array({{{"method", "baseline"}}});
    ExperimentConfig c = parseExperimentConfig(config.dump(), "hf.json");
    ExperimentOptions o;
    const fs::path db = path("hf") / "p.db";
    fs::create_directories(db.parent_path());
    o.dbPath = db.string();
    o.inferenceRepeats = 1;
    NullSink sink;
    RunControl control;
    QCOMPARE(runExperiment(c, o, sink, control).finished, 1);
    const json m = readJson(runDir(db, 1) / "manifest.json");
    QVERIFY(m.at("files").contains("backbone/config.json"));
    QVERIFY(m.at("files").contains("backbone/vocab.txt"));
    auto scorer = RunScorer::openRun(db.string(), 1);
    scoresMatch(*scorer, db, 1);

    const fs::path dir = path("hf-tampered");
    fs::remove_all(dir);
    fs::copy(runDir(db, 1), dir, fs::copy_options::recursive);
    {
      std::ofstream vocab(dir / "backbone" / "vocab.txt", std::ios::app);
      for (int k = 0; k < 10; ++k) vocab << "extra" << k << "\n";
    }
    json changed = m;
    changed["files"]["backbone/vocab.txt"] =
        sha256OfFile((dir / "backbone" / "vocab.txt").string());
    writeJson(dir / "manifest.json", changed);
    const std::string msg = messageOf([&] { loadSystem(dir.string()); });
    QVERIFY2(msg.find("but config.json's vocab_size is 136: the tokenizer does not belong") !=
                 std::string::npos,
             msg.c_str());

    // A tokenizer swapped without a checksum: every file the tokenizer reads must be listed.
    for (const std::string swap : {"unlisted", "added"}) {
      fs::remove_all(dir);
      fs::copy(runDir(db, 1), dir, fs::copy_options::recursive);
      json swapped = m;
      std::string file = "backbone/vocab.txt";
      if (swap == "unlisted") {
        swapped["files"].erase(file);
        std::string vocab;
        {
          std::ifstream in(dir / file);
          vocab.assign(std::istreambuf_iterator<char>(in), {});
        }
        // Two tokens trade places: the same size, another tokenizer.
        const size_t a = vocab.find("\nthe\n"), b = vocab.find("\nand\n");
        QVERIFY(a != std::string::npos && b != std::string::npos);
        vocab.replace(a + 1, 3, "and");
        vocab.replace(b + 1, 3, "the");
        writeText(dir / file, vocab);
      } else {
        file = "backbone/added_tokens.json";
        writeJson(dir / file, json{{"hello", 7}});
      }
      writeJson(dir / "manifest.json", swapped);
      const std::string err = messageOf([&] { loadSystem(dir.string()); });
      QVERIFY2(err.find("manifest.json: $.files: has no checksum for " + file) != std::string::npos,
               (swap + ": " + err).c_str());
    }
    // The backbone folder a link to another folder with the same files.
    fs::remove_all(dir);
    fs::copy(runDir(db, 1), dir, fs::copy_options::recursive);
    fs::rename(dir / "backbone", path("hf-backbone-elsewhere"));
    fs::create_directory_symlink(path("hf-backbone-elsewhere"), dir / "backbone");
    const std::string linked = messageOf([&] { loadSystem(dir.string()); });
    QVERIFY2(linked.find("backbone: a symbolic link") != std::string::npos, linked.c_str());
  }

  // Each run saves its reward scale on the training pairs with its system and in the store;
  // scoring the training pairs again with the saved system gives the same figures, by the route
  // for the routed RODOS and by the pair's domain for the others. The validation pairs' rewards
  // are stored too.
  void rewardScaleSavedWithSystem() {
    std::vector<std::array<std::string, 4>> train;  // domain, prompt, chosen, rejected
    std::int64_t validationPairs = 0;
    {
      sqlite3* db = nullptr;
      QCOMPARE(sqlite3_open_v2(m_db.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
               SQLITE_OK);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, "SELECT domain, prompt, chosen, rejected, split FROM pairs", -1, &st,
                         nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) {
        auto col = [&](int i) { return std::string(reinterpret_cast<const char*>(
                                    sqlite3_column_text(st, i))); };
        if (col(4) == "train") train.push_back({col(0), col(1), col(2), col(3)});
        if (col(4) == "validation") ++validationPairs;
      }
      sqlite3_finalize(st);
      sqlite3_close(db);
    }
    QVERIFY(!train.empty());
    QVERIFY(validationPairs > 0);
    auto store = RunStore::open(m_db.string(), true);
    for (size_t k = 0; k < m_runs.size(); ++k) {
      const std::int64_t id = m_runs[k];
      const fs::path dir = runDir(m_db, id);
      const json m = readJson(dir / "manifest.json");
      QCOMPARE(m.at("normalization").get<std::string>(), std::string("normalization.json"));
      QVERIFY(m.at("files").contains("normalization.json"));
      const json n = readJson(dir / "normalization.json");
      auto scorer = RunScorer::openRun(m_db.string(), id);
      std::vector<ScoreInput> in;
      for (const auto& t : train) {
        in.push_back({t[1], t[2]});
        in.push_back({t[1], t[3]});
      }
      const auto out = scorer->score(in);
      std::vector<std::pair<std::string, double>> rewards;
      for (size_t i = 0; i < out.size(); ++i)
        rewards.emplace_back(out[i].route.empty() ? train[i / 2][0] : out[i].route, out[i].reward);
      const RewardNormalization expected = rewardNormalization(rewards);
      QCOMPARE(n.at("domains").size(), expected.domains.size());
      QCOMPARE(n.at("all").at("rewards").get<std::int64_t>(),
               static_cast<std::int64_t>(2 * train.size()));
      QVERIFY(std::abs(n.at("all").at("mean").get<double>() - expected.all.mean) < 1e-4);
      QVERIFY(std::abs(n.at("all").at("std").get<double>() - expected.all.std) < 1e-4);
      std::map<std::string, double> rows;
      for (const auto& r : store->results({id})) rows[r.domain + "/" + r.metric] = r.value;
      QCOMPARE(rows.at("*/train_reward_mean"), n.at("all").at("mean").get<double>());
      for (const auto& [d, s] : expected.domains) {
        const json& saved = n.at("domains").at(d);
        QCOMPARE(saved.at("rewards").get<std::int64_t>(), s.count);
        QVERIFY(std::abs(saved.at("mean").get<double>() - s.mean) < 1e-4);
        QVERIFY(std::abs(saved.at("std").get<double>() - s.std) < 1e-4);
        QCOMPARE(rows.at(d + "/train_reward_std"), saved.at("std").get<double>());
      }
      QCOMPARE(static_cast<std::int64_t>(store->validationPairs({id}).at(id).size()),
               validationPairs);
    }
  }

  // `score --normalize`: (reward - mean_d) / std_d with d the route (RODOS) or the line's domain
  // (Baseline), else the system-wide figures; a domain the model lacks is that line's error.
  void scoreNormalizeRoundTrip() {
    const QByteArray input =
        "{\"prompt\": \"tell me about cats\", \"response\": \"they purr\", \"domain\": \"ranked\"}\n"
        "{\"prompt\": \"how to stay safe\", \"response\": \"be careful\"}\n";
    auto run = [&](std::int64_t id, bool normalize, const QByteArray& in, int* code = nullptr) {
      QStringList args{"score", "--db", QString::fromStdString(m_db.string()), "--run",
                       QString::number(id)};
      if (normalize) args << "--normalize";
      QProcess cli;
      cli.start(RR_CLI_PATH, args);
      cli.waitForStarted();
      cli.write(in);
      cli.closeWriteChannel();
      cli.waitForFinished(60000);
      if (code) *code = cli.exitCode();
      std::vector<json> lines;
      for (const auto& l : cli.readAllStandardOutput().split('\n'))
        if (!l.isEmpty()) lines.push_back(json::parse(l.toStdString()));
      return lines;
    };
    for (size_t k : {size_t(0), size_t(1)}) {  // baseline, rodos
      const std::int64_t id = m_runs[k];
      const json n = readJson(runDir(m_db, id) / "normalization.json");
      const auto raw = run(id, false, input);
      int code = -1;
      const auto norm = run(id, true, input, &code);
      QCOMPARE(code, 0);
      QCOMPARE(norm.size(), size_t(2));
      for (size_t i = 0; i < 2; ++i) {
        const std::string route = raw[i].at("route").get<std::string>();
        const std::string by =
            !route.empty() ? route : (i == 0 ? std::string("ranked") : std::string("*"));
        QCOMPARE(QString::fromStdString(norm[i].at("normalized_by").get<std::string>()),
                 QString::fromStdString(by));
        const json& scale = by == "*" ? n.at("all") : n.at("domains").at(by);
        const double r = raw[i].at("reward").get<double>();
        QCOMPARE(norm[i].at("raw_reward").get<double>(), r);
        QVERIFY(std::abs(norm[i].at("reward").get<double>() -
                         (r - scale.at("mean").get<double>()) / scale.at("std").get<double>()) <
                1e-9);
      }
      if (k == 1) QVERIFY(!raw[0].at("route").get<std::string>().empty());
    }
    int code = -1;
    const auto bad = run(m_runs[0], true,
                         "{\"prompt\": \"a\", \"response\": \"b\", \"domain\": \"nope\"}\n", &code);
    QCOMPARE(code, 2);
    QCOMPARE(QString::fromStdString(bad.at(0).at("error").get<std::string>()),
             QString("line 1: $.domain: 'nope' is not one of the model's domains (harmless, "
                     "ranked)"));
  }

  // A system saved before the reward scale was: it still scores, `--normalize` is one line and
  // exit 2, and `extend` saves the figures for the extended run (with the new domain).
  void normalizeNeedsTheSavedScale() {
    const fs::path moved = path("no-scale");
    fs::create_directories(moved);
    fs::copy(m_db, moved / "p.db");
    fs::copy(m_db.string() + ".models", moved / "p.db.models", fs::copy_options::recursive);
    for (std::int64_t id : m_runs) {
      const fs::path dir = runDir(moved / "p.db", id);
      json m = readJson(dir / "manifest.json");
      m.erase("normalization");
      m["files"].erase("normalization.json");
      fs::remove(dir / "normalization.json");
      writeJson(dir / "manifest.json", m);
    }
    auto cli = [&](const QStringList& args, QByteArray* out = nullptr) {
      QProcess p;
      p.start(RR_CLI_PATH, args);
      p.waitForStarted();
      p.write("{\"prompt\": \"a\", \"response\": \"b\"}\n");
      p.closeWriteChannel();
      p.waitForFinished(60000);
      if (out) *out = p.readAllStandardOutput();
      return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardError()));
    };
    const QString db = QString::fromStdString((moved / "p.db").string());
    const QString rodos = QString::number(m_runs[1]);
    QCOMPARE(cli({"score", "--db", db, "--run", rodos}).first, 0);
    QByteArray out;
    const auto [code, err] = cli({"score", "--db", db, "--run", rodos, "--normalize"}, &out);
    QCOMPARE(code, 2);
    QCOMPARE(out, QByteArray());
    QCOMPARE(err, "error: " +
                      QString::fromStdString(runDir(moved / "p.db", m_runs[1]).string()) +
                      ": --normalize: this model has no reward normalisation figures (saved "
                      "before they were, or not trained here); retrain the run or extend it to "
                      "get them\n");
    const auto [modelCode, modelErr] = cli(
        {"score", "--model", QString::fromStdString(runDir(moved / "p.db", m_runs[0]).string()),
         "--normalize"});
    QCOMPARE(modelCode, 2);
    QVERIFY2(modelErr.contains("no reward normalisation figures"), qPrintable(modelErr));

    SyntheticOptions so;
    so.pairsPerDomain = 30;
    so.domains = {"instruct"};
    const std::string added = path("instruct-scale.jsonl").string();
    writePairsFile(added, generateSynthetic(so));
    NullSink sink;
    RunControl control;
    const ExtendOutcome ext = extendRun((moved / "p.db").string(), m_runs[1], added, sink, control);
    QVERIFY2(ext.status == RunStatus::Finished, ext.error.c_str());
    // The extended run's own saved system is its own (it was refused as "saved by another run",
    // its entry name being the original's plus the domain).
    {
      const std::string db = (moved / "p.db").string();
      const auto info = RunStore::open(db, true)->run(ext.runId);
      QVERIFY(info && info->methodName.find('+') != std::string::npos);
      QVERIFY(loadRunSystem(db, *info) != nullptr);
    }
    // Recomputed on the extended data: every training pair, the new domain's included (the
    // tiny router may send none of them to the new expert, so the domains are not checked).
    const json n = readJson(runDir(moved / "p.db", ext.runId) / "normalization.json");
    std::int64_t trainPairs = 0, newTrainPairs = 0;
    {
      sqlite3* db = nullptr;
      QCOMPARE(sqlite3_open_v2((moved / "p.db").string().c_str(), &db, SQLITE_OPEN_READONLY,
                               nullptr),
               SQLITE_OK);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, "SELECT domain FROM pairs WHERE split = 'train'", -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) {
        ++trainPairs;
        newTrainPairs += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) ==
                         "instruct";
      }
      sqlite3_finalize(st);
      sqlite3_close(db);
    }
    QVERIFY(newTrainPairs > 0);
    QCOMPARE(n.at("all").at("rewards").get<std::int64_t>(), 2 * trainPairs);
    QVERIFY(RunScorer::openDirectory(runDir(moved / "p.db", ext.runId).string())
                ->hasNormalization());
    QVERIFY(!RunStore::open((moved / "p.db").string(), true)
                 ->validationPairs({ext.runId})
                 .empty());
  }

  // The CLI: exit status 2, one line on stderr, nothing on stdout.
  void cliRefusesWithOneLine_data() {
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("expected");
    QTest::newRow("tampered weights") << "tampered"
                                      << "m0.pt: checksum mismatch";
    QTest::newRow("stale model") << "stale"
                                 << "saved by another run than run 1";
  }
  void cliRefusesWithOneLine() {
    QFETCH(QString, what);
    QFETCH(QString, expected);
    QStringList args;
    if (what == "tampered") {
      const fs::path dir = copyOfRun1("cli-tampered");
      std::ofstream(dir / "m0.pt", std::ios::app) << "x";
      args << "score"
           << "--model" << QString::fromStdString(dir.string());
    } else {
      const fs::path db = path("cli-stale") / "p.db";
      fs::create_directories(db.parent_path());
      fs::copy(m_db.string() + ".models", db.string() + ".models", fs::copy_options::recursive);
      RunWriter w(db.string());
      w.setStatus(w.createRun("p", "baseline", "baseline", 4, "{}"), RunStatus::Finished);
      args << "score"
           << "--db" << QString::fromStdString(db.string()) << "--run"
           << "1";
    }
    QProcess cli;
    cli.start(RR_CLI_PATH, args);
    QVERIFY(cli.waitForStarted());
    cli.write("{\"prompt\": \"a\", \"response\": \"b\"}\n");
    cli.closeWriteChannel();
    QVERIFY(cli.waitForFinished(60000));
    const QString err = QString::fromUtf8(cli.readAllStandardError());
    QCOMPARE(cli.exitStatus(), QProcess::NormalExit);
    QCOMPARE(cli.exitCode(), 2);
    QCOMPARE(cli.readAllStandardOutput(), QByteArray());
    QVERIFY2(err.startsWith("error: ") && err.count('\n') == 1 && err.contains(expected),
             qPrintable(err));
  }

  // Saving never writes through a link: the folder that holds the saved systems (<db>.models)
  // must be a real folder, and links left at or inside an earlier folder of the run are
  // replaced with it, the files they point at unchanged byte for byte.
  void savingNeverWritesThroughALink() {
    auto loaded = loadSystem(runDir(m_db, m_runs[0]).string());
    const fs::path outside = path("links-outside");
    fs::create_directories(outside);
    const std::string precious = "precious bytes\n";
    writeText(outside / "m0.pt", precious);
    writeText(outside / "tokenizer.model", precious);
    auto unchanged = [&] {
      size_t files = 0;
      for (const auto& e : fs::directory_iterator(outside)) {
        ++files;
        std::ifstream in(e.path(), std::ios::binary);
        QCOMPARE(std::string(std::istreambuf_iterator<char>(in), {}), precious);
      }
      QCOMPARE(files, size_t(2));
    };
    auto save = [&](const fs::path& dir) {
      return messageOf([&] {
        saveSystem(*loaded->system, *loaded->ctx, *loaded->tokenizer, dir.string(), "u");
      });
    };
    // <db>.models a link to a folder elsewhere.
    const fs::path linked = path("linked.db.models");
    fs::create_directory_symlink(outside, linked);
    const std::string msg = save(linked / "run-1");
    QVERIFY2(msg.rfind(linked.string() + ": a symbolic link", 0) == 0, msg.c_str());
    unchanged();
    // An earlier run-1 with a hard link and a symbolic link to the files outside.
    const fs::path models = path("planted.db.models");
    fs::create_directories(models / "run-1");
    fs::create_hard_link(outside / "m0.pt", models / "run-1" / "m0.pt");
    fs::create_symlink(outside / "tokenizer.model", models / "run-1" / "tokenizer.model");
    QCOMPARE(QString::fromStdString(save(models / "run-1")), QString());
    unchanged();
    QVERIFY(loadSystem((models / "run-1").string()) != nullptr);
    // run-2 itself a link to the folder outside.
    fs::create_directory_symlink(outside, models / "run-2");
    QCOMPARE(QString::fromStdString(save(models / "run-2")), QString());
    unchanged();
    QVERIFY(!fs::is_symlink(models / "run-2"));
    QVERIFY(loadSystem((models / "run-2").string()) != nullptr);
    QCOMPARE(leftovers(models), QStringList());
  }

  void atomicFileReportsAFullDisk() {
    const fs::path target = path("atomic.txt");
    writeText(target, "old");
    setWriteFaultForTesting([](const std::string&) { return ENOSPC; });
    std::string msg;
    {
      AtomicFile out(target.string());
      out.stream() << std::string(100000, 'x');
      msg = messageOf([&] { out.commit(); });
    }
    setWriteFaultForTesting({});
    QCOMPARE(QString::fromStdString(msg),
             "disk full while saving " + QString::fromStdString(target.string()));
    std::ifstream in(target);
    std::string content;
    in >> content;
    QCOMPARE(QString::fromStdString(content), QStringLiteral("old"));
    for (const auto& e : fs::directory_iterator(m_root))
      QVERIFY2(e.path().filename().string().rfind("atomic.txt.tmp", 0) != 0, e.path().c_str());
  }

  // A full disk while weights are saved fails that run ("disk full while saving <file>"), leaves
  // no temporary file or half folder, and the store stays usable.
  void fullDiskWhileSavingFailsTheRun() {
    const fs::path db = path("full") / "p.db";
    fs::create_directories(db.parent_path());
    setWriteFaultForTesting([](const std::string& p) {
      return p.find(".models/run-1") != std::string::npos && p.size() > 6 &&
                     p.compare(p.size() - 5, 5, "m0.pt") == 0
                 ? ENOSPC
                 : 0;
    });
    ExperimentConfig c = parseExperimentConfig(kConfig, "p.json");
    ExperimentOptions o;
    o.dbPath = db.string();
    o.inferenceRepeats = 1;
    NullSink sink;
    RunControl control;
    const ExperimentOutcome out = runExperiment(c, o, sink, control);
    setWriteFaultForTesting({});
    QCOMPARE(out.failed, 1);
    QCOMPARE(out.finished, 2);
    auto store = RunStore::open(db.string());
    const auto run = store->run(1);
    QCOMPARE(QString::fromStdString(toString(run->status)), QStringLiteral("failed"));
    QCOMPARE(QString::fromStdString(run->error),
             "disk full while saving " + QString::fromStdString(runDir(db, 1).string()) + "/m0.pt");
    QVERIFY(!fs::exists(runDir(db, 1)));
    QCOMPARE(leftovers(db.string() + ".models"), QStringList());
    QCOMPARE(QString::fromStdString(toString(store->run(2)->status)), QStringLiteral("finished"));
    auto scorer = RunScorer::openRun(db.string(), 2);
    scoresMatch(*scorer, db, 2);
  }

  // The file-size limit (ulimit -f, SIGXFSZ ignored) makes writes fail with EFBIG: an error that
  // names the file, with no abort from LibTorch's writer and the existing folder kept.
  void fileSizeLimitIsAnError() {
    auto loaded = loadSystem(runDir(m_db, m_runs[0]).string());
    const fs::path dir = copyOfRun1("limited");
    const json before = readJson(dir / "manifest.json");
    rlimit old{};
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
    auto previous = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 16 * 1024;
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
    const std::string msg = messageOf(
        [&] { saveSystem(*loaded->system, *loaded->ctx, *loaded->tokenizer, dir.string(), "u"); });
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    QVERIFY2(msg.rfind("file size limit exceeded while saving " + dir.string() + "/m", 0) == 0,
             msg.c_str());
    for (const auto& e : fs::directory_iterator(m_root)) {
      const std::string name = e.path().filename().string();
      QVERIFY2(name == "limited" || name.rfind("limited", 0) != 0, name.c_str());
    }
    QCOMPARE(leftovers(dir), QStringList());
    QCOMPARE(readJson(dir / "manifest.json"), before);
    QVERIFY(loadSystem(dir.string()) != nullptr);
  }
};

QTEST_GUILESS_MAIN(TestPersist)
#include "tst_persist.moc"
