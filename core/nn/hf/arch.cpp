#include "nn/hf/arch.h"

#include <stdexcept>

#include "nn/hf/arch_p.h"

namespace rr::core::hf {

namespace {

const std::vector<const ArchRow*>& rows() {
  static const std::vector<const ArchRow*> all{
      &bertRow(),  &electraRow(), &robertaRow(), &xlmRobertaRow(), &debertaV2Row(),
      &modernBertRow(),
      &llamaRow(), &qwen2Row(),   &qwen3Row(),   &gemma2Row()};
  return all;
}

}  // namespace

const ArchRow& archRow(Arch a) {
  for (const ArchRow* r : rows())
    if (r->arch == a) return *r;
  throw std::logic_error("no registry row for an architecture");
}

const ArchRow* findArch(const std::string& modelType) {
  for (const ArchRow* r : rows())
    if (modelType == r->modelType) return r;
  return nullptr;
}

std::string supportedModelTypes() {
  std::string out;
  for (const ArchRow* r : rows()) out += (out.empty() ? "" : ", ") + std::string(r->modelType);
  return out;
}

}  // namespace rr::core::hf
