#include "data/tokenizer.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "common/errors.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "data/sentencepiece_p.h"
#include "data/spm/rr_spm.h"

#ifndef RR_SPM_BUILD_PATH
#define RR_SPM_BUILD_PATH ""
#endif

namespace fs = std::filesystem;

namespace rr::core {
namespace {

// Published SentencePiece models are a few MB (DeBERTa-v3's 2.4 MB, mDeBERTa's 4.3 MB).
constexpr std::uint64_t kMaxModelBytes = 256u << 20;

// The SentencePiece wrapper's entry points, resolved once from librr_spm.so.
struct SpmApi {
  decltype(&rr_spm_train) train = nullptr;
  decltype(&rr_spm_load) load = nullptr;
  decltype(&rr_spm_free) free = nullptr;
  decltype(&rr_spm_vocab_size) vocabSize = nullptr;
  decltype(&rr_spm_encode) encode = nullptr;
  decltype(&rr_spm_decode) decode = nullptr;
  decltype(&rr_spm_piece_to_id) pieceToId = nullptr;
  decltype(&rr_spm_special_id) specialId = nullptr;
};

std::vector<std::string> wrapperCandidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("RR_SPM_LIBRARY")) c.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    c.push_back((exe.parent_path() / "librr_spm.so").string());
    c.push_back((exe.parent_path() / ".." / "lib" / "rewardrouter" / "librr_spm.so").string());
  }
  if (std::string(RR_SPM_BUILD_PATH).size() > 0) c.emplace_back(RR_SPM_BUILD_PATH);
  return c;
}

const SpmApi& spmApi() {
  static SpmApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* handle = nullptr;
    std::string tried;
    for (const auto& path : wrapperCandidates()) {
      if (!fs::exists(path)) {
        tried += " " + path + " (missing)";
        continue;
      }
      // RTLD_DEEPBIND: the wrapper and libsentencepiece resolve their own (bundled) protobuf
      // symbols first instead of the system protobuf that LibTorch has already loaded.
      handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle) break;
      tried += " " + path + " (" + ::dlerror() + ")";
    }
    if (!handle) {
      error = "cannot load the SentencePiece wrapper librr_spm.so; tried:" + tried +
              ". Set RR_SPM_LIBRARY to its path.";
      return;
    }
    auto sym = [&](const char* name) { return ::dlsym(handle, name); };
    api.train = reinterpret_cast<decltype(api.train)>(sym("rr_spm_train"));
    api.load = reinterpret_cast<decltype(api.load)>(sym("rr_spm_load"));
    api.free = reinterpret_cast<decltype(api.free)>(sym("rr_spm_free"));
    api.vocabSize = reinterpret_cast<decltype(api.vocabSize)>(sym("rr_spm_vocab_size"));
    api.encode = reinterpret_cast<decltype(api.encode)>(sym("rr_spm_encode"));
    api.decode = reinterpret_cast<decltype(api.decode)>(sym("rr_spm_decode"));
    api.pieceToId = reinterpret_cast<decltype(api.pieceToId)>(sym("rr_spm_piece_to_id"));
    api.specialId = reinterpret_cast<decltype(api.specialId)>(sym("rr_spm_special_id"));
    if (!api.train || !api.load || !api.free || !api.vocabSize || !api.encode || !api.decode ||
        !api.pieceToId || !api.specialId) {
      error = "librr_spm.so lacks an expected symbol";
      api = SpmApi{};
    }
  });
  if (!api.load) throw std::runtime_error(error);
  return api;
}

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(rr_spm* handle, std::string path)
      : m_handle(handle), m_path(std::move(path)) {
    const SpmApi& api = spmApi();
    auto piece = [&](const char* p, int fallback) {
      int id = api.pieceToId(m_handle, p);
      return id >= 0 ? id : fallback;
    };
    m_special.unk = api.specialId(m_handle, 1);
    m_special.pad = piece("[PAD]", api.specialId(m_handle, 0));
    m_special.cls = piece("[CLS]", api.specialId(m_handle, 2));
    m_special.sep = piece("[SEP]", api.specialId(m_handle, 3));
    m_special.mask = piece("[MASK]", -1);
    if (m_special.pad < 0) m_special.pad = m_special.unk;
    if (m_special.cls < 0 || m_special.sep < 0)
      throw InputError(m_path + ": the tokenizer has no [CLS]/[SEP] (or bos/eos) pieces");
  }
  ~SentencePieceTokenizer() override { spmApi().free(m_handle); }

  std::vector<int> encode(const std::string& text) const override {
    const SpmApi& api = spmApi();
    std::vector<int> ids(text.size() + 8);
    int n =
        api.encode(m_handle, text.data(), text.size(), ids.data(), static_cast<int>(ids.size()));
    if (n < 0) throw std::runtime_error("SentencePiece failed to encode text");
    if (static_cast<size_t>(n) > ids.size()) {
      ids.resize(static_cast<size_t>(n));
      api.encode(m_handle, text.data(), text.size(), ids.data(), n);
    }
    ids.resize(static_cast<size_t>(n));
    return ids;
  }
  std::string decode(const std::vector<int>& ids) const override {
    const SpmApi& api = spmApi();
    size_t n = api.decode(m_handle, ids.data(), static_cast<int>(ids.size()), nullptr, 0);
    std::string out(n + 1, '\0');
    api.decode(m_handle, ids.data(), static_cast<int>(ids.size()), out.data(), out.size());
    out.resize(n);
    return out;
  }
  int vocabSize() const override { return spmApi().vocabSize(m_handle); }
  SpecialIds special() const override { return m_special; }
  std::string modelPath() const override { return m_path; }
  int pieceId(const std::string& piece) const {
    return spmApi().pieceToId(m_handle, piece.c_str());
  }

 private:
  rr_spm* m_handle;
  std::string m_path;
  SpecialIds m_special;
};

}  // namespace

