// A worker lcore: polls its RX queues, classifies each packet, hands it to the lcore
// that owns its flow if that is another one, forwards it (flow lookup, scheduling of
// new flows, rewrite, incremental checksums), and transmits in bursts.
//
// Ownership (DESIGN.md invariant 2): the owner of a flow is a function of fields both
// directions carry —
//   forward (client -> VIP)        owner_of(client address, client port)
//   nat reply (backend -> client)  owner_of(client address, client port)
//   fullnat reply (-> local addr)  local port % workers (the owner allocated that port
//                                  from its own residue class)
// so whichever queue a packet arrives on, it reaches the one lcore whose flow table
// holds its flow, through a single-producer/single-consumer hand-off ring.
//
// Thread-safety: a Worker is written only by its own lcore, except `handoff_in` rings
// (the producing lcore enqueues) and the fields marked "main" below. The main lcore
// reads counters for stats (64-bit loads; may be a burst behind).
#pragma once

#include <atomic>
#include <cstdint>

#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "counters.hpp"
#include "flow_table.hpp"
#include "neighbour.hpp"
#include "snapshot.hpp"

namespace lb {

constexpr uint16_t kMaxWorkers = 64;
constexpr uint16_t kTxBufferSize = 64;

// Per-backend counters kept by one worker, indexed by global backend id.
struct BackendCounters {
  std::atomic<uint32_t> open;   // flows not yet closing; read by other workers (lc/wlc)
  uint32_t reserved;
  uint64_t flows;               // flows created
  uint64_t packets;             // client->backend packets
  uint64_t bytes;

  // Owning worker only: one writer, so a plain load and store (no atomic RMW).
  void flow_opened() {
    open.store(open.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    ++flows;
  }
  void flow_closed() { open.store(open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
};

// What every worker shares, owned by the main lcore.
struct DataplaneShared {
  std::atomic<const Snapshot*> snapshot{nullptr};  // RCU-published (main writes)
  rte_rcu_qsbr* qsbr = nullptr;
  NeighbourMacs* neighbour_macs = nullptr;
  std::atomic<bool> stop_rx{false};  // main: stop polling ports (drain before quit)
  std::atomic<bool> quit{false};     // main: leave the loop
  uint16_t workers = 1;
  uint16_t burst = 32;
  uint32_t idle_sleep_us = 0;
  bool port_rx_ip_csum[RTE_MAX_ETHPORTS] = {};  // port validates IPv4 checksums
  struct Worker* worker[kMaxWorkers] = {};
};

inline uint32_t owner_of(uint32_t addr_be, uint16_t port_be, uint16_t workers) {
  uint64_t h = (static_cast<uint64_t>(addr_be) << 16 | port_be) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint32_t>(((h >> 32) * workers) >> 32);
}

struct alignas(64) Worker {
  // --- set up by main before launch, read-only afterwards
  uint16_t index = 0;
  DataplaneShared* shared = nullptr;
  struct RxQueue {
    uint16_t dpdk_port;
    uint16_t queue;
  } rx[kMaxPorts];
  uint16_t rx_count = 0;
  uint16_t tx_queue = 0;
  rte_ring* handoff_in[kMaxWorkers] = {};   // [from worker]
  rte_ring* handoff_out[kMaxWorkers] = {};  // [to worker]
  rte_ring* slowpath_out = nullptr;         // ARP to the main lcore
  rte_ring* heartbeat_out = nullptr;        // heartbeats to the main lcore (then lbcp)
  rte_ring* control_tx = nullptr;           // worker 0: packets main wants sent
  FlowTable* flows = nullptr;
  BackendCounters* backends = nullptr;      // [kMaxBackends]

  // --- worker-owned state
  LcoreCounters counters{};
  std::atomic<uint64_t> iterations{0};      // loop passes (main watches it to drain)
  std::atomic<uint32_t> flow_count{0};      // flows in the table (for stats)
  uint32_t now_ms = 0;
  uint32_t fullnat_cursor = 0;
  // Packets waiting for transmission, by port index: tx_count[p] of them in tx_pkts[p].
  // Two arrays rather than one of {count, packets}: a port's queue is then found with a
  // shift (a 520-byte record took a multiply on every packet).
  uint16_t tx_count[kMaxPorts] = {};
  alignas(64) rte_mbuf* tx_pkts[kMaxPorts][kTxBufferSize] = {};

  // The lcore entry point (rte_eal_remote_launch); arg is the Worker.
  static int main_loop(void* arg);

  // Queues m on port index p, sending every port's queue when p's is full.
  void queue_tx(rte_mbuf* m, uint16_t p, const Snapshot& snap) {
    const uint16_t n = tx_count[p];
    tx_pkts[p][n] = m;
    tx_count[p] = static_cast<uint16_t>(n + 1);
    if (n + 1 == kTxBufferSize) flush_tx(snap);
  }
  void flush_tx(const Snapshot& snap);
};

// The flow table's remove hook for a worker's table (ctx = the Worker): keeps the
// per-backend open-flow counts and the expiry/eviction counters right.
FlowTable::RemoveHook worker_flow_remove_hook();

}  // namespace lb
