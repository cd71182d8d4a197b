#pragma once
// Each architecture's registry row, defined in its own file (private to core/nn/hf/).
#include "nn/hf/arch.h"

namespace rr::core::hf {

const ArchRow& bertRow();        // bert.cpp
const ArchRow& electraRow();     // bert.cpp
const ArchRow& robertaRow();     // roberta.cpp
const ArchRow& xlmRobertaRow();  // roberta.cpp
const ArchRow& debertaV2Row();   // deberta.cpp
const ArchRow& modernBertRow();  // modernbert.cpp
const ArchRow& llamaRow();       // llama.cpp
const ArchRow& qwen2Row();       // qwen2.cpp
const ArchRow& qwen3Row();       // qwen3.cpp
const ArchRow& gemma2Row();      // gemma2.cpp

}  // namespace rr::core::hf
