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

// Registers the commands (once) and points them at `shared`; register_telemetry(nullptr,
// ...) detaches them, waiting for a callback in progress, before teardown frees state.
// DPDK has no unregister: detached commands answer with an error.
void register_telemetry(const DataplaneShared* shared, const LcoreCounters* main_counters);

}  // namespace lb
