// The neighbour (ARP) table: MAC addresses of next hops (backends, gateways).
//
// Split in two by who writes:
//   * NeighbourMacs: a fixed array of 64-bit words, one per slot (MAC in the low 48
//     bits, bit 63 = valid). Written by the main lcore with atomic stores, read by
//     workers with relaxed atomic loads: no lock, never a torn MAC.
//   * NeighbourTable: the main lcore's bookkeeping (which IP each slot is for, when
//     it was resolved, when it was last asked for). Main lcore only; not thread-safe.
// Slots are never reused while the process runs, so a flow may keep its slot number.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "net.hpp"
#include "snapshot.hpp"

namespace lb {

constexpr uint16_t kMaxNeighbours = 4096;
constexpr uint64_t kNeighbourValid = 1ull << 63;

struct NeighbourMacs {
  std::atomic<uint64_t> slot[kMaxNeighbours];
  // Worker side: the MAC packed as Mac::pack(), or 0 when unresolved.
  uint64_t get(uint16_t s) const {
    uint64_t v = slot[s].load(std::memory_order_relaxed);
    return (v & kNeighbourValid) ? (v & 0xffffffffffffull) : 0;
  }
};

class NeighbourTable : public NeighbourResolver {
 public:
  struct Entry {
    Ipv4 address;
    uint16_t port_index;
    bool is_static = false;
    bool resolved = false;
    uint64_t resolved_at_ms = 0;
    uint64_t last_request_ms = 0;
    Mac mac;
  };
  // Sends an ARP request for `address` out of config port `port_index`.
  using RequestFn = std::function<void(uint16_t port_index, Ipv4 address)>;

  NeighbourTable(NeighbourMacs* macs, uint32_t lifetime_ms) : macs_(macs), lifetime_ms_(lifetime_ms) {}

  // The slot for a next hop on a port, created (unresolved) if new. Throws when full.
  uint16_t slot_for(Ipv4 next_hop, uint16_t port_index) override;
  // A static entry (never expires, never asked for).
  void add_static(Ipv4 address, uint16_t port_index, Mac mac);
  // A static entry that is no longer configured becomes a dynamic one: unresolved, so
  // ARP finds the neighbour's current MAC.
  void forget_static(Ipv4 address, uint16_t port_index);
  // An ARP reply or request told us address is at mac: update the slot if we track it.
  bool learn(Ipv4 address, uint16_t port_index, Mac mac, uint64_t now_ms);
  // Asks again for entries that are unresolved (at most once a second) or due for
  // refresh; invalidates entries that went unanswered past their lifetime + 3 s.
  void poll(uint64_t now_ms, const RequestFn& send_request);

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  void publish(uint16_t slot);
  NeighbourMacs* macs_;
  uint32_t lifetime_ms_;
  std::vector<Entry> entries_;
};

}  // namespace lb
