// flowbench: the flow table alone, looked up the way a worker does it, without ports,
// mbufs or a generator lcore: what a table layout costs at 1 K to 10 M flows, with
// less of the noise that the whole path picks up. For comparing two builds of
// flow_table.* (alternate their runs; the machine's speed drifts).
//
//   flowbench [FLOWS [ROUNDS]]    (default 10000000 flows, 5 rounds)
//
// Fills a table of FLOWS * 1.05 entries with FLOWS nat (client-keyed) flows, then per
// round looks up 5,120,000 keys of random flows in bursts of 128 through the worker's
// stages: hash_client() and prefetch_bucket() for the burst, candidate() (and
// candidate_secondary()), lookup_from() and touch() (which, as on a busy flow, rarely
// writes: here never). A lookup's figure includes drawing its key at random, a few
// cycles, the same for every build. Prints one line per round and the fastest:
//   flowbench flows=.. round=.. cycles_per_lookup=..
//   flowbench flows=.. bytes_per_flow=.. hugepages=0|1 fastest_cycles_per_lookup=..
// Memory as memprobe's (bench_memory.hpp). Prints figures; asserts only that every key
// is found.
#include <x86intrin.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "bench_memory.hpp"
#include "flow_table.hpp"

namespace {

void ignore_removal(void*, const lb::Flow&, lb::FlowTable::RemoveReason) {}

lb::FlowKey client_key(uint32_t i) {
  return lb::FlowKey{0x0a000000u + i * 7919u, 0xcb00710au, static_cast<uint16_t>(1024 + i % 60000), 80};
}

bool parse(const char* text, unsigned long max, unsigned long* out) {
  char* end = nullptr;
  *out = std::strtoul(text, &end, 10);
  return end && !*end && *out >= 1 && *out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long flows = 10'000'000, rounds = 5;
  if (argc > 3 || (argc > 1 && !parse(argv[1], 100'000'000, &flows)) || (argc > 2 && !parse(argv[2], 100, &rounds))) {
    std::fprintf(stderr, "usage: flowbench [FLOWS (1..100000000) [ROUNDS (1..100)]]\n");
    return 2;
  }
  const uint32_t n = static_cast<uint32_t>(flows);
  const uint32_t capacity = n + n / 20;
  const bench::Region mem = bench::map_region(lb::FlowTable::memory_bytes(capacity));
  if (!mem.base) {
    std::perror("flowbench: mmap");
    return 1;
  }
  lb::FlowTable table(mem.base, capacity, {5000, 900000, 3000}, ignore_removal, nullptr);
  for (uint32_t i = 0; i < n; ++i) {
    const lb::FlowKey k = client_key(i);
    const lb::FlowKey reply{0xc0a80001u, k.saddr_be, 80, k.sport_be};
    if (!table.create_client_keyed(k, reply, table.hash_client(k.saddr_be, k.sport_be), lb::FlowState::established, 0)) {
      std::fprintf(stderr, "flowbench: flow %u found its buckets full\n", i);
      return 1;
    }
  }
  constexpr int kBurst = 128;
  constexpr int kBursts = 40'000;
  std::mt19937 rng(3);
  double fastest = 0;
  for (unsigned long round = 1; round <= rounds; ++round) {
    uint64_t found = 0;
    const uint64_t start = __rdtsc();
    for (int b = 0; b < kBursts; ++b) {
      lb::FlowKey key[kBurst];
      lb::FlowTable::Hashed hashed[kBurst];
      uint32_t candidate[kBurst];
      for (int i = 0; i < kBurst; ++i) {
        key[i] = client_key(static_cast<uint32_t>(rng() % n));
        hashed[i] = table.hash_client(key[i].saddr_be, key[i].sport_be);
        table.prefetch_bucket(hashed[i]);
      }
      for (int i = 0; i < kBurst; ++i) candidate[i] = table.candidate(hashed[i]);
      for (int i = 0; i < kBurst; ++i)
        if (candidate[i] == lb::FlowTable::kProbeSecondary) candidate[i] = table.candidate_secondary(hashed[i]);
      for (int i = 0; i < kBurst; ++i) {
        bool reply = false;
        if (lb::Flow* f = table.lookup_from(key[i], hashed[i], candidate[i], &reply)) {
          table.touch(f, 0);
          ++found;
        }
      }
    }
    const double cycles = static_cast<double>(__rdtsc() - start) / (kBursts * kBurst);
    if (found != static_cast<uint64_t>(kBursts) * kBurst) {
      std::fprintf(stderr, "flowbench: %lu of %d keys found\n", static_cast<unsigned long>(found), kBursts * kBurst);
      return 1;
    }
    std::printf("flowbench flows=%u round=%lu cycles_per_lookup=%.1f\n", n, round, cycles);
    fastest = round == 1 ? cycles : std::min(fastest, cycles);
  }
  std::printf("flowbench flows=%u bytes_per_flow=%zu hugepages=%d fastest_cycles_per_lookup=%.1f\n", n,
              lb::FlowTable::memory_bytes(capacity) / capacity, mem.huge ? 1 : 0, fastest);
  bench::unmap_region(mem);
  return 0;
}
