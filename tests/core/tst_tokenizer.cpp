// SentencePiece through the dlopen'ed wrapper: training, caching by content, loading a model
// file, round trips, and truncation that keeps the response.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"

using namespace rr::core;

class TestTokenizer : public QObject {
  Q_OBJECT
  QTemporaryDir m_dir;
  std::vector<std::string> m_texts;

  TokenizerTrainOptions options() {
    TokenizerTrainOptions o;
    o.vocabSize = 400;
    o.cacheDir = m_dir.path().toStdString();
    return o;
  }

 private Q_SLOTS:
  void initTestCase() {
    SyntheticOptions s;
    s.pairsPerDomain = 100;
    for (const auto& p : generateSynthetic(s)) {
      m_texts.push_back(p.prompt);
      m_texts.push_back(p.chosen);
    }
  }

  void trainsAndRoundTrips() {
    auto tok = loadSentencePiece(trainSentencePiece(m_texts, options()));
    QVERIFY(tok->vocabSize() > 100);
    QVERIFY(tok->vocabSize() <= 400);
    const SpecialIds sp = tok->special();
    QCOMPARE(sp.pad, 0);
    QCOMPARE(sp.cls, 2);
    QCOMPARE(sp.sep, 3);
    QVERIFY(sp.mask > 3);
    const std::string text = "summarize this city report : the mayor approved plans monday .";
    const auto ids = tok->encode(text);
    QVERIFY(ids.size() > 3);
    QCOMPARE(QString::fromStdString(tok->decode(ids)), QString::fromStdString(text));
  }

  // The trainer wrote the paths it trained from into the model, so each cache got other bytes
  // from the same text. Same text, vocabulary and type: the same model file, byte for byte.
  void trainingIsDeterministic() {
    auto trainedBytes = [this](const QString& cache) {
      TokenizerTrainOptions o = options();
      o.cacheDir = cache.toStdString();
      std::ifstream in(trainSentencePiece(m_texts, o), std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    QTemporaryDir first, second;
    const std::string a = trainedBytes(first.path() + "/one");
    const std::string b = trainedBytes(second.path() + "/a/much/longer/cache/folder");
    QVERIFY(a.size() > 1000);
    QVERIFY2(a == b, "two fresh caches hold different models of the same text");
  }

  void cachesByContent() {
    const std::string first = trainSentencePiece(m_texts, options());
    const std::string again = trainSentencePiece(m_texts, options());
    QCOMPARE(again, first);
    auto changed = m_texts;
    changed.push_back("a new line of text");
    const std::string other = trainSentencePiece(changed, options());
    QVERIFY(other != first);
    QVERIFY(std::filesystem::exists(other));
  }

  // A full disk (here: a file-size limit, EFBIG) while the training text is written is an error,
  // and no model trained on a cut text lands in the cache. Run in a child: the limit is per process.
  void cutTrainingTextIsAnError() {
    QTemporaryDir cache;
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::signal(SIGXFSZ, SIG_IGN);
      const rlimit small{4096, 4096};
      ::setrlimit(RLIMIT_FSIZE, &small);
      TokenizerTrainOptions o = options();
      o.cacheDir = cache.path().toStdString();
      int code = 3;
      try {
        trainSentencePiece(m_texts, o);
        code = 1;  // trained although the text could not be written whole
      } catch (const InputError& e) {
        code = std::string(e.what()).find("cannot write the tokenizer's training text") !=
                       std::string::npos
                   ? 0
                   : 2;
      } catch (...) {
      }
      ::_exit(code);
    }
    int status = 0;
    QCOMPARE(::waitpid(pid, &status, 0), pid);
    QVERIFY(WIFEXITED(status));
    QCOMPARE(WEXITSTATUS(status), 0);
    // Nothing left behind: no model, no training text.
    const auto dir = std::filesystem::path(cache.path().toStdString()) / "tokenizers";
    if (std::filesystem::exists(dir))
      QVERIFY(std::filesystem::is_empty(dir));
  }

  void loadsAModelFileAndRejectsGarbage() {
    const std::string model = trainSentencePiece(m_texts, options());
    const std::string copy = (m_dir.path() + "/copy.model").toStdString();
    std::filesystem::copy_file(model, copy, std::filesystem::copy_options::overwrite_existing);
    auto tok = loadSentencePiece(copy);
    QCOMPARE(QString::fromStdString(tok->modelPath()), QString::fromStdString(copy));
    const std::string garbage = (m_dir.path() + "/garbage.model").toStdString();
    std::ofstream(garbage) << "not a model";
    QVERIFY_THROWS_EXCEPTION(InputError, loadSentencePiece(garbage));
    QVERIFY_THROWS_EXCEPTION(InputError, loadSentencePiece("/nonexistent/x.model"));
  }

  void truncationKeepsResponseAndPromptEnd() {
    auto tok = loadSentencePiece(trainSentencePiece(m_texts, options()));
    std::string prompt;
    for (int i = 0; i < 40; ++i) prompt += "the mayor approved plans monday . ";
    prompt += "finally the harbor";
    const std::string response = "the bridge reopened plans .";
    int second = 0;
    const auto ids = encodePromptResponse(*tok, prompt, response, 32, &second);
    QCOMPARE(ids.size(), size_t(32));
    const SpecialIds sp = tok->special();
    QCOMPARE(ids.front(), sp.cls);
    QCOMPARE(ids.back(), sp.sep);
    const auto r = tok->encode(response);
    QVERIFY(std::equal(r.begin(), r.end(), ids.end() - 1 - static_cast<long>(r.size())));
    const auto p = tok->encode(prompt);
    // The prompt's last tokens survive, right before the separator; the response starts after it.
    QCOMPARE(ids[static_cast<size_t>(second) - 2], p.back());
    QCOMPARE(ids[static_cast<size_t>(second) - 1], sp.sep);
    QCOMPARE(ids[static_cast<size_t>(second)], r.front());
    // Short inputs are not cut.
    const auto small = encodePromptResponse(*tok, "hi", "yo", 32, &second);
    QCOMPARE(small.size(), tok->encode("hi").size() + tok->encode("yo").size() + 3);
  }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
