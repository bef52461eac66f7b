#include "snapshot.hpp"

#include <algorithm>
#include <stdexcept>

#include "maglev.hpp"
#include "rewrite.hpp"

namespace lb {

namespace {
uint32_t table_size_for(size_t n) {
  uint32_t size = 8;
  while (size < n * 4) size <<= 1;
  return size;
}
}  // namespace

uint64_t backend_key(Ipv4 addr, uint16_t port) {
  return (static_cast<uint64_t>(addr.host) << 16 | port) * 0xff51afd7ed558ccdull;
}

void Snapshot::index_vips() {
  uint32_t size = table_size_for(vips.size());
  vip_keys_.assign(size, 0);
  vip_slots_.assign(size, 0);
  vip_mask_ = size - 1;
  for (size_t v = 0; v < vips.size(); ++v) {
    vips[v].sched = vips[v].sched_view();
    uint64_t key = (static_cast<uint64_t>(vips[v].addr_be) << 16) | vips[v].port_be;
    uint32_t i = slot_of(key, vip_mask_);
    while (vip_keys_[i] != 0) i = (i + 1) & vip_mask_;
    vip_keys_[i] = key;
    vip_slots_[i] = static_cast<uint16_t>(v);
  }
}

void Snapshot::add_address(uint32_t addr_be, uint8_t kind) {
  for (auto& [a, k] : addr_list_)
    if (a == addr_be) {
      k |= kind;
      return;
    }
  addr_list_.push_back({addr_be, kind});
}

void Snapshot::index_addresses() {
  uint32_t size = table_size_for(addr_list_.size());
  addr_keys_.assign(size, 0);
  addr_kinds_.assign(size, 0);
  addr_mask_ = size - 1;
  for (auto [a, k] : addr_list_) {
    uint32_t i = slot_of(a, addr_mask_);
    while (addr_keys_[i] != 0) i = (i + 1) & addr_mask_;
    addr_keys_[i] = a;
    addr_kinds_[i] = k;
  }
}

uint16_t SequentialBackendIds::id_for(const VipConfig&, const BackendConfig&) {
  if (next_ >= kMaxBackends) throw std::runtime_error("snapshot: too many backends");
  return next_++;
}

std::unique_ptr<Snapshot> build_snapshot(const Config& config, uint16_t workers,
                                         const std::vector<uint16_t>& dpdk_ports,
                                         const std::vector<uint64_t>& port_macs,
                                         NeighbourResolver& neighbours, BackendIdResolver& ids,
                                         uint64_t generation, bool accepting, const HealthMap* health) {
  if (dpdk_ports.size() != config.ports.size() || port_macs.size() != config.ports.size())
    throw std::runtime_error("snapshot: port list does not match the config");
  auto snap = std::make_unique<Snapshot>();
  snap->generation = generation;
  snap->workers = workers;
  snap->accepting = accepting;
  if (!config.controlplane.shm.empty()) snap->heartbeat_port_be = hton16(config.controlplane.heartbeat_port);
  for (size_t p = 0; p < config.ports.size(); ++p) {
    snap->ports.push_back(PortSnap{config.ports[p].address.addr.be(), dpdk_ports[p],
                                   config.ports[p].role != PortRole::client, port_macs[p]});
    if (dpdk_ports[p] >= Snapshot::kDpdkPortSlots) throw std::invalid_argument("DPDK port id out of range");
    snap->port_index_by_dpdk[dpdk_ports[p]] = static_cast<uint16_t>(p);
    snap->add_address(config.ports[p].address.addr.be(), kAddrOwn);
  }
  for (size_t v = 0; v < config.vips.size(); ++v) {
    const VipConfig& vc = config.vips[v];
    VipSnap vs;
    vs.addr_be = vc.address.be();
    vs.port_be = hton16(vc.port);
    vs.id = static_cast<uint16_t>(v);
    vs.mode = vc.mode;
    vs.scheduler = vc.scheduler;
    snap->add_address(vs.addr_be, kAddrVip);
    for (Ipv4 local : vc.local_addresses) {
      vs.local_addrs_be.push_back(local.be());
      snap->add_address(local.be(), kAddrSnat);
    }
    std::vector<MaglevBackend> maglev_input;
    std::vector<uint16_t> maglev_index;  // maglev_input position -> backend position
    for (const BackendConfig& bc : vc.backends) {
      auto route = route_to(config, bc.address);
      if (!route) throw std::runtime_error("snapshot: backend " + to_string(bc.address) + " has no route");
      BackendSnap bs{bc.address.be(), hton16(bc.port), ids.id_for(vc, bc),
                     neighbours.slot_for(route->next_hop, route->port_index),
                     static_cast<uint8_t>(route->port_index), bc.state, bc.weight, shm::Health::unknown, 100};
      {
        const RewriteAddends fwd = rewrite_addends(FlowKey{0, vs.addr_be, 0, vs.port_be},
                                                   FlowKey{0, bs.addr_be, 0, bs.port_be});
        const RewriteAddends rev = reverse_addends(fwd);
        bs.nat_fwd_ip = fwd.ip;
        bs.nat_fwd_l4 = fwd.l4;
        bs.nat_rev_ip = rev.ip;
        bs.nat_rev_l4 = rev.l4;
      }
      if (health) {
        auto it = health->find({bc.address.host, bc.port});
        if (it != health->end()) {
          bs.health = it->second.health;
          bs.weight_percent = it->second.weight_percent;
        }
      }
      // Scheduling weights are in hundredths, so slow start can scale even a weight of 1.
      const uint32_t sched_weight = bs.weight * bs.weight_percent;
      bool eligible = bs.state == BackendState::up && bs.weight > 0 && shm::health_allows_new_flows(bs.health);
      if (snap->heartbeat_port_be) snap->add_address(bs.addr_be, kAddrBackend);
      if (eligible) {
        // Maglev gets whole weights: hundredths would make one round of turns longer
        // than the table, and the first backend would fill it.
        const uint32_t maglev_weight =
            std::max<uint32_t>(1, static_cast<uint32_t>(uint64_t{bs.weight} * bs.weight_percent / 100));
        maglev_input.push_back(MaglevBackend{backend_key(bc.address, bc.port), maglev_weight});
        maglev_index.push_back(static_cast<uint16_t>(vs.backends.size()));
      }
      vs.sched_backends.push_back(SchedBackend{sched_weight, bs.id, eligible, bs.weight_percent});
      vs.backends.push_back(bs);
    }
    if (sched_is_consistent(vc.scheduler)) {
      vs.maglev = build_maglev_table(maglev_input, vc.maglev_size);
      for (auto& entry : vs.maglev) entry = maglev_index[entry];
    }
    snap->vips.push_back(std::move(vs));
  }
  snap->index_vips();
  snap->index_addresses();
  snap->sched_state.resize(workers);
  for (auto& row : snap->sched_state) {
    row.resize(snap->vips.size());
    for (size_t v = 0; v < snap->vips.size(); ++v) row[v].weight_current.assign(snap->vips[v].backends.size(), 0);
  }
  return snap;
}

}  // namespace lb