int sentencePieceId(const Tokenizer& tok, const std::string& piece) {
  const auto* spm = dynamic_cast<const SentencePieceTokenizer*>(&tok);
  return spm ? spm->pieceId(piece) : -1;
}

std::unique_ptr<Tokenizer> loadSentencePiece(const std::string& modelPath) {
  if (!fs::exists(modelPath)) throw InputError(modelPath + ": tokenizer model not found");
  // Read here, through the checks every file the project reads passes: SentencePiece's own
  // reader read /dev/zero until memory ran out and waited on a FIFO forever.
  const std::string model = readRegularFile(modelPath, kMaxModelBytes, "SentencePiece model");
  char err[512] = {0};
  rr_spm* h = spmApi().load(model.data(), model.size(), err, sizeof err);
  if (!h) throw InputError(modelPath + ": not a SentencePiece model (" + err + ")");
  return std::make_unique<SentencePieceTokenizer>(h, modelPath);
}

std::string defaultCacheDir() {
  if (const char* d = std::getenv("RR_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d)
    return std::string(d) + "/rewardrouter";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/rewardrouter";
  return (fs::temp_directory_path() / "rewardrouter-cache").string();
}

std::string trainSentencePiece(const std::vector<std::string>& texts,
                               const TokenizerTrainOptions& options) {
  if (texts.empty()) throw InputError("tokenizer: no training text");
  StableHash h;
  // v2: models no longer carry the paths they were trained from (v1 files differ by cache).
  h.add("spm-v2").add(std::to_string(options.vocabSize)).add(options.modelType);
  for (const auto& t : texts) h.add(t);
  const fs::path dir =
      fs::path(options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir) / "tokenizers";
  const fs::path model = dir / ("spm-" + h.hex() + ".model");
  if (fs::exists(model)) return model.string();

  fs::create_directories(dir);
  // Names nobody can guess, created new (createNewFile): an entry planted in the cache folder is
  // never written through.
  const std::string tmpPrefix = uniqueSibling((dir / ("tmp-" + h.hex())).string(), "train");
  const std::string input = tmpPrefix + ".txt";
  {
    std::string text;
    for (const auto& t : texts) {
      std::string line = t;
      for (char& c : line)
        if (c == '\n' || c == '\r') c = ' ';
      text += line;
      text += '\n';
    }
    const int fd = createNewFile(input);
    std::size_t at = 0;
    int err = 0;
    while (at < text.size() && err == 0) {
      const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
      if (n < 0 && errno != EINTR) err = errno;
      if (n > 0) at += static_cast<std::size_t>(n);
    }
    // Checked at close too: a full disk may show only then, and a model trained on a cut text
    // would be cached under the whole text's hash.
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
      std::remove(input.c_str());
      throw InputError(input + ": cannot write the tokenizer's training text (" +
                       std::strerror(err) + ")");
    }
  }
  const std::string args =
      "--model_type=" + options.modelType +
      " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 --pad_piece=[PAD] --unk_piece=[UNK]"
      " --bos_piece=[CLS] --eos_piece=[SEP] --user_defined_symbols=[MASK]"
      " --hard_vocab_limit=false --character_coverage=1.0 --minloglevel=2"
      // A fixed thread count: the trainer splits its work by thread, and so its sums.
      " --num_threads=2"
      " --input_sentence_size=200000 --shuffle_input_sentence=true --max_sentence_length=8192";
  char err[1024] = {0};
  int rc = spmApi().train(input.c_str(), tmpPrefix.c_str(), options.vocabSize, args.c_str(), err,
                          sizeof err);
  std::remove(input.c_str());
  if (rc != 0) {
    std::remove((tmpPrefix + ".model").c_str());
    throw InputError(std::string("tokenizer training failed: ") + err);
  }
  fs::rename(tmpPrefix + ".model", model);
  return model.string();
}

InputLayout Tokenizer::layout() const {
  const SpecialIds sp = special();
  InputLayout l;
  l.singleBefore = l.pairBefore = {sp.cls};
  l.singleAfter = l.pairBetween = l.pairAfter = {sp.sep};
  return l;
}

std::vector<int> encodePromptResponse(const Tokenizer& tok, const std::string& prompt,
                                      const std::string& response, int maxLen,
                                      int* secondSegment) {
  int second = 0;
  std::vector<int> ids = tok.encodeInput(prompt, response, maxLen, &second);
  if (secondSegment) *secondSegment = second;
  return ids;
}

std::vector<int> encodeSingle(const Tokenizer& tok, const std::string& text, int maxLen) {
  return tok.encodePromptInput(text, maxLen);
}

std::vector<int> Tokenizer::encodeInput(const std::string& prompt, const std::string& response,
                                        int maxLen, int* secondSegment) const {
  const Tokenizer& tok = *this;
  const InputLayout l = tok.layout();
  std::vector<int> p = tok.encode(prompt);
  std::vector<int> r = tok.encode(response);
  const size_t fixed = l.pairBefore.size() + l.pairBetween.size() + l.pairAfter.size();
  const size_t budget = maxLen > static_cast<int>(fixed) ? static_cast<size_t>(maxLen) - fixed : 0;
  if (r.size() > budget) r.resize(budget);
  const size_t keepPrompt = std::min(p.size(), budget - r.size());
  std::vector<int> ids;
  ids.reserve(keepPrompt + r.size() + fixed);
  ids.insert(ids.end(), l.pairBefore.begin(), l.pairBefore.end());
  ids.insert(ids.end(), p.end() - static_cast<long>(keepPrompt), p.end());
  ids.insert(ids.end(), l.pairBetween.begin(), l.pairBetween.end());
  if (secondSegment) *secondSegment = static_cast<int>(ids.size());
  ids.insert(ids.end(), r.begin(), r.end());
  ids.insert(ids.end(), l.pairAfter.begin(), l.pairAfter.end());
  return ids;
}

std::vector<int> Tokenizer::encodeConversationInput(const std::vector<ChatMessage>& messages,
                                                   int maxLen, int* secondSegment) const {
  if (messages.empty()) return {};
  std::string prompt;
  for (size_t i = 0; i + 1 < messages.size(); ++i)
    prompt += (i ? "\n\n" : "") + messages[i].content;
  return encodeInput(prompt, messages.back().content, maxLen, secondSegment);
}

std::vector<int> Tokenizer::encodePromptInput(const std::string& text, int maxLen) const {
  const Tokenizer& tok = *this;
  const InputLayout l = tok.layout();
  std::vector<int> t = tok.encode(text);
  const size_t fixed = l.singleBefore.size() + l.singleAfter.size();
  const size_t budget = maxLen > static_cast<int>(fixed) ? static_cast<size_t>(maxLen) - fixed : 0;
  std::vector<int> ids(l.singleBefore);
  size_t keep = std::min(t.size(), budget);
  ids.insert(ids.end(), t.end() - static_cast<long>(keep), t.end());
  ids.insert(ids.end(), l.singleAfter.begin(), l.singleAfter.end());
  return ids;
}

}  // namespace rr::core
