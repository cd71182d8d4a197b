// ModernBERT reward models through the architecture registry, against what transformers 5.25
// computes with the same weights (tests/fixtures/hf/models/modernbert*/golden.json, written by
// tools/fixtures/make_modernbert_fixtures.py): every hidden state and the rewards within 1e-4 for
// classifier_pooling cls and mean, a padded batch scoring as each row alone, both config layouts,
// a bare ModernBertModel folder, LoRA by role on the fused layers, the export round trip, and
// refusals of keys it cannot run.
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "nn/hf/arch.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/hfmodel.h"
#include "nn/hf/modernbert_p.h"

using namespace rr::core;
namespace fs = std::filesystem;

namespace {

const double kTol = 1e-4;

std::string fixture(const std::string& name) {
  return std::string(RR_SOURCE_DIR) + "/tests/fixtures/hf/models/" + name;
}

nlohmann::json readJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// golden.json's cases, by value: a range-for over golden(...)["cases"] would iterate a member of a
// temporary destroyed before the loop starts.
nlohmann::json goldenCases(const std::string& name) {
  nlohmann::json cases = readJson(fixture(name) + "/golden.json").at("cases");
  if (!cases.is_array() || cases.empty()) throw std::runtime_error(name + ": no golden cases");
  return cases;
}

torch::Tensor longs(const nlohmann::json& rows) {
  std::vector<torch::Tensor> out;
  for (const auto& r : rows) out.push_back(torch::tensor(r.get<std::vector<int64_t>>()));
  return torch::stack(out);
}

// What ModernBertForSequenceClassification computes: the pooled state through head.dense + act +
// head.norm (pooled() in Cls mode), then the checkpoint's classifier.
torch::Tensor rewards(nn::Encoder& enc, const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::NoGradGuard ng;
  const torch::Tensor pooled = enc.pooled(ids, mask, torch::zeros_like(ids));
  return torch::matmul(pooled, enc.checkpointHeadWeight.t()).squeeze(-1) + enc.checkpointHeadBias;
}

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

std::vector<double> allRewards(const std::string& name, nn::Encoder& enc) {
  std::vector<double> out;
  for (const auto& c : goldenCases(name)) {
    const torch::Tensor r = rewards(enc, longs(c["ids"]), longs(c["mask"]));
    for (int64_t i = 0; i < r.size(0); ++i) out.push_back(r[i].item<double>());
  }
  return out;
}

std::vector<double> goldenRewards(const std::string& name) {
  std::vector<double> out;
  for (const auto& c : goldenCases(name))
    for (const auto& w : c["logits"]) out.push_back(w.get<double>());
  return out;
}

double maxRewardDiff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return 1e30;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// The hidden states of `enc` against golden.json's: every state's first two tokens and its sum
// over the mask. Returns the largest difference of the first two tokens' values (and of the
// rewards in `rewardDiff`, when the encoder has the checkpoint's head).
double compareHidden(const std::string& name, hf::HfEncoder& enc, double* rewardDiff) {
  torch::NoGradGuard ng;
  double worst = 0, worstReward = 0;
  for (const auto& c : goldenCases(name)) {
    const torch::Tensor ids = longs(c["ids"]), mask = longs(c["mask"]);
    const auto hs = enc.hiddenStates(ids, mask, torch::zeros_like(ids));
    if (hs.size() != c["hidden"].size())
      throw std::runtime_error(name + ": " + std::to_string(hs.size()) + " hidden states, not " +
                               std::to_string(c["hidden"].size()));
    for (size_t l = 0; l < hs.size(); ++l) {
      const auto& want = c["hidden"][l];
      for (int64_t r = 0; r < ids.size(0); ++r) {
        std::vector<std::vector<double>> rows = want["first2"][r];
        const torch::Tensor expect = torch::stack({torch::tensor(rows[0]), torch::tensor(rows[1])});
        worst = std::max(worst, maxDiff(hs[l][r].slice(0, 0, 2), expect));
        const torch::Tensor m = mask[r].to(torch::kDouble).unsqueeze(-1);
        const double sum = (hs[l][r].to(torch::kDouble) * m).sum().item<double>();
        const double w = want["sum"][r].get<double>();
        if (std::abs(sum - w) > kTol * std::max(1.0, std::abs(w)) * 10)
          throw std::runtime_error(name + ": state " + std::to_string(l) + " row " +
                                   std::to_string(r) + " sums to " + std::to_string(sum) +
                                   ", not " + std::to_string(w));
      }
    }
    if (rewardDiff) {
      const torch::Tensor want = torch::tensor(c["logits"].get<std::vector<double>>());
      worstReward = std::max(worstReward, maxDiff(rewards(enc, ids, mask), want));
    }
  }
  if (rewardDiff) *rewardDiff = worstReward;
  return worst;
}

// config.json of `name` edited by `edit` in a folder of its own; what readHfConfig says of it.
std::string refusal(const QTemporaryDir& tmp, const std::string& sub,
                    const std::function<void(nlohmann::json&)>& edit) {
  const std::string dir = tmp.path().toStdString() + "/" + sub;
  fs::create_directories(dir);
  nlohmann::json j = readJson(fixture("modernbert-rm") + "/config.json");
  edit(j);
  std::ofstream(dir + "/config.json") << j.dump();
  try {
    hf::readHfConfig(dir);
  } catch (const InputError& e) {
    return std::string(e.what());
  }
  return std::string("accepted");
}

}  // namespace

