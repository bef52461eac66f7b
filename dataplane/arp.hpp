// ARP on the main lcore (the slow path): workers pass every ARP frame up a ring; the
// main lcore learns neighbours from them, answers requests for the appliance's own
// addresses, VIPs and fullnat local addresses, and builds requests for next hops.
// Frames it sends go down the control TX ring to worker 0.
// Main lcore only; not thread-safe.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "net.hpp"

namespace lb {

class Snapshot;
class NeighbourTable;

// Handles one received ARP frame (m->port is the DPDK port). Returns an mbuf to send
// (the reply, built in place) or nullptr when `m` was consumed (freed).
rte_mbuf* arp_input(rte_mbuf* m, const Snapshot& snap, NeighbourTable& neighbours, uint64_t now_ms);

// A broadcast who-has for `target` from config port `port_index`, or nullptr if the
// pool is empty.
rte_mbuf* arp_request(rte_mempool* pool, const Snapshot& snap, uint16_t port_index, Ipv4 target);

}  // namespace lb
