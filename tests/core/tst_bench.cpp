// The bench's output contract: the JSON sections and keys the checks and docs read, ratios that
// follow from the raw figures, analytic FLOPs, and ARLISS's two inference modes scoring alike.
// Never a timing: the quick run checks structure on toy shapes, the real suite's quick run on
// the tiny Hugging Face fixtures (no Python, no network, no models/).
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <cstdlib>

#include "bench/bench.h"
#include "common/errors.h"
#include "data/pairsio.h"

using namespace rr::core;
using nlohmann::json;

namespace {

json spread(double median) { return {{"median", median}, {"min", median}, {"max", median}}; }

BenchOptions quickOptions() {
  BenchOptions o;
  o.quick = true;
  o.presets = {"tiny"};
  o.repeats = 2;
  o.batchPairs = 4;
  o.seqLen = 16;
  return o;
}

// The quick bench's inference of the Baseline alone, then the reference through `python`.
BenchOptions referenceOptions(const std::string& python) {
  BenchOptions o = quickOptions();
  o.suite = "infer";
  o.systems = {"baseline"};
  o.python = python;
  o.referenceScript = RR_SOURCE_DIR "/bench/reference.py";
  return o;
}

// A stand-in interpreter: a shell script with `body`.
bool writeScript(const QString& path, const QByteArray& body) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return false;
  f.write("#!/bin/sh\n" + body);
  f.close();
  return f.setPermissions(f.permissions() | QFileDevice::ExeOwner);
}

const json* row(const json& rows, const std::string& key, const std::string& value) {
  for (const auto& r : rows)
    if (r.value(key, "") == value) return &r;
  return nullptr;
}

const std::string kFixtures = RR_SOURCE_DIR "/tests/fixtures/hf/models/";

// `bench --suite real --quick` on the tiny fixture folders: 4 pairs scored (8 inputs), 8 trained
// in batches of 4 at 32 tokens, once, with one thread; the whole-process rows through the CLI.
BenchOptions realQuickOptions() {
  BenchOptions o;
  o.suite = "real";
  o.quick = true;
  o.repeats = 1;
  o.threads = 1;
  o.batchPairs = 4;
  o.models = {kFixtures + "bert-rm", kFixtures + "deberta-v3-rm"};
  o.profile = RR_SOURCE_DIR "/bench/profiles/hh-rlhf-harmless-test.json";
  o.scorePairs = 4;
  o.trainPairs = 8;
  o.trainMaxLen = 32;
  o.cli = RR_CLI_PATH;
  return o;
}

// The real suite's reference through `python`: one model, 2 inputs, no training, no process.
BenchOptions realReferenceOptions(const std::string& python) {
  BenchOptions o = realQuickOptions();
  o.models = {kFixtures + "bert-rm"};
  o.scorePairs = 1;
  o.trainPairs = 0;
  o.cli.clear();
  o.python = python;
  o.realReference = RR_SOURCE_DIR "/bench/real_reference.py";
  return o;
}

const json* realRow(const json& rows, const std::string& model, const std::string& who) {
  for (const auto& r : rows)
    if (r.value("model", "") == model &&
        (r.value("scorer", "") == who || r.value("trainer", "") == who))
      return &r;
  return nullptr;
}

}  // namespace