class TestModernBert : public QObject {
  Q_OBJECT

  void matches(const std::string& name, const std::string& pooling) {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture(name));
    QVERIFY(bb.config.arch == hf::Arch::ModernBert);
    QVERIFY2(bb.hasClassifier, name.c_str());
    QVERIFY2(bb.hasPooler, name.c_str());
    QVERIFY2(bb.unusedTensors.empty(), name.c_str());
    auto* enc = dynamic_cast<hf::ModernBertEncoder*>(bb.encoder.get());
    QVERIFY(enc);
    QCOMPARE(enc->keys().classifierPooling, pooling);
    double rewardDiff = 0;
    double hiddenDiff = 0;
    try {
      hiddenDiff = compareHidden(name, *enc, &rewardDiff);
    } catch (const std::exception& e) {
      QFAIL(e.what());
    }
    qInfo("%s: hidden states within %.3g of transformers', rewards within %.3g", name.c_str(),
          hiddenDiff, rewardDiff);
    QVERIFY2(hiddenDiff <= kTol,
             qPrintable(QString::fromStdString(name) + ": hidden states differ by " +
                        QString::number(hiddenDiff)));
    QVERIFY2(rewardDiff <= kTol, qPrintable(QString::fromStdString(name) + ": rewards differ by " +
                                            QString::number(rewardDiff)));
  }

 private Q_SLOTS:
  void clsPoolingMatchesTransformers() { matches("modernbert-rm", "cls"); }
  void meanPoolingMatchesTransformers() { matches("modernbert-mean-rm", "mean"); }

  void readsTheKeys() {
    const hf::HfModelConfig c = hf::readHfConfig(fixture("modernbert-rm"));
    QCOMPARE(c.arch, hf::Arch::ModernBert);
    const hf::ArchRow& row = c.row();
    QCOMPARE(row.input, hf::InputKind::Pair);
    QVERIFY(!row.tokenTypes);
    QCOMPARE(row.slowTokenizer, SlowTokenizer::None);
    const hf::ModernBertKeys k = hf::modernBertKeys(c);
    QCOMPARE(k.localAttention, 8);
    QCOMPARE(k.localLayers, (std::vector<bool>{false, true, true, false, true}));
    QCOMPARE(k.globalTheta, 1000.0);
    QCOMPARE(k.localTheta, 50.0);
    QVERIFY(!k.normBias && k.classifierBias && k.attentionBias && !k.mlpBias);
    QCOMPARE(k.classifierAct, std::string("silu"));
    const hf::ModernBertKeys m =
        hf::modernBertKeys(hf::readHfConfig(fixture("modernbert-mean-rm")));
    QVERIFY(m.normBias && !m.classifierBias && !m.attentionBias && m.mlpBias);
    QCOMPARE(m.hiddenAct, std::string("gelu_pytorch_tanh"));
    QCOMPARE(m.normEps, 1e-6);
    QCOMPARE(m.localLayers, (std::vector<bool>{false, true, true, false}));
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture("modernbert-rm"));
    QCOMPARE(bb.encoder->maxLen(), 64);
    QCOMPARE(bb.encoder->architecture(), std::string("modernbert"));
    // The estimate before loading counts what is built (the rope tables are buffers).
    for (const char* n : {"modernbert-rm", "modernbert-mean-rm"}) {
      const hf::HfBackbone b = hf::loadHfBackbone(fixture(n));
      QCOMPARE(b.config.row().parameters(b.config), double(nn::countParameters(*b.encoder)));
    }
  }

  // A padded batch gives each row the reward it has alone: padding keys are masked on global and
  // local layers, and the mean counts the mask's tokens alone.
  void paddingDoesNotChangeRewards_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("cls") << QString("modernbert-rm");
    QTest::newRow("mean") << QString("modernbert-mean-rm");
  }
  void paddingDoesNotChangeRewards() {
    QFETCH(QString, name);
    const std::string n = name.toStdString();
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture(n));
    int padded = 0;
    for (const auto& c : goldenCases(n)) {
      const torch::Tensor ids = longs(c["ids"]), mask = longs(c["mask"]);
      const torch::Tensor batch = rewards(*bb.encoder, ids, mask);
      for (int64_t r = 0; r < ids.size(0); ++r) {
        const int64_t len = mask[r].sum().item<int64_t>();
        padded += len < ids.size(1);
        const torch::Tensor alone = rewards(*bb.encoder, ids.slice(0, r, r + 1).slice(1, 0, len),
                                            torch::ones({1, len}, torch::kLong));
        QVERIFY(maxDiff(alone, batch[r]) <= 1e-5);
        QVERIFY(std::abs(alone.item<double>() - c["logits"][r].get<double>()) <= kTol);
      }
    }
    QVERIFY(padded >= 3);
    // The padding's ids are read nowhere: other ids there give the same rewards.
    const auto c = goldenCases(n)[0];
    const torch::Tensor ids = longs(c["ids"]), mask = longs(c["mask"]);
    const torch::Tensor other = ids.masked_fill(mask == 0, 77);
    QVERIFY(maxDiff(rewards(*bb.encoder, other, mask), rewards(*bb.encoder, ids, mask)) <= 1e-6);
  }

  // The hub's layout (global_attn_every_n_layers, global_rope_theta, local_rope_theta) and
  // transformers 5's (layer_types, rope_parameters) are the same model; where a file has both,
  // layer_types and rope_parameters are read, as transformers does.
  void bothConfigLayoutsAgree() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/old";
    fs::create_directories(dir);
    fs::copy_file(fixture("modernbert-rm") + "/config-old-layout.json", dir + "/config.json");
    fs::copy_file(fixture("modernbert-rm") + "/model.safetensors", dir + "/model.safetensors");
    const nlohmann::json oldJson = readJson(dir + "/config.json");
    QVERIFY(!oldJson.contains("layer_types") && !oldJson.contains("rope_parameters"));
    const hf::ModernBertKeys now = hf::modernBertKeys(hf::readHfConfig(fixture("modernbert-rm")));
    const hf::ModernBertKeys old = hf::modernBertKeys(hf::readHfConfig(dir));
    QCOMPARE(old.localLayers, now.localLayers);
    QCOMPARE(old.globalTheta, now.globalTheta);
    QCOMPARE(old.localTheta, now.localTheta);
    const hf::HfBackbone bb = hf::loadHfBackbone(dir);
    QVERIFY(maxRewardDiff(allRewards("modernbert-rm", *bb.encoder),
                          goldenRewards("modernbert-rm")) <= kTol);

    // Both layouts in one file, disagreeing: the new keys win.
    const std::string both = tmp.path().toStdString() + "/both";
    fs::create_directories(both);
    nlohmann::json j = readJson(fixture("modernbert-rm") + "/config.json");
    j["global_attn_every_n_layers"] = 2;
    j["global_rope_theta"] = 7.0;
    j["local_rope_theta"] = 9.0;
    std::ofstream(both + "/config.json") << j.dump();
    const hf::ModernBertKeys b = hf::modernBertKeys(hf::readHfConfig(both));
    QCOMPARE(b.localLayers, now.localLayers);
    QCOMPARE(b.globalTheta, 1000.0);
    QCOMPARE(b.localTheta, 50.0);
    // Without layer_types, every 2nd layer is global.
    j.erase("layer_types");
    std::ofstream(both + "/config.json") << j.dump();
    QCOMPARE(hf::modernBertKeys(hf::readHfConfig(both)).localLayers,
             (std::vector<bool>{false, true, false, true, false}));
    // The class defaults where neither is written.
    j.erase("rope_parameters");
    j.erase("global_rope_theta");
    j.erase("local_rope_theta");
    std::ofstream(both + "/config.json") << j.dump();
    const hf::ModernBertKeys d = hf::modernBertKeys(hf::readHfConfig(both));
    QCOMPARE(d.globalTheta, 160000.0);
    QCOMPARE(d.localTheta, 10000.0);
  }

  // A bare ModernBertModel folder (tensors without "model.", no head) loads as a backbone: the
  // same hidden states, no pooler or classifier from the checkpoint.
  void bareModelLoads() {
    auto reader = hf::CheckpointReader::openFolder(fixture("modernbert-rm"));
    std::vector<std::pair<std::string, torch::Tensor>> bare;
    for (const auto& n : reader->names())
      if (n.rfind("model.", 0) == 0) bare.emplace_back(n.substr(6), reader->load(n, torch::kFloat));
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    hf::writeSafetensors(dir + "/model.safetensors", bare);
    nlohmann::json j = readJson(fixture("modernbert-rm") + "/config.json");
    j["architectures"] = {"ModernBertModel"};
    std::ofstream(dir + "/config.json") << j.dump();
    const hf::HfBackbone bb = hf::loadHfBackbone(dir);
    QVERIFY(!bb.hasPooler);
    QVERIFY(!bb.hasClassifier);
    QVERIFY(bb.unusedTensors.empty());
    auto* enc = dynamic_cast<hf::HfEncoder*>(bb.encoder.get());
    QVERIFY(enc);
    try {
      QVERIFY(compareHidden("modernbert-rm", *enc, nullptr) <= kTol);
    } catch (const std::exception& e) {
      QFAIL(e.what());
    }
  }

  // Wqkv computes q, k and v in one product and Wi the GeGLU's input and gate: each role naming
  // part of a fused layer targets it once.
  void loraRolesOnFusedLayers() {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture("modernbert-rm"));
    auto* enc = dynamic_cast<hf::ModernBertEncoder*>(bb.encoder.get());
    QVERIFY(enc);
    const size_t L = 5;
    QCOMPARE(enc->loraLayers({"q"}).size(), L);
    QCOMPARE(enc->loraLayers({"query", "key", "value"}).size(), L);
    QCOMPARE(enc->loraLayers({"q", "k", "v", "o"}).size(), 2 * L);
    QCOMPARE(enc->loraLayers({"up", "gate"}).size(), L);
    QCOMPARE(enc->loraLayers({"ffn"}).size(), 2 * L);
    QCOMPARE(enc->loraLayers({"q", "k", "v", "dense", "ffn"}).size(), 4 * L);
    QCOMPARE(enc->loraLayers({"nothing"}).size(), size_t(0));
    auto same = [](const nn::LoraLinear& a, const nn::LoraLinear& b) { return a.ptr() == b.ptr(); };
    for (size_t i = 0; i < L; ++i) {
      QVERIFY(same(enc->loraLayers({"v"})[i], enc->layers[i]->wqkv));
      QVERIFY(same(enc->loraLayers({"o"})[i], enc->layers[i]->wo));
      QVERIFY(same(enc->loraLayers({"gate"})[i], enc->layers[i]->wi));
      QVERIFY(same(enc->loraLayers({"up"})[i], enc->layers[i]->wi));
      QVERIFY(same(enc->loraLayers({"down"})[i], enc->layers[i]->mlpWo));
    }
    // An adapter on each moves the rewards (it is in the forward pass).
    const std::vector<double> base = allRewards("modernbert-rm", *bb.encoder);
    for (const char* role : {"q", "o", "up", "down"}) {
      const hf::HfBackbone fresh = hf::loadHfBackbone(fixture("modernbert-rm"));
      LoraConfig lora;
      lora.rank = 2;
      lora.alpha = 4;
      lora.dropout = 0;
      lora.targets = {role};
      torch::manual_seed(3);
      for (auto& p : nn::addAdapter(*fresh.encoder, lora, "a")) {
        torch::NoGradGuard ng;
        p.normal_(0.0, 0.2);
      }
      nn::activateAdapter(*fresh.encoder, lora, "a");
      QVERIFY2(maxRewardDiff(allRewards("modernbert-rm", *fresh.encoder), base) > 1e-3, role);
    }
  }

  // A trained adapter on every role, merged into the exported weights: the folder scores the
  // same and has the tensors transformers' class has (head.dense's bias only with
  // classifier_bias, head.norm's only with norm_bias).
  void exportRoundTrip_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("cls") << QString("modernbert-rm");
    QTest::newRow("mean") << QString("modernbert-mean-rm");
  }
  void exportRoundTrip() {
    QFETCH(QString, name);
    const std::string n = name.toStdString();
    hf::HfBackbone bb = hf::loadHfBackbone(fixture(n));
    LoraConfig lora;
    lora.rank = 2;
    lora.alpha = 4;
    lora.dropout = 0;
    lora.targets = {"q", "k", "v", "o", "ffn"};
    torch::manual_seed(5);
    for (auto& p : nn::addAdapter(*bb.encoder, lora, "task")) {
      torch::NoGradGuard ng;
      p.normal_(0.0, 0.1);
    }
    nn::activateAdapter(*bb.encoder, lora, "task");
    const std::vector<double> before = allRewards(n, *bb.encoder);
    QVERIFY(maxRewardDiff(before, goldenRewards(n)) > 1e-3);  // the adapter changes them
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const auto state =
        hf::exportState(*bb.encoder, bb.config, "task", bb.encoder->checkpointHeadWeight,
                        bb.encoder->checkpointHeadBias);
    hf::writeSafetensors(dir + "/model.safetensors", state);
    const nlohmann::json cfg = hf::exportConfig(bb.config);
    QCOMPARE(cfg["architectures"][0].get<std::string>(),
             std::string("ModernBertForSequenceClassification"));
    std::ofstream(dir + "/config.json") << cfg.dump(2);
    auto original = hf::CheckpointReader::openFolder(fixture(n));
    std::vector<std::string> names;
    for (const auto& [k, v] : state) names.push_back(k);
    std::sort(names.begin(), names.end());
    auto want = original->names();
    std::sort(want.begin(), want.end());
    QCOMPARE(names, want);
    const hf::HfBackbone back = hf::loadHfBackbone(dir);
    QVERIFY(back.unusedTensors.empty());
    QVERIFY(back.hasPooler && back.hasClassifier);
    QVERIFY(maxRewardDiff(allRewards(n, *back.encoder), before) <= kTol);
    // Unmerged, the exported folder is the original model.
    const auto plain =
        hf::exportState(*hf::loadHfBackbone(fixture(n)).encoder, bb.config, "",
                        bb.encoder->checkpointHeadWeight, bb.encoder->checkpointHeadBias);
    for (const auto& [k, v] : plain)
      QVERIFY2(maxDiff(v, original->load(k, torch::kFloat)) == 0, k.c_str());
  }

  // What it cannot run is refused with one line naming the file and the key.
  void refusesBadKeys() {
    QTemporaryDir tmp;
    const struct {
      const char* sub;
      std::function<void(nlohmann::json&)> edit;
      const char* says;
    } cases[] = {
        {"pool", [](auto& j) { j["classifier_pooling"] = "max"; },
         "'classifier_pooling' is 'max', not cls or mean"},
        {"window", [](auto& j) { j["local_attention"] = 0; }, "'local_attention' must be >= 2"},
        {"window-type", [](auto& j) { j["local_attention"] = "8"; },
         "'local_attention' must be an integer"},
        {"types", [](auto& j) { j["layer_types"] = {"full_attention"}; },
         "'layer_types' must list one type per layer (5)"},
        {"type", [](auto& j) { j["layer_types"][2] = "chunked_attention"; },
         "layer_types[2] must be full_attention or sliding_attention"},
        {"every",
         [](auto& j) {
           j.erase("layer_types");
           j["global_attn_every_n_layers"] = 0;
         },
         "'global_attn_every_n_layers' must be > 0"},
        {"yarn", [](auto& j) { j["rope_parameters"]["sliding_attention"]["rope_type"] = "yarn"; },
         "'rope_parameters.sliding_attention': rope_type 'yarn' is not supported"},
        {"flat",
         [](auto& j) {
           j["rope_parameters"] = {{"rope_theta", 10.0}};
         },
         "'rope_parameters' must be keyed by full_attention and sliding_attention"},
        {"theta", [](auto& j) { j["rope_parameters"]["full_attention"]["rope_theta"] = -1; },
         "the rope_theta of full_attention layers must be a positive number"},
        {"scaling",
         [](auto& j) {
           j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2}};
         },
         "'rope_scaling': rope_type 'linear' is not supported"},
        {"act", [](auto& j) { j["hidden_activation"] = "geglu"; },
         "'hidden_activation' is 'geglu'"},
        {"cact", [](auto& j) { j["classifier_activation"] = "softmax"; },
         "'classifier_activation' is 'softmax'"},
        {"eps", [](auto& j) { j["norm_eps"] = 0; }, "'norm_eps' must be a positive number"},
        {"bias", [](auto& j) { j["norm_bias"] = "yes"; }, "'norm_bias' must be true or false"},
        {"drop", [](auto& j) { j["mlp_dropout"] = 1.5; }, "'mlp_dropout' must be in [0, 1)"},
        {"heads", [](auto& j) { j["num_attention_heads"] = 5; },
         "hidden_size 48 is not a multiple of num_attention_heads 5"},
        {"odd", [](auto& j) { j["num_attention_heads"] = 16; },
         "rotary positions need an even head size"},
        {"positions", [](auto& j) { j["max_position_embeddings"] = 3; },
         "'max_position_embeddings' is 3"},
    };
    for (const auto& c : cases) {
      const std::string msg = refusal(tmp, c.sub, c.edit);
      const std::string file = tmp.path().toStdString() + "/" + c.sub + "/config.json";
      QVERIFY2(msg.find(c.says) != std::string::npos, (std::string(c.sub) + ": " + msg).c_str());
      QVERIFY2(msg.rfind(file, 0) == 0, (std::string(c.sub) + ": " + msg).c_str());
      QVERIFY2(msg.find('\n') == std::string::npos, msg.c_str());
    }
    // The fixture itself, and an unscaled rope_scaling of an older file, are accepted.
    QCOMPARE(refusal(tmp, "ok", [](auto&) {}), std::string("accepted"));
    QCOMPARE(refusal(tmp, "ok-scaling",
                     [](auto& j) {
                       j["rope_scaling"] = {{"rope_type", "default"}};
                     }),
             std::string("accepted"));
  }

  // A missing head tensor is named with the weight file.
  void refusesMissingTensors() {
    auto reader = hf::CheckpointReader::openFolder(fixture("modernbert-mean-rm"));
    std::vector<std::pair<std::string, torch::Tensor>> kept;
    for (const auto& n : reader->names())
      if (n != "head.norm.bias") kept.emplace_back(n, reader->load(n, torch::kFloat));
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    hf::writeSafetensors(dir + "/model.safetensors", kept);
    fs::copy_file(fixture("modernbert-mean-rm") + "/config.json", dir + "/config.json");
    try {
      hf::loadHfBackbone(dir);
      QFAIL("a checkpoint without head.norm.bias loaded");
    } catch (const InputError& e) {
      QCOMPARE(std::string(e.what()), dir + "/model.safetensors: no tensor 'head.norm.bias'");
    }
  }
};

QTEST_GUILESS_MAIN(TestModernBert)
#include "tst_modernbert.moc"
