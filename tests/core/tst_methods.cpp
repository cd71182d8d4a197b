// The method building blocks and the methods' contracts: LoRA math, mixed == switch adapters,
// top-k gating, routers on separable domains, DMoERM phases touching only their own weights,
// and a saved system scoring exactly what the run stored.
#include <QTemporaryDir>
#include <QtTest>
#include <numeric>
#include <set>

#include "common/errors.h"
#include "common/rng.h"
#include "data/dataset.h"
#include "data/pairsio.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"
#include "methods/method.h"
#include "methods/moe_p.h"
#include "nn/dropout.h"
#include "nn/encoder.h"
#include "store/runstore.h"
#include "train/loop.h"
#include "run/experiment.h"
#include "run/extend.h"
#include "run/persist.h"
#include "run/scoring.h"

using namespace rr::core;

namespace {

const char* kConfig = R"({
  "name": "m",
  "data": {"synthetic": {"pairs_per_domain": 80, "domains": ["harmless", "instruct", "ranked"], "seed": 3},
           "split": {"train": 0.7, "validation": 0.1, "test": 0.2}},
  "tokenizer": {"vocab_size": 300},
  "encoder": {"preset": "tiny", "hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "max_len": 48},
  "lora": {"rank": 4, "alpha": 16, "dropout": 0.0},
  "pretrain": {"steps": 150},
  "training": {"lr": 0.003, "batch_size": 16, "epochs": 2, "seed": 2},
  "methods": [{"method": "rodos"}, {"method": "arliss", "router_epochs": 8}, {"method": "dmoerm", "min_capability_pairs": 5}]
})";

struct WatchSink : MetricSink {
  std::function<void(const MetricRow&)> onMetric;
  void metric(const MetricRow& p) override {
    if (onMetric) onMetric(p);
  }
  void progress(const ProgressInfo&) override {}
  void log(std::int64_t, LogLevel, const std::string&) override {}
};

// Data, tokenizer and context for building methods directly.
struct Fixture {
  ExperimentConfig config = parseExperimentConfig(kConfig, "m.json");
  std::unique_ptr<Tokenizer> tok;
  EncodedData data;
  explicit Fixture(const std::string& cacheDir) {
    auto pairs = loadExperimentPairs(config);
    std::vector<std::string> texts;
    for (const auto& p : pairs) {
      texts.push_back(p.prompt);
      texts.push_back(p.chosen);
      texts.push_back(p.rejected);
    }
    TokenizerTrainOptions o;
    o.vocabSize = 300;
    o.cacheDir = cacheDir;
    tok = loadSentencePiece(trainSentencePiece(texts, o));
    data = encodeData(pairs, *tok, config.encoder.maxLen);
  }
  const MethodConfig& method(const std::string& name) {
    for (const auto& m : config.methods)
      if (m.method == name) return m;
    throw std::logic_error(name);
  }
};

std::map<std::string, torch::Tensor> snapshot(RewardSystem& s) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, module] : s.namedModules())
    for (const auto& p : module->named_parameters())
      out[name + "|" + p.key()] = p.value().detach().clone();
  return out;
}

std::set<std::string> changed(const std::map<std::string, torch::Tensor>& a,
                              const std::map<std::string, torch::Tensor>& b) {
  std::set<std::string> out;
  for (const auto& [k, v] : a)
    if (!torch::equal(v, b.at(k))) out.insert(k);
  return out;
}

}  // namespace

