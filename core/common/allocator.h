#pragma once
// Process-wide allocator settings, applied first thing in main() by the CLI and the GUI.

namespace rr::core {

// Keeps large allocations on glibc's heap (docs/BENCHMARKS.md, P4). Does nothing when the
// environment sets RR_NO_MALLOPT=1 (to measure without it) or the C library is not glibc.
void tuneAllocator();

}  // namespace rr::core