class TestBench : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  json m_quick;

 private Q_SLOTS:
  void initTestCase() {
    qputenv("RR_CACHE_DIR", m_dir.path().toUtf8());
    m_quick = runBench(quickOptions());
  }

  void spreadIsMedianAndRange() {
    const json odd = spreadOf({3, 1, 2});
    QCOMPARE(odd["median"].get<double>(), 2.0);
    QCOMPARE(odd["min"].get<double>(), 1.0);
    QCOMPARE(odd["max"].get<double>(), 3.0);
    QCOMPARE(odd["n"].get<int>(), 3);
    QCOMPARE(spreadOf({4, 1, 2, 3})["median"].get<double>(), 2.5);
    QVERIFY(spreadOf({}).is_null());
  }

  void flopsFollowTheShape() {
    // One layer, H=2, FFN=4, 1 row of 3 tokens: 2·3·4·4 + 2·3·2·2·4 + 2·2·1·9·2 = 96 + 96 + 72.
    const EncoderShape s{2, 1, 1, 4};
    QCOMPARE(encoderForwardFlops(s, 1, 3), 264.0);
    QCOMPARE(encoderForwardFlops({2, 3, 1, 4}, 1, 3), 3 * 264.0);
    QCOMPARE(encoderTrainFlops(s, 1, 3), 3 * 264.0);
    LoraConfig lora;
    lora.rank = 1;
    lora.targets = {"query"};
    // Frozen: forward + input gradients, plus 3 x 2·N·r·(in + out) = 6·3·1·4 for the adapter.
    QCOMPARE(encoderTrainFlops(s, 1, 3, &lora), 2 * 264.0 + 72.0);
    // The last layer for the first token alone: key and value for 3 tokens, the rest for one:
    // 2·3·2·4 + 2·1·2·4 + 2·1·2·2·4 + 2·2·1·3·2 = 48 + 16 + 32 + 24.
    QCOMPARE(encoderForwardFlops(s, 1, 3, true), 120.0);
    QCOMPARE(encoderForwardFlops({2, 3, 1, 4}, 1, 3, true), 2 * 264.0 + 120.0);
    QCOMPARE(encoderTrainFlops(s, 1, 3, nullptr, true), 3 * 120.0);
    // The query adapter of a first-only last layer: 6·1·1·4.
    QCOMPARE(encoderTrainFlops(s, 1, 3, &lora, true), 2 * 120.0 + 24.0);
    lora.targets = {"key"};
    QCOMPARE(encoderTrainFlops(s, 1, 3, &lora, true), 2 * 120.0 + 72.0);
  }

  void ratiosComeFromTheRawFigures() {
    json r = {
        {"ratio_preset", "mini"},
        {"train",
         {{{"preset", "mini"},
           {"method", "baseline"},
           {"component", "model"},
           {"pairs_per_s", spread(100)},
           {"step_ms", spread(160)},
           {"mfu", 0.4}},
          {{"preset", "mini"},
           {"method", "more"},
           {"component", "model"},
           {"pairs_per_s", spread(90)},
           {"step_ms", spread(168)}}}},
        {"infer",
         {{{"preset", "mini"},
           {"system", "baseline"},
           {"batch1_ms", spread(4)},
           {"batch32_pairs_per_s", spread(200)}},
          {{"preset", "mini"}, {"system", "arliss-mixed"}, {"batch32_pairs_per_s", spread(150)}},
          {{"preset", "mini"}, {"system", "arliss-switch"}, {"batch32_pairs_per_s", spread(50)}}}},
        {"python",
         {{"presets",
           {{"mini",
             {{"train_pairs_per_s", spread(80)},
              {"baseline", {{"batch1_ms", spread(5)}, {"batch32_pairs_per_s", spread(160)}}},
              {"arliss_switch", {{"batch32_pairs_per_s", spread(25)}}}}}}}}}};
    const json q = benchRatios(r);
    QCOMPARE(q["arliss_mixed_vs_baseline_pairwise"].get<double>(), 0.75);
    QCOMPARE(q["arliss_mixed_vs_switch_pairwise"].get<double>(), 3.0);
    QCOMPARE(q["more_vs_baseline_step_time"].get<double>(), 1.05);
    QCOMPARE(q["baseline_train_vs_python"].get<double>(), 1.25);
    QCOMPARE(q["baseline_infer_vs_python"].get<double>(), 1.25);
    QCOMPARE(q["baseline_infer_batch1_vs_python"].get<double>(), 1.25);
    QCOMPARE(q["arliss_switch_infer_vs_python"].get<double>(), 2.0);
    QCOMPARE(q["mfu_train_mini"].get<double>(), 0.4);
    r.erase("python");
    const json without = benchRatios(r);
    for (const char* k : {"baseline_train_vs_python", "baseline_infer_vs_python",
                          "baseline_infer_batch1_vs_python", "arliss_switch_infer_vs_python"})
      QVERIFY2(!without.contains(k), k);
    QCOMPARE(without["arliss_mixed_vs_switch_pairwise"].get<double>(), 3.0);
  }

  void quickRunHasEverySection() {
    for (const char* key : {"machine", "settings", "matmul", "train", "infer", "consistency",
                            "store", "scaling_pairs", "scaling_domains", "ratios"})
      QVERIFY2(m_quick.contains(key), key);
    // The ceiling: the best of the squares timed first and the largest timed again after the
    // training figures; each preset's own shapes follow the first squares.
    double best = 0;
    for (const auto& m : m_quick["matmul"])
      if (m["preset"] == "" || m["preset"] == "after training")
        best = std::max(best, m["gflops"]["median"].get<double>());
    QCOMPARE(m_quick["matmul"].size(), size_t(1 + 3 + 1));
    QCOMPARE(m_quick["matmul"].back()["preset"].get<std::string>(),
             std::string("after training"));
    QCOMPARE(m_quick["ceiling_gflops_after_training"].get<double>(),
             m_quick["matmul"].back()["gflops"]["median"].get<double>());
    QCOMPARE(m_quick["ceiling_gflops"].get<double>(), best);
    QVERIFY(!m_quick.contains("python"));
    QCOMPARE(m_quick["python_status"].get<std::string>(), std::string("off"));
    QVERIFY(m_quick["python_note"].is_string());
    for (const char* m : {"baseline", "base-lora", "more", "rodos", "arliss", "dmoerm"})
      QVERIFY2(row(m_quick["train"], "method", m), m);
    for (const char* s :
         {"baseline", "base-lora", "more", "rodos", "arliss-mixed", "arliss-switch", "dmoerm"}) {
      const json* r = row(m_quick["infer"], "system", s);
      QVERIFY2(r, s);
      QVERIFY((*r)["batch32_pairs_per_s"]["median"].get<double>() > 0);
      QVERIFY((*r)["params"].get<int64_t>() > 0);
    }
    QVERIFY(row(m_quick["infer"], "system", "rodos")->at("routes_used").get<int>() >= 1);
    QVERIFY(row(m_quick["infer"], "system", "baseline")->at("routes_used").is_null());
  }

  void quickRatiosMatchItsFigures() {
    const json& q = m_quick["ratios"];
    for (const char* k :
         {"arliss_mixed_vs_baseline_pairwise", "more_vs_baseline_step_time", "store_overhead"})
      QVERIFY2(q.contains(k), k);
    // Mini and the reference were not measured: their ratios are absent, not 0 or NaN.
    for (const char* k : {"mfu_train_mini", "baseline_train_vs_python", "baseline_infer_vs_python"})
      QVERIFY2(!q.contains(k), k);
    for (const auto& [k, v] : q.items())
      QVERIFY2(v.is_number() && std::isfinite(v.get<double>()), k.c_str());
    QCOMPARE(m_quick["ratio_preset"].get<std::string>(), std::string("tiny"));
    const auto rate = [&](const char* s) {
      return row(m_quick["infer"], "system", s)->at("batch32_pairs_per_s")["median"].get<double>();
    };
    QCOMPARE(q["arliss_mixed_vs_baseline_pairwise"].get<double>(),
             rate("arliss-mixed") / rate("baseline"));
    QCOMPARE(q, benchRatios(m_quick));
    const json* train = row(m_quick["train"], "method", "baseline");
    QCOMPARE((*train)["mfu"].get<double>(), (*train)["pairs_per_s"]["median"].get<double>() *
                                                (*train)["gflop_per_pair"].get<double>() /
                                                m_quick["ceiling_gflops"].get<double>());
  }

  void arlissMixedScoresWhatSwitchScores() {
    const json& c = m_quick["consistency"];
    QCOMPARE(c.size(), size_t(1));
    QVERIFY(c[0]["max_abs_diff"].get<double>() < 1e-4);
  }

  void domainScalingGrowsTheRoutedSystems() {
    for (const char* m : {"rodos", "arliss", "dmoerm"}) {
      std::vector<int64_t> params;
      for (const auto& r : m_quick["scaling_domains"])
        if (r["method"] == m) params.push_back(r["params"].get<int64_t>());
      QCOMPARE(params.size(), size_t(2));
      QVERIFY2(params[1] > params[0], m);
    }
    QCOMPARE(m_quick["scaling_pairs"].size(), size_t(2));
  }

  void formatsCarryEverySection() {
    const std::string table = formatBench(m_quick, "table");
    for (const char* h :
         {"## matmul", "## train", "## infer", "## store", "## scaling_domains", "## ratios"})
      QVERIFY2(table.find(h) != std::string::npos, h);
    const std::string csv = formatBench(m_quick, "csv");
    QVERIFY(csv.find("section,preset,system,batch-1 ms,batch-1 ms_min,batch-1 ms_max") !=
            std::string::npos);
    QVERIFY(csv.find("\ninfer,tiny,arliss-switch,") != std::string::npos);
    const json note = {{"python_note", "no python, \"none\""}};
    QVERIFY(formatBench(note, "csv").find("reference_note,\"no python, \"\"none\"\"\"") !=
            std::string::npos);
  }

  // A machine without Debian's python3-torch: the bench still succeeds, says so in one line, and
  // leaves out every figure and ratio the reference would have given.
  void referenceWithoutTorchIsSkipped() {
    const QString python = m_dir.filePath("python3");
    QVERIFY(
        writeScript(python, "echo \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n"));
    const json r = runBench(referenceOptions(python.toStdString()));
    QCOMPARE(r["python_status"].get<std::string>(), std::string("skipped"));
    const std::string note = r["python_note"].get<std::string>();
    QCOMPARE(note, "reference skipped: " + python.toStdString() +
                       " cannot import torch — install Debian's python3-torch (apt-get install "
                       "python3-torch)");
    QVERIFY(!r.contains("python"));
    for (const auto& [k, v] : r["ratios"].items()) {
      QVERIFY2(k.find("python") == std::string::npos, k.c_str());
      QVERIFY2(v.is_number() && std::isfinite(v.get<double>()), k.c_str());
    }
    QVERIFY(!r["ratios"].contains("store_overhead"));  // the train suite did not run
    const std::string table = formatBench(r, "table");
    QVERIFY(table.find("\n" + note + "\n") != std::string::npos);
    QVERIFY(table.find("_vs_python") == std::string::npos);
    QVERIFY(table.find("## reference\n") == std::string::npos);
  }

  void referenceWithoutInterpreterIsSkipped() {
    const std::string python = m_dir.filePath("no-such-python").toStdString();
    const json r = runBench(referenceOptions(python));
    QCOMPARE(r["python_status"].get<std::string>(), std::string("skipped"));
    QCOMPARE(r["python_note"].get<std::string>(),
             "reference skipped: cannot run " + python +
                 " (not found) — install Debian's python3-torch (apt-get install python3-torch)");
    QVERIFY(!r.contains("python"));
    QVERIFY(!r["ratios"].contains("baseline_infer_vs_python"));
  }

  // Torch imports, the script breaks: a failure, told by the exception's line of the traceback.
  void referenceThatBreaksIsAFailure() {
    const QString python = m_dir.filePath("python-breaks");
    QVERIFY(
        writeScript(python,
                    "[ \"$1\" = -c ] && exit 0\necho Traceback >&2\necho 'RuntimeError: boom' >&2\n"
                    "exit 1\n"));
    const json r = runBench(referenceOptions(python.toStdString()));
    QCOMPARE(r["python_status"].get<std::string>(), std::string("failed"));
    const std::string note = r["python_note"].get<std::string>();
    QVERIFY2(note.find("exited 1: RuntimeError: boom") != std::string::npos, note.c_str());
    QVERIFY(note.find('\n') == std::string::npos);
    QVERIFY(!r["ratios"].contains("baseline_infer_vs_python"));
  }

  // `bench --quick --preset deberta-v3-xsmall`: the DeBERTa-v3 rows, at the quick shape (2 layers
  // of 32, the real vocabulary and relative-position table), and no ratio against a reference
  // that was skipped.
  void debertaPresetWithoutReference() {
    BenchOptions o = quickOptions();
    o.presets = {"deberta-v3-xsmall"};
    o.suite = "train,infer";
    o.python = m_dir.filePath("no-such-python").toStdString();
    o.referenceScript = RR_SOURCE_DIR "/bench/reference.py";
    const json r = runBench(o);
    const json* train = row(r["train"], "method", "deberta-v3");
    QVERIFY(train);
    QCOMPARE((*train)["preset"].get<std::string>(), std::string("deberta-v3-xsmall"));
    QVERIFY((*train)["pairs_per_s"]["median"].get<double>() > 0);
    QVERIFY((*train)["gflop_per_pair"].get<double>() > 0);
    const json* infer = row(r["infer"], "system", "deberta-v3");
    QVERIFY(infer);
    QVERIFY((*infer)["batch32_pairs_per_s"]["median"].get<double>() > 0);
    QVERIFY((*infer)["batch1_ms"]["median"].get<double>() > 0);
    // 128100 x 32 word embeddings + 2 layers of 32 (ffn 64) + 512 relative rows + pooler + head.
    QCOMPARE((*infer)["params"].get<int64_t>(), int64_t(4133889));
    QCOMPARE(r["train"].size(), size_t(1));  // the methods' presets were not asked for
    QCOMPARE(r["python_status"].get<std::string>(), std::string("skipped"));
    for (const char* k : {"deberta_v3_xsmall_train_vs_python", "deberta_v3_xsmall_infer_vs_python"})
      QVERIFY2(!r["ratios"].contains(k), k);
    QVERIFY(formatBench(r, "table").find("deberta-v3-xsmall  deberta-v3") != std::string::npos);
  }

  void debertaRatiosFollowTheReference() {
    json r = {{"train",
               {{{"preset", "deberta-v3-small"},
                 {"method", "deberta-v3"},
                 {"component", "model"},
                 {"pairs_per_s", spread(6)}}}},
              {"infer",
               {{{"preset", "deberta-v3-small"},
                 {"system", "deberta-v3"},
                 {"batch32_pairs_per_s", spread(30)}}}},
              {"python",
               {{"presets",
                 {{"deberta-v3-small",
                   {{"train_pairs_per_s", spread(5)},
                    {"infer", {{"batch32_pairs_per_s", spread(40)}}}}}}}}}};
    const json q = benchRatios(r);
    QCOMPARE(q["deberta_v3_small_train_vs_python"].get<double>(), 1.2);
    QCOMPARE(q["deberta_v3_small_infer_vs_python"].get<double>(), 0.75);
    QVERIFY(!q.contains("baseline_train_vs_python"));
    r["python"]["presets"].erase("deberta-v3-small");
    QVERIFY(!benchRatios(r).contains("deberta_v3_small_train_vs_python"));
  }

  // The real reference, where Debian's python3-torch is installed: its DeBERTa figures come back
  // and give the two ratios.
  void debertaReferenceIsMeasured() {
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
      QSKIP("no /usr/bin/python3 with torch");
    BenchOptions o = quickOptions();
    o.presets = {"deberta-v3-small"};
    o.suite = "infer";
    o.repeats = 1;
    o.python = "/usr/bin/python3";
    o.referenceScript = RR_SOURCE_DIR "/bench/reference.py";
    const json r = runBench(o);
    QCOMPARE(r["python_status"].get<std::string>(), std::string("measured"));
    QVERIFY(r["ratios"]["deberta_v3_small_infer_vs_python"].get<double>() > 0);
    QVERIFY(!r["ratios"].contains("deberta_v3_small_train_vs_python"));  // no train suite
  }

  void badOptionsAreInputErrors() {
    BenchOptions o = quickOptions();
    o.suite = "fast";
    QVERIFY_THROWS_EXCEPTION(InputError, runBench(o));
    o = quickOptions();
    o.presets = {"huge"};
    QVERIFY_THROWS_EXCEPTION(InputError, runBench(o));
    o = quickOptions();
    o.systems = {"ensemble"};
    QVERIFY_THROWS_EXCEPTION(InputError, runBench(o));
    o = quickOptions();
    o.precision = "fp16";
    QVERIFY_THROWS_EXCEPTION(InputError, runBench(o));
  }

  // Every system trains and scores under bf16 autocast (a dtype mismatch between an fp32 buffer
  // and a bf16 activation would land in "errors"); the figures say which precision they had.
  void bf16RunsEverySystem() {
    BenchOptions o = quickOptions();
    o.suite = "train,infer";
    o.precision = "bf16";
    const json r = runBench(o);
    QVERIFY2(!r.contains("errors"), r.value("errors", json()).dump().c_str());
    QCOMPARE(r["settings"]["precision"].get<std::string>(), std::string("bf16"));
    for (const char* m : {"baseline", "base-lora", "more", "rodos", "arliss", "dmoerm"})
      QVERIFY2(row(r["train"], "method", m), m);
    for (const char* s :
         {"baseline", "base-lora", "more", "rodos", "arliss-mixed", "arliss-switch", "dmoerm"}) {
      const json* x = row(r["infer"], "system", s);
      QVERIFY2(x, s);
      QVERIFY(std::isfinite((*x)["batch32_pairs_per_s"]["median"].get<double>()));
    }
    // bf16 keeps 8 bits of mantissa: ARLISS's two modes agree to bf16's resolution, not 1e-5.
    QVERIFY(r["consistency"][0]["max_abs_diff"].get<double>() < 0.1);
  }

  // `bench --suite real --quick`: both folders scored in this process and by the `score`
  // process on texts of the profile's lengths (their rewards equal), the first one trained in
  // this process and by `run`, every MFU from its own figures, no reference and no ratio
  // against one.
  void realQuickRunMeasuresBothSides() {
    const json r = runBench(realQuickOptions());
    QVERIFY2(!r.contains("errors"), r.value("errors", json()).dump().c_str());
    QCOMPARE(r["real_reference_status"].get<std::string>(), std::string("off"));
    QCOMPARE(r["real_settings"]["load_averages"].size(), size_t(3));  // 2 scored, 1 trained
    const double ceiling = r["real_settings"]["ceiling_gflops"].get<double>();
    QCOMPARE(ceiling, r["ceiling_gflops"].get<double>());  // no other suite: the ceiling is its
    QVERIFY(ceiling > 0);
    for (const std::string model : {"bert-rm", "deberta-v3-rm"}) {
      const json* data = row(r["real_data"], "model", model);
      QVERIFY2(data, model.c_str());
      QCOMPARE((*data)["inputs"].get<int>(), 8);
      // Every text has the token count drawn from the profile.
      QCOMPARE((*data)["lengths_as_drawn"].get<double>(), 1.0);
      QVERIFY((*data)["max_tokens"].get<int>() <= (*data)["max_len"].get<int>());
      QVERIFY((*data)["padding_sorted"].get<double>() <=
              (*data)["padding_input_order"].get<double>());
      const json* ours = realRow(r["real_score"], model, "ours");
      QVERIFY(ours);
      QVERIFY((*ours)["inputs_per_s"]["median"].get<double>() > 0);
      QCOMPARE((*ours)["mfu"].get<double>(), (*ours)["useful_gflop"].get<double>() /
                                                 (*ours)["seconds"]["median"].get<double>() /
                                                 ceiling);
      QVERIFY(realRow(r["real_score"], model, "ours: score process"));
      const json* check = row(r["real_check"], "model", model);
      QVERIFY(check);
      QVERIFY((*check)["max_abs_diff_score_process"].get<double>() < 1e-6);
      QVERIFY(!check->contains("max_abs_diff_transformers"));
    }
    // Each input is cut at its model's own limit, as `score --model` cuts it.
    QCOMPARE(row(r["real_data"], "model", "bert-rm")->at("max_len").get<int>(), 64);
    QCOMPARE(row(r["real_data"], "model", "deberta-v3-rm")->at("max_len").get<int>(), 128);
    const json* epoch = realRow(r["real_train"], "bert-rm", "ours: epoch");
    QVERIFY(epoch);
    QCOMPARE((*epoch)["pairs"].get<int>(), 8);
    QCOMPARE((*epoch)["steps"].get<int>(), 2);
    QVERIFY((*epoch)["mfu"].get<double>() > 0);
    const json* run = realRow(r["real_train"], "bert-rm", "ours: run process");
    QVERIFY(run);
    QVERIFY((*run)["seconds"]["median"].get<double>() > 0);
    QVERIFY(!realRow(r["real_train"], "deberta-v3-rm", "ours: epoch"));
    const json& q = r["ratios"];
    for (const char* k :
         {"real_mfu_score_bert_rm", "real_mfu_score_deberta_v3_rm", "real_mfu_train_bert_rm"})
      QVERIFY2(q.contains(k), k);
    for (const auto& [k, v] : q.items())
      QVERIFY2(k.find("transformers") == std::string::npos && k.find("trl") == std::string::npos,
               k.c_str());
    const std::string table = formatBench(r, "table");
    for (const char* h : {"## real_data", "## real_score", "## real_train", "## real_check"})
      QVERIFY2(table.find(h) != std::string::npos, h);
  }

  // --pairs FILE: the file's own texts, its first pairs scored.
  void realSuiteReadsAPairsFile() {
    std::vector<PreferencePair> pairs;
    for (int k = 0; k < 3; ++k) {
      PreferencePair p;
      p.domain = "hh-rlhf";
      p.prompt = "what is the capital of france? " + std::string(k, '!');
      p.chosen = "paris is the capital.";
      p.rejected = "no.";
      pairs.push_back(p);
    }
    const std::string file = m_dir.filePath("three.pairs.jsonl").toStdString();
    writePairsFile(file, pairs);
    BenchOptions o = realQuickOptions();
    o.models = {kFixtures + "bert-rm"};
    o.pairsFile = file;
    o.trainPairs = 0;
    o.cli.clear();
    const json r = runBench(o);
    const json* data = row(r["real_data"], "model", "bert-rm");
    QCOMPARE((*data)["inputs"].get<int>(), 6);  // 3 pairs, fewer than --score-pairs 4
    QVERIFY(!data->contains("lengths_as_drawn"));
    QCOMPARE((*data)["truncated"].get<int>(), 0);
    QVERIFY(!r.contains("real_train"));
    QVERIFY(!realRow(r["real_score"], "bert-rm", "ours: score process"));  // no CLI given
  }

  // With another suite (--suite infer,real) the ceiling_gflops and MFUs of that suite stay its
  // own; the real rows use the better of it and the real suite's second timing.
  void realBesideAnotherSuiteKeepsItsCeiling() {
    BenchOptions o = realQuickOptions();
    o.suite = "infer,real";
    o.presets = {"tiny"};
    o.systems = {"baseline"};
    o.seqLen = 16;
    o.models = {kFixtures + "bert-rm"};
    o.trainPairs = 0;
    o.cli.clear();
    const json r = runBench(o);
    QVERIFY(r.contains("infer") && r.contains("real_score"));
    double first = 0;
    for (const auto& m : r["matmul"])
      if (m["preset"] == "") first = std::max(first, m["gflops"]["median"].get<double>());
    QCOMPARE(r["ceiling_gflops"].get<double>(), first);
    QCOMPARE(r["matmul"].back()["preset"].get<std::string>(), std::string("after the real suite"));
    QCOMPARE(r["real_settings"]["ceiling_gflops"].get<double>(),
             std::max(first, r["matmul"].back()["gflops"]["median"].get<double>()));
  }

  void realRatiosComeFromTheRows() {
    const json r = {
        {"real_score",
         {{{"model", "m-rm"}, {"scorer", "ours"}, {"inputs_per_s", spread(10)}, {"mfu", 0.2}},
          {{"model", "m-rm"}, {"scorer", "ours: score process"}, {"inputs_per_s", spread(5)}},
          {{"model", "m-rm"},
           {"scorer", "transformers eager, input order"},
           {"inputs_per_s", spread(4)}},
          {{"model", "m-rm"}, {"scorer", "transformers sdpa, sorted"}, {"inputs_per_s", spread(8)}},
          {{"model", "m-rm"}, {"scorer", "transformers sdpa, input order"}, {"note", "no sdpa"}},
          {{"model", "other"},
           {"scorer", "transformers eager, sorted"},
           {"inputs_per_s", spread(100)}}}},
        {"real_train",
         {{{"model", "m-rm"}, {"trainer", "ours: epoch"}, {"pairs_per_s", spread(6)}, {"mfu", 0.3}},
          {{"model", "m-rm"}, {"trainer", "ours: run process"}, {"pairs_per_s", spread(2)}},
          {{"model", "m-rm"}, {"trainer", "TRL train()"}, {"pairs_per_s", spread(4)}},
          {{"model", "m-rm"}, {"trainer", "TRL script"}, {"pairs_per_s", spread(1)}}}},
        {"real_check", {{{"model", "m-rm"}, {"max_abs_diff_transformers", 1e-5}}}}};
    const json q = benchRatios(r);
    QCOMPARE(q["real_score_m_rm_vs_transformers"].get<double>(), 1.25);  // over the best: 8
    QCOMPARE(q["real_score_process_m_rm_vs_transformers"].get<double>(), 0.625);
    QCOMPARE(q["real_train_m_rm_vs_trl"].get<double>(), 1.5);
    QCOMPARE(q["real_train_process_m_rm_vs_trl"].get<double>(), 2.0);
    QCOMPARE(q["real_mfu_score_m_rm"].get<double>(), 0.2);
    QCOMPARE(q["real_mfu_train_m_rm"].get<double>(), 0.3);
    QCOMPARE(q["real_max_reward_diff_m_rm"].get<double>(), 1e-5);
    QVERIFY(!q.contains("real_score_other_vs_transformers"));  // no row of ours
  }

  // An interpreter without transformers (or TRL): our rows stand, one line says why theirs
  // are missing.
  void realReferenceWithoutTransformersIsSkipped() {
    const QString python = m_dir.filePath("python-no-trl");
    QVERIFY(
        writeScript(python, "echo \"ModuleNotFoundError: No module named 'trl'\" >&2\nexit 1\n"));
    const json r = runBench(realReferenceOptions(python.toStdString()));
    QCOMPARE(r["real_reference_status"].get<std::string>(), std::string("skipped"));
    QCOMPARE(r["real_reference_note"].get<std::string>(),
             "reference skipped: " + python.toStdString() +
                 " cannot import torch, transformers, trl and datasets: ModuleNotFoundError: No "
                 "module named 'trl' — make a venv with tools/bench-venv.sh and give --python "
                 "VENV/bin/python");
    QVERIFY(realRow(r["real_score"], "bert-rm", "ours"));
    QCOMPARE(r["real_score"].size(), size_t(1));
    QVERIFY(!r["ratios"].contains("real_score_bert_rm_vs_transformers"));
  }

  // The probe passes, the script breaks: a failure, told by its last line, and the bench goes on.
  void realReferenceThatBreaksIsAFailure() {
    const QString python = m_dir.filePath("python-real-breaks");
    QVERIFY(writeScript(python,
                        "[ \"$1\" = -c ] && exit 0\necho Traceback >&2\n"
                        "echo 'RuntimeError: boom' >&2\nexit 1\n"));
    const json r = runBench(realReferenceOptions(python.toStdString()));
    QCOMPARE(r["real_reference_status"].get<std::string>(), std::string("failed"));
    const std::string note = r["real_reference_note"].get<std::string>();
    QVERIFY2(note.find("real_reference.py score exited 1: RuntimeError: boom") != std::string::npos,
             note.c_str());
    QVERIFY(realRow(r["real_score"], "bert-rm", "ours"));
    QVERIFY(!r.contains("errors"));
  }

  void realBadInputsAreInputErrors() {
    BenchOptions o = realQuickOptions();
    o.models.clear();
    QVERIFY_THROWS_EXCEPTION(InputError, runBench(o));
    // A folder without a one-label classifier is not a reward model: named in the message.
    o = realQuickOptions();
    o.models = {kFixtures + "deberta-v2-bare"};
    try {
      runBench(o);
      QFAIL("no error");
    } catch (const InputError& e) {
      QVERIFY2(std::string(e.what()).find("deberta-v2-bare") != std::string::npos, e.what());
    }
    const QString profile = m_dir.filePath("short.profile.json");
    QFile f(profile);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"prompt_tokens": [1, 2, 3], "response_tokens": [1, 2, 3]})");
    f.close();
    o = realQuickOptions();
    o.profile = profile.toStdString();
    try {
      runBench(o);
      QFAIL("no error");
    } catch (const InputError& e) {
      QCOMPARE(std::string(e.what()),
               profile.toStdString() +
                   ": prompt_tokens: expected the 101 percentiles 0..100 that "
                   "tools/make-real-profile.py writes");
    }
    o = realQuickOptions();
    o.precision = "bf16";
    QVERIFY_THROWS_EXCEPTION(InputError, runBench(o));
  }

  // The real suite's options belong to it: given to another suite, exit 2 and one line.
  void realOptionsOutsideTheRealSuite() {
    QProcess p;
    p.start(QStringLiteral(RR_CLI_PATH), {"bench", "--suite", "train", "--model", "x"});
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 2);
    QVERIFY2(p.readAllStandardError().contains("--model is an option of --suite real"),
             "no message");
  }

  // Failed measurements get their own section and the CUDA-only column is left out on the CPU.
  void errorsAndOptionalColumnsInTheTable() {
    QVERIFY(formatBench(m_quick, "table").find("batch-64") == std::string::npos);
    json r = m_quick;
    r["infer"][0]["batch64_pairs_per_s"] = spread(640);
    r["errors"] = json::array({{{"preset", "tiny"}, {"system", "more"}, {"message", "no bf16"}}});
    const std::string table = formatBench(r, "table");
    QVERIFY(table.find("batch-64 pairs/s") != std::string::npos);
    QVERIFY(table.find("## errors") != std::string::npos);
    QVERIFY(table.find("tiny    more    no bf16") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestBench)
#include "tst_bench.moc"
