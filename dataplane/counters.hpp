// Every counter the dataplane keeps per lcore, declared once as X-macro tables so the
// enum, the names printed in stats and the telemetry names cannot drift apart.
// A LcoreCounters block is written by its worker lcore only and read (racily, as
// whole 64-bit words) by the main lcore when it prints or exports stats.
#pragma once

#include <cstdint>

namespace lb {

// Why a packet was dropped. Name, then a one-line description.
#define LB_DROP_REASONS(X)                                                         \
  X(truncated_l2, "frame shorter than its Ethernet/VLAN header")                   \
  X(unsupported_l2, "neither IPv4 nor ARP (e.g. IPv6, LLDP, double VLAN)")         \
  X(truncated_l3, "IPv4 header or total length beyond the frame")                  \
  X(bad_ip_header, "IPv4 version, header length or total length invalid")          \
  X(bad_ip_checksum, "IPv4 header checksum wrong")                                 \
  X(ip_fragment, "IPv4 fragment (not balanced)")                                   \
  X(ip_options, "IPv4 header with options (not balanced)")                         \
  X(truncated_l4, "TCP/UDP/ICMP header beyond the IP payload")                     \
  X(bad_tcp_header, "TCP data offset invalid")                                     \
  X(bad_arp, "ARP packet malformed or not Ethernet/IPv4")                          \
  X(not_for_us, "IPv4 packet for no VIP, local address or tracked flow")           \
  X(vip_port_closed, "TCP to a VIP address on a port with no VIP")                 \
  X(no_flow, "non-SYN TCP packet matching no flow")                                \
  X(no_backend, "new flow but no backend is eligible")                             \
  X(flow_table_full, "new flow could not be stored (index bucket pair full)")      \
  X(no_local_port, "fullnat: no free local port for the new flow")                 \
  X(own_source, "nat: new flow from an address of the appliance's own")            \
  X(reply_tuple_taken, "nat: new flow whose reply tuple another flow holds")       \
  X(neighbour_unresolved, "next hop's MAC not known yet (ARP in progress)")        \
  X(ttl_exceeded, "IPv4 TTL would reach zero")                                     \
  X(handoff_full, "software hand-off ring to the owning lcore was full")           \
  X(tx_full, "port TX queue did not accept the packet")                            \
  X(slowpath_full, "ARP ring to the main lcore was full")                          \
  X(icmp_ignored, "ICMP other than echo request to a local address")              \
  X(heartbeat_malformed, "heartbeat datagram of the wrong size, magic or version") \
  X(heartbeat_ring_full, "heartbeat ring to the main lcore or to lbcp was full")

enum class Drop : uint8_t {
#define LB_X(name, desc) name,
  LB_DROP_REASONS(LB_X)
#undef LB_X
  count_
};
constexpr unsigned kDropCount = static_cast<unsigned>(Drop::count_);

// Events that are not drops.
#define LB_EVENT_COUNTERS(X)                                                      \
  X(rx, "packets received from ports")                                           \
  X(tx, "packets transmitted to ports")                                          \
  X(rx_bytes, "bytes received from ports")                                       \
  X(tx_bytes, "bytes transmitted to ports")                                      \
  X(handoff_out, "packets handed to the owning lcore")                           \
  X(handoff_in, "packets received from other lcores")                            \
  X(flows_created, "flows created")                                              \
  X(flows_expired, "flows removed by idle timeout")                              \
  X(flows_evicted, "flows evicted because the table was full")                   \
  X(flows_replaced, "flows replaced by a new SYN on the same tuple (port reuse)") \
  X(flows_recovered, "flows re-created from consistent hashing on a non-SYN")    \
  X(arp_replies_sent, "ARP requests for our addresses answered")                 \
  X(icmp_echo_replies, "ICMP echo requests answered")                            \
  X(syn_refused, "SYNs to a VIP answered with a RST because lbdp is stopped")     \
  X(slowpath, "packets passed to the main lcore (ARP, heartbeats)")              \
  X(heartbeats, "heartbeats passed to lbcp through the shared-memory ring")      \
  X(health_commands, "backend health commands applied from lbcp")                \
  X(cp_transmits, "frames sent for lbcp from its transmit ring")                 \
  X(busy_cycles, "TSC cycles spent in loop passes that had packets")              \
  X(busy_passes, "loop passes that had packets")                                  \
  X(rx_cycles, "TSC cycles of those passes spent in the ports' rx_burst calls")

enum class Event : uint8_t {
#define LB_X(name, desc) name,
  LB_EVENT_COUNTERS(LB_X)
#undef LB_X
  count_
};
constexpr unsigned kEventCount = static_cast<unsigned>(Event::count_);

extern const char* const kDropNames[kDropCount];
extern const char* const kDropDescriptions[kDropCount];
extern const char* const kEventNames[kEventCount];
extern const char* const kEventDescriptions[kEventCount];

struct alignas(64) LcoreCounters {
  uint64_t events[kEventCount];
  uint64_t drops[kDropCount];

  void count(Event e, uint64_t n = 1) { events[static_cast<unsigned>(e)] += n; }
  void drop(Drop d) { ++drops[static_cast<unsigned>(d)]; }
  uint64_t get(Event e) const { return events[static_cast<unsigned>(e)]; }
  uint64_t get(Drop d) const { return drops[static_cast<unsigned>(d)]; }
  uint64_t total_drops() const {
    uint64_t sum = 0;
    for (auto v : drops) sum += v;
    return sum;
  }
};

}  // namespace lb
