// RoBERTa, XLM-RoBERTa, Llama, Qwen2, Qwen3 and Gemma2 reward models through the architecture
// registry, against what transformers computes with the same weights
// (tests/fixtures/hf/models/*/golden.json, written by tools/fixtures/make_arch_fixtures.py):
// every layer's hidden states and the rewards within 1e-4, the decoders' reward read before
// trailing tokens equal to pad_token_id, both RoPE config layouts, LoRA by role, and the export
// round trip.
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "data/chatinput.h"
#include "nn/hf/arch.h"
#include "nn/hf/checkpoint.h"
#include "nn/hf/hfencoder_p.h"
#include "hfgolden.h"
#include "nn/hf/hfmodel.h"

using namespace rr::core;
namespace fs = std::filesystem;

namespace {

const double kTol = 1e-4;

std::string fixture(const std::string& name) { return rr::test::hfFixture(name); }
nlohmann::json golden(const std::string& name) { return rr::test::hfGolden(name); }
torch::Tensor longs(const nlohmann::json& rows) { return rr::test::longRows(rows); }
double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return rr::test::maxAbsDiff(a, b); }


// The reward a *ForSequenceClassification computes: the architecture's own reading (pooler over
// the first token, or a decoder's last token), then the checkpoint's head.
torch::Tensor rewards(nn::Encoder& enc, const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::NoGradGuard ng;
  torch::Tensor pooled = enc.pooled(ids, mask, torch::zeros_like(ids));
  return torch::matmul(pooled, enc.checkpointHeadWeight.t()).squeeze(-1) + enc.checkpointHeadBias;
}


std::vector<double> allRewards(const std::string& name, nn::Encoder& enc) {
  std::vector<double> out;
  const nlohmann::json g = golden(name);
  for (const auto& c : g["cases"]) {
    const torch::Tensor r = rewards(enc, longs(c["ids"]), longs(c["mask"]));
    for (int64_t i = 0; i < r.size(0); ++i) out.push_back(r[i].item<double>());
  }
  return out;
}

}  // namespace

class TestHfArch : public QObject {
  Q_OBJECT

