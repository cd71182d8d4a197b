#include "rr_spm.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
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
}  // namespace

extern "C" RR_SPM_API int rr_spm_train(const char* input_file, const char* model_prefix,
                                       int vocab_size, const char* args, char* err, size_t errlen) {
  std::string flags = std::string("--input=") + input_file + " --model_prefix=" + model_prefix +
                      " --vocab_size=" + std::to_string(vocab_size) + " " + (args ? args : "");
  try {
    sentencepiece::logging::SetMinLogLevel(2);
    auto status = sentencepiece::SentencePieceTrainer::Train(flags);
    if (!status.ok()) {
      writeError(err, errlen, status.ToString());
      return 1;
    }
  } catch (const std::exception& e) {
    writeError(err, errlen, e.what());
    return 1;
  }
  return 0;
}

extern "C" RR_SPM_API rr_spm* rr_spm_load(const char* model_file, char* err, size_t errlen) {
  auto h = std::make_unique<rr_spm>();
  auto status = h->processor.Load(model_file);
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
