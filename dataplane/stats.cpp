#include "stats.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>

namespace lb {

StatsBaseline take_baseline(const DataplaneShared& shared, const LcoreCounters& main_counters) {
  StatsBaseline b;
  b.main = main_counters;
  b.backends.resize(kMaxBackends);
  for (uint16_t w = 0; w < shared.workers; ++w) {
    const Worker& wk = *shared.worker[w];
    b.lcores.push_back(wk.counters);
    for (uint16_t id = 0; id < kMaxBackends; ++id) {
      b.backends[id].flows += wk.backends[id].flows;
      b.backends[id].packets += wk.backends[id].packets;
      b.backends[id].bytes += wk.backends[id].bytes;
    }
  }
  return b;
}

BackendTotals backend_totals(const DataplaneShared& shared, uint16_t id, const StatsBaseline* baseline) {
  BackendTotals t;
  for (uint16_t w = 0; w < shared.workers; ++w) {
    const BackendCounters& bc = shared.worker[w]->backends[id];
    t.open += bc.open.load(std::memory_order_relaxed);
    t.flows += bc.flows;
    t.packets += bc.packets;
    t.bytes += bc.bytes;
  }
  if (baseline && !baseline->backends.empty()) {
    t.flows -= baseline->backends[id].flows;
    t.packets -= baseline->backends[id].packets;
    t.bytes -= baseline->backends[id].bytes;
  }
  return t;
}

namespace {
LcoreCounters minus(const LcoreCounters& now, const LcoreCounters* then) {
  LcoreCounters d = now;
  if (!then) return d;
  for (unsigned i = 0; i < kEventCount; ++i) d.events[i] -= then->events[i];
  for (unsigned i = 0; i < kDropCount; ++i) d.drops[i] -= then->drops[i];
  return d;
}
}  // namespace

LcoreCounters lcore_counters(const DataplaneShared& shared, uint16_t w, const StatsBaseline* baseline) {
  bool rebase = baseline && w < baseline->lcores.size();
  return minus(shared.worker[w]->counters, rebase ? &baseline->lcores[w] : nullptr);
}

void print_stats(std::FILE* out, const Config& config, const DataplaneShared& shared, const Snapshot& snap,
                 const LcoreCounters& main_counters, const StatsBaseline* baseline) {
  if (baseline && baseline->backends.empty()) baseline = nullptr;
  std::fprintf(out, "--- lbdp statistics ---\ntsc_hz %lu\n", rte_get_tsc_hz());
  for (size_t p = 0; p < snap.ports.size(); ++p) {
    rte_eth_stats st{};
    rte_eth_stats_get(snap.ports[p].dpdk_port, &st);
    std::fprintf(out, "port %s dpdk=%u rx=%lu tx=%lu rx_missed=%lu rx_errors=%lu tx_errors=%lu\n",
                 config.ports[p].name.c_str(), snap.ports[p].dpdk_port, st.ipackets, st.opackets, st.imissed,
                 st.ierrors, st.oerrors);
  }
  LcoreCounters total = minus(main_counters, baseline ? &baseline->main : nullptr);
  for (uint16_t w = 0; w < shared.workers; ++w) {
    const Worker& wk = *shared.worker[w];
    const LcoreCounters c = lcore_counters(shared, w, baseline);
    for (unsigned i = 0; i < kEventCount; ++i) total.events[i] += c.events[i];
    for (unsigned i = 0; i < kDropCount; ++i) total.drops[i] += c.drops[i];
    std::fprintf(out,
                 "lcore %u rx=%lu tx=%lu handoff_in=%lu handoff_out=%lu flows=%u created=%lu expired=%lu "
                 "evicted=%lu drops=%lu busy_cycles=%lu\n",
                 w, c.get(Event::rx), c.get(Event::tx), c.get(Event::handoff_in), c.get(Event::handoff_out),
                 wk.flow_count.load(std::memory_order_relaxed), c.get(Event::flows_created),
                 c.get(Event::flows_expired), c.get(Event::flows_evicted), c.total_drops(), c.get(Event::busy_cycles));
  }
  for (unsigned i = 0; i < kEventCount; ++i) std::fprintf(out, "event %s %lu\n", kEventNames[i], total.events[i]);
  for (unsigned i = 0; i < kDropCount; ++i)
    if (total.drops[i]) std::fprintf(out, "drop %s %lu\n", kDropNames[i], total.drops[i]);
  std::fprintf(out, "drops total %lu\n", total.total_drops());
  for (const VipSnap& vip : snap.vips) {
    for (const BackendSnap& b : vip.backends) {
      const BackendTotals t = backend_totals(shared, b.id, baseline);
      std::fprintf(out, "backend %s:%u vip %s:%u open=%lu flows=%lu packets=%lu bytes=%lu\n",
                   to_string(Ipv4::from_be(b.addr_be)).c_str(), ntoh16(b.port_be),
                   to_string(Ipv4::from_be(vip.addr_be)).c_str(), ntoh16(vip.port_be), t.open, t.flows, t.packets,
                   t.bytes);
    }
  }
  std::fflush(out);
}

}  // namespace lb
