// lbdp's end of the lbdp <-> lbcp segment. See controlplane_link.hpp.
#include "controlplane_link.hpp"

#include <cstring>

#include "heartbeat.hpp"

namespace lb {

bool ControlPlaneLink::open(const std::string& name, std::string* error) {
  return segment_.create(name, error);
}

void ControlPlaneLink::close() {
  if (!segment_) return;
  post_event(shm::EventKind::stopping, 0);
  segment_.close();
}

void ControlPlaneLink::heartbeat(const uint8_t* payload, uint32_t length, uint32_t src_addr_be,
                                 uint16_t src_port_be, LcoreCounters& counters) {
  if (!segment_) return;
  if (length > shm::kMaxHeartbeat || !hb::header_plausible(payload, length))
    return counters.drop(Drop::heartbeat_malformed);
  shm::HeartbeatRecord record;
  record.rx_ms = shm::monotonic_ms();
  record.src_addr_be = src_addr_be;
  record.src_port_be = src_port_be;
  record.length = static_cast<uint16_t>(length);
  std::memcpy(record.data, payload, length);
  if (!segment_.get()->heartbeats.push(record)) return counters.drop(Drop::heartbeat_ring_full);
  counters.count(Event::heartbeats);
}

bool ControlPlaneLink::take_commands(HealthMap& health, LcoreCounters& counters) {
  if (!segment_) return false;
  bool changed = false;
  shm::CommandRecord c;
  while (segment_.get()->commands.pop(c)) {
    bool valid = c.op == shm::CommandOp::set_health && c.health >= shm::Health::unknown &&
                 c.health <= shm::Health::dead && c.weight_percent >= 1 && c.weight_percent <= 100;
    if (!valid) {
      ++rejected_;
      continue;
    }
    BackendHealth next{c.health, c.weight_percent};
    auto key = std::make_pair(c.backend_addr, c.backend_port);
    auto it = health.find(key);
    BackendHealth current = it == health.end() ? BackendHealth{} : it->second;
    if (!(current == next)) {
      if (next == BackendHealth{}) health.erase(key);
      else health[key] = next;
      changed = true;
    }
    ++applied_;
    counters.count(Event::health_commands);
  }
  return changed;
}

void ControlPlaneLink::take_transmits(const std::function<void(uint16_t, const uint8_t*, uint16_t)>& send,
                                      LcoreCounters& counters) {
  if (!segment_) return;
  shm::TxRecord* record = &tx_scratch_;
  for (int i = 0; i < 32 && segment_.get()->transmit.pop(*record); ++i) {
    if (record->length < 14 || record->length > shm::kMaxFrame) {
      ++rejected_;
      continue;
    }
    send(record->port_index, record->frame, record->length);
    counters.count(Event::cp_transmits);
  }
}

void ControlPlaneLink::post_event(shm::EventKind kind, uint64_t value) {
  if (!segment_) return;
  segment_.get()->events.push(shm::EventRecord{shm::monotonic_ms(), kind, 0, value});  // full: lbcp is away; drop
}

void ControlPlaneLink::alive() {
  if (segment_) segment_.get()->header.dataplane_alive_ms.store(shm::monotonic_ms(), std::memory_order_relaxed);
}

void ControlPlaneLink::publish_stats(const Snapshot& snap, const LcoreCounters& totals,
                                     const OpenFlowsFn& open_flows) {
  if (!segment_) return;
  const uint64_t now = shm::monotonic_ms();
  segment_.get()->stats.write([&](shm::DataplaneStats& s) {
    s.updated_ms = now;
    s.snapshot_generation = snap.generation;
    s.rx_packets = totals.get(Event::rx);
    s.tx_packets = totals.get(Event::tx);
    s.dropped = totals.total_drops();
    s.heartbeats = totals.get(Event::heartbeats);
    s.heartbeats_malformed = totals.get(Drop::heartbeat_malformed);
    s.heartbeats_ring_full = totals.get(Drop::heartbeat_ring_full);
    s.commands_applied = applied_;
    s.commands_rejected = rejected_;
    uint32_t n = 0;
    for (const VipSnap& v : snap.vips)
      for (const BackendSnap& b : v.backends) {
        if (n == shm::kMaxBackends) break;
        shm::BackendEntry& e = s.backends[n++];
        e.vip_addr = ntoh32(v.addr_be);
        e.vip_port = ntoh16(v.port_be);
        e.id = b.id;
        e.addr = ntoh32(b.addr_be);
        e.port = ntoh16(b.port_be);
        e.admin_state = static_cast<uint8_t>(b.state);
        e.health = b.health;
        e.weight = b.weight;
        e.weight_percent = b.weight_percent;
        e.reserved = 0;
        e.open_flows = open_flows(b.id);
      }
    s.backend_count = n;
  });
}

bool ControlPlaneLink::health_report(shm::HealthReport* out) const {
  if (!segment_) return false;
  if (!segment_.get()->health.read(out)) return false;
  return out->updated_ms != 0;
}

}  // namespace lb
