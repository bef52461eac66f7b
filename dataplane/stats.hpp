// Statistics report: per port (from the PMD), per worker lcore, drops by reason and
// flows per backend, summed from the workers' single-writer counters. Printed on
// SIGUSR1 and at exit. Main lcore only.
//
// The line formats are stable (tests and scripts parse them; docs/statistics.md):
//   port NAME dpdk=N rx=N tx=N rx_missed=N rx_errors=N tx_errors=N
//   lcore W rx=N tx=N handoff_in=N handoff_out=N flows=N created=N expired=N evicted=N drops=N busy_cycles=N
//   drop REASON N
//   event NAME N
//   backend ADDR:PORT vip ADDR:PORT open=N flows=N packets=N bytes=N
#pragma once

#include <cstdio>
#include <vector>

#include "config.hpp"
#include "worker.hpp"

namespace lb {

// What `clear stats` remembers: counters are never written by the main lcore (each has
// one writer), so clearing stores their values and later reports subtract them.
struct StatsBaseline {
  std::vector<LcoreCounters> lcores;  // per worker
  LcoreCounters main{};
  struct Backend {
    uint64_t flows = 0, packets = 0, bytes = 0;
  };
  std::vector<Backend> backends;      // per global backend id (empty: nothing cleared)
};

StatsBaseline take_baseline(const DataplaneShared& shared, const LcoreCounters& main_counters);

// One backend's counters summed over the workers, relative to `baseline` if given
// (open flows are a level, not a count, and are never rebased).
struct BackendTotals {
  uint64_t open = 0, flows = 0, packets = 0, bytes = 0;
};
BackendTotals backend_totals(const DataplaneShared& shared, uint16_t backend_id, const StatsBaseline* baseline);
// Worker w's counters relative to `baseline` if given.
LcoreCounters lcore_counters(const DataplaneShared& shared, uint16_t w, const StatsBaseline* baseline);

void print_stats(std::FILE* out, const Config& config, const DataplaneShared& shared, const Snapshot& snap,
                 const LcoreCounters& main_counters, const StatsBaseline* baseline = nullptr);

}  // namespace lb