  void matches(const std::string& name, hf::Arch arch) {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture(name));
    QVERIFY(bb.config.arch == arch);
    QVERIFY2(bb.hasClassifier, name.c_str());
    QVERIFY2(bb.unusedTensors.empty(), name.c_str());
    auto* enc = dynamic_cast<hf::HfEncoder*>(bb.encoder.get());
    QVERIFY(enc);
    torch::NoGradGuard ng;
    const nlohmann::json g = golden(name);
    for (const auto& c : g["cases"]) {
      const torch::Tensor ids = longs(c["ids"]), mask = longs(c["mask"]);
      const auto hs = enc->hiddenStates(ids, mask, torch::zeros_like(ids));
      QCOMPARE(hs.size(), c["hidden"].size());
      for (size_t l = 0; l < hs.size(); ++l) {
        const auto& want = c["hidden"][l];
        for (int64_t r = 0; r < ids.size(0); ++r) {
          std::vector<std::vector<double>> rows = want["first2"][r];
          const torch::Tensor expect =
              torch::stack({torch::tensor(rows[0]), torch::tensor(rows[1])});
          const double d = maxDiff(hs[l][r].slice(0, 0, 2), expect);
          if (d > kTol)
            QFAIL(qPrintable(QString::fromStdString(name) +
                             QString(": layer %1 row %2 differs by %3").arg(l).arg(r).arg(d)));
          const torch::Tensor m = mask[r].to(torch::kDouble).unsqueeze(-1);
          const double sum = (hs[l][r].to(torch::kDouble) * m).sum().item<double>();
          const double w = want["sum"][r].get<double>();
          if (std::abs(sum - w) > kTol * std::max(1.0, std::abs(w)) * 10)
            QFAIL(qPrintable(QString::fromStdString(name) +
                             QString(": layer %1 row %2 sums to %3, not %4")
                                 .arg(l)
                                 .arg(r)
                                 .arg(sum)
                                 .arg(w)));
        }
      }
      const torch::Tensor want = torch::tensor(c["logits"].get<std::vector<double>>());
      const double d = maxDiff(rewards(*bb.encoder, ids, mask), want);
      QVERIFY2(d <= kTol, qPrintable(QString::fromStdString(name) + ": rewards differ by " +
                                     QString::number(d)));
    }
  }

 private Q_SLOTS:
  void robertaMatchesTransformers() { matches("roberta-rm", hf::Arch::Roberta); }
  void xlmRobertaMatchesTransformers() { matches("xlm-roberta-rm", hf::Arch::XlmRoberta); }
  void llamaMatchesTransformers() { matches("llama-rm", hf::Arch::Llama); }
  void qwen2MatchesTransformers() { matches("qwen2-rm", hf::Arch::Qwen2); }
  void qwen3MatchesTransformers() { matches("qwen3-rm", hf::Arch::Qwen3); }
  void gemma2MatchesTransformers() { matches("gemma2-rm", hf::Arch::Gemma2); }

  void robertaInputLimitLeavesPaddingIdx() {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture("roberta-rm"));
    QCOMPARE(bb.encoder->maxLen(), 40 - 1 - 1);
    // RobertaForSequenceClassification has no pooler: its head's classifier.dense (+ tanh) is
    // read as one.
    QVERIFY(bb.hasPooler);
    QVERIFY(!bb.encoder->named_parameters().contains("pooler.weight"));
  }

  // The decoders read the last token whose id is not pad_token_id: in the fixture's first row
  // the last two tokens are pad_token_id (with the mask on), as Llama-3's <|eot_id|> is when it
  // also pads; the reward is the third-to-last token's.
  void decoderReadsBeforeTrailingPadIds() {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture("llama-rm"));
    const auto c = golden("llama-rm")["cases"][0];
    const torch::Tensor ids = longs(c["ids"]), mask = longs(c["mask"]);
    QCOMPARE(ids[0][5].item<int64_t>(), int64_t(bb.config.padTokenId));
    QCOMPARE(ids[0][6].item<int64_t>(), int64_t(bb.config.padTokenId));
    torch::NoGradGuard ng;
    const torch::Tensor h = bb.encoder->forward(ids, mask);
    const torch::Tensor atFour =
        torch::matmul(h[0][4], bb.encoder->checkpointHeadWeight.t()).squeeze(-1);
    QVERIFY(maxDiff(atFour, torch::tensor(c["logits"][0].get<double>())) <= kTol);
    // Reading the mask's last token instead would give another reward.
    const torch::Tensor atSix =
        torch::matmul(h[0][6], bb.encoder->checkpointHeadWeight.t()).squeeze(-1);
    QVERIFY(maxDiff(atSix, torch::tensor(c["logits"][0].get<double>())) > 1e-3);
  }

  // rope_theta + rope_scaling (the hub's Llama-3.1 files) and rope_parameters (transformers 5)
  // are the same model.
  void bothRopeLayoutsAgree() {
    const hf::HfModelConfig now = hf::readHfConfig(fixture("llama-rm"));
    QCOMPARE(now.rope.type, std::string("llama3"));
    QCOMPARE(now.rope.theta, 500000.0);
    QCOMPARE(now.rope.factor, 8.0);
    QCOMPARE(now.rope.originalMaxPositions, 16);
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    fs::copy_file(fixture("llama-rm") + "/config-rope-scaling.json", dir + "/config.json");
    fs::copy_file(fixture("llama-rm") + "/model.safetensors", dir + "/model.safetensors");
    const hf::HfModelConfig old = hf::readHfConfig(dir);
    QCOMPARE(old.rope.type, now.rope.type);
    QCOMPARE(old.rope.theta, now.rope.theta);
    QCOMPARE(old.rope.lowFreqFactor, now.rope.lowFreqFactor);
    QCOMPARE(old.rope.highFreqFactor, now.rope.highFreqFactor);
    const hf::HfBackbone bb = hf::loadHfBackbone(dir);
    const auto got = allRewards("llama-rm", *bb.encoder);
    size_t i = 0;
    const nlohmann::json g = golden("llama-rm");
    for (const auto& c : g["cases"])
      for (const auto& w : c["logits"]) QVERIFY(std::abs(got[i++] - w.get<double>()) <= kTol);
  }

  void readsEachArchitecturesKeys() {
    const hf::HfModelConfig g = hf::readHfConfig(fixture("gemma2-rm"));
    QCOMPARE(g.kvHeads, 2);
    QCOMPARE(g.headDim, 16);
    QCOMPARE(g.queryPreAttnScalar, 12.0);
    QCOMPARE(g.attnLogitSoftcap, 3.0);
    QCOMPARE(g.slidingWindow, 6);
    QCOMPARE(g.slidingLayers, (std::vector<bool>{true, false, true}));
    QCOMPARE(g.hiddenAct, std::string("gelu_pytorch_tanh"));
    const hf::HfModelConfig q = hf::readHfConfig(fixture("qwen2-rm"));
    QCOMPARE(q.slidingLayers, (std::vector<bool>{false, false, false}));
    QCOMPARE(q.rope.theta, 1000000.0);
    QCOMPARE(hf::archRow(q.arch).input, hf::InputKind::Chat);
    QCOMPARE(hf::archRow(hf::Arch::Roberta).input, hf::InputKind::Pair);
  }

  void refusesWhatItCannotRun() {
    QTemporaryDir tmp;
    auto withConfig = [&](const std::string& sub, const std::function<void(nlohmann::json&)>& edit) {
      const std::string dir = tmp.path().toStdString() + "/" + sub;
      fs::create_directories(dir);
      nlohmann::json j = nlohmann::json::parse(std::ifstream(fixture("llama-rm") + "/config.json"));
      edit(j);
      std::ofstream(dir + "/config.json") << j.dump();
      try {
        hf::readHfConfig(dir);
      } catch (const InputError& e) {
        return std::string(e.what());
      }
      return std::string("accepted");
    };
    QVERIFY(withConfig("yarn", [](auto& j) { j["rope_parameters"]["rope_type"] = "yarn"; })
                .find("rope_type 'yarn' is not supported (default, linear, llama3)") !=
            std::string::npos);
    QVERIFY(withConfig("kv", [](auto& j) { j["num_key_value_heads"] = 4; })
                .find("'num_key_value_heads' 4 must divide num_attention_heads 6") !=
            std::string::npos);
    QVERIFY(withConfig("mamba", [](auto& j) { j["model_type"] = "mamba"; })
                .find("model_type 'mamba' is not supported (supported: bert, electra, roberta, "
                      "xlm-roberta, deberta-v2") != std::string::npos);
    QVERIFY(withConfig("types", [](auto& j) { j["layer_types"] = {"full_attention"}; })
                .find("'layer_types' must list one type per layer (3)") != std::string::npos);
  }

  // LoRA by role on a decoder: q, k, v, o, up, gate, down, and ffn for all three.
  void loraRolesOnADecoder() {
    const hf::HfBackbone bb = hf::loadHfBackbone(fixture("qwen3-rm"));
    QCOMPARE(bb.encoder->loraLayers({"q", "k", "v", "o"}).size(), size_t(3 * 4));
    QCOMPARE(bb.encoder->loraLayers({"gate"}).size(), size_t(3));
    QCOMPARE(bb.encoder->loraLayers({"ffn"}).size(), size_t(3 * 3));
    QCOMPARE(bb.encoder->loraLayers({"query", "up", "down"}).size(), size_t(3 * 3));
    const hf::HfBackbone rb = hf::loadHfBackbone(fixture("roberta-rm"));
    QCOMPARE(rb.encoder->loraLayers({"gate"}).size(), size_t(0));
    QCOMPARE(rb.encoder->loraLayers({"up", "down"}).size(), size_t(2 * 2));
  }

  // A trained adapter on every role, merged into the exported weights: the folder scores the
  // same, and has the tensors transformers' class has (no pooler for decoders, `score` without
  // a bias).
  void exportRoundTrip_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"roberta-rm", "llama-rm", "qwen2-rm", "qwen3-rm", "gemma2-rm"})
      QTest::newRow(n) << QString(n);
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
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    const auto state = hf::exportState(*bb.encoder, bb.config, "task",
                                       bb.encoder->checkpointHeadWeight,
                                       bb.encoder->checkpointHeadBias);
    hf::writeSafetensors(dir + "/model.safetensors", state);
    std::ofstream(dir + "/config.json") << hf::exportConfig(bb.config).dump(2);
    auto original = hf::CheckpointReader::openFolder(fixture(n));
    std::vector<std::string> names;
    for (const auto& [k, v] : state) names.push_back(k);
    std::sort(names.begin(), names.end());
    auto want = original->names();
    std::sort(want.begin(), want.end());
    QCOMPARE(names, want);
    const hf::HfBackbone back = hf::loadHfBackbone(dir);
    QVERIFY(back.unusedTensors.empty());
    const std::vector<double> after = allRewards(n, *back.encoder);
    QCOMPARE(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) QVERIFY(std::abs(before[i] - after[i]) <= kTol);
  }

  // Whole folders as transformers 5 saves them (tools/fixtures/make_chat_rm_fixtures.py): the
  // chat template rendered, a duplicate BOS removed, tokenized, and the reward read where
  // transformers reads it, equal to transformers' on short, multi-turn and ~1,100-token inputs;
  // one padded batch gives the same rewards as one input at a time.
  void chatRewardModelsMatchTransformers_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"qwen3-chat-rm", "llama3-chat-rm", "gemma2-chat-rm"})
      QTest::newRow(n) << QString(n);
  }
  void chatRewardModelsMatchTransformers() {
    QFETCH(QString, name);
    const std::string dir = fixture(name.toStdString());
    const auto tok = hf::loadHfModelTokenizer(dir);
    const auto* chat = dynamic_cast<const ChatInputTokenizer*>(tok.get());
    QVERIFY(chat && chat->hasTemplate());
    const hf::HfBackbone bb = hf::loadHfBackbone(dir);
    std::vector<std::vector<int>> all;
    std::vector<double> want;
    const nlohmann::json g = golden(name.toStdString());
    QVERIFY(!g["rows"].empty());
    for (const auto& row : g["rows"]) {
      QVERIFY2(!row.contains("error"), row.dump().c_str());
      std::vector<ChatMessage> messages;
      for (const auto& m : row["messages"]) messages.push_back({m["role"], m["content"]});
      std::vector<int> ids;
      if (messages.size() == 2) {
        int second = 0;
        ids = tok->encodeInput(messages[0].content, messages[1].content, 1 << 20, &second);
      } else {
        ids = chat->encodeConversation(messages, 1 << 20);
      }
      QCOMPARE(ids, row["ids"].get<std::vector<int>>());
      const torch::Tensor t =
          torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kLong).unsqueeze(0);
      const double r = rewards(*bb.encoder, t, torch::ones_like(t)).item<double>();
      QVERIFY2(std::abs(r - row["reward"].get<double>()) <= kTol,
               qPrintable(QString("%1 vs %2").arg(r).arg(row["reward"].get<double>())));
      all.push_back(ids);
      want.push_back(row["reward"].get<double>());
    }
    size_t t = 0;
    for (const auto& ids : all) t = std::max(t, ids.size());
    torch::Tensor ids = torch::full({int64_t(all.size()), int64_t(t)}, tok->special().pad, torch::kLong);
    torch::Tensor mask = torch::zeros_like(ids);
    for (size_t i = 0; i < all.size(); ++i)
      for (size_t j = 0; j < all[i].size(); ++j) {
        ids[int64_t(i)][int64_t(j)] = all[i][j];
        mask[int64_t(i)][int64_t(j)] = 1;
      }
    QVERIFY(maxDiff(rewards(*bb.encoder, ids, mask), torch::tensor(want)) <= kTol);
  }

  // Past the input limit the prompt loses its beginning; the template's text, the response and
  // the end (where the reward is read) stay as in the whole input.
  void chatInputsAreCutFromThePromptsStart() {
    for (const char* n : {"qwen3-chat-rm", "llama3-chat-rm", "gemma2-chat-rm"}) {
      const std::string dir = fixture(n);
      const auto tok = hf::loadHfModelTokenizer(dir);
      const auto row = golden(n)["rows"][4];
      const auto full = row["ids"].get<std::vector<int>>();
      int second = 0;
      const auto cut = tok->encodeInput(row["messages"][0]["content"],
                                        row["messages"][1]["content"], 256, &second);
      QCOMPARE(cut.size(), size_t(256));
      QCOMPARE(cut.front(), full.front());
      QVERIFY2(std::equal(cut.end() - 60, cut.end(), full.end() - 60), n);
    }
  }
};

QTEST_GUILESS_MAIN(TestHfArch)
#include "tst_hfarch.moc"