class TestMethods : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;

 private Q_SLOTS:
  void initTestCase() { qputenv("RR_CACHE_DIR", m_dir.path().toUtf8()); }

  void loraWithZeroBIsTheBaseLayer() {
    torch::manual_seed(1);
    nn::LoraLinear l(8, 6);
    torch::Tensor x = torch::randn({5, 8});
    torch::Tensor base = l->forward(x);
    l->addAdapter("a", 4, 16, 0.0);
    l->setActive(0);
    QVERIFY(torch::allclose(l->forward(x), base, 0, 0));
  }

  void mergedWeightEqualsUnmergedAdapter() {
    torch::manual_seed(2);
    nn::LoraLinear l(8, 6);
    l->addAdapter("a", 4, 16, 0.0);
    for (auto& p : l->adapterParameters(0)) {
      torch::NoGradGuard ng;
      p.normal_();
    }
    l->eval();
    l->setActive(0);
    torch::Tensor x = torch::randn({5, 8});
    torch::Tensor merged = torch::matmul(x, l->mergedWeight(0).t()) + l->base->bias;
    QVERIFY(torch::allclose(l->forward(x), merged, 1e-5, 1e-5));
    QVERIFY(!torch::allclose(l->forward(x), l->base->forward(x), 1e-3, 1e-3));
  }

  void meanPoolingAveragesTheTokensAndIgnoresPadding() {
    torch::manual_seed(5);
    nn::TransformerEncoder enc(50, EncoderShape{32, 2, 2, 64}, 16, 0.0);
    enc->eval();
    torch::NoGradGuard ng;
    // `ids`: one input of 5 tokens; `padded`: the same input followed by 4 pads, masked out.
    const torch::Tensor ids = torch::randint(4, 50, {1, 5}, torch::kLong);
    const torch::Tensor all = torch::ones({1, 5}, torch::kLong);
    const torch::Tensor padded = torch::cat({ids, torch::zeros({1, 4}, torch::kLong)}, 1);
    const torch::Tensor mask = torch::cat({all, torch::zeros({1, 4}, torch::kLong)}, 1);
    QCOMPARE(enc->pooling(), nn::Pooling::Cls);
    const torch::Tensor states = enc->forward(ids, all);
    QVERIFY(torch::allclose(enc->pooled(ids, all), states.select(1, 0)));
    enc->setPooling(nn::poolingFromName("mean"));
    const torch::Tensor mean = enc->pooled(ids, all);
    QVERIFY(torch::allclose(mean, states.mean(1), 1e-5, 1e-6));
    QVERIFY(!torch::allclose(mean, states.select(1, 0), 1e-3, 1e-3));
    // Pads are masked out of attention and out of the mean: the same value.
    QVERIFY(torch::allclose(enc->pooled(padded, mask), mean, 1e-4, 1e-5));
    QVERIFY_EXCEPTION_THROWN(nn::poolingFromName("max"), InputError);
  }

  void mixedRowsEqualSwitchedAdapters() {
    torch::manual_seed(3);
    EncoderShape shape{32, 2, 2, 64};
    nn::TransformerEncoder enc(50, shape, 16, 0.0);
    LoraConfig cfg;
    cfg.rank = 4;
    cfg.alpha = 8;
    cfg.dropout = 0;
    const std::vector<std::string> names = {"a", "b", "c"};
    for (const auto& n : names) {
      for (auto& p : nn::addAdapter(*enc, cfg, n)) {
        torch::NoGradGuard ng;
        p.normal_(0, 0.3);
      }
    }
    enc->eval();
    torch::NoGradGuard ng;
    torch::Tensor ids = torch::randint(4, 50, {12, 12}, torch::kLong);
    torch::Tensor mask = torch::ones({12, 12}, torch::kLong);
    // Rows in few runs of one adapter (slices) and in many (gathered rows): the same values.
    for (const std::vector<int64_t>& order :
         {std::vector<int64_t>{2, 2, 0, 0, 0, 1, 1, 1, 1, 2, 0, 0},
          std::vector<int64_t>{2, 0, 1, 1, 2, 0, 1, 0, 2, 1, 0, 2}}) {
      torch::Tensor rows = torch::tensor(order, torch::kLong);
      nn::setRowAdapters(*enc, cfg, names, rows);
      torch::Tensor mixed = enc->pooled(ids, mask);
      for (int64_t r = 0; r < 12; ++r) {
        nn::activateAdapter(*enc, cfg, names[static_cast<size_t>(order[static_cast<size_t>(r)])]);
        torch::Tensor one = enc->pooled(ids.slice(0, r, r + 1), mask.slice(0, r, r + 1));
        QVERIFY((one - mixed.slice(0, r, r + 1)).abs().max().item<double>() < 1e-5);
      }
      // With autograd on, adapters are not folded into the weights: the same values.
      torch::AutoGradMode grad(true);
      nn::setRowAdapters(*enc, cfg, names, rows);
      QVERIFY((enc->pooled(ids, mask) - mixed).abs().max().item<double>() < 1e-5);
    }
  }

  // The first token's state, computed with the last layer for that token alone, equals the
  // whole pass's, with padding and mixed adapters, and so do the gradients through it.
  void firstStateEqualsTheWholePass() {
    torch::manual_seed(8);
    nn::TransformerEncoder enc(50, EncoderShape{32, 3, 4, 64}, 16, 0.0);
    LoraConfig cfg;
    cfg.rank = 4;
    cfg.alpha = 8;
    cfg.dropout = 0;
    const std::vector<std::string> names = {"a", "b"};
    for (const auto& n : names)
      for (auto& p : nn::addAdapter(*enc, cfg, n)) {
        torch::NoGradGuard ng;
        p.normal_(0, 0.3);
      }
    const torch::Tensor ids = torch::randint(4, 50, {4, 10}, torch::kLong);
    torch::Tensor mask = torch::ones({4, 10}, torch::kLong);
    mask.slice(0, 1, 2).slice(1, 6, 10).zero_();
    nn::setRowAdapters(*enc, cfg, names, torch::tensor(std::vector<int64_t>{1, 0, 1, 0}));
    const torch::Tensor w = torch::randn({4, 32});
    auto gradsOf = [&](bool first) {
      enc->zero_grad();
      torch::Tensor s = first ? enc->firstState(ids, mask) : enc->forward(ids, mask).select(1, 0);
      (s * w).sum().backward();
      std::vector<torch::Tensor> g;
      for (const auto& p : enc->parameters())
        if (p.grad().defined()) g.push_back(p.grad().clone());
      return std::make_pair(s.detach(), g);
    };
    const auto [fast, fastGrads] = gradsOf(true);
    const auto [whole, wholeGrads] = gradsOf(false);
    QCOMPARE(fast.sizes(), whole.sizes());
    QVERIFY((fast - whole).abs().max().item<double>() < 1e-5);
    QCOMPARE(fastGrads.size(), wholeGrads.size());
    QVERIFY(fastGrads.size() > 10);
    for (size_t i = 0; i < fastGrads.size(); ++i) {
      // Float rounding only: within 1e-5 of the gradient's own scale.
      const double scale = std::max(1.0, wholeGrads[i].abs().max().item<double>());
      QVERIFY((fastGrads[i] - wholeGrads[i]).abs().max().item<double>() < 1e-5 * scale);
    }
    // And a padded row's first state is that of the row without its pads.
    enc->eval();
    torch::NoGradGuard ng;
    nn::activateAdapter(*enc, cfg, "b");
    const torch::Tensor padded = enc->firstState(ids.slice(0, 1, 2), mask.slice(0, 1, 2));
    const torch::Tensor cut = enc->firstState(ids.slice(0, 1, 2).slice(1, 0, 6),
                                              mask.slice(0, 1, 2).slice(1, 0, 6));
    QVERIFY((padded - cut).abs().max().item<double>() < 1e-4);
  }

  // The dropout mask: the share dropped is p, kept elements are scaled by 1/(1-p), the mask is
  // decided by LibTorch's generator (torch::manual_seed), and the gradient is the mask.
  void dropoutDropsAShareOfPDecidedByTheSeed() {
    const double p = 0.1;
    const torch::Tensor m = nn::dropoutMask({1 << 20}, p, 42);
    const double dropped = (m == 0).to(torch::kDouble).mean().item<double>();
    QVERIFY2(std::abs(dropped - p) < 0.002, qPrintable(QString::number(dropped)));
    QVERIFY(torch::equal(m.masked_select(m != 0),
                         torch::full({(m != 0).sum().item<int64_t>()}, 1.0 / (1 - p))));
    QVERIFY(torch::equal(nn::dropoutMask({1 << 20}, p, 42), m));
    QVERIFY(!torch::equal(nn::dropoutMask({1 << 20}, p, 43), m));
    // Neighbouring elements are independent: pairs are both dropped about p^2 of the time.
    const torch::Tensor d = (m == 0).to(torch::kDouble);
    const double both = (d.slice(0, 0, -1) * d.slice(0, 1)).mean().item<double>();
    QVERIFY2(std::abs(both - p * p) < 0.001, qPrintable(QString::number(both)));
    // An odd size takes its tail from one more hash.
    QCOMPARE(nn::dropoutMask({7}, 0.5, 1).numel(), int64_t(7));

    const torch::Tensor x = torch::randn({64, 33}).requires_grad_();
    torch::manual_seed(7);
    const torch::Tensor y1 = nn::dropout(x, 0.3, true);
    const torch::Tensor y2 = nn::dropout(x, 0.3, true);
    torch::manual_seed(7);
    QVERIFY(torch::equal(nn::dropout(x, 0.3, true), y1));
    QVERIFY(!torch::equal(y1, y2));
    y1.sum().backward();
    QVERIFY(torch::allclose(x.grad() * x, y1.detach(), 1e-6, 1e-6));
    QVERIFY(torch::equal(nn::dropout(x, 0.3, false), x));
    QVERIFY(torch::equal(nn::dropout(x, 0.0, true), x));
  }

  void topKGatingKeepsExactlyKAndNoiseOnlyInTraining() {
    torch::manual_seed(4);
    nn::SparseMoE moe(16, 5, 32, 2, true);
    {
      torch::NoGradGuard ng;
      moe->gate->weight.normal_();
      moe->noise->weight.normal_();
    }
    torch::Tensor x = torch::randn({40, 16});
    moe->train();
    nn::MoEOutput a = moe->forward(x), b = moe->forward(x);
    QVERIFY(((a.weights > 0).sum(1) == 2).all().item<bool>());
    QVERIFY(torch::allclose(a.weights.sum(1), torch::ones({40}), 1e-5, 1e-5));
    QVERIFY(!torch::equal(a.weights, b.weights));  // noisy in training
    moe->eval();
    nn::MoEOutput c = moe->forward(x), d = moe->forward(x);
    QVERIFY(torch::equal(c.weights, d.weights));  // deterministic in evaluation
    QVERIFY(((c.weights > 0).sum(1) == 2).all().item<bool>());
    QVERIFY(torch::allclose(c.load.sum(), torch::ones({}), 1e-5, 1e-5));
  }

  // Progress and the experiment's ETA count on each method's planned steps: every method takes
  // exactly the optimizer steps it plans (a component added to train() but not to the plan, or
  // planned with other items or epochs, fails here).
  void everyMethodTakesThePlannedSteps() {
    Fixture f(m_dir.path().toStdString());
    for (const auto& [name, entry] : methodRegistry()) {
      if (name == "pretrained") continue;  // nothing trained
      MethodConfig method;
      method.method = method.name = name;
      for (const auto& m : f.config.methods)
        if (m.method == name) method = m;  // with the fixture's options
      MethodContext ctx{f.config, method, 1, f.data, torch::kCPU, ""};
      auto system = createMethod(ctx);
      std::int64_t steps = 0;
      WatchSink sink;
      sink.onMetric = [&](const MetricRow& p) { steps += p.key == "loss" ? 1 : 0; };
      RunControl control;
      RunReporter reporter(sink, control, ProgressInfo{}, 1, 0, 1,
                           std::chrono::steady_clock::now());
      system->train(reporter);
      QVERIFY2(steps > 0, name.c_str());
      QVERIFY2(steps == entry.plannedSteps(ctx),
               (name + ": took " + std::to_string(steps) + " steps, planned " +
                std::to_string(entry.plannedSteps(ctx)))
                   .c_str());
    }
  }

  // The plan is what training does: its components, in its order, each under its own name.
  void trainingFollowsThePlan() {
    Fixture f(m_dir.path().toStdString());
    for (const auto& [name, entry] : methodRegistry()) {
      if (name == "pretrained") continue;
      MethodConfig method;
      method.method = method.name = name;
      for (const auto& m : f.config.methods)
        if (m.method == name) method = m;
      MethodContext ctx{f.config, method, 1, f.data, torch::kCPU, ""};
      auto system = createMethod(ctx);
      std::vector<std::string> seen;
      WatchSink sink;
      sink.onMetric = [&](const MetricRow& p) {
        if (p.key == "loss" && (seen.empty() || seen.back() != p.component))
          seen.push_back(p.component);
      };
      RunControl control;
      RunReporter reporter(sink, control, ProgressInfo{}, 1, 0, 1,
                           std::chrono::steady_clock::now());
      system->train(reporter);
      std::vector<std::string> planned;
      for (const auto& c : entry.plan(ctx))
        if (c.steps() > 0) planned.push_back(c.name);
      QVERIFY2(planned.size() > (name == "rodos" || name == "arliss" || name == "dmoerm" ? 2u : 0u),
               name.c_str());
      QVERIFY2(seen == planned, name.c_str());
    }
  }

  // Groups of a plan are independent: trained in the reverse order, every weight is what the
  // plan's order gives (each component seeds its own generator) — what spreading the groups over
  // processes relies on.
  void groupsTrainInAnyOrder() {
    Fixture f(m_dir.path().toStdString());
    for (const std::string name : {"rodos", "arliss", "dmoerm"}) {
      MethodContext ctx{f.config, f.method(name), 1, f.data, torch::kCPU, ""};
      WatchSink sink;
      RunControl control;
      RunReporter reporter(sink, control, ProgressInfo{}, 1, 0, 1,
                           std::chrono::steady_clock::now());
      auto forward = createMethod(ctx);
      forward->train(reporter);
      const TrainingPlan plan = forward->plan();
      std::vector<std::string> groups;
      for (const auto& c : plan)
        if (std::find(groups.begin(), groups.end(), c.group) == groups.end())
          groups.push_back(c.group);
      QVERIFY2(groups.size() >= 3, name.c_str());
      TrainingPlan reversed;
      for (auto g = groups.rbegin(); g != groups.rend(); ++g)
        for (const auto& c : plan)
          if (c.group == *g) reversed.push_back(c);
      auto backward = createMethod(ctx);
      trainPlan(*backward, reversed, reporter);
      const auto a = snapshot(*forward), b = snapshot(*backward);
      for (const auto& [k, v] : a)
        QVERIFY2(torch::allclose(v, b.at(k), 0, 1e-6), (name + ": " + k).c_str());
      const auto ca = forward->components(), cb = backward->components();
      for (size_t i = 0; i < ca.size(); ++i)
        QVERIFY2((ca[i].trainSeconds > 0) == (cb[i].trainSeconds > 0), ca[i].name.c_str());
    }
  }

  // Groups go to processes largest first, each to the least loaded; a group stays together.
  void groupsAreSpreadLargestFirst() {
    auto component = [](const std::string& group, int64_t steps) {
      PlannedComponent c;
      c.name = c.loop.component = group + "/" + std::to_string(steps);
      c.group = group;
      c.loop.examples = steps;
      c.loop.batchSize = 1;
      c.loop.epochs = 1;
      return c;
    };
    // Steps per group: a 10 (two components 6 + 4), b 3, c 8, d 5, router 2.
    const TrainingPlan plan = {component("a", 6), component("b", 3), component("a", 4),
                               component("c", 8), component("d", 5), component("router", 2)};
    QCOMPARE(plan[0].steps(), int64_t(6));
    // Largest first: a(10) -> 0; c(8) -> 1; d(5) -> 1 (load 8 < 10); b(3) -> 0 (10 < 13);
    // router(2) -> 0 (13 = 13: the lowest rank).
    QCOMPARE(assignGroups(plan, 2), (std::vector<int>{0, 0, 0, 1, 1, 0}));
    QCOMPARE(assignGroups(plan, 1), (std::vector<int>(6, 0)));
    // More processes than groups: some train nothing.
    QCOMPARE(assignGroups(plan, 8), (std::vector<int>{0, 3, 0, 1, 2, 4}));
  }

  void dmoermPhasesTouchOnlyTheirOwnParameters() {
    Fixture f(m_dir.path().toStdString());
    MethodContext ctx{f.config, f.method("dmoerm"), 1, f.data, torch::kCPU, ""};
    auto system = createMethod(ctx);
    // Snapshot after every metric; a new component's first metric closes the previous one.
    std::map<std::string, std::set<std::string>> touched;
    std::string current;
    auto last = snapshot(*system);
    auto start = last;
    WatchSink sink;
    sink.onMetric = [&](const MetricRow& p) {
      if (p.component != current) {
        if (!current.empty()) touched[current] = changed(start, last);
        start = last;
        current = p.component;
      }
      last = snapshot(*system);
    };
    RunControl control;
    RunReporter reporter(sink, control, ProgressInfo{}, 1, 0, 1, std::chrono::steady_clock::now());
    system->train(reporter);
    touched[current] = changed(start, snapshot(*system));
    QVERIFY(touched.count("router"));
    int experts = 0;
    for (const auto& [component, keys] : touched) {
      QVERIFY2(!keys.empty(), component.c_str());
      for (const auto& k : keys) {
        const std::string module = k.substr(0, k.find('|'));
        const std::string param = k.substr(k.find('|') + 1);
        const bool lora = param.find("lora_") != std::string::npos;
        const QString why = QString::fromStdString(component + " changed " + k);
        if (component == "router") {
          QVERIFY2(module.rfind("router.", 0) == 0, qPrintable(why));
        } else if (component.rfind("base:", 0) == 0) {
          QVERIFY2(module.rfind(component + ".", 0) == 0 && !lora, qPrintable(why));
        } else if (component.rfind("expert:", 0) == 0) {
          const std::string cat = component.substr(7, component.find('/') - 7);
          const std::string cap = component.substr(component.find('/') + 1);
          const bool ownAdapter = module == "base:" + cat + ".encoder" &&
                                  param.find("_cap:" + cap) != std::string::npos;
          QVERIFY2(ownAdapter || module == component + ".head", qPrintable(why));
          ++experts;
        } else {
          QVERIFY2(component.rfind("aggregator:", 0) == 0 && module == component, qPrintable(why));
        }
      }
    }
    QVERIFY(experts > 0);
  }

  void routersLearnSeparableDomainsAndSavedSystemsScoreTheSame() {
    ExperimentConfig c = parseExperimentConfig(kConfig, "m.json");
    ExperimentOptions o;
    o.dbPath = (m_dir.path() + "/m.db").toStdString();
    WatchSink sink;
    RunControl control;
    ExperimentOutcome out = runExperiment(c, o, sink, control);
    QCOMPARE(out.finished, 3);
    auto store = RunStore::open(o.dbPath);
    for (const auto& r : store->results(out.runIds))
      if (r.metric == "router_accuracy")
        QVERIFY2(r.value >= 0.9, qPrintable(QString("run %1: %2").arg(r.runId).arg(r.value)));
    // (Chance is 1/3; a frozen, briefly pre-trained encoder makes the ARLISS router the slowest.)
    // Scoring the stored test examples again through the saved model gives the stored rewards.
    for (std::int64_t id : out.runIds) {
      auto scorer = RunScorer::openRun(o.dbPath, id);
      ExampleFilter f;
      f.runIds = {id};
      const auto rows = store->examples(f, 0, 20);
      std::vector<ScoreInput> in;
      for (const auto& e : rows)
        in.push_back({store->pair(e.exampleId)->prompt, store->pair(e.exampleId)->chosen});
      const auto scores = scorer->score(in);
      QCOMPARE(scores.size(), rows.size());
      for (size_t k = 0; k < rows.size(); ++k) {
        QVERIFY(std::abs(scores[k].reward - rows[k].rewardChosen) < 1e-4);
        QCOMPARE(QString::fromStdString(scores[k].route), QString::fromStdString(rows[k].routedTo));
      }
    }
  }

  void arlissMixedAndSwitchGiveEqualRewards_data() {
    QTest::addColumn<QString>("pooling");
    QTest::newRow("cls") << "cls";
    QTest::newRow("mean") << "mean";  // switch mode's groups pad differently from mixed batches
  }

  void arlissMixedAndSwitchGiveEqualRewards() {
    QFETCH(QString, pooling);
    Fixture f(m_dir.path().toStdString());
    f.config.encoder.pooling = pooling.toStdString();
    MethodConfig mixed = f.method("arliss");
    mixed.textOptions["inference"] = "mixed";
    MethodConfig switched = mixed;
    switched.textOptions["inference"] = "switch";
    MethodContext a{f.config, mixed, 1, f.data, torch::kCPU, ""};
    MethodContext b{f.config, switched, 1, f.data, torch::kCPU, ""};
    auto sa = createMethod(a), sb = createMethod(b);
    WatchSink sink;
    RunControl control;
    RunReporter reporter(sink, control, ProgressInfo{}, 1, 0, 1, std::chrono::steady_clock::now());
    sa->train(reporter);
    const std::string dir = (m_dir.path() + "/arliss-" + pooling).toStdString();
    saveSystem(*sa, a, *f.tok, dir);
    auto loaded = loadSystem(dir);
    // Copy the trained weights into the switch-mode system.
    auto from = loaded->system->namedModules();
    auto to = sb->namedModules();
    for (size_t k = 0; k < to.size(); ++k) {
      torch::NoGradGuard ng;
      auto src = from[k].second->named_parameters();
      for (auto& p : to[k].second->named_parameters()) p.value().copy_(src[p.key()]);
    }
    const auto x = sa->scorePairs(f.data, f.data.test), y = sb->scorePairs(f.data, f.data.test);
    // The saved system reads the encoder as the trained one did: the pooling travels with it.
    const auto z = loaded->system->scorePairs(f.data, f.data.test);
    QCOMPARE(x.size(), f.data.test.size());
    for (size_t k = 0; k < x.size(); ++k) {
      QVERIFY(std::abs(x[k].chosen - y[k].chosen) < 1e-5);
      QVERIFY(std::abs(x[k].rejected - y[k].rejected) < 1e-5);
      QCOMPARE(x[k].route, y[k].route);
      QVERIFY(std::abs(x[k].chosen - z[k].chosen) < 1e-5);
    }
  }

  void extendTrainsOnlyTheNewDomainAndTheRouter() {
    ExperimentConfig c = parseExperimentConfig(kConfig, "m.json");
    c.data.synthetic.domains = {"harmless", "ranked"};
    c.methods.erase(c.methods.begin() + 2);  // rodos and arliss
    ExperimentOptions o;
    o.dbPath = (m_dir.path() + "/ext.db").toStdString();
    WatchSink sink;
    RunControl control;
    ExperimentOutcome out = runExperiment(c, o, sink, control);
    QCOMPARE(out.finished, 2);
    SyntheticOptions so;
    so.pairsPerDomain = 80;
    so.domains = {"instruct"};
    const std::string added = (m_dir.path() + "/instruct.jsonl").toStdString();
    writePairsFile(added, generateSynthetic(so));
    std::int64_t extended = 0;
    for (std::int64_t id : out.runIds) {
      ExtendOutcome ext = extendRun(o.dbPath, id, added, sink, control);
      extended = ext.runId;
      QCOMPARE(QString::fromStdString(ext.domain), QStringLiteral("instruct"));
      QVERIFY(ext.extendSeconds > 0);
      QVERIFY(ext.scratchSeconds > ext.extendSeconds);
      auto before = loadSystem(modelDirFor(o.dbPath, id));
      auto after = loadSystem(modelDirFor(o.dbPath, ext.runId));
      QCOMPARE(after->data.domains.size(), size_t(3));
      auto newModules = after->system->namedModules();
      int compared = 0;
      for (const auto& [name, module] : before->system->namedModules()) {
        if (name.rfind("router", 0) == 0) continue;
        auto it = std::find_if(newModules.begin(), newModules.end(),
                               [&](const auto& m) { return m.first == name; });
        QVERIFY2(it != newModules.end(), name.c_str());
        auto newParams = it->second->named_parameters();
        for (const auto& p : module->named_parameters()) {
          if (p.key().find("router") != std::string::npos) continue;  // ARLISS's router adapter
          QVERIFY2(torch::equal(p.value(), newParams[p.key()]), (name + " " + p.key()).c_str());
          ++compared;
        }
      }
      QVERIFY(compared > 4);
      auto store = RunStore::open(o.dbPath);
      ExampleFilter f;
      f.runIds = {ext.runId};
      f.domain = "instruct";
      QVERIFY(store->countExamples(f) > 0);
      // The extension is a run like any other: its curves, log and progress are stored.
      QVERIFY(ext.status == RunStatus::Finished);
      const auto info = store->run(ext.runId);
      QVERIFY(info->status == RunStatus::Finished);
      QVERIFY(info->totalSteps > 0);
      QCOMPARE(info->step, info->totalSteps);
      QCOMPARE(info->progress, 1.0);
      std::set<std::string> components;
      for (const auto& m : store->metrics(ext.runId))
        if (m.key == "loss") components.insert(m.component);
      QVERIFY2(components.count("router") == 1 && components.size() == 2,
               "expected loss curves of the new domain's component and the router");
      const auto logs = store->logs(ext.runId);
      QVERIFY(!logs.empty());
      QCOMPARE(QString::fromStdString(logs.front().message),
               QStringLiteral("extending run %1 by domain instruct").arg(id));
    }
    {
      // A LibTorch error in the middle of an extension fails the new run with its message on one
      // line: no C++ backtrace is kept as the error.
      struct FailingSink : WatchSink {
        std::vector<RunStatus> statuses;
        void metric(const MetricRow&) override { TORCH_CHECK(false, "sink: the disk is gone"); }
        void runStatus(std::int64_t, RunStatus s, const std::string&) override {
          statuses.push_back(s);
        }
      } failing;
      const ExtendOutcome ext = extendRun(o.dbPath, out.runIds[0], added, failing, control);
      QVERIFY(ext.status == RunStatus::Failed);
      QCOMPARE(QString::fromStdString(ext.error), QStringLiteral("sink: the disk is gone"));
      QVERIFY((failing.statuses ==
               std::vector<RunStatus>{RunStatus::Queued, RunStatus::Running, RunStatus::Failed}));
      auto store = RunStore::open(o.dbPath);
      const auto info = store->run(ext.runId);
      QVERIFY(info->status == RunStatus::Failed);
      QCOMPARE(QString::fromStdString(info->error), QStringLiteral("sink: the disk is gone"));
      const auto logs = store->logs(ext.runId);
      QVERIFY(!logs.empty());
      QVERIFY(logs.back().level == LogLevel::Error);
      QCOMPARE(QString::fromStdString(logs.back().message), QStringLiteral("sink: the disk is gone"));
      QVERIFY(!store->metrics(ext.runId).empty());  // the store got the step the sink failed on
    }
    // A domain the run has already is refused.
    QVERIFY_THROWS_EXCEPTION(InputError, extendRun(o.dbPath, extended, added, sink, control));
    // So is a new domain without test pairs: extend reported an accuracy measured on none.
    auto trainOnly = generateSynthetic(so);
    for (auto& p : trainOnly) {
      p.domain = "train-only";
      p.split = "train";
      p.id.clear();  // computed again on writing, for the new domain
    }
    const std::string trainOnlyPath = (m_dir.path() + "/train-only.jsonl").toStdString();
    writePairsFile(trainOnlyPath, trainOnly);
    try {
      extendRun(o.dbPath, out.runIds[0], trainOnlyPath, sink, control);
      QFAIL("a domain without test pairs was added");
    } catch (const InputError& e) {
      QVERIFY2(QString(e.what()).startsWith(QString::fromStdString(
                   trainOnlyPath + ": domain 'train-only' has no test pairs (80 train)")),
               e.what());
    }
  }

  // training.group_by_length: each epoch's order is still a seeded permutation of the items,
  // but its batches hold items of about one length, so little of a batch is padding.
  void batchesAreGroupedByLength() {
    const size_t n = 1000;
    std::vector<size_t> items(n), lengths(n);
    std::iota(items.begin(), items.end(), size_t(0));
    Rng rng(7);
    for (auto& l : lengths) l = 20 + static_cast<size_t>(rng.below(490));
    auto batchesOf = [&](bool grouped, uint64_t seed) {
      LoopOptions o;
      o.batchSize = 8;
      o.epochs = 2;
      o.examples = static_cast<int64_t>(n);
      o.seed = seed;
      if (grouped) o.length = [&](size_t i) { return lengths[i]; };
      std::vector<std::vector<size_t>> batches;
      torch::Tensor w = torch::zeros({1}, torch::requires_grad());
      WatchSink sink;
      RunControl control;
      RunReporter reporter(sink, control, ProgressInfo{}, 1, 0, 1,
                           std::chrono::steady_clock::now());
      runLoop(o, items, {w}, [&](const std::vector<size_t>& b) {
        batches.push_back(b);
        return StepResult{(w * 0).sum(), {}};
      }, nullptr, reporter);
      return batches;
    };
    // The share of a batch's padded tokens that are padding.
    auto paddingShare = [&](const std::vector<std::vector<size_t>>& batches) {
      double padded = 0, tokens = 0;
      for (const auto& b : batches) {
        size_t longest = 0;
        for (size_t i : b) {
          longest = std::max(longest, lengths[i]);
          tokens += static_cast<double>(lengths[i]);
        }
        padded += static_cast<double>(longest * b.size());
      }
      return 1.0 - tokens / padded;
    };
    const auto grouped = batchesOf(true, 3), plain = batchesOf(false, 3);
    QCOMPARE(grouped.size(), size_t(2 * n / 8));
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<size_t> seen;
      for (size_t k = 0; k < n / 8; ++k)
        for (size_t i : grouped[epoch * n / 8 + k]) seen.push_back(i);
      std::sort(seen.begin(), seen.end());
      QVERIFY(seen == items);  // every item once per epoch
    }
    QVERIFY2(paddingShare(plain) > 0.3, qPrintable(QString::number(paddingShare(plain))));
    QVERIFY2(paddingShare(grouped) < 0.05, qPrintable(QString::number(paddingShare(grouped))));
    QVERIFY(batchesOf(true, 3) == grouped);  // seeded
    QVERIFY(batchesOf(true, 4) != grouped);
    // Lengths do not fall steadily along a group: its batches come in a drawn order.
    int longerThanNext = 0;
    for (size_t k = 0; k + 1 < 50; ++k)
      longerThanNext += lengths[grouped[k][0]] > lengths[grouped[k + 1][0]];
    QVERIFY2(longerThanNext < 40, qPrintable(QString::number(longerThanNext)));
  }
};

QTEST_GUILESS_MAIN(TestMethods)
#include "tst_methods.moc"
