#include "rr_spm.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

// Exported by libsentencepiece 0.1.97 but not declared in its installed headers. Without it the
// trainer prints its full command line before it parses --minloglevel.
namespace sentencepiece::logging {
void SetMinLogLevel(int v);
}

struct rr_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {
void writeError(char* err, size_t errlen, const std::string& msg) {
  if (err == nullptr || errlen == 0) return;
  std::strncpy(err, msg.c_str(), errlen - 1);
  err[errlen - 1] = '\0';
}

// The training text, one sentence a line. Given to the trainer as an iterator rather than as
// --input: the trainer copies --input and --model_prefix into the model it writes, so the same
// text trained into another folder gave another file.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const char* path) : m_in(path, std::ios::binary), m_path(path) {
    if (!m_in)
      m_status = sentencepiece::util::Status(sentencepiece::util::StatusCode::kNotFound,
                                             m_path + ": cannot open");
    Next();
  }
  bool done() const override { return m_done; }
  void Next() override {
    if (!m_status.ok() || !std::getline(m_in, m_line)) m_done = true;
    if (m_done && m_in.bad())
      m_status = sentencepiece::util::Status(sentencepiece::util::StatusCode::kDataLoss,
                                             m_path + ": cannot read");
  }
  const std::string& value() const override { return m_line; }
  sentencepiece::util::Status status() const override { return m_status; }

 private:
  std::ifstream m_in;
  std::string m_path, m_line;
  bool m_done = false;
  sentencepiece::util::Status m_status;
};

// Any fixed value: it seeds the trainer's sampling of input sentences.
constexpr unsigned int kTrainerSeed = 20240611;
}  // namespace

extern "C" RR_SPM_API int rr_spm_train(const char* input_file, const char* model_prefix,
                                       int vocab_size, const char* args, char* err, size_t errlen) {
  const std::string flags = "--vocab_size=" + std::to_string(vocab_size) + " " + (args ? args : "");
  try {
    sentencepiece::logging::SetMinLogLevel(2);
    sentencepiece::SetRandomGeneratorSeed(kTrainerSeed);
    LineIterator sentences(input_file);
    std::string model;
    auto status = sentencepiece::SentencePieceTrainer::Train(flags, &sentences, &model);
    if (!status.ok()) {
      writeError(err, errlen, status.ToString());
      return 1;
    }
    const std::string path = std::string(model_prefix) + ".model";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(model.data(), static_cast<std::streamsize>(model.size()));
    out.close();
    if (!out) {
      writeError(err, errlen, path + ": cannot write the model");
      return 1;
    }
  } catch (const std::exception& e) {
    writeError(err, errlen, e.what());
    return 1;
  }
  return 0;
}

extern "C" RR_SPM_API rr_spm* rr_spm_load(const char* model, size_t len, char* err, size_t errlen) {
  auto h = std::make_unique<rr_spm>();
  auto status = h->processor.LoadFromSerializedProto(std::string_view(model, len));
  if (!status.ok()) {
    writeError(err, errlen, status.ToString());
    return nullptr;
  }
  return h.release();
}

extern "C" RR_SPM_API void rr_spm_free(rr_spm* h) { delete h; }

extern "C" RR_SPM_API int rr_spm_vocab_size(const rr_spm* h) { return h->processor.GetPieceSize(); }

extern "C" RR_SPM_API int rr_spm_encode(const rr_spm* h, const char* text, size_t len, int* ids,
                                        int max_ids) {
  std::vector<int> out;
  if (!h->processor.Encode(std::string_view(text, len), &out).ok()) return -1;
  const int n = static_cast<int>(out.size());
  for (int i = 0; i < n && i < max_ids; ++i) ids[i] = out[static_cast<size_t>(i)];
  return n;
}

extern "C" RR_SPM_API size_t rr_spm_decode(const rr_spm* h, const int* ids, int n, char* out,
                                           size_t outlen) {
  std::string text;
  if (!h->processor.Decode(std::vector<int>(ids, ids + n), &text).ok()) return 0;
  if (out != nullptr && outlen > 0) {
    size_t k = text.size() < outlen - 1 ? text.size() : outlen - 1;
    std::memcpy(out, text.data(), k);
    out[k] = '\0';
  }
  return text.size();
}

extern "C" RR_SPM_API int rr_spm_piece_to_id(const rr_spm* h, const char* piece) {
  const int id = h->processor.PieceToId(piece);
  if (h->processor.IsUnknown(id) && std::string(piece) != h->processor.IdToPiece(id)) return -1;
  return id;
}

extern "C" RR_SPM_API int rr_spm_special_id(const rr_spm* h, int which) {
  switch (which) {
    case 0:
      return h->processor.pad_id();
    case 1:
      return h->processor.unk_id();
    case 2:
      return h->processor.bos_id();
    case 3:
      return h->processor.eos_id();
    default:
      return -1;
  }
}
