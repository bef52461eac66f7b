// The immutable configuration snapshot the workers forward with: VIPs, their backends,
// scheduler inputs (Maglev tables), and the address sets the classifier needs.
//
// Built by the main lcore from a validated Config (build_snapshot), never modified after
// it is published, and reclaimed with RCU once every worker has passed a quiescent
// state (App::publish). The one exception is `sched_state`: row w is
// scratch state of worker w's schedulers (round-robin cursors), written by that worker
// alone.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "config.hpp"
#include "shm_layout.hpp"
#include "scheduler.hpp"

namespace lb {

constexpr uint16_t kMaxBackends = 4096;  // global backend ids are < kMaxBackends
constexpr uint16_t kMaxPorts = 16;

struct BackendSnap {
  uint32_t addr_be;
  uint16_t port_be;
  uint16_t id;        // global backend id: indexes per-lcore backend counters
  uint16_t nexthop;   // neighbour slot of the next hop towards it
  uint8_t out_port;   // index into Snapshot::ports
  BackendState state;
  uint32_t weight;    // configured (SchedBackend::weight is the scaled one)
  shm::Health health; // as lbcp last set it (unknown without lbcp)
  uint16_t weight_percent;  // slow start, 1..100
  // The checksum addends of a nat flow to this backend, forward (client -> backend) and
  // reply (backend -> client) (rewrite.hpp): nat leaves the client's address and port
  // as they are, and their words cancel in rewrite_addends() exactly (~w + w is all
  // ones whatever w is), so the addends of every client's flow are these, bit for bit,
  // and a new flow copies them instead of summing its keys (tested in
  // test_runtime_config.cpp). Not used by fullnat, whose local address and port vary.
  uint16_t nat_fwd_ip = 0, nat_fwd_l4 = 0, nat_rev_ip = 0, nat_rev_l4 = 0;
};

// Backend health pushed by lbcp, by (address, port) in host order; it applies to that
// backend in every VIP. Kept by the main lcore beside the Config (health is not
// configuration: a reload keeps it) and folded into every snapshot it builds.
struct BackendHealth {
  shm::Health health = shm::Health::unknown;
  uint16_t weight_percent = 100;
  bool operator==(const BackendHealth&) const = default;
};
using HealthMap = std::map<std::pair<uint32_t, uint16_t>, BackendHealth>;

struct VipSnap {
  uint32_t addr_be;
  uint16_t port_be;
  uint16_t id;
  FwdMode mode;
  SchedKind scheduler;
  std::vector<BackendSnap> backends;
  std::vector<SchedBackend> sched_backends;  // parallel to backends
  std::vector<uint16_t> maglev;              // maglev/sh only
  std::vector<uint32_t> local_addrs_be;      // fullnat only

  // sched_view() as index_vips() found it, once the snapshot was complete (what the
  // workers read: a SYN is spared building the view from the vectors). It points into
  // this VipSnap's vectors, which a move keeps and a copy would not: hence movable only.
  SchedVip sched{};
  VipSnap() = default;
  VipSnap(VipSnap&&) = default;
  VipSnap& operator=(VipSnap&&) = default;
  VipSnap(const VipSnap&) = delete;
  VipSnap& operator=(const VipSnap&) = delete;
  SchedVip sched_view() const {
    return SchedVip{sched_backends.data(), static_cast<uint16_t>(sched_backends.size()),
                    maglev.empty() ? nullptr : maglev.data(), static_cast<uint32_t>(maglev.size())};
  }
};

struct PortSnap {
  uint32_t addr_be;
  uint16_t dpdk_port;
  bool server_side;   // role server or both: backends (and their brokers) are behind it
  uint64_t mac;       // Mac::pack()
};

// Kinds of local address (bit set), for ARP replies, ICMP echo and classification.
constexpr uint8_t kAddrOwn = 1;       // a port's own address
constexpr uint8_t kAddrVip = 2;       // some VIP's address
constexpr uint8_t kAddrSnat = 4;      // a fullnat local (source) address
constexpr uint8_t kAddrLocal = kAddrOwn | kAddrVip | kAddrSnat;  // the appliance's own
// A configured backend's address: only these may send heartbeats (indexed only when
// lbcp is configured; never a local address, so tests for local kinds mask with kAddrLocal).
constexpr uint8_t kAddrBackend = 8;

// Resolves next hops to neighbour slots while a snapshot is built.
struct NeighbourResolver {
  virtual ~NeighbourResolver() = default;
  virtual uint16_t slot_for(Ipv4 next_hop, uint16_t port_index) = 0;
};

// Gives each (VIP, backend) its global backend id, the same in every snapshot for as
// long as the backend stays configured (per-lcore counters and flows refer to it).
struct BackendIdResolver {
  virtual ~BackendIdResolver() = default;
  // Throws std::runtime_error when no id is free.
  virtual uint16_t id_for(const VipConfig& vip, const BackendConfig& backend) = 0;
};

// The simplest resolver: ids in configuration order (one snapshot, no changes).
class SequentialBackendIds : public BackendIdResolver {
 public:
  uint16_t id_for(const VipConfig&, const BackendConfig&) override;

