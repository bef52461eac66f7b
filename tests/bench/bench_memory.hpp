// Memory for the benchmark programs that measure memory itself (memprobe, flowbench):
// from 2 MB hugepages when enough are free, as DPDK's would be, else ordinary pages
// with transparent hugepages requested. Header-only; not for lbdp, which uses DPDK's.
#pragma once

#include <sys/mman.h>

#include <cstddef>

namespace bench {

struct Region {
  char* base = nullptr;  // nullptr: no memory
  size_t bytes = 0;      // rounded up to whole 2 MB pages
  bool huge = false;     // from hugepages
};

inline Region map_region(size_t bytes) {
  constexpr size_t kHuge = 2u << 20;
  bytes = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
  if (p != MAP_FAILED) return Region{static_cast<char*>(p), bytes, true};
  p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Region{};
  madvise(p, bytes, MADV_HUGEPAGE);
  return Region{static_cast<char*>(p), bytes, false};
}

inline void unmap_region(const Region& r) {
  if (r.base) munmap(r.base, r.bytes);
}

}  // namespace bench
