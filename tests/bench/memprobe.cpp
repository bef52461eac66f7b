// memprobe: what a random cache line costs on this machine, for the sizes a flow table
// has at 1 K to 10 M flows. bench-replay prints it beside the balancer's figures: an
// established packet reads two random lines (its index bucket and its flow entry), so
// once the table outgrows the caches, two independent line reads per packet are the
// floor. (Two lines of one page, read back to back, may cost less: same_page_pair.)
//   memprobe [MB ...]     (default: 1 8 88 880, the tables of 1 K .. 10 M flows)
// Prints per size, in TSC cycles:
//   chase        one dependent read after another (the latency of a miss)
//   independent  reads whose addresses do not depend on each other (what a burst with
//                prefetching pays per line, limited by the misses in flight)
//   same_page_pair  two independent reads of lines in one 4 KB page, back to back, per
//                pair (against two independent lines: what the second line's address
//                translation and memory row cost, which a pair in one page shares)
// Memory comes from 2 MB hugepages when some are free (as DPDK's does), else from
// ordinary pages with transparent hugepages requested.
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

#include "bench_memory.hpp"

namespace {

// Cycles per read: a random cyclic permutation of the region's lines, followed one
// after another; then the same lines read in an order that does not depend on the data.
void probe(size_t mb) {
  const bench::Region r = bench::map_region(mb << 20);
  if (!r.base) {
    std::printf("memprobe size_mb=%zu error=no_memory\n", mb);
    return;
  }
  const size_t lines = r.bytes / 64;
  std::vector<uint32_t> order(lines);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937_64 rng(1);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < lines; ++i)
    *reinterpret_cast<char**>(r.base + static_cast<size_t>(order[i]) * 64) = r.base + static_cast<size_t>(order[(i + 1) % lines]) * 64;
  const size_t reads = 2'000'000;
  char* p = r.base + static_cast<size_t>(order[0]) * 64;
  for (size_t i = 0; i < reads / 10; ++i) p = *reinterpret_cast<char**>(p);  // warm the caches and TLBs
  uint64_t t0 = __rdtsc();
  for (size_t i = 0; i < reads; ++i) p = *reinterpret_cast<char**>(p);
  uint64_t t1 = __rdtsc();
  uint64_t sum = reinterpret_cast<uintptr_t>(p);
  for (size_t i = 0; i < reads; ++i) sum += *reinterpret_cast<uint64_t*>(r.base + static_cast<size_t>(order[i % lines]) * 64 + 8);
  uint64_t t2 = __rdtsc();
  // Two lines of one 4 KB page per random place (a bucket and an entry kept side by
  // side would be read so): what a pair costs where one translation serves both.
  for (size_t i = 0; i < reads / 2; ++i) {
    const size_t a = order[i % lines], b = (a & ~size_t{63}) | ((a + 31) & 63);
    sum += *reinterpret_cast<uint64_t*>(r.base + a * 64 + 8) + *reinterpret_cast<uint64_t*>(r.base + b * 64 + 8);
  }
  uint64_t t3 = __rdtsc();
  std::printf("memprobe size_mb=%zu hugepages=%d chase_cycles=%.0f independent_cycles=%.1f same_page_pair_cycles=%.1f check=%u\n",
              mb, r.huge ? 1 : 0, static_cast<double>(t1 - t0) / reads, static_cast<double>(t2 - t1) / reads,
              static_cast<double>(t3 - t2) / (reads / 2), static_cast<unsigned>(sum & 1));
  bench::unmap_region(r);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    unsigned long mb = std::strtoul(argv[i], &end, 10);
    if (!end || *end || mb == 0 || mb > 65536) {
      std::fprintf(stderr, "memprobe: size in MB expected, got '%s'\n", argv[i]);
      return 2;
    }
    sizes.push_back(mb);
  }
  if (sizes.empty()) sizes = {1, 8, 88, 880};
  for (size_t mb : sizes) probe(mb);
  return 0;
}