 private:
  uint16_t next_ = 0;
};

class Snapshot {
 public:
  uint64_t generation = 0;
  uint16_t workers = 1;
  bool accepting = true;   // false after `stop`: SYNs to VIPs are refused with a RST
  uint16_t heartbeat_port_be = 0;  // UDP to an own address and this port goes to lbcp; 0 = none
  std::vector<VipSnap> vips;
  std::vector<PortSnap> ports;                   // by config port index
  // DPDK port id -> config port index (kNoPort: not ours). A fixed array, so the
  // per-packet lookup is one bounds check and one load.
  static constexpr uint16_t kNoPort = 0xffff;
  static constexpr size_t kDpdkPortSlots = 256;  // DPDK's RTE_MAX_ETHPORTS is far below
  std::array<uint16_t, kDpdkPortSlots> port_index_by_dpdk = [] {
    std::array<uint16_t, kDpdkPortSlots> none;
    none.fill(kNoPort);
    return none;
  }();
  uint16_t port_index(uint16_t dpdk_port) const {
    return dpdk_port < kDpdkPortSlots ? port_index_by_dpdk[dpdk_port] : kNoPort;
  }
  mutable std::vector<std::vector<SchedState>> sched_state;  // [worker][vip]

  const VipSnap* find_vip(uint32_t addr_be, uint16_t port_be) const {
    uint64_t key = (static_cast<uint64_t>(addr_be) << 16) | port_be;
    for (uint32_t i = slot_of(key, vip_mask_);; i = (i + 1) & vip_mask_) {
      if (vip_keys_[i] == 0) return nullptr;  // empty first: key 0 (0.0.0.0:0) is no VIP
      if (vip_keys_[i] == key) return &vips[vip_slots_[i]];
    }
  }
  uint8_t address_kind(uint32_t addr_be) const {
    for (uint32_t i = slot_of(addr_be, addr_mask_);; i = (i + 1) & addr_mask_) {
      if (addr_keys_[i] == 0) return 0;
      if (addr_keys_[i] == addr_be) return addr_kinds_[i];
    }
  }

  // Used by build_snapshot.
  void index_vips();
  void add_address(uint32_t addr_be, uint8_t kind);
  void index_addresses();

 private:
  static uint32_t slot_of(uint64_t key, uint32_t mask) {
    return static_cast<uint32_t>((key * 0x9e3779b97f4a7c15ull) >> 40) & mask;
  }
  std::vector<uint64_t> vip_keys_;
  std::vector<uint16_t> vip_slots_;
  uint32_t vip_mask_ = 0;
  std::vector<std::pair<uint32_t, uint8_t>> addr_list_;
  std::vector<uint32_t> addr_keys_;
  std::vector<uint8_t> addr_kinds_;
  uint32_t addr_mask_ = 0;
};

// port_macs / dpdk_ports: per config port. Throws std::runtime_error on inconsistency
// (the config is validated before, so this means a programming error).
std::unique_ptr<Snapshot> build_snapshot(const Config& config, uint16_t workers,
                                         const std::vector<uint16_t>& dpdk_ports,
                                         const std::vector<uint64_t>& port_macs,
                                         NeighbourResolver& neighbours, BackendIdResolver& ids,
                                         uint64_t generation, bool accepting = true,
                                         const HealthMap* health = nullptr);

// Stable identity of a backend for Maglev (same on every appliance).
uint64_t backend_key(Ipv4 addr, uint16_t port);

}  // namespace lb
