#include "telemetry.hpp"

#include <rte_telemetry.h>

#include <mutex>
#include <cstdlib>
#include <string>

#include "worker.hpp"

namespace lb {

namespace {

// The callbacks and unregistering hold this, so teardown cannot free what a callback
// is reading (telemetry thread and main lcore only; never a worker).
std::mutex g_lock;
const DataplaneShared* g_shared = nullptr;
const LcoreCounters* g_main = nullptr;
bool g_registered = false;

void add_counters(rte_tel_data* d, const LcoreCounters& c) {
  for (unsigned i = 0; i < kEventCount; ++i) rte_tel_data_add_dict_u64(d, kEventNames[i], c.events[i]);
  for (unsigned i = 0; i < kDropCount; ++i) {
    std::string name = std::string("drop_") + kDropNames[i];
    rte_tel_data_add_dict_u64(d, name.c_str(), c.drops[i]);
  }
}

int stats_cb(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> hold(g_lock);
  const DataplaneShared* sh = g_shared;
  if (!sh) return -1;
  LcoreCounters total = *g_main;
  uint64_t flows = 0;
  for (uint16_t w = 0; w < sh->workers; ++w) {
    const Worker* wk = sh->worker[w];
    if (!wk) continue;
    for (unsigned i = 0; i < kEventCount; ++i) total.events[i] += wk->counters.events[i];
    for (unsigned i = 0; i < kDropCount; ++i) total.drops[i] += wk->counters.drops[i];
    flows += wk->flow_count.load(std::memory_order_relaxed);
  }
  rte_tel_data_start_dict(d);
  add_counters(d, total);
  rte_tel_data_add_dict_u64(d, "flows", flows);
  return 0;
}

int lcore_cb(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> hold(g_lock);
  const DataplaneShared* sh = g_shared;
  if (!sh || !params || !*params) return -1;
  char* end = nullptr;
  unsigned long w = std::strtoul(params, &end, 10);
  if (*end || w >= sh->workers || !sh->worker[w]) return -1;
  rte_tel_data_start_dict(d);
  add_counters(d, sh->worker[w]->counters);
  rte_tel_data_add_dict_u64(d, "flows", sh->worker[w]->flow_count.load(std::memory_order_relaxed));
  return 0;
}

}  // namespace

void register_telemetry(const DataplaneShared* shared, const LcoreCounters* main_counters) {
  {
    std::lock_guard<std::mutex> hold(g_lock);
    g_shared = shared;
    g_main = main_counters;
    if (g_registered || !shared) return;
    g_registered = true;
  }
  rte_telemetry_register_cmd("/lbdp/stats", stats_cb, "lbdp counters summed over all lcores. Takes no parameters");
  rte_telemetry_register_cmd("/lbdp/lcore", lcore_cb, "lbdp counters of one worker lcore. Parameter: worker index");
}

}  // namespace lb
