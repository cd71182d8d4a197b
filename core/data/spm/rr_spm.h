/* Plain C interface over SentencePiece, built as its own shared library (librr_spm.so).
 * libsentencepiece bundles a protobuf that clashes with the one LibTorch loads, so the core
 * opens this library with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) and only plain C types
 * cross the boundary (shared/docs/PLATFORM.md). */
#ifndef RR_SPM_H
#define RR_SPM_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rr_spm rr_spm;

/* Trains a model from a text file (one sentence a line) to <model_prefix>.model. The model's
 * bytes depend on the text, vocab_size and `args` only (not on the paths; the trainer's seed is
 * fixed). `args` holds extra "--key=value" trainer flags. Returns 0 on success, else writes err. */
int rr_spm_train(const char* input_file, const char* model_prefix, int vocab_size, const char* args,
                 char* err, size_t errlen);
/* Loads a model from the bytes of a .model file (the caller reads the file, so it decides what
 * it opens and how much it reads); NULL on failure with err written. */
rr_spm* rr_spm_load(const char* model, size_t len, char* err, size_t errlen);
void rr_spm_free(rr_spm* h);
int rr_spm_vocab_size(const rr_spm* h);
/* Encodes text into at most max_ids ids; returns the full count (call again if larger). */
int rr_spm_encode(const rr_spm* h, const char* text, size_t len, int* ids, int max_ids);
/* Decodes ids into out (NUL-terminated, truncated to outlen); returns the full length. */
size_t rr_spm_decode(const rr_spm* h, const int* ids, int n, char* out, size_t outlen);
/* The id of a piece, or -1 when the model does not have it. */
int rr_spm_piece_to_id(const rr_spm* h, const char* piece);
/* which: 0 pad, 1 unk, 2 bos, 3 eos; -1 when the model has none. */
int rr_spm_special_id(const rr_spm* h, int which);

#ifdef __cplusplus
}
#endif
#endif
