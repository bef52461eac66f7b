// Cache hints for mbufs that another core (or a NIC) wrote last: the worker's receive
// path and the benchmark's generator lcore use them alike. Hints only: a wrong
// address costs a wasted request, never a wrong result. Thread-safe (no state).
#pragma once

#include <rte_common.h>
#include <rte_mbuf.h>

namespace lb {

// PREFETCHW: fetches the line in a state this core may write, so a line another core
// (or a NIC) wrote last is fetched once instead of read, then upgraded when the rewrite
// writes it. AMD CPUs have it; Intel's since Broadwell (CPUID PRFCHW: the Intel
// development machine of 2026-12-04 reports it, as 3dnowprefetch), and older ones are
// said to decode it as a no-op (not verified: no such CPU here). The compiler would emit
// PREFETCHT0 for __builtin_prefetch(p, 1) under DPDK's -march=corei7, hence the
// instruction by hand.
inline void prefetch_for_write(const void* p) { asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p))); }

// Where an mbuf's data starts when its pool has no private area and the mbuf the
// default headroom, as in lbdp's pools and the generator's: known without reading the
// header's line, which is itself still on its way. Only a guess for other pools.
inline void* guessed_data(rte_mbuf* m) { return RTE_PTR_ADD(m, sizeof(rte_mbuf) + RTE_PKTMBUF_HEADROOM); }

}  // namespace lb
