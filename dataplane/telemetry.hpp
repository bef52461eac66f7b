// lbdp's counters in DPDK telemetry (dpdk-telemetry.py, /lbdp/... commands):
//   /lbdp/stats        totals over all lcores: every event and drop counter
//   /lbdp/lcore,N      the same for worker lcore N
// Names are the counter names of counters.hpp (drops prefixed "drop_"); see
// docs/statistics.md. The callbacks run on DPDK's telemetry thread and only read
// 64-bit counters (each written by one lcore), never configuration.
#pragma once

namespace lb {

struct DataplaneShared;
struct LcoreCounters;

// Registers the commands; `shared` and `main_counters` must outlive the process's
// telemetry (they are never unregistered: DPDK has no unregister).
void register_telemetry(const DataplaneShared* shared, const LcoreCounters* main_counters);

}  // namespace lb
