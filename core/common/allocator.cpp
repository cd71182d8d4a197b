#include "common/allocator.h"

#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace rr::core {

void tuneAllocator() {
  const char* off = std::getenv("RR_NO_MALLOPT");
  if (off && *off && std::strcmp(off, "0") != 0) return;
#ifdef __GLIBC__
  // A training step's activations and gradients are megabytes each: above glibc's default mmap
  // threshold, every one is mapped, faulted in page by page and unmapped again, every step.
  // Kept on the heap (and the heap not trimmed back) the next step reuses the same pages:
  // 5 to 10% faster training at the mini preset on the Intel Xeon; on the AMD EPYC the gain is
  // inside the run-to-run spread (docs/BENCHMARKS.md, P4 and "Threads").
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace rr::core
